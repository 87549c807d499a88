package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/model"
	"lopper/pipeline"
)

// quickstartRecipe is the recipe of the README's Quickstart.
var quickstartRecipe = repoPath("recipes", "quickstart.yaml")

// The quickstart recipe's default params point at the model and data that
// come with the repository.
func TestQuickstartDefaultsExist(t *testing.T) {
	r, err := pipeline.Load(quickstartRecipe, pipeline.LoadOptions{Registry: defaultRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	paths := 0
	for _, p := range r.Params {
		if p.Type != pipeline.ParamPath {
			continue
		}
		paths++
		if _, err := os.Stat(p.Value.(string)); err != nil {
			t.Errorf("param %s: default %v", p.Name, err)
		}
	}
	if paths != 4 {
		t.Errorf("%d path params, want model, train, eval and choices", paths)
	}
}

// The README's first command, end to end: the bundled model loses most of
// its accuracy to pruning and the retrain wins it back; the gate passes,
// the retrained model is saved with its sparsity, and the report is
// written. The fast variant retrains for 60 steps instead of 200 (and
// asserts less recovery); the default one runs unless -short.
func TestQuickstartRuns(t *testing.T) {
	for _, c := range []struct {
		name         string
		set          []string
		minRetrained float64
	}{
		{"fast", []string{"--set", "retrain_steps=60"}, 0.55},
		{"default", nil, 0.9},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.set == nil && testing.Short() {
				t.Skip("the default quickstart retrains for 200 steps; -short runs the fast variant")
			}
			s := runQuickstart(t, c.set...)
			acc := func(stage string) float64 {
				v, ok := s.metrics[stage]["accuracy"]
				if !ok {
					t.Fatalf("stage %s has no accuracy: %v", stage, s.metrics[stage])
				}
				return v
			}
			base, pruned, retrained := acc("baseline"), acc("pruned"), acc("retrained")
			if c.set == nil {
				checkREADMEQuickstartTable(t, s.metrics)
			}
			t.Logf("accuracy: baseline %.3f, pruned %.3f, retrained %.3f", base, pruned, retrained)
			if base < 0.95 {
				t.Errorf("baseline accuracy %.3f, want ≥ 0.95", base)
			}
			if pruned > base-0.5 {
				t.Errorf("pruning cost only %.3f of %.3f accuracy", base-pruned, base)
			}
			if retrained < c.minRetrained {
				t.Errorf("retrained accuracy %.3f, want ≥ %.2f", retrained, c.minRetrained)
			}
			if sp := s.metrics["retrain"]["sparsity"]; math.Abs(sp-0.8) > 0.01 {
				t.Errorf("retrained sparsity %.4f, want 0.8", sp)
			}
			m, err := model.Load(filepath.Join(s.runDir, "model"), model.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sp, _ := m.Sparsity(model.Prunable); math.Abs(sp-0.8) > 0.01 {
				t.Errorf("saved model's sparsity %.4f, want 0.8", sp)
			}
			html, err := os.ReadFile(filepath.Join(s.runDir, "report.html"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"<svg", "retrained", "pruned", "baseline"} {
				if !strings.Contains(string(html), want) {
					t.Errorf("report.html does not mention %q", want)
				}
			}
		})
	}
}

// quickstartRun is what a test reads of a quickstart run.
type quickstartRun struct {
	runDir  string
	metrics map[string]map[string]float64 // stage path → metrics
}

// runQuickstart runs a copy of the quickstart recipe in a temporary
// directory (so that its lockfile is not written into the repository), with
// the bundled model and data, without the stage cache, and fails the test
// unless the run succeeds.
func runQuickstart(t *testing.T, set ...string) quickstartRun {
	t.Helper()
	src, err := os.ReadFile(quickstartRecipe)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	recipe := filepath.Join(dir, "quickstart.yaml")
	if err := os.WriteFile(recipe, src, 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := filepath.Abs(repoPath("quickstart"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"run", recipe, "--out", filepath.Join(dir, "runs"), "--no-cache", "--summary-json", filepath.Join(dir, "summary.json")}
	for _, p := range []string{"model=model", "train=train.txt", "eval=eval.txt", "choices=choices.jsonl"} {
		name, file, _ := strings.Cut(p, "=")
		args = append(args, "--set", name+"="+filepath.Join(data, file))
	}
	code, stdout, stderr := lopper(context.Background(), append(args, set...)...)
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	// The one-line summary points the user at the page to open.
	if !strings.Contains(stdout, "; report ") || !strings.Contains(stdout, "report.html") {
		t.Errorf("the summary line names no report page:\n%s", stdout)
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s pipeline.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	run := quickstartRun{runDir: s.RunDir, metrics: map[string]map[string]float64{}}
	for _, st := range s.Stages {
		if st.Status != pipeline.StageSucceeded {
			t.Errorf("stage %s: %s", st.Path, st.Status)
		}
		run.metrics[st.Path] = st.Metrics
	}
	return run
}

// checkREADMEQuickstartTable holds README's quickstart table to the run:
// each stage's accuracy and perplexity as printed there (three decimals).
func checkREADMEQuickstartTable(t *testing.T, metrics map[string]map[string]float64) {
	t.Helper()
	readme, err := os.ReadFile(repoPath("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, stage := range []string{"baseline", "pruned", "retrained"} {
		row := fmt.Sprintf("| `%s` | %.3f | %.3f |", stage, metrics[stage]["accuracy"], metrics[stage]["perplexity"])
		if !strings.Contains(string(readme), row) {
			t.Errorf("README's quickstart table has no row starting %q", row)
		}
	}
}
