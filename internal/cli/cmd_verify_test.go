package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"lopper/model"
	"lopper/pruning"
)

// lopper verify on Llama and GPT-2 models saved to disk: a pruned model
// against itself holds; a copy with pruned weights set non-zero does not,
// and the output names the tensors, counts and first entries; a
// structurally pruned model against its source is an error.
func TestVerifyCLI(t *testing.T) {
	for _, tc := range []struct{ golden, tensor string }{
		{"llama-bf16", "model.layers.1.self_attn.o_proj.weight"},
		{"gpt2-gelu-new", "transformer.h.0.mlp.c_proj.weight"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			src := repoPath("model", "testdata", "goldens", tc.golden)
			m, err := model.Load(src, model.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			pruned, _, err := pruning.Prune(context.Background(), m, pruning.Options{Method: pruning.Magnitude, Sparsity: 0.5})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			good, bad := filepath.Join(dir, "pruned"), filepath.Join(dir, "retrained")
			if err := pruned.Save(good, model.SaveOptions{}); err != nil {
				t.Fatal(err)
			}
			frac, n := pruned.Sparsity(model.Prunable)
			zeros := int(frac*float64(n) + 0.5)

			code, stdout, stderr := lopper(context.Background(), "verify", good, "--masks-of", good)
			want := fmt.Sprintf("the masks of %s hold in %s: all %d pruned weights are zero", good, good, zeros)
			if code != exitOK || !strings.Contains(stdout, want) {
				t.Errorf("against itself: exit %d, %q%s; want %q", code, stdout, stderr, want)
			}

			// Two pruned weights of one tensor revived (the second and the
			// fifth zero), as a retrain that ignored the mask would.
			broken := pruned.Clone()
			ti, _ := broken.Layout.Lookup(tc.tensor)
			w := ti.Of(broken.W)
			var revived []int
			for i := range w {
				if w[i] == 0 {
					revived = append(revived, i)
				}
			}
			w[revived[1]], w[revived[4]] = 0.5, -2
			if err := broken.Save(bad, model.SaveOptions{}); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr = lopper(context.Background(), "verify", bad, "--masks-of", good)
			cols := ti.Shape[1]
			for _, want := range []string{
				fmt.Sprintf("do not hold in %s: 2 of %d pruned weights are not zero, in 1 tensor", bad, zeros),
				tc.tensor, fmt.Sprintf("entry %d (row %d, column %d) = 0.5", revived[1], revived[1]/cols, revived[1]%cols),
			} {
				if !strings.Contains(stdout, want) {
					t.Errorf("violations: output lacks %q:\n%s", want, stdout)
				}
			}
			if code != exitFailed {
				t.Errorf("violations: exit %d, want %d (%s)", code, exitFailed, stderr)
			}

			code, stdout, _ = lopper(context.Background(), "verify", "--json", "--masks-of", good, bad)
			var got verifyOutput
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("%v in %s", err, stdout)
			}
			if code != exitFailed || got.Holds || got.Violations != 2 || got.Checked != zeros || len(got.Tensors) != 1 ||
				got.Tensors[0].Tensor != tc.tensor || got.Tensors[0].First != revived[1] || got.Tensors[0].Count != 2 {
				t.Errorf("--json: exit %d, %+v", code, got)
			}

			// The unpruned source against a structurally pruned model.
			small, _, err := pruning.Prune(context.Background(), m, pruning.Options{Method: pruning.MethodL2, Pattern: pruning.Pattern{Kind: pruning.Neurons}, Sparsity: 0.5})
			if err != nil {
				t.Fatal(err)
			}
			smallDir := filepath.Join(dir, "small")
			if err := small.Save(smallDir, model.SaveOptions{}); err != nil {
				t.Fatal(err)
			}
			code, _, stderr = lopper(context.Background(), "verify", smallDir, "--masks-of", src)
			if code != exitFailed || !strings.Contains(stderr, "unsliced source") {
				t.Errorf("structured against its source: exit %d, %s", code, stderr)
			}
		})
	}
}

func TestVerifyCLIUsage(t *testing.T) {
	dir := repoPath("model", "testdata", "goldens", "llama-bf16")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"verify"}, exitUsage, "want one MODEL_DIR, got 0"},
		{[]string{"verify", dir}, exitUsage, "--masks-of is required"},
		{[]string{"verify", dir, dir, "--masks-of", dir}, exitUsage, "want one MODEL_DIR, got 2"},
		{[]string{"verify", t.TempDir(), "--masks-of", dir}, exitFailed, "config.json"},
		{[]string{"verify", dir, "--masks-of", t.TempDir()}, exitFailed, "--masks-of"},
	} {
		code, _, stderr := lopper(context.Background(), c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
