package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"lopper/model"
	"lopper/pruning"
	"lopper/stages"
)

// lopper prune writes the tensors as pruning finishes them (tensor by
// tensor, block by block) and the directory it leaves is byte for byte
// the one the old way gave: prune everything, then Save with the same
// metadata. For every streaming method, on a Llama, a BF16 checkpoint and
// Phi-3's fused tensors (written when their last part is final); a global
// scope (streamed at the end) too. It logs how it saved, and that it
// opened the model lazily when the result streams tensor by tensor or
// block by block: then every weight pruning reads or writes was pinned
// (an unpinned tensor reads as zeros, and an edit to it is lost), or the
// bytes would differ from the resident prune's.
func TestPruneCLIStreamsWhatSaveWrote(t *testing.T) {
	models := map[string]string{repoPath("quickstart", "model"): repoPath("quickstart", "train.txt")}
	for _, golden := range []string{"llama-bf16", "phi4-mini-bf16"} {
		dir, calib := letterModel(t, repoPath("model", "testdata", "goldens", golden))
		models[dir] = calib
	}
	cases := []struct {
		args []string
		mode string
	}{
		{[]string{"--method", "magnitude", "--sparsity", "0.5"}, pruning.StreamTensors},
		{[]string{"--method", "magnitude", "--sparsity", "0.4", "--scope", "row"}, pruning.StreamTensors},
		{[]string{"--method", "magnitude", "--pattern", "2:4"}, pruning.StreamTensors},
		{[]string{"--method", "wanda", "--sparsity", "0.5", "--calib-mode", "one-pass"}, pruning.StreamTensors},
		{[]string{"--method", "wanda", "--sparsity", "0.5"}, pruning.StreamBlocks},
		{[]string{"--method", "sparsegpt", "--sparsity", "0.5"}, pruning.StreamBlocks},
		{[]string{"--method", "sparsegpt", "--pattern", "2:4"}, pruning.StreamBlocks},
		{[]string{"--method", "sparsegpt", "--sparsity", "0.5", "--calib-mode", "one-pass"}, pruning.StreamBlocks},
		{[]string{"--method", "wanda", "--sparsity", "0.5", "--scope", "owl", "--owl-m", "2"}, pruning.StreamBlocks},
		{[]string{"--method", "magnitude", "--sparsity", "0.5", "--scope", "global"}, pruning.StreamAtEnd},
	}
	for dir, calib := range models {
		for _, c := range cases {
			name := filepath.Base(dir) + " " + strings.Join(c.args, " ")
			out := filepath.Join(t.TempDir(), "pruned")
			args := append([]string{"prune", "--log-level", "debug", "--model", dir, "--out", out,
				"--calib", calib, "--calib-samples", "3", "--calib-seq-len", "8"}, c.args...)
			var stdout, stderr bytes.Buffer
			if code := runMain(context.Background(), args, &stdout, &stderr); code != exitOK {
				t.Fatalf("%s: exit %d: %s", name, code, stderr.String())
			}
			if !strings.Contains(stderr.String(), `streaming="`+c.mode+`"`) {
				t.Errorf("%s: the log does not say %q: %s", name, c.mode, stderr.String())
			}
			weights := weightsResident
			if c.mode != pruning.StreamAtEnd {
				weights = weightsLazy
			}
			if strings.Contains(weights, " ") {
				weights = `"` + weights + `"`
			}
			if !strings.Contains(stderr.String(), "weights="+weights) {
				t.Errorf("%s: the log does not say weights %q: %s", name, weights, stderr.String())
			}
			ref := oldPruneSave(t, dir, calib, c.args)
			if a, b := dirBytes(t, out), dirBytes(t, ref); !maps.EqualFunc(a, b, bytes.Equal) {
				t.Errorf("%s: streamed output differs from Save at the end", name)
			}
		}
	}
}

// letterModel copies the golden model src (whose tokenizer reads no
// text) with a tokenizer of one token per letter a…z, and returns it with
// a calibration text for it.
func letterModel(t *testing.T, src string) (dir, calib string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	vocab := map[string]int{}
	for i := range 26 {
		vocab[string(rune('a'+i))] = i
	}
	tok, err := json.Marshal(map[string]any{"version": "1.0", "model": map[string]any{"type": "BPE", "vocab": vocab, "merges": []string{}}})
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "tokenizer.json"), tok, 0o644)
	}
	calib = filepath.Join(t.TempDir(), "calib.txt")
	if err == nil {
		err = os.WriteFile(calib, []byte(strings.Repeat("thequickbrownfoxjumpsoverthelazydog", 4)), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir, calib
}

// oldPruneSave prunes dir as lopper prune's args say, without streaming,
// and saves the result at the end as lopper prune did before it streamed.
func oldPruneSave(t *testing.T, dir, calib string, args []string) string {
	t.Helper()
	var f pruneFlags
	fs := (&app{stderr: &bytes.Buffer{}}).newFlags("prune")
	fs.StringVar(&f.method, "method", "", "")
	fs.Float64Var(&f.sparsity, "sparsity", 0.5, "")
	fs.StringVar(&f.pattern, "pattern", "unstructured", "")
	fs.StringVar(&f.scope, "scope", "", "")
	fs.StringVar(&f.calibMode, "calib-mode", "sequential", "")
	fs.Float64Var(&f.owlM, "owl-m", 0, "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	f.sparsitySet = strings.Contains(strings.Join(args, " "), "--sparsity")
	f.model, f.out, f.uniform, f.calibSamples, f.calib = dir, "x", "refuse", 3, calib
	o, msg := f.options(nil)
	if msg != "" {
		t.Fatal(msg)
	}
	m, err := model.Load(dir, model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Calib, err = stages.CalibrationWindows(m, calib, pruning.WindowOptions{SeqLen: 8, Samples: 3}, hclog.NewNullLogger()); err != nil {
		t.Fatal(err)
	}
	out, rep, err := pruning.PruneInPlace(context.Background(), m, o)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := json.Marshal(pruneMetadata{Command: "prune", Source: dir, Report: rep, Previous: m.Meta})
	if err != nil {
		t.Fatal(err)
	}
	ref := filepath.Join(t.TempDir(), "ref")
	if err := out.Save(ref, model.SaveOptions{Metadata: meta}); err != nil {
		t.Fatal(err)
	}
	return ref
}

// dirBytes reads every file of dir.
func dirBytes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range ents {
		if files[e.Name()], err = os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return files
}
