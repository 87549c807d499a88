package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

// project makes DIR/proj/recipe.yaml from src, with DIR/proj/models/tiny
// and DIR/elsewhere, and returns the recipe file and DIR.
func project(t *testing.T, src string) (file, root string) {
	t.Helper()
	root = t.TempDir()
	for _, d := range []string{"proj/models/tiny", "elsewhere"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	file = filepath.Join(root, "proj", "recipe.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, root
}

// problemsOf loads file and returns its problems, one line each, with root
// written as ROOT.
func problemsOf(t *testing.T, file, root, workDir string, set ...string) []string {
	t.Helper()
	_, err := pipeline.Load(file, pipeline.LoadOptions{Registry: registry(pipelinetest.New()), Set: set, WorkDir: workDir})
	var ve *pipeline.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *ValidationError, got %v", err)
	}
	var out []string
	for _, p := range ve.Problems {
		line := strings.SplitN(p.Error(), "\n", 2)[0]
		out = append(out, strings.ReplaceAll(strings.ReplaceAll(line, file, "recipe.yaml"), root, "ROOT"))
	}
	return out
}

func wantProblems(t *testing.T, got, want []string) {
	t.Helper()
	if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("problems:\n%s\n\nwant:\n%s", g, w)
	}
}

// An export may leave the run directory, but never for the recipe's
// directory, the working directory, a directory holding either, the cache,
// or an input the recipe reads; relative exports are relative to the
// recipe's directory.
func TestExportRules(t *testing.T) {
	file, root := project(t, `version: 1
stages:
  input: {uses: emit, with: {file: models/tiny, value: 1}}
  here: {uses: emit, with: {export: true, out: .}}
  up: {uses: emit, with: {export: true, out: ..}}
  wd: {uses: emit, with: {export: true, out: ../elsewhere}}
  cache: {uses: emit, with: {export: true, out: .lopper/cache/x}}
  holds: {uses: emit, with: {export: true, out: models}}
  is: {uses: emit, with: {export: true, out: models/tiny}}
  into: {uses: emit, with: {export: true, out: models/tiny/pruned}}
  ok: {uses: emit, with: {export: true, out: out/model}}
  ok_abs: {uses: emit, with: {export: true, out: /nonexistent/lopper-export-test}}
`)
	wantProblems(t, problemsOf(t, file, root, filepath.Join(root, "elsewhere")), []string{
		`recipe.yaml:4:48: stage here: out: "." (export: relative to the recipe's directory, ROOT/proj) is the recipe's directory; lopper never writes over it`,
		`recipe.yaml:5:46: stage up: out: ".." (export: relative to the recipe's directory, ROOT) contains the recipe's directory (ROOT/proj); lopper never writes over it`,
		`recipe.yaml:6:46: stage wd: out: "../elsewhere" (export: relative to the recipe's directory, ROOT/elsewhere) is the working directory; lopper never writes over it`,
		`recipe.yaml:7:49: stage cache: out: ".lopper/cache/x" (export: relative to the recipe's directory, ROOT/proj/.lopper/cache/x) is or holds lopper's cache (ROOT/proj/.lopper); choose a directory outside it`,
		`recipe.yaml:8:49: stage holds: out: "models" (export: relative to the recipe's directory, ROOT/proj/models) contains ROOT/proj/models/tiny, which stage input reads; an input is never written over`,
		`recipe.yaml:9:46: stage is: out: "models/tiny" (export: relative to the recipe's directory, ROOT/proj/models/tiny) is ROOT/proj/models/tiny, which stage input reads; an input is never written over`,
		`recipe.yaml:10:48: stage into: out: "models/tiny/pruned" (export: relative to the recipe's directory, ROOT/proj/models/tiny/pruned) is inside ROOT/proj/models/tiny, which stage input reads; an input is never written into`,
	})
}

