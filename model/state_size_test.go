package model

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// StateBytes predicts what making a state allocates (within 10 %, the
// rest being per-tensor bookkeeping), for both architectures, uniform or
// not, for training (with and without recompute) and inference, plus the
// logits, which the state's first full pass allocates
// (TestLogitsAllocatedByTheFirstHead).
func TestStateBytesMatchesAllocation(t *testing.T) {
	for name, cfg := range tinyConfigs() {
		m := randomModel(t, cfg, 1)
		for _, mode := range []struct{ train, recompute bool }{{false, false}, {true, false}, {true, true}} {
			train := mode.train
			const B, T = 8, 16
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			st, err := newState(m, B, T, train, mode.recompute)
			if err != nil {
				t.Fatal(err)
			}
			st.logits = make([]float32, B*T*m.Config.Vocab) // as the first pass does
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(st)
			alloc, want := float64(after.TotalAlloc-before.TotalAlloc), float64(stateBytes(&m.Config, B, T, train, mode.recompute))
			if want > alloc || want < 0.9*alloc {
				t.Errorf("%s (%+v): StateBytes %g, newState allocated %g", name, mode, want, alloc)
			}
		}
	}
}

// A state larger than the memory budget is refused with an error that
// says what it needs, before anything is allocated; the budget follows
// Go's memory limit.
func TestStateTooLarge(t *testing.T) {
	m := randomModel(t, tinyConfigs()["llama"], 1)
	_, err := NewInferenceState(m, 100_000_000, 16)
	if err == nil || !strings.Contains(err.Error(), "batch 100000000 × sequence 16 needs ") || !strings.Contains(err.Error(), "of memory") {
		t.Fatalf("error %v", err)
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 30))
	if MemoryBudget() > 1<<30 {
		t.Errorf("budget %d above the 1 GiB memory limit", MemoryBudget())
	}
	if n := StatesThatFit(&m.Config, 1000, 16, false); n < 1 || int64(n) > (1<<30)/StateBytes(&m.Config, 1000, 16, false) {
		t.Errorf("%d states of %d bytes fit in 1 GiB", n, StateBytes(&m.Config, 1000, 16, false))
	}
	if _, err := NewState(m, 1<<20, 16); err == nil || !strings.Contains(err.Error(), "1.0 GiB of memory") {
		t.Errorf("training state over the limit: %v", err)
	}
	if got := FormatBytes(3 << 40); got != "3.0 TiB" {
		t.Errorf("FormatBytes: %s", got)
	}
}
