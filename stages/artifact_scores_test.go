package stages

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"lopper/model"
	"lopper/pipeline"
	"lopper/pruning"
)

// scoresDir scores m as o says and writes the artifact.
func scoresDir(t *testing.T, m *model.Model, o pruning.ScoreOptions) (string, *ScoresArtifact) {
	t.Helper()
	ctx := context.Background()
	s, err := pruning.Score(ctx, m, o)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := m.Config.MarshalHF("")
	if err != nil {
		t.Fatal(err)
	}
	a := &ScoresArtifact{Scores: s, Config: cfg, ModelDigest: "sha256:test"}
	dir := filepath.Join(t.TempDir(), "scores")
	if err := pipeline.WriteArtifact(ctx, newRegistry(), dir, a); err != nil {
		t.Fatal(err)
	}
	return dir, a
}

func magnitudeOf(targets ...string) pruning.ScoreOptions {
	return pruning.ScoreOptions{Method: pruning.Magnitude, Targets: pruning.TargetSpec{Include: targets}}
}

// Decoding scores allocates what the scores hold (one float32 per
// parameter of the layout) and little more: no model is built or scored
// to recover the layout, and the file is not read whole.
func TestScoresDecodeMemory(t *testing.T) {
	m, err := model.New(model.Config{
		Arch: model.Llama, ModelType: "llama", Hidden: 256, Vocab: 1024, MaxPos: 64, HeadDim: 32,
		Layers: []model.LayerDims{{Heads: 8, KVHeads: 8, Intermediate: 512}, {Heads: 8, KVHeads: 8, Intermediate: 512}}, NormEps: 1e-5, RopeTheta: 10000, Act: model.SiLU,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.W {
		m.W[i] = float32(i%97) - 48
	}
	dir, a := scoresDir(t, m, magnitudeOf(`mlp`))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := scoresCodec{}.Decode(context.Background(), dir)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest() != a.Digest() {
		t.Fatal("decoded scores differ")
	}
	scores := uint64(4 * m.Layout.Total)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > scores+512<<10 {
		t.Errorf("decoding %d bytes of scores allocated %d bytes", scores, alloc)
	}
}

// A NaN in a stored score is refused on decode, naming the tensor.
func TestScoresDecodeNaN(t *testing.T) {
	m := testModel(t)
	dir, a := scoresDir(t, m, magnitudeOf(`mlp\.up_proj`))
	bin := filepath.Join(dir, scoresBin)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	nan := math.Float32bits(float32(math.NaN()))
	off := 4 * (a.Scores.Targets[0].Size + 5) // entry 5 of the second target
	b[off], b[off+1], b[off+2], b[off+3] = byte(nan), byte(nan>>8), byte(nan>>16), byte(nan>>24)
	if err := os.WriteFile(bin, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = scoresCodec{}.Decode(context.Background(), dir)
	want := `tensor "` + a.Scores.Targets[1].Name + `": score of entry 5 is NaN`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one containing %q", err, want)
	}
}
