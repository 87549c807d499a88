package stages

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// lazyRecipe reads one model with every kind of stage that reads models:
// evaluate (text, multiple choice, size), prune (magnitude, Wanda,
// SparseGPT, 2:4, scored, neurons), score, retrain with a teacher, verify
// and save.
const lazyRecipe = `version: 1
params:
  model: {type: path, default: m}
  text: {type: path, default: t.txt}
  choices: {type: path, default: c.jsonl}
x-eval: &eval {text: "${{ params.text }}", choices: "${{ params.choices }}", seq_len: 32, limit: 4, size: true}
stages:
  base: {uses: load, with: {path: "${{ params.model }}", dtype: BF16}}
  baseline: {uses: evaluate, with: {<<: *eval, model: base}}
  magnitude: {uses: prune, with: {model: base, method: magnitude, sparsity: 0.5}}
  wanda: {uses: prune, with: {model: base, method: wanda, sparsity: 0.5, calib: {file: "${{ params.text }}", samples: 4, seq_len: 32}}}
  sparsegpt: {uses: prune, with: {model: base, method: sparsegpt, sparsity: 0.5, calib: {file: "${{ params.text }}", samples: 4, seq_len: 32}}}
  nm: {uses: prune, with: {model: base, method: magnitude, pattern: "2:4"}}
  scores: {uses: score, with: {model: base, criterion: magnitude}}
  scored: {uses: prune, with: {model: base, scores: scores, sparsity: 0.3}}
  neurons: {uses: prune, with: {model: base, pattern: neurons, method: l2, sparsity: 0.25}}
  again: {uses: prune, with: {model: wanda, method: magnitude, sparsity: 0.6}}
  e_magnitude: {uses: evaluate, with: {<<: *eval, model: magnitude, baseline: baseline}}
  e_wanda: {uses: evaluate, with: {<<: *eval, model: wanda}}
  e_sparsegpt: {uses: evaluate, with: {<<: *eval, model: sparsegpt}}
  e_nm: {uses: evaluate, with: {<<: *eval, model: nm}}
  e_scored: {uses: evaluate, with: {<<: *eval, model: scored}}
  e_neurons: {uses: evaluate, with: {<<: *eval, model: neurons}}
  e_again: {uses: evaluate, with: {<<: *eval, model: again}}
  retrain:
    uses: retrain
    with: {model: sparsegpt, teacher: base, distill: {temperature: 2, alpha: 0.5}, data: "${{ params.text }}", steps: 2, batch_size: 2, seq_len: 32, lr: 0.001}
  verify: {uses: verify, with: {model: retrain, masks_of: sparsegpt}}
  e_retrain: {uses: evaluate, with: {<<: *eval, model: retrain}}
  save_wanda: {uses: save, with: {model: wanda, path: wanda}}
  save_retrain: {uses: save, with: {model: retrain, path: retrain}}
`