// The reproduced data loss: a path param used as an output with
// `--set out=.` named the working directory (the project), and the run
// deleted it. Validation now refuses it at the out: value, naming the param.
func TestSetPathParamToWorkingDirectory(t *testing.T) {
	src := `version: 1
params:
  out: {type: path, default: out}
stages:
  save: {uses: emit, with: {value: 1, out: "${{ params.out }}"}}
  export: {uses: emit, with: {value: 1, export: true, out: "${{ params.out }}/x"}}
`
	file, root := project(t, src)
	wd := filepath.Join(root, "proj")
	wantProblems(t, problemsOf(t, file, root, wd, "out=."), []string{
		`recipe.yaml:5:44: stage save: out: ${{ params.out }} = "ROOT/proj" (param out, set with --set) is absolute; outputs stay inside the run directory unless the stage's with sets ` + "`export: true`" + ` (then the path may be absolute, or relative to the recipe's directory)`,
	})
	// With export: true as well, `.` is still refused (and a directory
	// inside the project, stage export's, is fine).
	src = strings.Replace(src, `value: 1, out:`, `value: 1, export: true, out:`, 1)
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	wantProblems(t, problemsOf(t, file, root, wd, "out=."), []string{
		`recipe.yaml:5:58: stage save: out: ${{ params.out }} = "ROOT/proj" (param out, set with --set) is the recipe's directory; lopper never writes over it`,
	})
	if _, err := os.Stat(filepath.Join(root, "proj", "recipe.yaml")); err != nil {
		t.Fatalf("the project lost its recipe: %v", err)
	}
}

// Outputs go where Output says: inside the run directory, or for an export
// relative to the recipe's directory.
func TestOutputsAreWrittenWhereDeclared(t *testing.T) {
	file, root := project(t, `version: 1
stages:
  inside: {uses: emit, with: {value: 1, out: model}}
  export: {uses: emit, with: {value: 1, export: true, out: exported/model}}
`)
	r, err := pipeline.Load(file, pipeline.LoadOptions{Registry: registry(pipelinetest.New()), WorkDir: filepath.Join(root, "elsewhere")})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := runner.Run(context.Background(), r, runner.Options{OutDir: filepath.Join(root, "runs"), Logger: testLogger(t)})
	if err != nil || rec.Status != pipeline.RunSucceeded {
		t.Fatalf("run: %v %v", err, rec)
	}
	for _, f := range []string{filepath.Join(rec.RunDir, "model", "out.txt"), filepath.Join(root, "proj", "exported", "model", "out.txt")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("missing output: %v", err)
		}
	}
}

// Before a run starts, exports are checked against the directories of the
// run: where run directories are created and the cache. Nothing is created.
func TestExportsCheckedBeforeTheRun(t *testing.T) {
	file, root := project(t, `version: 1
stages:
  a: {uses: emit, with: {value: 1, export: true, out: runs}}
`)
	r, err := pipeline.Load(file, pipeline.LoadOptions{Registry: registry(pipelinetest.New()), WorkDir: filepath.Join(root, "elsewhere")})
	if err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(root, "proj", "runs", "nightly")
	_, err = runner.Run(context.Background(), r, runner.Options{OutDir: runs, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "contains the directory run directories are created in") {
		t.Errorf("run into an export that holds the runs: %v", err)
	}
	cache, err := pipeline.OpenCache(filepath.Join(root, "proj", "runs", "cache"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = runner.Run(context.Background(), r, runner.Options{OutDir: filepath.Join(root, "elsewhere"), Cache: cache, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "is or holds lopper's cache") {
		t.Errorf("run into an export that holds the cache: %v", err)
	}
	if _, err := os.Stat(runs); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused run created %s: %v", runs, err)
	}
}

// An output interpolated from run-time values is checked before its stage
// runs: the stage fails, and nothing is written outside the run directory.
func TestRunTimeOutputChecked(t *testing.T) {
	kit := pipelinetest.New()
	rec := runRecipe(t, context.Background(), kit, `version: 1
stages:
  a: {uses: emit, with: {metrics: {up: 1}}}
  b: {uses: emit, with: {value: 1, out: "${{ a.up > 0 ? '../escaped' : 'model' }}"}}
`, runner.Options{})
	b := stage(t, rec, "b")
	if b.Status != pipeline.StageFailed || !strings.Contains(b.Error, `"../escaped" leaves the run directory`) {
		t.Errorf("b: %s %q, want it failed for leaving the run directory", b.Status, b.Error)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(rec.RunDir), "escaped")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the escaping output was written: %v", err)
	}
}
