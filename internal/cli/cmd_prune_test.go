package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lopper/internal/sharedtest"
	"lopper/model"
	"lopper/pruning"
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
		{[]string{"--model", dir, "--out", out, "--method", "wanda", "--calib", filepath.Join(dir, "calib.txt"), "--calib-samples", "128"}, exitFailed, "need 16384 tokens"},
		{[]string{"--model", dir, "--out", out, "--method", "l1", "--pattern", "heads", "--head-mode", "query"}, exitUsage, `head mode "query"`},
		{[]string{"--model", dir, "--out", out, "--method", "l1", "--pattern", "neurons", "--head-mode", "query_heads"}, exitUsage, "applies to pattern heads only"},
		{[]string{"--model", dir, "--out", out, "--method", "l2", "--pattern", "neurons", "--scope", "global", "--nonuniform", "drop"}, exitUsage, `non-uniform policy "drop"`},
		{[]string{"--model", dir, "--out", out, "--method", "magnitude", "--nonuniform", "keep"}, exitUsage, "structured patterns"},
		{[]string{"--model", dir, "--out", out, "--method", "l1"}, exitUsage, "scores whole structures"},
		{[]string{"--model", dir, "--out", out, "--method", "l1", "--pattern", "layers"}, exitUsage, "does not score whole layers"},
		{[]string{"--model", dir, "--out", out, "--method", "activation", "--pattern", "neurons"}, exitUsage, "needs calibration text"},
		{[]string{"--model", dir, "--out", out, "--method", "block_influence", "--pattern", "layers"}, exitUsage, "needs calibration text"},
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

// Without --calib-samples, a calibration text shorter than 128 windows
// gives as many full windows as it holds, and says so in the log.
func TestPruneCLICalibFits(t *testing.T) {
	dir := sharedtest.ModelDir(t, "tiny-llama")
	out := filepath.Join(t.TempDir(), "pruned")
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), []string{"prune", "--model", dir, "--out", out, "--method", "wanda",
		"--calib", filepath.Join(dir, "calib.txt"), "--calib-seq-len", "128", "--json"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got pruneOutput
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, stdout.String())
	}
	// calib.txt is 16 windows of 128 bytes.
	if got.Report.CalibSamples != 16 || got.Report.CalibSeqLen != 128 {
		t.Errorf("calibrated on %d × %d tokens, want the 16 × 128 the text holds", got.Report.CalibSamples, got.Report.CalibSeqLen)
	}
	if log := stderr.String(); !strings.Contains(log, "windows=16") || !strings.Contains(log, "default=128") {
		t.Errorf("the log does not say how many windows were used:\n%s", log)
	}
}

// The structured flags reach the structured pruner: the saved model is the
// one PruneStructured makes from the options the flags name.
func TestPruneCLIStructuredFlags(t *testing.T) {
	dir := sharedtest.ModelDir(t, "tiny-llama")
	src, err := model.Load(dir, model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	calibFile := filepath.Join(dir, "calib.txt")
	cal, err := pruning.Windows(sharedtest.Tokens(sharedtest.CalibText(t, "tiny-llama")), pruning.WindowOptions{Samples: 16, SeqLen: 128})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		flags []string
		want  pruning.StructuredOptions
		dims  model.LayerDims // layer 0 after pruning, when set
		// nonUniform: the layers end with different sizes (only keep
		// allows that).
		nonUniform bool
	}{
		{[]string{"--pattern", "heads", "--method", "l1", "--sparsity", "0.5", "--head-mode", "query_heads"},
			pruning.StructuredOptions{Structure: pruning.StructHeads, Criterion: pruning.ByL1, Ratio: 0.5, HeadMode: pruning.HeadsQuery},
			model.LayerDims{Heads: 2, KVHeads: 2, Intermediate: 192}, false},
		{[]string{"--pattern", "heads", "--method", "l2", "--sparsity", "0.5", "--head-mode", "kv_groups"},
			pruning.StructuredOptions{Structure: pruning.StructHeads, Criterion: pruning.ByL2, Ratio: 0.5, HeadMode: pruning.HeadsKVGroups},
			model.LayerDims{Heads: 2, KVHeads: 1, Intermediate: 192}, false},
		{[]string{"--pattern", "neurons", "--method", "activation", "--sparsity", "0.25", "--scope", "global", "--nonuniform", "keep",
			"--uniform", "keep", "--calib", calibFile, "--calib-seq-len", "128"},
			pruning.StructuredOptions{Structure: pruning.StructNeurons, Criterion: pruning.ByActivation, Ratio: 0.25,
				Scope: pruning.AllocGlobal, NonUniform: pruning.NonUniformKeep, Calibration: cal},
			model.LayerDims{}, true},
		{[]string{"--pattern", "layers", "--method", "taylor", "--sparsity", "0.5", "--calib", calibFile, "--calib-seq-len", "128"},
			pruning.StructuredOptions{Structure: pruning.StructLayers, Criterion: pruning.ByTaylor, Ratio: 0.5, Calibration: cal},
			model.LayerDims{Heads: 4, KVHeads: 2, Intermediate: 192}, false},
		{[]string{"--pattern", "layers", "--method", "block_influence", "--sparsity", "0.5", "--calib", calibFile, "--calib-seq-len", "128"},
			pruning.StructuredOptions{Structure: pruning.StructLayers, Criterion: pruning.ByBlockInfluence, Ratio: 0.5, Calibration: cal},
			model.LayerDims{Heads: 4, KVHeads: 2, Intermediate: 192}, false},
	} {
		t.Run(strings.Join(c.flags[:4], " "), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "pruned")
			code, stdout, stderr := runPruneCLI(append([]string{"--model", dir, "--out", out, "--json"}, c.flags...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var rep pruneOutput
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatal(err)
			}
			want, wantRep, err := pruning.PruneStructured(context.Background(), src, c.want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := model.Load(out, model.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Config.Layers, want.Config.Layers) || !slices.Equal(got.W, want.W) {
				t.Errorf("saved dims %v differ from PruneStructured's %v (or their weights do)", got.Config.Layers, want.Config.Layers)
			}
			if s := rep.Report.Structured; s == nil || s.Criterion != wantRep.Criterion || s.HeadMode != wantRep.HeadMode || s.Scope != wantRep.Scope {
				t.Errorf("report %+v, want criterion %s head mode %q scope %q", s, wantRep.Criterion, wantRep.HeadMode, wantRep.Scope)
			}
			if c.dims != (model.LayerDims{}) && got.Config.Layers[0] != c.dims {
				t.Errorf("layer 0 dims %+v, want %+v", got.Config.Layers[0], c.dims)
			}
			if got.Config.Uniform() == c.nonUniform {
				t.Errorf("layer dims %+v: uniform %v, want %v", got.Config.Layers, got.Config.Uniform(), !c.nonUniform)
			}
		})
	}
}

