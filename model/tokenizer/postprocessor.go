package tokenizer

import (
	"encoding/json"
	"fmt"
)

// A piece of a post-processed encoding: a special token's ids, or the tokens
// of input sequence A or B; every token of the piece gets typeID.
type piece struct {
	seq    int8 // seqSpecial, seqA or seqB
	ids    []int32
	typeID int32
}

const (
	seqSpecial int8 = -1
	seqA       int8 = 0
	seqB       int8 = 1
)

// layout is the pieces of a post-processed encoding, in order.
type layout []piece

// postProcessor is what the post-processor makes of one sequence and of a
// pair, with and without special tokens. Hugging Face runs its processors on
// every encoding; the processors depend only on which sequences there are,
// so lopper runs them once, at load, on placeholders for the sequences.
type postProcessor struct {
	single, singleSpecial, pair, pairSpecial layout
	// prefix and suffix are the special ids around A in singleSpecial.
	prefix, suffix []int32
}

// A processor is one post-processor: it rewrites the encodings (one per input
// sequence until a template merges them) as Hugging Face's process_encodings.
type processor func(encs []layout, addSpecial bool) ([]layout, error)

// newPostProcessor runs proc on one and on two sequences.
func newPostProcessor(proc processor, path string) (postProcessor, error) {
	var p postProcessor
	for _, c := range []struct {
		dst     *layout
		n       int
		special bool
	}{{&p.single, 1, false}, {&p.singleSpecial, 1, true}, {&p.pair, 2, false}, {&p.pairSpecial, 2, true}} {
		encs := []layout{{{seq: seqA}}}
		if c.n == 2 {
			encs = append(encs, layout{{seq: seqB, typeID: 1}})
		}
		if proc != nil {
			var err error
			if encs, err = proc(encs, c.special); err != nil {
				return postProcessor{}, fmt.Errorf("%s: %w", path, err)
			}
		}
		for _, e := range encs {
			*c.dst = append(*c.dst, e...)
		}
		if err := c.dst.check(c.n); err != nil {
			what := "one sequence"
			if c.n == 2 {
				what = "a pair"
			}
			return postProcessor{}, fmt.Errorf("%s: for %s: %w", path, what, err)
		}
	}
	seen := false
	for _, pc := range p.singleSpecial {
		switch {
		case pc.seq == seqA:
			seen = true
		case seen:
			p.suffix = append(p.suffix, pc.ids...)
		default:
			p.prefix = append(p.prefix, pc.ids...)
		}
	}
	return p, nil
}

// check requires sequence A once and, for a pair, B once.
func (l layout) check(n int) error {
	var count [2]int
	for _, pc := range l {
		if pc.seq >= 0 {
			count[pc.seq]++
		}
	}
	switch {
	case count[0] != 1:
		return fmt.Errorf("sequence A appears %d times, not once", count[0])
	case n == 1 && count[1] != 0:
		return fmt.Errorf("a single-sequence template uses sequence B")
	case n == 2 && count[1] != 1:
		return fmt.Errorf("sequence B appears %d times, not once", count[1])
	}
	return nil
}

// specialIDs is the number of special token ids in l.
func (l layout) specialIDs() int {
	n := 0
	for _, pc := range l {
		n += len(pc.ids)
	}
	return n
}

// parsePostProcessor reads the post-processor of raw into a processor (nil for
// null or for processors that only adjust offsets, which lopper does not keep).
func parsePostProcessor(raw json.RawMessage, path string) (processor, error) {
	typ, err := componentType(raw, path)
	if err != nil || typ == "" {
		return nil, err
	}
	switch typ {
	case "ByteLevel":
		return nil, nil
	case "Sequence":
		var c struct {
			Processors []json.RawMessage `json:"processors"`
		}
		if err := decodeComponent(raw, path, &c); err != nil {
			return nil, err
		}
		var procs []processor
		for i, r := range c.Processors {
			p, err := parsePostProcessor(r, fmt.Sprintf("%s.processors[%d]", path, i))
			if err != nil {
				return nil, err
			}
			if p != nil {
				procs = append(procs, p)
			}
		}
		return func(encs []layout, special bool) ([]layout, error) {
			for _, p := range procs {
				var err error
				if encs, err = p(encs, special); err != nil {
					return nil, err
				}
			}
			return encs, nil
		}, nil
	case "BertProcessing", "RobertaProcessing":
		var c struct {
			Sep []json.RawMessage `json:"sep"`
			Cls []json.RawMessage `json:"cls"`
		}
		if err := decodeComponent(raw, path, &c); err != nil {
			return nil, err
		}
		cls, err1 := tokenPairID(c.Cls)
		sep, err2 := tokenPairID(c.Sep)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: %s needs \"cls\" and \"sep\" as [token, id]", path, typ)
		}
		return clsSepProcessor(cls, sep, typ == "RobertaProcessing"), nil
	case "TemplateProcessing":
		return parseTemplate(raw, path)
	}
	return nil, unsupported(path, "post-processor", typ)
}

