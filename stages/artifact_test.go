package stages

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"lopper/model"
	"lopper/pipeline"
	"lopper/pruning"
)

// testModel is a small random Llama with a byte tokenizer, BF16 storage
// for its embedding, and half of its first block's q weights masked.
func testModel(t testing.TB) *model.Model {
	t.Helper()
	m, err := model.New(model.Config{
		Arch: model.Llama, ModelType: "llama", Hidden: 16, Vocab: 32, MaxPos: 16, HeadDim: 4,
		Layers: []model.LayerDims{{Heads: 4, KVHeads: 2, Intermediate: 24}, {Heads: 4, KVHeads: 2, Intermediate: 24}}, NormEps: 1e-5, RopeTheta: 10000, Act: model.SiLU,
	})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range m.W {
		m.W[i] = float32(rng.NormFloat64() * 0.2)
	}
	m.TokenizerJSON = []byte(`{"version":"1.0","model":{"type":"BPE","vocab":{},"merges":[]}}`)
	dt := map[string]model.DType{}
	for _, ti := range m.Layout.Tensors {
		dt[ti.Name] = model.F32
	}
	dt["model.embed_tokens.weight"] = model.BF16
	if m.Layout, err = m.Layout.WithDTypes(dt); err != nil {
		t.Fatal(err)
	}
	m.Mask = m.Layout.NewMask()
	q, _ := m.Layout.Lookup("model.layers.0.self_attn.q_proj.weight")
	for i := 0; i < q.Size; i += 2 {
		m.Mask.Set(q.Offset+i, false)
	}
	m.ApplyMask()
	return m
}

// A model artifact survives the codec: the decoded artifact has the same
// digest, weights, mask, storage dtypes and history; a corrupted mask is
// detected by the digest.
func TestModelCodecRoundTrip(t *testing.T) {
	m := testModel(t)
	a := NewModelArtifact(m, []HistoryStep{{Stage: "base", Kind: "load"}}, HistoryStep{Stage: "p", Kind: "prune", Summary: map[string]any{"sparsity": 0.5}})
	reg := newRegistry()
	dir := filepath.Join(t.TempDir(), "art")
	ctx := context.Background()
	if err := pipeline.WriteArtifact(ctx, reg, dir, a); err != nil {
		t.Fatal(err)
	}
	got, err := pipeline.ReadArtifact(ctx, reg, dir)
	if err != nil {
		t.Fatal(err)
	}
	b := got.(*ModelArtifact)
	if b.Digest() != a.Digest() || !slices.Equal(b.Model.W, m.W) || !b.Model.Mask.Equal(m.Mask) {
		t.Fatal("decoded model differs")
	}
	if e, _ := b.Model.Layout.Lookup("model.embed_tokens.weight"); e.DType != model.BF16 {
		t.Errorf("embedding dtype %s after decoding, want BF16", e.DType)
	}
	if len(b.History) != 2 || b.History[1].Kind != "prune" || b.History[1].Summary["sparsity"] != 0.5 {
		t.Errorf("history %+v", b.History)
	}
	mask := filepath.Join(dir, maskFile)
	raw, err := os.ReadFile(mask)
	if err != nil {
		t.Fatal(err)
	}
	raw[0] ^= 1
	if err := os.WriteFile(mask, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.ReadArtifact(ctx, reg, dir); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupted mask: %v", err)
	}
}

