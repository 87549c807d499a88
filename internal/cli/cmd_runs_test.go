package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A recipe whose final accuracy is a param, so that two runs differ.
const runsRecipe = `version: 1
name: history
params: {acc: 0.8}
baseline: baseline
stages:
  baseline: {uses: emit, with: {metrics: {accuracy: 0.9, perplexity: 5}}}
  final: {uses: emit, with: {reads: [baseline], value: 1, metrics: {accuracy: "${{ params.acc }}", sparsity: 0.5}}}
`

// `lopper runs` lists real runs newest first with their headline numbers
// and reports a corrupt record without failing; `lopper diff` finds runs
// by name prefix and shows the changed param and metric.
func TestRunsAndDiffCommands(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	recipe := recipeFile(t, "history.yaml", runsRecipe)
	for _, acc := range []string{"0.8", "0.7"} {
		if code, _, stderr := lopper(ctx, "run", recipe, "--out", out, "--set", "acc="+acc); code != exitOK {
			t.Fatalf("run: exit %d\n%s", code, stderr)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "*-history*"))
	if len(dirs) != 2 {
		t.Fatalf("run dirs %v", dirs)
	}
	broken := filepath.Join(out, "20000101T000000Z-broken")
	if err := os.MkdirAll(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "run.json"), []byte(`{"schema": 1, "name": `), 0o644); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := lopper(ctx, "runs", "--out", out)
	if code != exitOK {
		t.Fatalf("runs: exit %d\n%s", code, stderr)
	}
	lines := strings.Split(stdout, "\n")
	if len(lines) < 4 || !strings.Contains(lines[1], "0.7") || !strings.Contains(lines[2], "0.8") || !strings.Contains(lines[1], "50.0%") {
		t.Errorf("runs: want the 0.7 run first, then the 0.8 run, sparsity 50%%:\n%s", stdout)
	}
	if !strings.Contains(stdout, "1 run(s) could not be read") || !strings.Contains(stdout, "truncated") {
		t.Errorf("runs: the broken record is not reported:\n%s", stdout)
	}

	code, stdout, _ = lopper(ctx, "runs", "--out", out, "--json", "--limit", "1")
	var list []struct {
		Name     string
		Status   string
		Headline struct{ Metrics map[string]float64 }
	}
	if err := json.Unmarshal([]byte(stdout), &list); code != exitOK || err != nil {
		t.Fatalf("runs --json: exit %d, %v\n%s", code, err, stdout)
	}
	if len(list) != 1 || list[0].Status != "succeeded" || list[0].Headline.Metrics["accuracy"] != 0.7 {
		t.Errorf("runs --json --limit 1: %+v", list)
	}

	// Both runs started in the same second or not: name each by its full
	// directory name (a prefix), and by path.
	a, b := filepath.Base(dirs[0]), dirs[1]
	code, stdout, stderr = lopper(ctx, "diff", a, b, "--out", out)
	if code != exitOK {
		t.Fatalf("diff: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"*  acc ", "*  final.accuracy", "   baseline.accuracy", "   final.number"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("diff lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = lopper(ctx, "diff", filepath.Join(dirs[0], "run.json"), b, "--json")
	var c struct {
		Params []struct {
			Name    string
			Changed bool
		}
	}
	if err := json.Unmarshal([]byte(stdout), &c); code != exitOK || err != nil || len(c.Params) != 1 || !c.Params[0].Changed {
		t.Errorf("diff --json: exit %d, %v, %+v", code, err, c)
	}
}

func TestRunsAndDiffUsage(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"runs", "--out", filepath.Join(out, "missing")}, exitFailed, "does not exist"},
		{[]string{"runs", "--limit", "-1", "--out", out}, exitUsage, "--limit"},
		{[]string{"runs", "extra", "--out", out}, exitUsage, "unexpected argument"},
		{[]string{"diff", "only-one"}, exitUsage, "want two runs"},
		{[]string{"diff", "a", "b", "--out", out}, exitUsage, `no run in ` + out + ` matches "a"`},
	}
	for _, c := range cases {
		code, _, stderr := lopper(ctx, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
	code, stdout, _ := lopper(ctx, "runs", "--out", out)
	if code != exitOK || stdout != "" {
		t.Errorf("runs on an empty directory: exit %d, %q", code, stdout)
	}
}
