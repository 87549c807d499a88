package eval

import (
	"fmt"
	"strings"
)

// encoder turns text into token ids; prefix is the token an empty context
// starts from (the harness uses the EOT token), ok false when there is none.
type encoder interface {
	encode(text string) []int32
	prefix() (id int32, ok bool)
}

// request is one choice ready for the model: the input tokens (context and
// continuation, minus the last continuation token, cut from the left) and
// the continuation tokens they predict, which are the last len(cont)
// targets of the input.
type request struct {
	input     []int32
	cont      []int32
	truncated bool
}

// buildRequests tokenizes a task's choices the way lm-evaluation-harness
// does (see choiceScoring).
func buildRequests(enc encoder, t Task, maxPos int) ([]request, error) {
	ctx := t.Context
	trimmed := strings.TrimRightFunc(ctx, isSpace)
	moved := ctx[len(trimmed):]
	var ctxTok []int32
	if trimmed == "" {
		id, ok := enc.prefix()
		if !ok {
			return nil, fmt.Errorf("the context is empty and the tokenizer has no BOS/EOS token to start from")
		}
		ctxTok = []int32{id}
	} else {
		ctxTok = enc.encode(trimmed)
	}
	reqs := make([]request, len(t.Choices))
	for i, c := range t.Choices {
		cont := moved + Delimiter + c
		var contTok []int32
		if trimmed == "" {
			contTok = enc.encode(cont)
		} else {
			whole := enc.encode(trimmed + cont)
			if len(whole) > len(ctxTok) {
				contTok = whole[len(ctxTok):]
			}
		}
		if len(contTok) == 0 {
			return nil, fmt.Errorf("choice %d has no tokens of its own after the context", i)
		}
		if len(contTok) > maxPos {
			return nil, fmt.Errorf("choice %d is %d tokens, more than the model's %d positions", i, len(contTok), maxPos)
		}
		seq := append(append(make([]int32, 0, len(ctxTok)+len(contTok)), ctxTok...), contTok...)
		cut := max(0, len(seq)-(maxPos+1))
		reqs[i] = request{input: seq[cut : len(seq)-1], cont: contTok, truncated: cut > 0}
	}
	return reqs, nil
}

func isSpace(r rune) bool {
	// Python's str.rstrip() whitespace, which the harness uses.
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85:
		return true
	}
	return r > 0x7f && strings.ContainsRune("\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000", r)
}
