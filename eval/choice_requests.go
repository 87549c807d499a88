package eval

import (
	"fmt"
	"slices"
	"strings"
)

// encoder turns text into token ids; prefix is the token an empty context
// starts from (the harness uses the EOT token), ok false when there is none.
type encoder interface {
	encode(text string) []int32
	prefix() (id int32, ok bool)
}

// request is one choice ready for the model: one or more segments that
// together score each continuation token once.
type request struct {
	segments []segment
	contLen  int
	// truncated: the first segment does not start at the beginning of the
	// sequence (context was cut from the left).
	truncated bool
}

// segment is one forward pass: input tokens, and the targets of its
// predictions from position from on (targets[i] is predicted at position
// from+i; the last target is the token after the input).
type segment struct {
	input   []int32
	from    int
	targets []int32
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
		seq := append(append(make([]int32, 0, len(ctxTok)+len(contTok)), ctxTok...), contTok...)
		reqs[i] = segmentRequest(seq, len(contTok), maxPos)
	}
	return reqs, nil
}

// segmentRequest scores the last k tokens of seq with windows of at most
// maxPos inputs. The last window is the harness's: the last maxPos+1 tokens
// of seq, minus the final one, which cuts the context from the left. A
// continuation longer than maxPos (which the harness refuses) is scored by
// further windows before it, each ending where the next one's predictions
// begin, like the harness's rolling log-likelihood; the segments are
// returned in sequence order.
func segmentRequest(seq []int32, k, maxPos int) request {
	n := len(seq)
	var segs []segment
	start := 0
	for end := n; end > n-k; { // targets seq[n-k:end] are still to be scored
		L := min(maxPos, end-1) // inputs seq[s:end-1] predict seq[s+1:end]
		s := end - 1 - L
		first := max(s+1, n-k)
		segs = append(segs, segment{input: seq[s : end-1], from: first - s - 1, targets: seq[first:end]})
		start, end = s, first
	}
	slices.Reverse(segs)
	return request{segments: segs, contLen: k, truncated: start > 0}
}

func isSpace(r rune) bool {
	// Python's str.rstrip() whitespace, which the harness uses.
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85:
		return true
	}
	return r > 0x7f && strings.ContainsRune("\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000", r)
}
