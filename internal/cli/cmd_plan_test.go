package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestPlanCommand(t *testing.T) {
	ctx := context.Background()
	f := recipeFile(t, "r.yaml", validRecipe)
	code, out, errs := lopper(ctx, "plan", f, "--set", "v=5")
	if code != exitOK {
		t.Fatalf("code %d: %s", code, errs)
	}
	var norm []string // each line with its spacing collapsed
	for _, l := range strings.Split(out, "\n") {
		norm = append(norm, strings.Join(strings.Fields(l), " "))
	}
	flat := strings.Join(norm, "\n")
	for _, want := range []string{"params\nv int 5 --set", "2 stages in 2 levels", "level 1\na emit\nlevel 2\nb emit needs a"} {
		if !strings.Contains(flat, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = lopper(ctx, "plan", "--format", "json", f)
	var p struct {
		Stages int
		Levels [][]struct{ ID string }
	}
	if code != exitOK || json.Unmarshal([]byte(out), &p) != nil || p.Stages != 2 || p.Levels[1][0].ID != "b" {
		t.Errorf("json plan: code %d %+v\n%s", code, p, out)
	}
	if code, _, _ := lopper(ctx, "plan", f, "--format", "yaml"); code != exitUsage {
		t.Errorf("bad format: code %d", code)
	}
	if code, _, _ := lopper(ctx, "plan", recipeFile(t, "bad.yaml", invalidRecipe)); code != exitUsage {
		t.Errorf("invalid recipe: code %d", code)
	}
}

func TestGraphCommand(t *testing.T) {
	ctx := context.Background()
	f := recipeFile(t, "r.yaml", validRecipe)
	code, out, _ := lopper(ctx, "graph", f)
	if code != exitOK || !strings.HasPrefix(out, "flowchart TD\n") || !strings.Contains(out, "s_a --> s_b") {
		t.Errorf("mermaid: code %d\n%s", code, out)
	}
	code, out, _ = lopper(ctx, "graph", "--format", "dot", f)
	if code != exitOK || !strings.HasPrefix(out, `digraph "cli" {`) || !strings.Contains(out, `"s_a" -> "s_b";`) {
		t.Errorf("dot: code %d\n%s", code, out)
	}
	if code, _, _ := lopper(ctx, "graph", "--format", "png", f); code != exitUsage {
		t.Errorf("bad format: code %d", code)
	}
}
