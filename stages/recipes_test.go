package stages

import (
	"path/filepath"
	"testing"

	"lopper/pipeline"
)

// Every recipe in recipes/ validates and plans with the real stage kinds.
func TestRecipesValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "recipes", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 6 {
		t.Fatalf("want at least the six recipes of issue 6, found %d", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := pipeline.Load(f, pipeline.LoadOptions{Registry: newRegistry()})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Stages) == 0 {
				t.Fatal("no stages")
			}
			for _, p := range []string{"model"} {
				if !hasParam(r, p) {
					t.Errorf("recipe does not take the %s as a param", p)
				}
			}
		})
	}
}

func hasParam(r *pipeline.Recipe, name string) bool {
	for _, p := range r.Params {
		if p.Name == name {
			return true
		}
	}
	return false
}