// A run with lazy models (WithLazyModels: lopper run --max-memory below
// the resident estimate) gives every metric, artifact digest and saved
// byte of a resident run: with the prunes owning their inputs or not,
// and through the stage cache (encoding lazy models, then decoding them
// lazily).
func TestLazyRunsGiveTheSameResults(t *testing.T) {
	root := repoRoot(t)
	set := []string{"model=" + filepath.Join(root, "quickstart/model"), "text=" + filepath.Join(root, "quickstart/eval.txt"),
		"choices=" + filepath.Join(root, "quickstart/choices.jsonl")}
	cacheDir := t.TempDir()
	type result struct {
		stages map[string]*pipeline.StageRecord
		log    string
		runDir string
	}
	runWith := func(lazy, keep, cached bool) result {
		t.Helper()
		var log bytes.Buffer
		opts := runner.Options{Jobs: 2, RunDir: t.TempDir(), KeepArtifacts: keep, Version: "test",
			Logger: hclog.New(&hclog.LoggerOptions{Output: &log, Level: hclog.Debug})}
		if cached {
			c, err := pipeline.OpenCache(cacheDir)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			opts.Cache = c
		}
		ctx := context.Background()
		if lazy {
			ctx = WithLazyModels(ctx)
		}
		rec, err := runner.Run(ctx, parseRecipe(t, t.TempDir(), lazyRecipe, set...), opts)
		if err != nil || rec.Status != pipeline.RunSucceeded {
			t.Fatalf("run (lazy %t): %v %s %s\n%s", lazy, err, rec.Status, rec.Error, log.String())
		}
		out := map[string]*pipeline.StageRecord{}
		rec.Walk(func(s *pipeline.StageRecord) { out[s.Path] = s })
		return result{out, log.String(), opts.RunDir}
	}
	resident := runWith(false, false, false)
	if strings.Contains(resident.log, "weights=lazy") {
		t.Fatal("a resident run opened a model lazily")
	}
	for _, c := range []struct {
		name               string
		keep, cached, logs bool
	}{
		{"lazy, inputs taken", false, false, true},
		{"lazy, inputs kept", true, false, true},
		{"lazy, into the cache", false, true, true},
		{"lazy, from the cache", false, true, false},
	} {
		lazy := runWith(true, c.keep, c.cached)
		if c.logs {
			for _, want := range []string{`weights="lazy`, "pruning the lazy model in place, streaming the result"} {
				if !strings.Contains(lazy.log, want) {
					t.Errorf("%s: the run did not log %q", c.name, want)
				}
			}
		}
		if c.name == "lazy, from the cache" && !strings.Contains(lazy.log, "cached") {
			t.Errorf("%s: no stage came from the cache", c.name)
		}
		for path, a := range resident.stages {
			b := lazy.stages[path]
			if b == nil {
				t.Errorf("%s: no stage %s", c.name, path)
				continue
			}
			if !maps.Equal(a.Metrics, b.Metrics) {
				t.Errorf("%s: %s: metrics %v resident, %v lazy", c.name, path, a.Metrics, b.Metrics)
			}
			if !maps.Equal(a.Artifacts, b.Artifacts) {
				t.Errorf("%s: %s: artifacts %v resident, %v lazy", c.name, path, a.Artifacts, b.Artifacts)
			}
		}
		for _, dir := range []string{"wanda", "retrain"} {
			for _, f := range []string{"model.safetensors", "config.json", "tokenizer.json"} {
				want := readFile(t, filepath.Join(resident.runDir, dir, f))
				if got := readFile(t, filepath.Join(lazy.runDir, dir, f)); !bytes.Equal(got, want) {
					t.Errorf("%s: saved %s/%s differs from the resident run's", c.name, dir, f)
				}
			}
		}
		leftover, err := filepath.Glob(filepath.Join(lazy.runDir, ".pruned-*"))
		if err != nil || len(leftover) > 0 {
			t.Errorf("%s: scratch directories left in the run directory: %v %v", c.name, leftover, err)
		}
	}
	if len(resident.stages) != 22 {
		t.Errorf("%d stages", len(resident.stages))
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An encoder classifier stays resident in a lazy run (its forward passes
// need every weight), and says so; the results are a resident run's.
func TestLazyRunKeepsEncodersResident(t *testing.T) {
	dir, dev, _ := bertQuickstart(t)
	src := `version: 1
name: classify
params:
  model: {type: path, default: m}
  dev: {type: path, default: d.tsv}
stages:
  base: {uses: load, with: {path: "${{ params.model }}"}}
  pruned: {uses: prune, with: {model: base, sparsity: 0.8}}
  check: {uses: evaluate, with: {model: pruned, classify: "${{ params.dev }}", max_length: 32, size: true}}
`
	set := []string{"model=" + dir, "dev=" + dev}
	var logs [2]bytes.Buffer
	var recs [2]*pipeline.RunRecord
	for i, ctx := range []context.Context{context.Background(), WithLazyModels(context.Background())} {
		opts := runner.Options{Jobs: 2, RunDir: t.TempDir(), Version: "test", Logger: hclog.New(&hclog.LoggerOptions{Output: &logs[i], Level: hclog.Debug})}
		rec, err := runner.Run(ctx, parseRecipe(t, t.TempDir(), src, set...), opts)
		if err != nil || rec.Status != pipeline.RunSucceeded {
			t.Fatalf("run %d: %v %v\n%s", i, err, rec.Status, logs[i].String())
		}
		recs[i] = rec
	}
	if !strings.Contains(logs[1].String(), "loading the model resident in a lazy run: encoder classifiers run resident only") {
		t.Errorf("the lazy run did not say why the encoder is resident:\n%s", logs[1].String())
	}
	for _, path := range []string{"base", "pruned", "check"} {
		a, b := stage(t, recs[0], path), stage(t, recs[1], path)
		if !maps.Equal(a.Metrics, b.Metrics) || !maps.Equal(a.Artifacts, b.Artifacts) {
			t.Errorf("%s: %v %v resident, %v %v lazy", path, a.Metrics, a.Artifacts, b.Metrics, b.Artifacts)
		}
	}
}
