package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// A decoder turns token strings back into text pieces, as Hugging Face's
// decode_chain does; the final text is the concatenation of the pieces.
type decoder interface {
	decode(tokens []string) []string
}

type sequenceDec []decoder

func (q sequenceDec) decode(tokens []string) []string {
	for _, d := range q {
		tokens = d.decode(tokens)
	}
	return tokens
}

// byteLevelDec maps byte-level characters back to bytes and fuses everything.
type byteLevelDec struct{}

func (byteLevelDec) decode(tokens []string) []string {
	var b []byte
	for _, t := range tokens {
		b = byteLevelDecodeToken(b, t)
	}
	return []string{string(b)}
}

type replaceDec struct{ old, new string }

func (r replaceDec) decode(tokens []string) []string {
	for i, t := range tokens {
		tokens[i] = strings.ReplaceAll(t, r.old, r.new)
	}
	return tokens
}

// byteFallbackDec turns runs of <0xXX> tokens into the bytes they stand for.
type byteFallbackDec struct{}

func (byteFallbackDec) decode(tokens []string) []string {
	out := tokens[:0:0]
	var run []byte
	for _, t := range tokens {
		if b, ok := fallbackByte(t); ok {
			run = append(run, b)
			continue
		}
		if len(run) > 0 {
			out, run = append(out, string(run)), run[:0]
		}
		out = append(out, t)
	}
	if len(run) > 0 {
		out = append(out, string(run))
	}
	return out
}

// fallbackByte parses a byte token "<0xXX>".
func fallbackByte(t string) (byte, bool) {
	if len(t) != 6 || t[:3] != "<0x" || t[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexDigit(t[3])
	lo, ok2 := hexDigit(t[4])
	return hi<<4 | lo, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

type fuseDec struct{}

func (fuseDec) decode(tokens []string) []string { return []string{strings.Join(tokens, "")} }

// stripDec removes up to start leading and stop trailing copies of content
// from every token.
type stripDec struct {
	content     rune
	start, stop int
}

func (d stripDec) decode(tokens []string) []string {
	for i, t := range tokens {
		for k := 0; k < d.start && t != ""; k++ {
			r, n := utf8.DecodeRuneInString(t)
			if r != d.content {
				break
			}
			t = t[n:]
		}
		for k := 0; k < d.stop && t != ""; k++ {
			r, n := utf8.DecodeLastRuneInString(t)
			if r != d.content {
				break
			}
			t = t[:len(t)-n]
		}
		tokens[i] = t
	}
	return tokens
}

// metaspaceDec turns the replacement character back into spaces; in the first
// token it is dropped instead unless the prepend scheme is "never" (Hugging
// Face drops every one there, not only the leading one).
type metaspaceDec struct{ p metaspacePre }

func (d metaspaceDec) decode(tokens []string) []string {
	for i, t := range tokens {
		with := " "
		if i == 0 && d.p.scheme != prependNever {
			with = ""
		}
		tokens[i] = strings.ReplaceAll(t, d.p.repl, with)
	}
	return tokens
}

// wordPieceDec is Hugging Face's WordPiece decoder: every token but the first
// loses the continuing-subword prefix if it starts with it and gets a leading
// space otherwise; with cleanup, each token then has the spaces of detokenized
// English removed (" ." → ".", " n't" → "n't", ...), as decoders/wordpiece.rs.
type wordPieceDec struct {
	prefix  string
	cleanup bool
}

func (d wordPieceDec) decode(tokens []string) []string {
	for i, t := range tokens {
		if i > 0 {
			// An empty prefix matches every token, so nothing gets a space.
			if rest, ok := strings.CutPrefix(t, d.prefix); ok {
				t = rest
			} else {
				t = " " + t
			}
		}
		if d.cleanup {
			t = cleanupTokenization(t)
		}
		tokens[i] = t
	}
	return tokens
}

// cleanupTokenization applies Hugging Face's replacements one after another
// (each over the whole token, as chained str::replace calls do).
func cleanupTokenization(s string) string {
	if !strings.Contains(s, " ") {
		return s
	}
	for _, r := range [...][2]string{{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
		{" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}} {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s
}

// parseDecoder builds the decoder described by raw; nil for JSON null.
func parseDecoder(raw json.RawMessage, path string) (decoder, error) {
	typ, err := componentType(raw, path)
	if err != nil || typ == "" {
		return nil, err
	}
	switch typ {
	case "Sequence":
		seq, err := sequenceItems(raw, path, "decoders", "decoder", parseDecoder)
		return sequenceDec(seq), err
	case "ByteLevel":
		return byteLevelDec{}, nil
	case "ByteFallback":
		return byteFallbackDec{}, nil
	case "Fuse":
		return fuseDec{}, nil
	case "Replace":
		old, content, err := parseReplace(raw, path, "Replace decoder")
		if err != nil {
			return nil, err
		}
		return replaceDec{old, content}, nil
	case "Strip":
		var c struct {
			Content string `json:"content"`
			Start   int    `json:"start"`
			Stop    int    `json:"stop"`
		}
		if err := decodeComponent(raw, path, &c); err != nil {
			return nil, err
		}
		if utf8.RuneCountInString(c.Content) != 1 || c.Start < 0 || c.Stop < 0 {
			return nil, fmt.Errorf("%s: Strip decoder needs one content character and start, stop >= 0", path)
		}
		r, _ := utf8.DecodeRuneInString(c.Content)
		return stripDec{r, c.Start, c.Stop}, nil
	case "WordPiece":
		c := struct {
			Prefix  *string `json:"prefix"`
			Cleanup *bool   `json:"cleanup"`
		}{}
		if err := decodeComponent(raw, path, &c); err != nil {
			return nil, err
		}
		d := wordPieceDec{prefix: "##", cleanup: true} // Hugging Face's defaults
		if c.Prefix != nil {
			d.prefix = *c.Prefix
		}
		if c.Cleanup != nil {
			d.cleanup = *c.Cleanup
		}
		return d, nil
	case "Metaspace":
		p, err := parseMetaspace(raw, path, "decoder")
		if err != nil {
			return nil, err
		}
		return metaspaceDec{p}, nil
	}
	return nil, unsupported(path, "decoder", typ)
}
