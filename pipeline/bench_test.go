package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

// BenchmarkLoadRecipe measures validating a gradual-loop recipe: parsing,
// strict config decoding, reference resolution, expression compilation.
func BenchmarkLoadRecipe(b *testing.B) {
	src, err := os.ReadFile("testdata/valid/gradual.yaml")
	if err != nil {
		b.Fatal(err)
	}
	reg := registry(pipelinetest.New())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pipeline.Parse("gradual.yaml", src, pipeline.LoadOptions{Registry: reg}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunOverhead measures the engine's cost per stage: a chain of
// stages that do nothing, each interpolating a value from the previous one.
func BenchmarkRunOverhead(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("chain%d", n), func(b *testing.B) {
			var sb strings.Builder
			sb.WriteString("version: 1\nstages:\n  s0: {uses: emit, with: {value: 0}}\n")
			for i := 1; i < n; i++ {
				fmt.Fprintf(&sb, "  s%d: {uses: emit, with: {input: s%d, add: \"${{ s%d.value * 0 + 1 }}\"}}\n", i, i-1, i-1)
			}
			r, err := pipeline.Parse("chain.yaml", []byte(sb.String()), pipeline.LoadOptions{Registry: registry(pipelinetest.New())})
			if err != nil {
				b.Fatal(err)
			}
			out := b.TempDir()
			b.ResetTimer()
			for b.Loop() {
				rec, err := runner.Run(context.Background(), r, runner.Options{OutDir: out, Logger: hclog.NewNullLogger()})
				if err != nil || rec.Status != pipeline.RunSucceeded {
					b.Fatalf("%v %v", err, rec.Status)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/stage")
		})
	}
}
