package tokenizer

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Character classes of Hugging Face's BertNormalizer and BertPreTokenizer
// (normalizers/bert.rs, pre_tokenizers/bert.rs). They take the general
// categories from the unicode_categories crate, whose is_other is Cc, Cf and
// Co (not Cn: unassigned characters are kept) and whose tables date from
// 2016; lopper uses Go's newer tables, so the two can differ on characters
// assigned since (none of them common).

// bertWhitespace is \t, \n, \r or White_Space (Rust's char::is_whitespace).
func bertWhitespace(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.White_Space, r)
}

// bertControl is Cc, Cf or Co, except \t, \n and \r (counted as whitespace).
func bertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co)
}

// bertChinese reports whether r is in one of the CJK ideograph blocks that
// BertNormalizer isolates with spaces.
func bertChinese(r rune) bool {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF, r >= 0x3400 && r <= 0x4DBF, r >= 0x20000 && r <= 0x2A6DF,
		r >= 0x2A700 && r <= 0x2B73F, r >= 0x2B740 && r <= 0x2B81F, r >= 0x2B920 && r <= 0x2CEAF,
		r >= 0xF900 && r <= 0xFAFF, r >= 0x2F800 && r <= 0x2FA1F:
		return true
	}
	return false
}

// bertPunct is ASCII punctuation (which includes symbols such as $ + < = > ^ `
// | ~) or Unicode punctuation (P*).
func bertPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return r > ' ' && r < 0x7F && !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
	}
	return unicode.IsPunct(r)
}

// bertNorm is Hugging Face's BertNormalizer. Its steps run in this order:
// clean_text drops U+0000, U+FFFD and control characters and turns whitespace
// into ' '; handle_chinese_chars puts spaces around CJK ideographs;
// strip_accents decomposes (NFD) and drops nonspacing marks (Mn); lowercase
// is Lowercase (per character). A byte that is not UTF-8 counts as U+FFFD.
type bertNorm struct {
	cleanText, chinese, stripAccents, lowercase bool
}

func (b bertNorm) normalize(s string) string {
	if b.cleanText || b.chinese {
		s = b.cleanAndSpace(s)
	}
	if b.stripAccents {
		s = stripMarks(norm.NFD.String(s))
	}
	if b.lowercase {
		s = lowercaseNorm{}.normalize(s)
	}
	return s
}

// cleanAndSpace does clean_text and handle_chinese_chars in one pass.
func (b bertNorm) cleanAndSpace(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		raw := s[i : i+n]
		i += n
		if b.cleanText {
			if r == 0 || r == utf8.RuneError || bertControl(r) {
				continue
			}
			if bertWhitespace(r) {
				sb.WriteByte(' ')
				continue
			}
		}
		if b.chinese && bertChinese(r) {
			sb.WriteByte(' ')
			sb.WriteString(raw)
			sb.WriteByte(' ')
			continue
		}
		sb.WriteString(raw) // raw, so that invalid bytes pass through without clean_text
	}
	return sb.String()
}

// stripMarks drops the nonspacing marks (Mn) of s.
func stripMarks(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !(r >= 0x300 && unicode.Is(unicode.Mn, r)) {
			sb.WriteString(s[i : i+n])
		}
		i += n
	}
	return sb.String()
}

// parseBertNormalizer reads a BertNormalizer. strip_accents null (or absent)
// follows lowercase, as in current Hugging Face; the booleans default to
// Hugging Face's defaults (all true) when absent.
func parseBertNormalizer(raw json.RawMessage, path string) (normalizer, error) {
	c := struct {
		CleanText    *bool `json:"clean_text"`
		Chinese      *bool `json:"handle_chinese_chars"`
		StripAccents *bool `json:"strip_accents"`
		Lowercase    *bool `json:"lowercase"`
	}{}
	if err := decodeComponent(raw, path, &c); err != nil {
		return nil, err
	}
	or := func(p *bool, def bool) bool {
		if p == nil {
			return def
		}
		return *p
	}
	b := bertNorm{cleanText: or(c.CleanText, true), chinese: or(c.Chinese, true), lowercase: or(c.Lowercase, true)}
	b.stripAccents = or(c.StripAccents, b.lowercase)
	return b, nil
}

// bertPre is Hugging Face's BertPreTokenizer: split on whitespace (dropped),
// then every punctuation character is a word of its own.
type bertPre struct{}

func (bertPre) split(s string, _ bool, emit func(string)) {
	start := 0 // start of the current word
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case bertWhitespace(r):
			if start < i {
				emit(s[start:i])
			}
			start = i + n
		case bertPunct(r):
			if start < i {
				emit(s[start:i])
			}
			emit(s[i : i+n])
			start = i + n
		}
		i += n
	}
	if start < len(s) {
		emit(s[start:])
	}
}
