package eval

import (
	"strings"
	"testing"
)

func TestPlanWindowsReferenceProtocol(t *testing.T) {
	// shakespeare_eval.txt has 115,394 bytes; reference.json scores 115,328
	// tokens = 901 windows of 128.
	ws, avail, err := planWindows(115394, 128, 128, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 901 || avail != 901 {
		t.Fatalf("got %d windows (%d available), want 901", len(ws), avail)
	}
	for k, w := range ws {
		if w.Begin != 128*k || w.Skip != 0 {
			t.Fatalf("window %d = %+v, want begin %d skip 0", k, w, 128*k)
		}
	}
	if last := ws[900].Begin + 128; last+1 > 115394 {
		t.Fatalf("last window's final target %d is past the text", last)
	}
}

func TestPlanWindowsSliding(t *testing.T) {
	// n = 20 tokens, windows of 8 inputs, stride 3: begins 0, 3, 6, 9
	// (9+8+1 = 18 ≤ 20; 12+8+1 = 21 > 20).
	ws, avail, err := planWindows(20, 8, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []window{{0, 0}, {3, 5}, {6, 5}, {9, 5}}
	if avail != 4 || len(ws) != len(want) {
		t.Fatalf("got %v (%d available), want %v", ws, avail, want)
	}
	for i := range want {
		if ws[i] != want[i] {
			t.Fatalf("window %d = %+v, want %+v", i, ws[i], want[i])
		}
	}
	// Every target 1..17 scored exactly once.
	seen := map[int]int{}
	for _, w := range ws {
		for p := w.Skip; p < 8; p++ {
			seen[w.Begin+p+1]++
		}
	}
	for j := 1; j <= 17; j++ {
		if seen[j] != 1 {
			t.Fatalf("target %d scored %d times", j, seen[j])
		}
	}
	if len(seen) != 17 {
		t.Fatalf("scored %d targets, want 17", len(seen))
	}
	ws, avail, err = planWindows(20, 8, 3, 2)
	if err != nil || len(ws) != 2 || avail != 4 {
		t.Fatalf("limit 2: %v, %d available, %v", ws, avail, err)
	}
}

func TestPlanWindowsErrors(t *testing.T) {
	for _, c := range []struct {
		n, seqLen, stride, limit int
		want                     string
	}{
		{100, 0, 1, 0, "seq_len must be at least 1"},
		{100, 8, 0, 0, "stride must be between 1 and seq_len"},
		{100, 8, 9, 0, "stride must be between 1 and seq_len"},
		{100, 8, 8, -1, "limit must not be negative"},
		{8, 8, 8, 0, "the text has 8 tokens; a window of seq_len 8 needs at least 9"},
	} {
		_, _, err := planWindows(c.n, c.seqLen, c.stride, c.limit)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("planWindows(%d, %d, %d, %d) error %v, want %q", c.n, c.seqLen, c.stride, c.limit, err, c.want)
		}
	}
}
