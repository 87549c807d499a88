package tokenizer

import (
	"encoding/json"
	"fmt"
)

// template is what the post-processor adds around a single sequence when
// special tokens are requested: prefix ids before it, suffix ids after.
type template struct{ prefix, suffix []int32 }

// parsePostProcessor reads the post-processor of raw into a template.
func parsePostProcessor(raw json.RawMessage, path string) (template, error) {
	typ, err := componentType(raw, path)
	if err != nil || typ == "" {
		return template{}, err
	}
	switch typ {
	case "ByteLevel": // only trims offsets, which lopper does not keep
		return template{}, nil
	case "Sequence":
		var c struct {
			Processors []json.RawMessage `json:"processors"`
		}
		if err := decodeComponent(raw, path, &c); err != nil {
			return template{}, err
		}
		var t template
		for i, r := range c.Processors {
			u, err := parsePostProcessor(r, fmt.Sprintf("%s.processors[%d]", path, i))
			if err != nil {
				return template{}, err
			}
			// Each processor wraps what the previous ones produced.
			t = template{append(append([]int32(nil), u.prefix...), t.prefix...), append(t.suffix, u.suffix...)}
		}
		return t, nil
	case "BertProcessing", "RobertaProcessing":
		var c struct {
			Sep []json.RawMessage `json:"sep"`
			Cls []json.RawMessage `json:"cls"`
		}
		if err := decodeComponent(raw, path, &c); err != nil {
			return template{}, err
		}
		cls, err1 := tokenPairID(c.Cls)
		sep, err2 := tokenPairID(c.Sep)
		if err1 != nil || err2 != nil {
			return template{}, fmt.Errorf("%s: %s needs \"cls\" and \"sep\" as [token, id]", path, typ)
		}
		return template{[]int32{cls}, []int32{sep}}, nil
	case "TemplateProcessing":
		return parseTemplate(raw, path)
	}
	return template{}, unsupported(path, "post-processor", typ)
}

func tokenPairID(pair []json.RawMessage) (int32, error) {
	var id int32
	if len(pair) != 2 {
		return 0, fmt.Errorf("not a pair")
	}
	return id, json.Unmarshal(pair[1], &id)
}

func parseTemplate(raw json.RawMessage, path string) (template, error) {
	type piece struct {
		SpecialToken *struct {
			ID string `json:"id"`
		} `json:"SpecialToken"`
		Sequence *struct {
			ID string `json:"id"`
		} `json:"Sequence"`
	}
	var c struct {
		Single        []piece `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int32 `json:"ids"`
		} `json:"special_tokens"`
	}
	if err := decodeComponent(raw, path, &c); err != nil {
		return template{}, err
	}
	var t template
	seen := false
	for i, p := range c.Single {
		switch {
		case p.Sequence != nil:
			if p.Sequence.ID != "A" || seen {
				return template{}, fmt.Errorf("%s.single[%d]: a single-sequence template must hold sequence A once", path, i)
			}
			seen = true
		case p.SpecialToken != nil:
			st, ok := c.SpecialTokens[p.SpecialToken.ID]
			if !ok {
				return template{}, fmt.Errorf("%s.single[%d]: special token %q is not in special_tokens", path, i, p.SpecialToken.ID)
			}
			if seen {
				t.suffix = append(t.suffix, st.IDs...)
			} else {
				t.prefix = append(t.prefix, st.IDs...)
			}
		default:
			return template{}, fmt.Errorf("%s.single[%d]: neither SpecialToken nor Sequence", path, i)
		}
	}
	if !seen {
		return template{}, fmt.Errorf("%s.single: no sequence A", path)
	}
	return t, nil
}
