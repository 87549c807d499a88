package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// maxID bounds token ids, so that a corrupt file cannot ask for a huge table.
const maxID = 1 << 24

// Load reads a tokenizer.json file.
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := build(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

// FromJSON parses the contents of a tokenizer.json file.
func FromJSON(data []byte) (*Tokenizer, error) {
	t, err := build(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return t, nil
}

type fileJSON struct {
	AddedTokens   []addedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         json.RawMessage `json:"model"`
	Padding       json.RawMessage `json:"padding"`
}

type modelJSON struct {
	Dropout      *float64         `json:"dropout"`
	UnkToken     *string          `json:"unk_token"`
	Prefix       *string          `json:"continuing_subword_prefix"`
	Suffix       *string          `json:"end_of_word_suffix"`
	FuseUnk      bool             `json:"fuse_unk"`
	ByteFallback bool             `json:"byte_fallback"`
	IgnoreMerges bool             `json:"ignore_merges"`
	Vocab        map[string]int32 `json:"vocab"`
	Merges       []merge          `json:"merges"`
}

// merge is one entry of model.merges: "a b" (older files) or ["a", "b"].
type merge [2]string

func (m *merge) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		parts := strings.Split(s, " ")
		if len(parts) != 2 {
			return fmt.Errorf("merge %q is not two tokens separated by one space", s)
		}
		*m = merge{parts[0], parts[1]}
		return nil
	}
	var p []string
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("merge %s is neither \"a b\" nor [\"a\", \"b\"]", data)
	}
	if len(p) != 2 {
		return fmt.Errorf("merge %s does not hold two tokens", data)
	}
	*m = merge{p[0], p[1]}
	return nil
}

func build(data []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, jsonError(err)
	}
	model, err := parseModel(f.Model)
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{model: model, bos: -1, eos: -1, added: map[string]int32{}}
	if t.norm, err = parseNormalizer(f.Normalizer, "normalizer"); err != nil {
		return nil, err
	}
	if t.pre, t.byteLevel, err = parsePreTokenizer(f.PreTokenizer, "pre_tokenizer"); err != nil {
		return nil, err
	}
	if t.dec, err = parseDecoder(f.Decoder, "decoder"); err != nil {
		return nil, err
	}
	proc, err := parsePostProcessor(f.PostProcessor, "post_processor")
	if err != nil {
		return nil, err
	}
	if t.post, err = newPostProcessor(proc, "post_processor"); err != nil {
		return nil, err
	}
	if err := t.buildVocab(f.AddedTokens); err != nil {
		return nil, err
	}
	for _, l := range []layout{t.post.singleSpecial, t.post.pairSpecial} {
		for _, pc := range l {
			for _, id := range pc.ids {
				if t.kind(id) == kindNone {
					return nil, fmt.Errorf("post_processor: token id %d is not in the vocabulary", id)
				}
			}
		}
	}
	if t.padID, err = parsePadding(f.Padding); err != nil {
		return nil, err
	}
	t.findBOSEOS()
	t.cutBeforeSpace = t.cutsBeforeSpace()
	return t, nil
}

// jsonError turns a decoding error into one that says where the problem is.
func jsonError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %q: JSON %s where %s was expected (byte %d)", te.Field, te.Value, te.Type, te.Offset)
	}
	return fmt.Errorf("invalid tokenizer.json: %w", err)
}

func parseModel(raw json.RawMessage) (wordModel, error) {
	if isNull(raw) {
		return nil, errors.New("model: missing")
	}
	var head struct {
		Type   *string         `json:"type"`
		Merges json.RawMessage `json:"merges"`
	}
	if err := decodeComponent(raw, "model", &head); err != nil {
		return nil, err
	}
	switch {
	case head.Type != nil && *head.Type == "WordPiece":
		return parseWordPiece(raw)
	case head.Type != nil && *head.Type != "BPE":
		return nil, unsupported("model", "model", *head.Type)
	case head.Type == nil && head.Merges == nil: // files without a type are BPE if they have merges
		return nil, errors.New("model: no \"type\" and no merges; only BPE and WordPiece models are supported")
	}
	return parseBPE(raw)
}

func parseBPE(raw json.RawMessage) (*bpe, error) {
	var c modelJSON
	if err := decodeComponent(raw, "model", &c); err != nil {
		return nil, err
	}
	switch {
	case c.Dropout != nil && *c.Dropout != 0:
		return nil, fmt.Errorf("model: BPE dropout %g is not supported (it makes encoding random)", *c.Dropout)
	}
	if err := checkVocabIDs(c.Vocab); err != nil {
		return nil, err
	}
	m := newBPE(c.Vocab, c.UnkToken)
	if c.Prefix != nil {
		m.prefix = *c.Prefix
	}
	if c.Suffix != nil {
		m.suffix = *c.Suffix
	}
	m.fuseUnk, m.byteFallback, m.ignoreMerges = c.FuseUnk, c.ByteFallback, c.IgnoreMerges
	return m, m.addMerges(c.Merges)
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// componentType returns the "type" of a component object, "" for null.
func componentType(raw json.RawMessage, path string) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var c struct {
		Type *string `json:"type"`
	}
	if err := decodeComponent(raw, path, &c); err != nil {
		return "", err
	}
	if c.Type == nil || *c.Type == "" {
		return "", fmt.Errorf("%s: no \"type\"", path)
	}
	return *c.Type, nil
}

func decodeComponent(raw json.RawMessage, path string, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

// sequenceItems parses the list under key of a Sequence component with
// parse, refusing null items (what names them in the error).
func sequenceItems[T any](raw json.RawMessage, path, key, what string, parse func(json.RawMessage, string) (T, error)) ([]T, error) {
	var c map[string]json.RawMessage
	if err := decodeComponent(raw, path, &c); err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if r, ok := c[key]; ok && !isNull(r) {
		if err := decodeComponent(r, path+"."+key, &items); err != nil {
			return nil, err
		}
	}
	out := make([]T, 0, len(items))
	for i, r := range items {
		sub := fmt.Sprintf("%s.%s[%d]", path, key, i)
		x, err := parse(r, sub)
		if err != nil {
			return nil, err
		}
		if any(x) == nil {
			return nil, fmt.Errorf("%s: null %s", sub, what)
		}
		out = append(out, x)
	}
	return out, nil
}

// parseReplace reads a Replace normalizer or decoder: the literal pattern
// and its replacement (what names the component in errors).
func parseReplace(raw json.RawMessage, path, what string) (old, content string, err error) {
	var c struct {
		Pattern pattern `json:"pattern"`
		Content *string `json:"content"`
	}
	if err := decodeComponent(raw, path, &c); err != nil {
		return "", "", err
	}
	if old, err = c.Pattern.literal(path, what); err != nil {
		return "", "", err
	}
	if c.Content == nil {
		return "", "", fmt.Errorf("%s: %s without \"content\"", path, what)
	}
	return old, *c.Content, nil
}

func unsupported(path, kind, typ string) error {
	return fmt.Errorf("%s: unsupported %s type %q", path, kind, typ)
}
