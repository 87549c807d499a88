package pipeline_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
)

// Every testdata/invalid/NAME.yaml must fail validation with exactly the
// problems listed in NAME.golden, one "FILE:LINE:COL: message" per line
// (the rendered source snippets are checked by TestProblemRendering). The
// golden files are written by hand from the recipes: each position was
// counted in the recipe, not copied from the program's output.
func TestValidationGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid recipes: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".golden")
			if err != nil {
				t.Fatal(err)
			}
			_, err = pipeline.Parse("recipe.yaml", src, pipeline.LoadOptions{Registry: registry(pipelinetest.New())})
			var ve *pipeline.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a *ValidationError, got %v", err)
			}
			var got []string
			for _, p := range ve.Problems {
				got = append(got, strings.SplitN(p.Error(), "\n", 2)[0])
			}
			if g, w := strings.Join(got, "\n"), strings.TrimRight(string(want), "\n"); g != w {
				t.Errorf("problems:\n%s\n\nwant:\n%s", g, w)
			}
		})
	}
}

// Every testdata/valid recipe loads.
func TestValidRecipes(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid recipes: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := pipeline.Load(f, pipeline.LoadOptions{Registry: registry(pipelinetest.New())}); err != nil {
				t.Errorf("%v", err)
			}
		})
	}
}
