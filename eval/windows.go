package eval

import "fmt"

// window is one forward pass of the text protocol: inputs are
// tokens[Begin : Begin+seqLen] and targets tokens[Begin+1 : Begin+seqLen+1];
// the first Skip predictions were scored by the previous window and are not
// scored again.
type window struct {
	Begin int
	Skip  int
}

// planWindows lays windows of seqLen inputs over a text of n tokens, stride
// tokens apart, for as long as a full window (seqLen inputs plus the target
// after the last one) fits. The first window scores all seqLen predictions;
// every later one scores only its last stride predictions, the ones the
// previous window did not reach, so every scored target is scored once, with
// at least seqLen−stride tokens of context after the first window. With
// stride == seqLen this is the non-overlapping protocol of the shared
// references. The text tail that does not fill a window is not scored.
// limit > 0 keeps the first limit windows. It also returns how many windows
// the whole text holds.
func planWindows(n, seqLen, stride, limit int) (ws []window, available int, err error) {
	if seqLen < 1 {
		return nil, 0, fmt.Errorf("seq_len must be at least 1, got %d", seqLen)
	}
	if stride < 1 || stride > seqLen {
		return nil, 0, fmt.Errorf("stride must be between 1 and seq_len (%d), got %d", seqLen, stride)
	}
	if limit < 0 {
		return nil, 0, fmt.Errorf("limit must not be negative, got %d", limit)
	}
	if n < seqLen+1 {
		return nil, 0, fmt.Errorf("the text has %d tokens; a window of seq_len %d needs at least %d", n, seqLen, seqLen+1)
	}
	available = (n-1-seqLen)/stride + 1
	count := available
	if limit > 0 && limit < count {
		count = limit
	}
	ws = make([]window, count)
	for k := range ws {
		ws[k].Begin = k * stride
		if k > 0 {
			ws[k].Skip = seqLen - stride
		}
	}
	return ws, available, nil
}