// The codec stores the mask packed, one bit per parameter; a cache entry
// written before masks were bitsets (one byte per parameter, no
// mask_format) decodes to the same mask and digest; an unknown format is
// refused.
func TestModelCodecMaskFormats(t *testing.T) {
	m := testModel(t)
	a := NewModelArtifact(m, nil, HistoryStep{Stage: "p", Kind: "prune"})
	reg := newRegistry()
	dir := filepath.Join(t.TempDir(), "art")
	ctx := context.Background()
	if err := pipeline.WriteArtifact(ctx, reg, dir, a); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, maskFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := (m.Layout.Total + 7) / 8; len(raw) != want || !slices.Equal(raw, m.Mask.PackedBytes()) {
		t.Fatalf("%s holds %d bytes, want the %d of the packed mask", maskFile, len(raw), want)
	}
	rewrite := func(mask []byte) {
		t.Helper()
		path := filepath.Join(dir, modelArtifactJSON)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var meta map[string]any
		if err := json.Unmarshal(b, &meta); err != nil {
			t.Fatal(err)
		}
		if meta["mask_format"] != maskBits {
			t.Fatalf("%s says mask_format %v, want %q", modelArtifactJSON, meta["mask_format"], maskBits)
		}
		delete(meta, "mask_format")
		if b, err = json.Marshal(meta); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, maskFile), mask, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The old format: one byte per parameter, no mask_format.
	rewrite(m.Mask.Bytes())
	got, err := pipeline.ReadArtifact(ctx, reg, dir)
	if err != nil {
		t.Fatalf("an entry with a one-byte mask: %v", err)
	}
	if b := got.(*ModelArtifact); !b.Model.Mask.Equal(m.Mask) || b.Digest() != a.Digest() {
		t.Error("a one-byte mask decodes to another mask")
	}
	b, err := json.Marshal(map[string]any{"dtypes": dtypesOf(m), "masked": true, "mask_format": "nibbles"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, modelArtifactJSON), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.ReadArtifact(ctx, reg, dir); err == nil || !strings.Contains(err.Error(), `mask_format "nibbles"`) {
		t.Errorf("an unknown mask format: %v", err)
	}
}

// dtypesOf is m's tensors' storage dtypes by name.
func dtypesOf(m *model.Model) map[string]model.DType {
	dt := map[string]model.DType{}
	for _, t := range m.Layout.Tensors {
		dt[t.Name] = t.DType
	}
	return dt
}

// The digest covers weights, mask, storage dtypes and config, not the
// history, and is safe to compute concurrently.
func TestModelDigest(t *testing.T) {
	m := testModel(t)
	d := NewModelArtifact(m, nil, HistoryStep{Kind: "load"}).Digest()
	var wg sync.WaitGroup
	a := NewModelArtifact(m.Clone(), nil, HistoryStep{Kind: "other"})
	for range 4 {
		wg.Go(func() {
			if a.Digest() != d {
				t.Error("a clone with another history has another digest")
			}
		})
	}
	wg.Wait()
	change := map[string]func(*model.Model){
		"weight":  func(c *model.Model) { c.W[len(c.W)-1] += 1e-6 },
		"mask":    func(c *model.Model) { c.Mask.Set(c.Mask.Len()-1, false) },
		"no mask": func(c *model.Model) { c.Mask = nil },
		"dtype": func(c *model.Model) {
			dt := map[string]model.DType{}
			for _, ti := range c.Layout.Tensors {
				dt[ti.Name] = model.F16
			}
			l, err := c.Layout.WithDTypes(dt)
			if err != nil {
				t.Fatal(err)
			}
			c.Layout = l
		},
		"config": func(c *model.Model) { c.Config.NormEps = 1e-6 },
	}
	for name, f := range change {
		c := m.Clone()
		f(c)
		if NewModelArtifact(c, nil, HistoryStep{}).Digest() == d {
			t.Errorf("changing the %s leaves the digest", name)
		}
	}
}

// Scores survive their codec: the decoded scores prune exactly as the
// original ones do.
func TestScoresCodecRoundTrip(t *testing.T) {
	m := testModel(t)
	ctx := context.Background()
	dir, a := scoresDir(t, m, pruning.ScoreOptions{Method: pruning.Random, Seed: 5, Targets: pruning.TargetSpec{Include: []string{`mlp\.(up|down)_proj`}}})
	s := a.Scores
	got, err := pipeline.ReadArtifact(ctx, newRegistry(), dir)
	if err != nil {
		t.Fatal(err)
	}
	b := got.(*ScoresArtifact)
	if b.Digest() != a.Digest() || b.Scores.Method != pruning.Random || len(b.Scores.Targets) != 4 {
		t.Fatalf("decoded scores: method %s, %d targets", b.Scores.Method, len(b.Scores.Targets))
	}
	o := pruning.Options{Sparsity: 0.5, Scope: pruning.ScopeLayer}
	p1, _, err := pruning.PruneScored(ctx, m, s, o)
	if err != nil {
		t.Fatal(err)
	}
	p2, _, err := pruning.PruneScored(ctx, m, b.Scores, o)
	if err != nil {
		t.Fatal(err)
	}
	if !p1.Mask.Equal(p2.Mask) || !slices.Equal(p1.W, p2.W) {
		t.Error("decoded scores prune differently")
	}
}
