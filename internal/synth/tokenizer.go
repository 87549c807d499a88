package synth

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// ByteLevelTokenizer returns a Hugging Face tokenizer.json whose token ids are
// byte values: a ByteLevel BPE with 256 entries and no merges, so a text
// tokenizes to its UTF-8 bytes. Each byte is written as GPT-2's
// bytes_to_unicode character (printable bytes stand for themselves, the
// others for code points from U+0100 up, in byte order), which is what
// the ByteLevel pre-tokenizer maps bytes to. The vocabulary is written in
// id order, as Hugging Face writes it.
func ByteLevelTokenizer() ([]byte, error) {
	var vocab strings.Builder
	vocab.WriteByte('{')
	for b := range 256 {
		key, err := json.Marshal(string(byteRune(byte(b))))
		if err != nil {
			return nil, err
		}
		if b > 0 {
			vocab.WriteByte(',')
		}
		vocab.Write(key)
		vocab.WriteByte(':')
		vocab.WriteString(strconv.Itoa(b))
	}
	vocab.WriteByte('}')
	byteLevel := `{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}`
	doc := `{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,` +
		`"pre_tokenizer": ` + byteLevel + `, "post_processor": null, "decoder": ` + byteLevel + `,` +
		`"model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,` +
		`"end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "vocab": ` + vocab.String() +
		`, "merges": []}}`
	var out bytes.Buffer
	if err := json.Indent(&out, []byte(doc), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// byteRune is GPT-2's bytes_to_unicode: bytes '!'…'~', '¡'…'¬' and
// '®'…'ÿ' map to the code point of the same value; the other 68 bytes map
// to U+0100, U+0101, … in increasing byte order.
func byteRune(b byte) rune {
	if printableByte(b) {
		return rune(b)
	}
	n := 0
	for c := range int(b) {
		if !printableByte(byte(c)) {
			n++
		}
	}
	return rune(256 + n)
}

func printableByte(b byte) bool {
	return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE
}
