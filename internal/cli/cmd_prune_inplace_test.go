package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"

	"lopper/model"
	"lopper/pruning"
	"lopper/stages"
)

// lopper prune prunes the model it loaded in place (it has no other use
// for it): the weights it saves are byte for byte those of pruning.Prune,
// which works on a copy, for the scored, block-by-block and SparseGPT
// drivers.
func TestPruneCLISavesWhatPruneGives(t *testing.T) {
	dir, calib := repoPath("quickstart", "model"), repoPath("quickstart", "train.txt")
	for _, method := range []string{"magnitude", "wanda", "sparsegpt"} {
		out := filepath.Join(t.TempDir(), "pruned")
		code, _, stderr := runPruneCLI("--model", dir, "--out", out, "--method", method, "--sparsity", "0.5",
			"--calib", calib, "--calib-samples", "4", "--calib-seq-len", "64")
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", method, code, stderr)
		}
		m, err := model.Load(dir, model.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		o := pruning.Options{Method: pruning.Method(method), Sparsity: 0.5, CalibMode: pruning.Sequential}
		if method != "magnitude" {
			if o.Calib, err = stages.CalibrationWindows(m, calib, pruning.WindowOptions{SeqLen: 64, Samples: 4}, hclog.NewNullLogger()); err != nil {
				t.Fatal(err)
			}
		}
		want, _, err := pruning.Prune(context.Background(), m, o)
		if err != nil {
			t.Fatal(err)
		}
		ref := filepath.Join(t.TempDir(), "ref")
		if err := want.Save(ref, model.SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		a, errA := os.ReadFile(filepath.Join(out, "model.safetensors"))
		b, errB := os.ReadFile(filepath.Join(ref, "model.safetensors"))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: lopper prune saved other weights than pruning.Prune (%v, %v)", method, errA, errB)
		}
	}
}
