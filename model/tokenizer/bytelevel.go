package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// GPT-2's byte-level alphabet: every byte is shown as a printable rune, so that
// any byte string becomes a string of "characters" a BPE vocabulary can hold.
// Printable Latin-1 bytes stand for themselves; the others (controls, space,
// 0x7F-0xA0, 0xAD) are moved to U+0100 onwards, in byte order.
var (
	byteToRune [256]rune
	byteToStr  [256]string
	runeToByte = map[rune]byte{}
)

func init() {
	n := rune(0)
	for b := 0; b < 256; b++ {
		r := rune(b)
		printable := (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		if !printable {
			r = 256 + n
			n++
		}
		byteToRune[b] = r
		byteToStr[b] = string(r)
		runeToByte[r] = byte(b)
	}
}

// byteLevelString maps every byte of s to its byte-level rune.
func byteLevelString(s string) string {
	var sb strings.Builder
	sb.Grow(2 * len(s))
	for i := 0; i < len(s); i++ {
		sb.WriteString(byteToStr[s[i]])
	}
	return sb.String()
}

// byteLevelDecodeToken returns the bytes a byte-level token stands for, or the
// token itself when one of its runes is outside the byte-level alphabet (added
// tokens such as "<|endoftext|>" are stored as plain text), as Hugging Face does.
func byteLevelDecodeToken(dst []byte, tok string) []byte {
	start := len(dst)
	for _, r := range tok {
		b, ok := runeToByte[r]
		if !ok {
			return append(dst[:start], tok...)
		}
		dst = append(dst, b)
	}
	return dst
}

// byteLevelPre is the ByteLevel pre-tokenizer. It only splits: the mapping of
// bytes to the byte-level alphabet is done by the BPE model on the raw bytes of
// each word (see bpe.wordSymbols), which saves building the mapped strings.
type byteLevelPre struct {
	addPrefixSpace bool
	useRegex       bool
}

func (p byteLevelPre) split(s string, _ bool, emit func(string)) {
	if p.addPrefixSpace && !strings.HasPrefix(s, " ") {
		s = " " + s
	}
	if p.useRegex {
		splitGPT2(s, emit)
		return
	}
	emit(s)
}

// decodeRune is utf8.DecodeRuneInString, with the ASCII case inlined.
func decodeRune(s string) (rune, int) {
	if s[0] < utf8.RuneSelf {
		return rune(s[0]), 1
	}
	return utf8.DecodeRuneInString(s)
}
