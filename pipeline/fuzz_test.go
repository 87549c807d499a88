package pipeline_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
)

// FuzzLoadRecipe feeds arbitrary bytes to the loader: it must never panic,
// bad input must come back as positioned problems, and a recipe that loads
// must plan and graph. The seed corpus is every recipe in testdata plus
// testdata/fuzz/FuzzLoadRecipe.
func FuzzLoadRecipe(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	reg := registry(pipelinetest.New())
	f.Fuzz(func(t *testing.T, src []byte) {
		r, err := pipeline.Parse("fuzz.yaml", src, pipeline.LoadOptions{Registry: reg, WorkDir: "/"})
		if err != nil {
			var ve *pipeline.ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("invalid input gave %T %v, want problems", err, err)
			}
			for _, p := range ve.Problems {
				if p.Msg == "" {
					t.Fatalf("empty problem message at %v", p.Pos)
				}
			}
			return
		}
		var buf bytes.Buffer
		if err := r.Plan().WriteText(&buf); err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{pipeline.GraphMermaid, pipeline.GraphDot} {
			if err := r.WriteGraph(&buf, format); err != nil {
				t.Fatal(err)
			}
		}
	})
}
