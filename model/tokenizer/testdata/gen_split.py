"""Makes split_cases.json: how the GPT-2, Llama 3 and Qwen 2 pre-tokenizer
regexes cut a set of random texts, as computed by Python's `regex` module, an
independent engine with look-ahead. The Go splitters in split.go must agree.

\\s is pinned to Oniguruma's definition (the Unicode White_Space property), which
Hugging Face's tokenizers use; \\p{L} and \\p{N} are left to the engine, so the
alphabet below avoids characters added to Unicode recently.

Run from this directory: python3 gen_split.py
"""
import json
import random

import regex

GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3 = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN2 = LLAMA3.replace(r"\p{N}{1,3}", r"\p{N}")

WS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def pin(p):
    return p.replace(r"[^\s", "[^" + WS).replace(r"\S", "[^" + WS + "]").replace(r"\s", "[" + WS + "]")


FRAGMENTS = [
    "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'lL", "'D", "'ſ", "'x", "''",
    "'", "\"", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ", " \t ", "\x0b", "\x0c", "\x85",
    "\xa0", "\u2003", "\u3000", "\u2028", "\x1c", "\x1f", "\u200b", "\u200d", "\x00", "\x7f",
    "Hello", "world", "the", "a", "I", "ABC", "naïve", "Führer", "Cửa", "Việt", "нещо", "Български",
    "αβγ", "我想在", "工作", "天", "កាន់តែ", "हिन्दी", "e\u0301", "ſ", "ß",
    "1", "33", "333", "3333", "12345", "٣٤", "３", "²", "½", "Ⅻ", "3.3", "3..3",
    "!", "?", ".", ",", "...", "!!!", "-", "---", "===", "(", ")", "[", "]", "{", "}", "<s>", "#",
    "$", "%", "&", "*", "+", "/", "\\", "@", "^", "_", "`", "|", "~", "🚀", "😁", "🦙", "😶‍🌫️", "✅",
    "～", "▁", "€",
]


def main():
    rng = random.Random(20240601)
    texts = ["", " ", "\n", "'s", " 's", "a'sb", "!!'s", "\r\n\r\n  x", " \n\n y", "x  \n", "3 33 333 3333"]
    for _ in range(300):
        n = rng.randint(1, 24)
        texts.append("".join(rng.choice(FRAGMENTS) for _ in range(n)))
    pats = {name: regex.compile(pin(p)) for name, p in (("gpt2", GPT2), ("llama3", LLAMA3), ("qwen2", QWEN2))}
    cases = []
    for t in texts:
        c = {"text": t}
        for name, p in pats.items():
            pieces = p.findall(t)
            assert "".join(pieces) == t, (name, t)
            c[name] = pieces
        cases.append(c)
    with open("split_cases.json", "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n")


if __name__ == "__main__":
    main()
