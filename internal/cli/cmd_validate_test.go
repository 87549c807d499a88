package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/pipeline"
)

const validRecipe = `version: 1
name: cli
params: {v: 1}
stages:
  a: {uses: emit, with: {value: "${{ params.v }}"}}
  b: {uses: emit, with: {input: a, add: 1}}
`

const invalidRecipe = `version: 1
stages:
  a: {uses: emit, with: {valeu: 1}}
  b: {uses: emit, with: {input: c}}
`

func TestValidateCommand(t *testing.T) {
	ctx := context.Background()
	good := recipeFile(t, "good.yaml", validRecipe)
	bad := recipeFile(t, "bad.yaml", invalidRecipe)

	code, out, errs := lopper(ctx, "validate", good)
	if code != exitOK || out != good+": ok (2 stages)\n" || errs != "" {
		t.Errorf("valid: code %d out %q err %q", code, out, errs)
	}
	code, out, errs = lopper(ctx, "validate", good, bad)
	if code != exitUsage {
		t.Errorf("invalid: code %d, want %d", code, exitUsage)
	}
	if !strings.Contains(out, good+": ok") {
		t.Errorf("the valid recipe was not reported: %q", out)
	}
	for _, want := range []string{
		bad + `:3:26: stage a: with: unknown field "valeu" (did you mean "value"?)`,
		bad + `:4:33: stage b: unknown stage "c"`,
		bad + ": 2 problems",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if code, _, errs := lopper(ctx, "validate", filepath.Join(t.TempDir(), "missing.yaml")); code != exitUsage || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: code %d err %q", code, errs)
	}
	if code, _, _ := lopper(ctx, "validate"); code != exitUsage {
		t.Errorf("no arguments: code %d", code)
	}
	if code, _, errs := lopper(ctx, "validate", good, "--set", "w=1"); code != exitUsage || !strings.Contains(errs, `unknown param "w"`) {
		t.Errorf("bad --set: code %d err %q", code, errs)
	}
	if code, _, _ := lopper(ctx, "validate", "--bogus", good); code != exitUsage {
		t.Errorf("unknown flag: code %d", code)
	}
}

// The example recipe in README.md's Recipes section is valid with the
// program's own stage kinds.
func TestREADMERecipe(t *testing.T) {
	b, err := os.ReadFile(repoPath("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "## Recipes")
	start := strings.Index(s[i:], "```yaml\n")
	if i < 0 || start < 0 {
		t.Fatal("README.md has no yaml example under ## Recipes")
	}
	body := s[i+start+len("```yaml\n"):]
	body = body[:strings.Index(body, "```")]
	if _, err := pipeline.Load(recipeFile(t, "readme.yaml", body), pipeline.LoadOptions{Registry: defaultRegistry()}); err != nil {
		t.Errorf("README example:\n%v", err)
	}
}
