// Package tokenizer loads Hugging Face tokenizer.json files and encodes and
// decodes text with them, in pure Go.
//
// Supported (anything else is a load error that names the type):
//   - model: BPE with vocab and merges (both the "a b" and the ["a","b"] form),
//     unk_token, fuse_unk, byte_fallback (<0xXX> tokens), ignore_merges,
//     continuing_subword_prefix and end_of_word_suffix; dropout must be null or 0.
//   - normalizers: Sequence, Prepend, Replace (string pattern), NFC, NFD, NFKC,
//     NFKD (golang.org/x/text/unicode/norm) and Lowercase (per character, as
//     Rust's char::to_lowercase).
//   - pre-tokenizers: ByteLevel (add_prefix_space, use_regex with the GPT-2 split
//     regex), Metaspace (prepend_scheme always/first/never, split), Sequence, and
//     Split with the GPT-2 or the Llama 3 / Qwen 2 regex (behavior Isolated). These
//     regexes use look-ahead, which Go's regexp lacks, so they are implemented by
//     hand and checked against Python's regex module (testdata/gen_split.py).
//   - added tokens: special, lstrip, rstrip, single_word, normalized.
//   - post-processors: TemplateProcessing (single sequence), ByteLevel, Bert,
//     Roberta, Sequence.
//   - decoders: ByteLevel, Metaspace, Sequence, Replace, ByteFallback, Fuse, Strip.
//
// Encoding follows the Hugging Face pipeline: added tokens are split out of the
// raw text, every other piece is normalized, pre-tokenized into words, and each
// word is run through BPE (merges applied lowest rank first, leftmost first, with
// a priority queue; results for short words are cached).
//
// One deliberate difference: Hugging Face replaces byte sequences that are not
// valid UTF-8 with U+FFFD when decoding; Decode returns the bytes themselves, so
// decode(encode(s)) == s holds for any string, valid UTF-8 or not, with the
// byte-level and byte-fallback tokenizers. Apply strings.ToValidUTF8 for display.
//
// Token ids are int32. A *Tokenizer is immutable after loading and safe for
// concurrent use.
package tokenizer
