package cli

import (
	"strings"
	"testing"

	"lopper/internal/sharedtest"
)

// lopper eval --speed with a batch whose activations cannot fit in memory
// is a usage error that says how much it needs, found before anything
// runs, not Go's "out of memory".
func TestEvalCLIBatchTooLarge(t *testing.T) {
	dir := sharedtest.ModelDir(t, "tiny-llama")
	code, _, stderr := runEvalCLI("--model", dir, "--speed", "--batch", "100000000", "--text", sharedtest.Path(t, "data", "shakespeare_eval.txt"))
	if code != exitUsage || !strings.Contains(stderr, "batch 100000000 × sequence 128 needs") || !strings.Contains(stderr, "lower --batch or --seq-len") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
