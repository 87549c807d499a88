package eval

import (
	"context"
	"runtime/debug"
	"strings"
	"testing"

	"lopper/model"
)

// A batch whose activations cannot fit in memory is an error that says so,
// not a crash of the process; concurrent runners are limited to what fits.
func TestBatchMemoryBound(t *testing.T) {
	m, _ := loadShared(t, "tiny-llama")
	_, err := Speed(context.Background(), m, SpeedOptions{Batch: 100_000_000, Repeats: 1, Warmup: 1})
	if err == nil || !strings.Contains(err.Error(), "batch 100000000 × sequence 128 needs") || !strings.Contains(err.Error(), "of memory") {
		t.Fatalf("error %v", err)
	}
	one := model.StateBytes(&m.Config, 64, 128, false)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(3*one - 1)) // room for two runners
	if n := runnerCount(modelLM{m}, 16, 100, 64, 128); n != 2 {
		t.Errorf("%d runners of %d bytes under a limit of %d", n, one, 3*one-1)
	}
	if n := runnerCount(prefixLM{v: 4, maxPos: 8}, 16, 100, 64, 128); n != 16 {
		t.Errorf("a model without a memory bound got %d runners, want 16", n)
	}
}
