package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// A normalizer rewrites a piece of text before pre-tokenization.
type normalizer interface {
	normalize(s string) string
}

type prependNorm struct{ prefix string }

// normalize prepends unless s is empty, as Hugging Face's Prepend does.
func (p prependNorm) normalize(s string) string {
	if s == "" {
		return s
	}
	return p.prefix + s
}

type replaceNorm struct{ old, new string }

func (r replaceNorm) normalize(s string) string { return strings.ReplaceAll(s, r.old, r.new) }

// unicodeNorm is one of Hugging Face's NFC, NFD, NFKC and NFKD
// normalizers (Qwen 2's tokenizers use NFC), by golang.org/x/text.
type unicodeNorm struct{ form norm.Form }

func (u unicodeNorm) normalize(s string) string { return u.form.String(s) }

// lowercaseNorm is Hugging Face's Lowercase: Rust's char::to_lowercase on
// every character, with no context (a final Σ becomes σ, unlike Unicode's
// string lowercasing); İ is the one character whose lowercase is two
// (i and a combining dot above). Bytes that are not UTF-8 pass through.
type lowercaseNorm struct{}

func (lowercaseNorm) normalize(s string) string {
	i := 0
	for i < len(s) { // fast path: nothing to change in an ASCII prefix
		c := s[i]
		if c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			break
		}
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteByte(s[i])
		case r == '\u0130':
			b.WriteString("i\u0307")
		default:
			b.WriteRune(unicode.ToLower(r))
		}
		i += size
	}
	return b.String()
}

type sequenceNorm []normalizer

func (q sequenceNorm) normalize(s string) string {
	for _, n := range q {
		s = n.normalize(s)
	}
	return s
}

// parseNormalizer builds the normalizer described by raw; nil for JSON null.
func parseNormalizer(raw json.RawMessage, path string) (normalizer, error) {
	typ, err := componentType(raw, path)
	if err != nil || typ == "" {
		return nil, err
	}
	switch typ {
	case "Sequence":
		seq, err := sequenceItems(raw, path, "normalizers", "normalizer", parseNormalizer)
		return sequenceNorm(seq), err
	case "Prepend":
		var c struct {
			Prepend *string `json:"prepend"`
		}
		if err := decodeComponent(raw, path, &c); err != nil {
			return nil, err
		}
		if c.Prepend == nil {
			return nil, fmt.Errorf("%s: Prepend normalizer without \"prepend\"", path)
		}
		return prependNorm{*c.Prepend}, nil
	case "Replace":
		old, content, err := parseReplace(raw, path, "Replace normalizer")
		if err != nil {
			return nil, err
		}
		return replaceNorm{old, content}, nil
	case "NFC", "NFD", "NFKC", "NFKD":
		forms := map[string]norm.Form{"NFC": norm.NFC, "NFD": norm.NFD, "NFKC": norm.NFKC, "NFKD": norm.NFKD}
		return unicodeNorm{forms[typ]}, nil
	case "Lowercase":
		return lowercaseNorm{}, nil
	case "BertNormalizer":
		return parseBertNormalizer(raw, path)
	}
	return nil, unsupported(path, "normalizer", typ)
}

// pattern is the {"String": s} or {"Regex": r} object of Replace and Split.
type pattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

// literal returns the pattern's string; regex patterns are refused (Go's regexp
// and Oniguruma disagree on too much to substitute one for the other silently).
func (p pattern) literal(path, what string) (string, error) {
	switch {
	case p.String != nil && *p.String != "":
		return *p.String, nil
	case p.Regex != nil:
		return "", fmt.Errorf("%s: %s with a Regex pattern %q is not supported", path, what, *p.Regex)
	}
	return "", fmt.Errorf("%s: %s needs a non-empty String pattern", path, what)
}