func tokenPairID(pair []json.RawMessage) (int32, error) {
	var id int32
	if len(pair) != 2 {
		return 0, fmt.Errorf("not a pair")
	}
	return id, json.Unmarshal(pair[1], &id)
}

func special(id, typeID int32) piece { return piece{seq: seqSpecial, ids: []int32{id}, typeID: typeID} }

// clsSepProcessor is BertProcessing (roberta false): [CLS] A [SEP] with type
// ids 0, then B [SEP] with type ids 1 (processors/bert.rs); or
// RobertaProcessing (roberta true): <s> A </s>, then </s> B </s>, every type
// id 0 (processors/roberta.rs). Without special tokens they change nothing.
func clsSepProcessor(cls, sep int32, roberta bool) processor {
	return func(encs []layout, addSpecial bool) ([]layout, error) {
		if !addSpecial {
			return encs, nil
		}
		out := []layout{append(append(layout{special(cls, 0)}, encs[0]...), special(sep, 0))}
		if len(encs) == 2 {
			b := append(layout{}, encs[1]...)
			end := special(sep, 1)
			if roberta {
				b = append(layout{special(sep, 0)}, b...)
				for i := range b {
					b[i].typeID = 0
				}
				end.typeID = 0
			}
			out = append(out, append(b, end))
		}
		return out, nil
	}
}

// templatePiece is one element of a template: {"SpecialToken": {"id", "type_id"}}
// or {"Sequence": {"id": "A" | "B", "type_id"}}.
type templatePiece struct {
	SpecialToken *struct {
		ID     string `json:"id"`
		TypeID int32  `json:"type_id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID     string `json:"id"`
		TypeID int32  `json:"type_id"`
	} `json:"Sequence"`
}

// parseTemplate reads a TemplateProcessing. A file without "pair" (Hugging
// Face requires one) gets the builder's default, "$A:0 $B:1".
func parseTemplate(raw json.RawMessage, path string) (processor, error) {
	var c struct {
		Single        []templatePiece `json:"single"`
		Pair          []templatePiece `json:"pair"`
		SpecialTokens map[string]struct {
			IDs []int32 `json:"ids"`
		} `json:"special_tokens"`
	}
	if err := decodeComponent(raw, path, &c); err != nil {
		return nil, err
	}
	build := func(pieces []templatePiece, key string) (layout, error) {
		var l layout
		for i, p := range pieces {
			switch {
			case p.Sequence != nil:
				switch p.Sequence.ID {
				case "A":
					l = append(l, piece{seq: seqA, typeID: p.Sequence.TypeID})
				case "B":
					l = append(l, piece{seq: seqB, typeID: p.Sequence.TypeID})
				default:
					return nil, fmt.Errorf("%s.%s[%d]: sequence %q is neither A nor B", path, key, i, p.Sequence.ID)
				}
			case p.SpecialToken != nil:
				st, ok := c.SpecialTokens[p.SpecialToken.ID]
				if !ok {
					return nil, fmt.Errorf("%s.%s[%d]: special token %q is not in special_tokens", path, key, i, p.SpecialToken.ID)
				}
				l = append(l, piece{seq: seqSpecial, ids: st.IDs, typeID: p.SpecialToken.TypeID})
			default:
				return nil, fmt.Errorf("%s.%s[%d]: neither SpecialToken nor Sequence", path, key, i)
			}
		}
		return l, nil
	}
	single, err := build(c.Single, "single")
	if err != nil {
		return nil, err
	}
	pair := layout{{seq: seqA}, {seq: seqB, typeID: 1}}
	if c.Pair != nil {
		if pair, err = build(c.Pair, "pair"); err != nil {
			return nil, err
		}
	}
	return func(encs []layout, addSpecial bool) ([]layout, error) {
		tpl := single
		if len(encs) == 2 {
			tpl = pair
		}
		var out layout
		for _, p := range tpl {
			switch {
			case p.seq == seqSpecial:
				if addSpecial {
					out = append(out, p)
				}
			case int(p.seq) >= len(encs):
				return nil, fmt.Errorf("the template uses sequence B, but there is no pair")
			default:
				for _, pc := range encs[p.seq] { // the template sets the type ids
					pc.typeID = p.typeID
					out = append(out, pc)
				}
			}
		}
		return []layout{out}, nil
	}, nil
}