// lopper prune on the encoder quickstart: Wanda calibrates on the examples
// of a labelled file (16 of them, padded to the longest, 21 of at most 24
// tokens), the output names the embeddings' share, heads are
// saved as transformers' pruned_heads, and both results evaluate.
func TestPruneCLIClassifier(t *testing.T) {
	dir, train, dev := repoPath("quickstart", "bert", "model"), repoPath("quickstart", "bert", "train.tsv"), repoPath("quickstart", "bert", "dev.tsv")
	out := filepath.Join(t.TempDir(), "wanda")
	code, stdout, stderr := runPruneCLI("--model", dir, "--out", out, "--method", "wanda", "--calib", train, "--calib-samples", "16", "--calib-seq-len", "24")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"calibration on 16 × 21 tokens", "embeddings: 5728 of the model's 24002 parameters (23.9%)", "sparsity 0.00% → 50.00%"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	// One-pass Wanda streams tensor by tensor, but the encoder's forward
	// passes need its weights resident: it is loaded; magnitude opens it.
	for _, c := range []struct {
		args    []string
		weights string
	}{
		{[]string{"--method", "wanda", "--calib-mode", "one-pass", "--calib", train, "--calib-samples", "16", "--calib-seq-len", "24"}, "weights=resident"},
		{[]string{"--method", "magnitude"}, `weights="` + weightsLazy + `"`},
	} {
		args := append([]string{"--log-level", "debug", "--model", dir, "--out", filepath.Join(t.TempDir(), "p")}, c.args...)
		if code, _, stderr := runPruneCLI(args...); code != exitOK || !strings.Contains(stderr, c.weights) {
			t.Errorf("%v: exit %d, the log does not say %s: %s", c.args, code, c.weights, stderr)
		}
	}
	heads := filepath.Join(t.TempDir(), "heads")
	if code, stdout, stderr = runPruneCLI("--model", dir, "--out", heads, "--pattern", "heads", "--method", "l1", "--sparsity", "0.5"); code != exitOK {
		t.Fatalf("heads: exit %d: %s", code, stderr)
	}
	cfg, err := os.ReadFile(filepath.Join(heads, "config.json"))
	if err != nil || !strings.Contains(string(cfg), `"pruned_heads"`) {
		t.Errorf("heads: config.json %s (%v); output %s", cfg, err, stdout)
	}
	for _, d := range []string{out, heads} {
		if code, stdout, stderr := runEvalCLI("--model", d, "--classify", dev); code != exitOK || !strings.Contains(stdout, "accuracy") {
			t.Errorf("eval %s: exit %d, %s%s", d, code, stdout, stderr)
		}
	}
}
