// Generates testdata/lowercase_rust.txt (rustc -O gen_lowercase.rs && ./gen_lowercase > lowercase_rust.txt);
// rustc 1.95.0 made the committed file. Not needed to run the tests.
// Prints, for every Unicode scalar value whose char::to_lowercase() is not
// the value itself, a line "XXXX YYYY[ ZZZZ…]" (hex): the mapping Hugging
// Face's Lowercase normalizer applies character by character.
fn main() {
    for cp in 0u32..=0x10FFFF {
        let Some(c) = char::from_u32(cp) else { continue };
        let low: Vec<char> = c.to_lowercase().collect();
        if low.len() == 1 && low[0] == c {
            continue;
        }
        let parts: Vec<String> = low.iter().map(|l| format!("{:04X}", *l as u32)).collect();
        println!("{:04X} {}", cp, parts.join(" "));
    }
}
