package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lopper/pipeline"
)

func TestRunCommandExitCodes(t *testing.T) {
	cases := []struct {
		name, src string
		code      int
		summary   string
	}{
		{"ok", validRecipe, exitOK, "run cli succeeded in "},
		{"failed", "version: 1\nname: f\nstages:\n  a: {uses: emit, with: {fail: boom}}\n", exitFailed, "run f failed in "},
		{"gate", "version: 1\nname: g\nstages:\n  a: {uses: emit, with: {metrics: {x: 1}}}\n  gate: {uses: assert, with: {that: \"a.x > 2\"}}\n", exitGate, "run g gate failed in "},
		{"invalid", invalidRecipe, exitUsage, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			code, stdout, stderr := lopper(context.Background(), "run", recipeFile(t, "r.yaml", c.src), "--out", out)
			if code != c.code {
				t.Fatalf("exit code %d, want %d\nstdout %s\nstderr %s", code, c.code, stdout, stderr)
			}
			if c.summary == "" {
				return
			}
			if !strings.HasPrefix(stdout, c.summary) || strings.Count(stdout, "\n") != 1 {
				t.Errorf("summary %q, want one line starting %q", stdout, c.summary)
			}
			runs, _ := filepath.Glob(filepath.Join(out, "*", "run.json"))
			if len(runs) != 1 {
				t.Errorf("run.json files: %v", runs)
			}
		})
	}
}

func TestRunCommandSummaryJSONAndLogs(t *testing.T) {
	out := t.TempDir()
	summary := filepath.Join(out, "summary.json")
	code, _, stderr := lopper(context.Background(), "run", recipeFile(t, "r.yaml", validRecipe),
		"--out", out, "--jobs", "1", "--summary-json", summary, "--log-format", "json", "--set", "v=4")
	if code != exitOK {
		t.Fatalf("code %d: %s", code, stderr)
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Status   string
		ExitCode int `json:"exit_code"`
		Record   string
		Stages   []struct {
			Path    string
			Metrics map[string]float64
		}
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Status != "succeeded" || s.ExitCode != 0 || len(s.Stages) != 2 || s.Stages[1].Metrics["value"] != 5 {
		t.Errorf("summary %+v", s)
	}
	if _, err := os.Stat(s.Record); err != nil {
		t.Errorf("summary's record: %v", err)
	}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	lines := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("--log-format json wrote a non-JSON line: %q", sc.Text())
		}
		lines++
	}
	if lines == 0 {
		t.Errorf("no log lines")
	}
}

func TestRunCommandInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := "version: 1\nname: int\nstages:\n  stuck_cli: {uses: emit, with: {block: true}}\n"
	go func() {
		for testKit.Runs("stuck_cli") == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel() // what SIGINT does through signal.NotifyContext
	}()
	code, stdout, _ := lopper(ctx, "run", recipeFile(t, "r.yaml", src), "--out", t.TempDir())
	if code != exitInterrupted || !strings.HasPrefix(stdout, "run int interrupted in ") {
		t.Errorf("code %d stdout %q", code, stdout)
	}
}

func TestRunCommandUsage(t *testing.T) {
	f := recipeFile(t, "r.yaml", validRecipe)
	for _, args := range [][]string{{"run"}, {"run", f, f}, {"run", f, "--jobs", "0"}, {"run", f, "--log-level", "loud"}} {
		if code, _, _ := lopper(context.Background(), args...); code != exitUsage {
			t.Errorf("%v: code %d, want %d", args, code, exitUsage)
		}
	}
}

// Every recipe shipped in recipes/ validates and plans with the program's
// own stage kinds (not the test kinds), and there are recipes to check.
func TestShippedRecipes(t *testing.T) {
	for _, err := range checkRecipes(repoPath("recipes")) {
		t.Error(err)
	}
}

// checkRecipes loads and plans every *.yaml in dir with the program's stage
// kinds and returns what is wrong; a directory without recipes is wrong too.
func checkRecipes(dir string) []error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return []error{err}
	}
	if len(files) == 0 {
		return []error{fmt.Errorf("%s holds no recipes: nothing was checked", dir)}
	}
	var errs []error
	for _, f := range files {
		r, err := pipeline.Load(f, pipeline.LoadOptions{Registry: defaultRegistry()})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := r.Plan().WriteText(io.Discard); err != nil {
			errs = append(errs, fmt.Errorf("%s: plan: %w", f, err))
		}
	}
	return errs
}

// The shipped-recipes check cannot pass by checking nothing: an empty
// directory fails it, and so does a recipe that does not validate.
func TestCheckRecipesFailsOnNoneAndInvalid(t *testing.T) {
	empty := t.TempDir()
	if errs := checkRecipes(empty); len(errs) != 1 || !strings.Contains(errs[0].Error(), "holds no recipes") {
		t.Errorf("empty directory: %v, want one error saying it holds no recipes", errs)
	}
	bad := recipeFile(t, "bad.yaml", invalidRecipe)
	if errs := checkRecipes(filepath.Dir(bad)); len(errs) != 1 || !strings.Contains(errs[0].Error(), "bad.yaml:") {
		t.Errorf("invalid recipe: %v, want one error naming bad.yaml", errs)
	}
}
