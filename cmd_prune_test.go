package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/internal/sharedtest"
	"lopper/model"
)

func runPruneCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runMain(context.Background(), append([]string{"prune", "--log-level", "error"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// lopper prune runs Wanda on the shared tiny model, saves a loadable model
// whose sparsity and metadata match what it printed.
func TestPruneCLIWanda(t *testing.T) {
	dir := sharedtest.ModelDir(t, "tiny-gpt2")
	out := filepath.Join(t.TempDir(), "pruned")
	code, stdout, stderr := runPruneCLI("--model", dir, "--out", out, "--method", "wanda", "--sparsity", "0.5",
		"--calib", filepath.Join(dir, "calib.txt"), "--calib-samples", "16", "--calib-seq-len", "128", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got pruneOutput
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	if got.SparsityAfter != 0.5 || got.Removed != 49152 || got.Report.CalibSamples != 16 || len(got.Report.Tensors) != 8 {
		t.Errorf("output: %+v", got)
	}
	m, err := model.Load(out, model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := m.Sparsity(model.Prunable); s != 0.5 {
		t.Errorf("saved model sparsity %g", s)
	}
	var doc struct {
		Metadata pruneMetadata `json:"metadata"`
	}
	b, err := os.ReadFile(filepath.Join(out, "lopper.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Metadata.Command != "prune" || doc.Metadata.Report == nil || doc.Metadata.Report.Method != "wanda" {
		t.Errorf("lopper.json metadata: %s", b)
	}
	// Re-pruning the saved model (zeros, no mask) raises its sparsity.
	out2 := filepath.Join(t.TempDir(), "pruned2")
	code, stdout, stderr = runPruneCLI("--model", out, "--out", out2, "--method", "magnitude", "--sparsity", "0.7")
	if code != exitOK || !strings.Contains(stdout, "sparsity 50.00% → 70.00%") {
		t.Errorf("re-prune: exit %d, %s%s", code, stdout, stderr)
	}
}

// A dry run lists the tensors and the planned totals and writes nothing.
func TestPruneCLIDryRun(t *testing.T) {
	dir := sharedtest.ModelDir(t, "tiny-llama")
	code, stdout, stderr := runPruneCLI("--model", dir, "--method", "magnitude", "--pattern", "2:4", "--ignore", `mlp`, "--dry-run")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"would prune", "model.layers.1.self_attn.v_proj.weight  [32 64]  2048    2048             1024   50.0%",
		"total: 24576 weights in 8 tensors, 12288 removed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "mlp") {
		t.Errorf("ignored tensors listed:\n%s", stdout)
	}
}

func TestPruneCLIErrors(t *testing.T) {
	dir := sharedtest.ModelDir(t, "tiny-llama")
	out := filepath.Join(t.TempDir(), "x")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--out", out, "--method", "magnitude"}, exitUsage, "--model is required"},
		{[]string{"--model", dir, "--out", out}, exitUsage, "--method is required"},
		{[]string{"--model", dir, "--method", "magnitude"}, exitUsage, "--out is required"},
		{[]string{"--model", dir, "--out", out, "--method", "wanda"}, exitUsage, "needs calibration text"},
		{[]string{"--model", dir, "--out", out, "--method", "magnitude", "--pattern", "2:3:4"}, exitUsage, "pattern"},
		{[]string{"--model", dir, "--out", out, "--method", "magnitude", "--pattern", "2:5"}, exitUsage, "not a multiple of 5"},
		{[]string{"--model", dir, "--out", out, "--method", "magnitude", "--targets", "["}, exitUsage, "target pattern"},
		{[]string{"--model", dir, "--out", out, "--method", "sparsegpt", "--pattern", "layers", "--calib", "x"}, exitUsage, "no structured form"},
		{[]string{"--model", filepath.Join(dir, "missing"), "--out", out, "--method", "magnitude"}, exitFailed, "no such file"},
		{[]string{"--model", dir, "--out", out, "--method", "wanda", "--calib", filepath.Join(dir, "calib.txt")}, exitFailed, "need 16384 tokens"},
	}
	for _, c := range cases {
		code, _, stderr := runPruneCLI(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d (want %d), stderr %q lacks %q", c.args, code, c.code, stderr, c.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed prune left %s behind", out)
	}
}
