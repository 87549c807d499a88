package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// A preTokenizer cuts a normalized piece of text into words, calling emit for
// each word in order. first is true for the piece that starts the input text
// (Metaspace's prepend_scheme "first" needs it).
type preTokenizer interface {
	split(s string, first bool, emit func(string))
}

type sequencePre []preTokenizer

func (q sequencePre) split(s string, first bool, emit func(string)) {
	if len(q) == 0 {
		emit(s)
		return
	}
	k := 0
	q[0].split(s, first, func(w string) {
		q[1:].split(w, first && k == 0, emit)
		k++
	})
}

// splitPre is a Split pre-tokenizer with a known regex and behavior Isolated.
type splitPre struct{ fn func(string, func(string)) }

func (p splitPre) split(s string, _ bool, emit func(string)) { p.fn(s, emit) }

type prependScheme int

const (
	prependAlways prependScheme = iota
	prependFirst
	prependNever
)

// metaspacePre replaces spaces with the replacement character, prepends one
// according to the scheme, and (with split) cuts before every replacement.
type metaspacePre struct {
	repl   string
	scheme prependScheme
	cut    bool
}

func (p metaspacePre) split(s string, first bool, emit func(string)) {
	s = strings.ReplaceAll(s, " ", p.repl)
	if !strings.HasPrefix(s, p.repl) && (p.scheme == prependAlways || p.scheme == prependFirst && first) {
		s = p.repl + s
	}
	if !p.cut {
		emit(s)
		return
	}
	for len(s) > 0 { // MergedWithNext: each replacement opens a new word
		// Searching from byte 1 is safe: UTF-8 never matches inside a character.
		j := strings.Index(s[1:], p.repl)
		if j < 0 {
			emit(s)
			return
		}
		emit(s[:j+1])
		s = s[j+1:]
	}
}

// parsePreTokenizer builds the pre-tokenizer described by raw (nil for null).
// byteLevel reports whether it ends with ByteLevel, which must then be last.
func parsePreTokenizer(raw json.RawMessage, path string) (p preTokenizer, byteLevel bool, err error) {
	typ, err := componentType(raw, path)
	if err != nil || typ == "" {
		return nil, false, err
	}
	switch typ {
	case "Sequence":
		var c struct {
			Pretokenizers []json.RawMessage `json:"pretokenizers"`
		}
		if err := decodeComponent(raw, path, &c); err != nil {
			return nil, false, err
		}
		var seq sequencePre
		for i, r := range c.Pretokenizers {
			sub := fmt.Sprintf("%s.pretokenizers[%d]", path, i)
			if byteLevel {
				return nil, false, fmt.Errorf("%s: a pre-tokenizer after ByteLevel is not supported", sub)
			}
			p, bl, err := parsePreTokenizer(r, sub)
			if err != nil {
				return nil, false, err
			}
			if p == nil {
				return nil, false, fmt.Errorf("%s: null pre-tokenizer", sub)
			}
			seq, byteLevel = append(seq, p), bl
		}
		return seq, byteLevel, nil
	case "ByteLevel":
		c := struct {
			AddPrefixSpace *bool `json:"add_prefix_space"`
			UseRegex       *bool `json:"use_regex"`
		}{}
		if err := decodeComponent(raw, path, &c); err != nil {
			return nil, false, err
		}
		// Hugging Face's defaults: add_prefix_space true, use_regex true.
		return byteLevelPre{addPrefixSpace: c.AddPrefixSpace == nil || *c.AddPrefixSpace,
			useRegex: c.UseRegex == nil || *c.UseRegex}, true, nil
	case "Metaspace":
		p, err := parseMetaspace(raw, path, "pre-tokenizer")
		return p, false, err
	case "BertPreTokenizer":
		return bertPre{}, false, nil
	case "Split":
		var c struct {
			Pattern  pattern `json:"pattern"`
			Behavior string  `json:"behavior"`
			Invert   bool    `json:"invert"`
		}
		if err := decodeComponent(raw, path, &c); err != nil {
			return nil, false, err
		}
		if c.Pattern.Regex == nil {
			return nil, false, fmt.Errorf("%s: Split pre-tokenizer with a String pattern is not supported", path)
		}
		fn, ok := splitterFor(*c.Pattern.Regex)
		if !ok {
			return nil, false, fmt.Errorf("%s: Split pre-tokenizer regex %q is not supported (known: the GPT-2, Llama 3 and Qwen 2 patterns)", path, *c.Pattern.Regex)
		}
		if c.Behavior != "Isolated" || c.Invert {
			return nil, false, fmt.Errorf("%s: Split pre-tokenizer with behavior %q, invert %v is not supported (only Isolated, not inverted)", path, c.Behavior, c.Invert)
		}
		return splitPre{fn}, false, nil
	}
	return nil, false, unsupported(path, "pre-tokenizer", typ)
}

// parseMetaspace reads a Metaspace pre-tokenizer or decoder, old format
// (add_prefix_space) or new (prepend_scheme, split).
func parseMetaspace(raw json.RawMessage, path, what string) (metaspacePre, error) {
	var c struct {
		Replacement    string  `json:"replacement"`
		AddPrefixSpace *bool   `json:"add_prefix_space"`
		PrependScheme  *string `json:"prepend_scheme"`
		Split          *bool   `json:"split"`
	}
	if err := decodeComponent(raw, path, &c); err != nil {
		return metaspacePre{}, err
	}
	if utf8.RuneCountInString(c.Replacement) != 1 {
		return metaspacePre{}, fmt.Errorf("%s: Metaspace %s replacement %q is not one character", path, what, c.Replacement)
	}
	p := metaspacePre{repl: c.Replacement, scheme: prependAlways, cut: c.Split == nil || *c.Split}
	switch {
	case c.PrependScheme != nil:
		switch *c.PrependScheme {
		case "always":
		case "first":
			p.scheme = prependFirst
		case "never":
			p.scheme = prependNever
		default:
			return metaspacePre{}, fmt.Errorf("%s: Metaspace %s prepend_scheme %q is not always, first or never", path, what, *c.PrependScheme)
		}
	case c.AddPrefixSpace != nil && !*c.AddPrefixSpace:
		p.scheme = prependNever
	}
	return p, nil
}
