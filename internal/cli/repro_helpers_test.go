package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"lopper/internal/sharedtest"
	"lopper/pipeline"
)

// childEnv makes a re-executed test binary run as the lopper program, so
// tests can start, kill and resume real `lopper run` processes without
// building a binary: "1" with the real stage kinds only (TestMain has not
// run yet), childTestKinds with the test kinds too.
const childEnv = "LOPPER_TEST_CHILD"

// childTestKinds is childEnv's value for a child with testKit's kinds.
const childTestKinds = "test-kinds"

func init() {
	switch os.Getenv(childEnv) {
	case "1":
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	case childTestKinds:
		newRegistry = testRegistry
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
}

// reproRecipe prunes, retrains and evaluates the shared tiny Llama in a
// gradual loop, then saves the kept model: every kind of work a kill can
// interrupt (loading, training, writing the cache, saving).
const reproRecipe = `version: 1
name: repro
params:
  model: {type: path, default: model}
  train: {type: path, default: train.txt}
  eval: {type: path, default: eval.txt}
  steps: 8
baseline: baseline
stages:
  base: {uses: load, with: {path: "${{ params.model }}"}}
  baseline: {uses: evaluate, with: {model: base, text: "${{ params.eval }}", seq_len: 64, limit: 8}}
  gradual:
    uses: loop
    needs: [baseline]
    with: {max_iterations: 3, from: base, carry: retrain, measure: check, keep: last, until: "acc_drop > 0.5"}
    stages:
      prune: {uses: prune, with: {model: prev, method: magnitude, scope: layer, schedule: {kind: gradual, from: 0.3, to: 0.6, steps: 3}}}
      retrain:
        uses: retrain
        with: {model: prune, data: "${{ params.train }}", steps: "${{ params.steps }}", batch_size: 4, seq_len: 64, lr: 0.001, seed: "${{ iteration }}"}
      check: {uses: evaluate, with: {model: retrain, text: "${{ params.eval }}", seq_len: 64, limit: 8, baseline: baseline}}
  save: {uses: save, with: {model: gradual, path: model}}
`

// reproFixture writes reproRecipe into a fresh directory, with its params
// pointing at ../shared (the test is skipped without it, failed in CI).
func reproFixture(t *testing.T) (recipe string, set []string) {
	t.Helper()
	modelDir := sharedtest.ModelDir(t, "tiny-llama")
	train := sharedtest.Path(t, "data", "shakespeare_train.txt")
	eval := sharedtest.Path(t, "data", "shakespeare_eval.txt")
	recipe = recipeFile(t, "repro.yaml", reproRecipe)
	return recipe, []string{"--set", "model=" + modelDir, "--set", "train=" + train, "--set", "eval=" + eval}
}

// child returns a `lopper ARGS...` process (the test binary re-executed)
// with extra environment variables; its output goes to a buffer.
func child(env []string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), childEnv+"=1"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// runChild runs `lopper ARGS...` to completion and wants exit code 0.
func runChild(t *testing.T, env []string, args ...string) {
	t.Helper()
	cmd, out := child(env, args...)
	if err := cmd.Run(); err != nil {
		t.Fatalf("lopper %v: %v\n%s", args, err, out)
	}
}

// onlyRun returns the single run directory under out.
func onlyRun(t *testing.T, out string) string {
	t.Helper()
	runs, _ := filepath.Glob(filepath.Join(out, "*", pipeline.RecordFile))
	if len(runs) != 1 {
		t.Fatalf("run directories under %s: %v", out, runs)
	}
	return filepath.Dir(runs[0])
}

// outcome is what a finished run produced that must not depend on how it
// ran: the saved model's files (its manifest without the run directory),
// and every stage instance's metrics and artifact digests.
func outcome(t *testing.T, runDir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json"} {
		b, err := os.ReadFile(filepath.Join(runDir, "model", f))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		out["model/"+f] = hex.EncodeToString(sum[:])
	}
	var meta struct {
		HFCompatible bool           `json:"hf_compatible"`
		Metadata     map[string]any `json:"metadata"`
	}
	b, err := os.ReadFile(filepath.Join(runDir, "model", "lopper.json"))
	if err != nil || json.Unmarshal(b, &meta) != nil || meta.Metadata["run_dir"] != runDir {
		t.Fatalf("model/lopper.json: %v %s", err, b)
	}
	delete(meta.Metadata, "run_dir")
	b, _ = json.Marshal(meta) // a decoded JSON value always encodes
	out["model/lopper.json"] = string(b)
	rec := readRunRecord(t, runDir)
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("%s: run %s: %s", runDir, rec.Status, rec.Error)
	}
	rec.Walk(func(s *pipeline.StageRecord) {
		m, _ := json.Marshal(s.Metrics)
		out["metrics "+s.Path] = string(m)
		for name, a := range s.Artifacts {
			out["artifact "+s.Path+"."+name] = a.Kind + " " + a.Digest
		}
	})
	return out
}

func readRunRecord(t *testing.T, runDir string) *pipeline.RunRecord {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(runDir, pipeline.RecordFile))
	if err != nil {
		t.Fatal(err)
	}
	var rec pipeline.RunRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatalf("%s/run.json: %v", runDir, err)
	}
	return &rec
}

// sameOutcome reports every difference between two outcomes.
func sameOutcome(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s: %s is %q, want %q", what, k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected %s", what, k)
		}
	}
}
