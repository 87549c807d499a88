// Package tokenizer loads Hugging Face tokenizer.json files and encodes and
// decodes text with them, in pure Go.
//
// Supported (anything else is a load error that names the type):
//   - models: BPE with vocab and merges (both the "a b" and the ["a","b"] form),
//     unk_token, fuse_unk, byte_fallback (<0xXX> tokens), ignore_merges,
//     continuing_subword_prefix and end_of_word_suffix; dropout must be null or
//     0. WordPiece (BERT): greedy longest match with the continuing-subword
//     prefix ("##"), a word it cannot cut or longer than
//     max_input_chars_per_word becomes unk_token.
//   - normalizers: Sequence, Prepend, Replace (string pattern), NFC, NFD, NFKC,
//     NFKD (golang.org/x/text/unicode/norm), Lowercase (per character, as
//     Rust's char::to_lowercase) and BertNormalizer (clean_text,
//     handle_chinese_chars, strip_accents with null following lowercase).
//   - pre-tokenizers: ByteLevel (add_prefix_space, use_regex with the GPT-2 split
//     regex), Metaspace (prepend_scheme always/first/never, split), Sequence,
//     BertPreTokenizer (whitespace, then ASCII and Unicode punctuation
//     isolated) and Split with the GPT-2 or the Llama 3 / Qwen 2 regex
//     (behavior Isolated). These regexes use look-ahead, which Go's regexp
//     lacks, so they are implemented by hand and checked against Python's
//     regex module (testdata/gen_split.py).
//   - added tokens: special, lstrip, rstrip, single_word, normalized.
//   - post-processors, for one sequence and for pairs with type ids:
//     TemplateProcessing ($A, $B, type ids, multi-id special tokens),
//     BertProcessing ([CLS] A [SEP] B [SEP], B with type id 1),
//     RobertaProcessing (<s> A </s></s> B </s>, all type id 0), ByteLevel and
//     Sequence.
//   - decoders: ByteLevel, Metaspace, Sequence, Replace, ByteFallback, Fuse,
//     Strip, WordPiece (prefix, cleanup).
//
// Encoding follows the Hugging Face pipeline: added tokens are split out of the
// raw text, every other piece is normalized, pre-tokenized into words, and each
// word is run through the model (BPE: merges applied lowest rank first,
// leftmost first, with a priority queue; results for short words are cached).
// Encode and EncodeWith give the ids of one sequence; EncodePair, EncodeText
// and EncodeTextPair give an Encoding (ids, type ids, attention mask) of one
// sequence or a pair, truncated as Hugging Face truncates (longest_first,
// only_first, only_second, counting the special tokens); Pad pads a batch.
// The truncation and padding blocks of tokenizer.json are not applied (as in
// transformers, which sets them per call); PadID reads the pad id.
//
// BertNormalizer and BertPreTokenizer take Unicode categories (control,
// nonspacing mark, punctuation) from Go's tables; Hugging Face takes them
// from a crate whose tables date from 2016, so characters assigned since can
// be classed differently.
//
// One deliberate difference: Hugging Face replaces byte sequences that are not
// valid UTF-8 with U+FFFD when decoding; Decode returns the bytes themselves, so
// decode(encode(s)) == s holds for any string, valid UTF-8 or not, with the
// byte-level and byte-fallback tokenizers. Apply strings.ToValidUTF8 for display.
//
// Token ids are int32. A *Tokenizer is immutable after loading and safe for
// concurrent use.
package tokenizer
