package model

import (
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// openLazy opens dir lazily and closes it at the end of the test.
func openLazy(t *testing.T, dir string, opts LoadOptions) *Model {
	t.Helper()
	m, err := Open(t.Context(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	if !m.Lazy() {
		t.Fatal("Open returned a resident model")
	}
	return m
}

// forwardLogits runs one inference Forward of tokens (b sequences).
func forwardLogits(t *testing.T, m *Model, tokens []int32, b int) []float32 {
	t.Helper()
	st, err := NewInferenceState(m, b, len(tokens)/b)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := st.Forward(tokens)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(logits)
}

// A lazily opened model computes exactly the logits of the loaded one,
// for every decoder family of the goldens (F32, F16, BF16, fused and
// transposed tensors, tied heads), also when tensors are read a few rows
// at a time; and its pins leave nothing resident after a Forward.
func TestOpenForwardMatchesLoad(t *testing.T) {
	for _, gm := range goldenModels {
		t.Run(gm.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "goldens", gm.name)
			loaded, err := Load(dir, LoadOptions{CheckFinite: true})
			if err != nil {
				t.Fatal(err)
			}
			g := loadGolden(t, dir)
			want := forwardLogits(t, loaded, g.Tokens, g.B)
			smallChunks(t, 100)
			lazy := openLazy(t, dir, LoadOptions{CheckFinite: true})
			if !slices.Equal(forwardLogits(t, lazy, g.Tokens, g.B), want) {
				t.Error("the lazy model's logits differ from the loaded model's")
			}
			for i, st := range lazy.lazy.state {
				if st.pins != 0 || st.resident {
					t.Errorf("%s: %d pins, resident %v after Forward", lazy.Layout.Tensors[i].Name, st.pins, st.resident)
				}
			}
			// Block by block, as calibration runs it.
			st, err := NewInferenceState(lazy, g.B, g.T)
			if err != nil {
				t.Fatal(err)
			}
			h, err := st.Embed(g.Tokens, g.B, g.T)
			if err != nil {
				t.Fatal(err)
			}
			for l := range lazy.Config.Layers {
				if err := st.BlockForward(l, h, g.B, g.T, nil); err != nil {
					t.Fatal(err)
				}
			}
			logits, err := st.Head(h, g.B, g.T)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(logits, want) {
				t.Error("Embed, BlockForward and Head of the lazy model differ from Forward of the loaded one")
			}
			if c := lazy.Clone(); c.Lazy() || !slices.Equal(c.W, loaded.W) {
				t.Error("Clone of a lazy model is not the resident model")
			}
		})
	}
}

// Pins are counted: a tensor stays resident until its last Unpin, reads
// back identical after eviction, and many goroutines may pin the same
// and different tensors at once (run with -race).
func TestPinUnpinCounts(t *testing.T) {
	dir := filepath.Join("testdata", "goldens", "llama-bf16")
	loaded, err := Load(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := openLazy(t, dir, LoadOptions{})
	blk := m.Layout.BlockTensors(1)
	ctx := t.Context()
	for range 2 {
		if err := m.Pin(ctx, blk...); err != nil {
			t.Fatal(err)
		}
	}
	m.Unpin(blk...)
	for _, ti := range blk {
		if st := m.lazy.state[m.tensorIndex(ti)]; st.pins != 1 || !st.resident {
			t.Fatalf("%s: %d pins, resident %v; want 1, resident", ti.Name, st.pins, st.resident)
		}
		if !slices.Equal(ti.Of(m.W), ti.Of(loaded.W)) {
			t.Fatalf("%s: pinned weights differ from Load's", ti.Name)
		}
	}
	m.Unpin(blk...)
	for _, ti := range blk {
		if st := m.lazy.state[m.tensorIndex(ti)]; st.pins != 0 || st.resident {
			t.Fatalf("%s: %d pins, resident %v after the last Unpin", ti.Name, st.pins, st.resident)
		}
	}
	pinConcurrently(t, m, loaded)
	// Without a mapping, tensors are read through each file's one scratch
	// buffer: concurrent pins take turns on a file.
	for _, f := range m.lazy.files {
		if err := unmapFile(f.mapped); err != nil {
			t.Fatal(err)
		}
		f.mapped = nil
	}
	pinConcurrently(t, m, loaded)
	defer func() {
		if recover() == nil {
			t.Error("Unpin of a tensor that is not pinned did not panic")
		}
	}()
	m.Unpin(blk[0])
}

// Pinning on a resident model does nothing; Close is idempotent, and
// a closed lazy model refuses pins.
func TestPinResidentAndClose(t *testing.T) {
	dir := filepath.Join("testdata", "goldens", "gpt2-gelu-new")
	loaded, err := Load(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := loaded.Pin(t.Context(), loaded.Layout.Tensors...); err != nil || loaded.Lazy() {
		t.Fatalf("Pin of a resident model: %v, lazy %v", err, loaded.Lazy())
	}
	loaded.Unpin(loaded.Layout.Tensors...)
	if err := loaded.Close(); err != nil || loaded.W == nil {
		t.Fatalf("Close of a resident model: %v", err)
	}
	m, err := Open(t.Context(), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Pin(t.Context(), m.Layout.Tensors[0]); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Pin after Close: %v", err)
	}
}

// A lazy model refuses training (NewState, Backward) and encoder
// classifier states with an error that says why.
func TestLazyRefusesTraining(t *testing.T) {
	m := openLazy(t, filepath.Join("testdata", "goldens", "llama-bf16"), LoadOptions{})
	if _, err := NewState(m, 1, 4); err == nil || !strings.Contains(err.Error(), "resident weights") {
		t.Errorf("NewState: %v", err)
	}
	st, err := NewInferenceState(m, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Forward([]int32{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	grads := make([]float32, m.Layout.Total)
	if err := st.Backward(make([]float32, 4*m.Config.Vocab), grads); err == nil || !strings.Contains(err.Error(), "resident weights") {
		t.Errorf("Backward: %v", err)
	}
	enc := openLazy(t, filepath.Join("testdata", "goldens", "bert-f32"), LoadOptions{})
	if _, err := NewClassifierInferenceState(enc, 1, 4); err == nil || !strings.Contains(err.Error(), "resident weights") {
		t.Errorf("NewClassifierInferenceState: %v", err)
	}
}

// Open with CheckFinite finds a NaN or an Inf by streaming and reports it
// exactly as Load does (file, tensor, element in [out, in] order), for a
// transposed GPT-2 tensor and a Llama one, in small pieces.
func TestOpenCheckFiniteNamesTensor(t *testing.T) {
	for _, c := range []struct {
		cfg, tensor string
		elem        int
	}{
		{"gpt2-tanh-nonuniform", "transformer.h.1.attn.c_proj.weight", 5},
		{"gpt2-tanh-nonuniform", "transformer.h.0.mlp.c_fc.weight", 77},
		{"llama", "model.layers.1.mlp.down_proj.weight", 123},
	} {
		m := randomModel(t, tinyConfigs()[c.cfg], 3)
		m.Param(c.tensor)[c.elem] = float32(math.Inf(-1))
		dir := t.TempDir()
		if err := m.Save(dir, SaveOptions{DType: BF16}); err != nil {
			t.Fatal(err)
		}
		smallChunks(t, 64)
		_, want := Load(dir, LoadOptions{CheckFinite: true})
		_, got := Open(t.Context(), dir, LoadOptions{CheckFinite: true})
		if want == nil || got == nil || got.Error() != want.Error() {
			t.Errorf("%s: Open: %v\nLoad: %v", c.tensor, got, want)
		}
		if got != nil && !strings.Contains(got.Error(), c.tensor) {
			t.Errorf("%s: the error does not name the tensor: %v", c.tensor, got)
		}
		if _, err := Open(t.Context(), dir, LoadOptions{}); err != nil {
			t.Errorf("%s: Open without CheckFinite: %v", c.tensor, err)
		}
	}
}

// Open with CheckFinite and FiniteOnPin reads no weights: it opens a
// checkpoint with an Inf, and the Pin that first decodes the tensor
// reports it as a *NonFiniteError with Load's message, leaving nothing
// pinned (again on a second try); the other tensors pin, and a tensor that
// was checked and evicted is not checked again but decoded as it was.
func TestOpenFiniteOnPin(t *testing.T) {
	const name = "model.layers.1.mlp.down_proj.weight"
	m := randomModel(t, tinyConfigs()["llama"], 3)
	m.Param(name)[123] = float32(math.Inf(1))
	dir := t.TempDir()
	if err := m.Save(dir, SaveOptions{DType: BF16}); err != nil {
		t.Fatal(err)
	}
	smallChunks(t, 64)
	_, want := Load(dir, LoadOptions{CheckFinite: true})
	loaded, err := Load(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lazy := openLazy(t, dir, LoadOptions{CheckFinite: true, FiniteOnPin: true})
	for try := range 2 {
		err := lazy.Pin(t.Context(), lazy.Layout.BlockTensors(1)...)
		nf, ok := errors.AsType[*NonFiniteError](err)
		if !ok || want == nil || nf.Error() != want.Error() {
			t.Errorf("try %d: Pin: %v\nLoad: %v", try, err, want)
		}
	}
	for i, st := range lazy.lazy.state {
		if st.pins != 0 || st.resident {
			t.Errorf("%s: %d pins, resident %v after the failed pins", lazy.Layout.Tensors[i].Name, st.pins, st.resident)
		}
	}
	block0 := lazy.Layout.BlockTensors(0)
	for range 2 {
		if err := lazy.Pin(t.Context(), block0...); err != nil {
			t.Fatal(err)
		}
		for _, ts := range block0 {
			if !slices.Equal(ts.Of(lazy.W), ts.Of(loaded.W)) {
				t.Errorf("%s: pinned weights differ from the saved ones", ts.Name)
			}
			if !lazy.lazy.state[lazy.tensorIndex(ts)].checked {
				t.Errorf("%s: not marked checked after its decode", ts.Name)
			}
		}
		lazy.Unpin(block0...)
	}
}

// A tied checkpoint that stores an lm_head.weight equal to the embedding
// opens (the check pins the embedding and leaves nothing pinned).
func TestOpenAcceptsEqualTiedHead(t *testing.T) {
	dir, m := savedTiny(t, "llama")
	emb := m.Layout.Tensors[0]
	rewriteWeights(t, dir, append(outs(m), stOut{Name: "lm_head.weight", DType: F32, Shape: emb.Shape, Data: emb.Of(m.W)}))
	smallChunks(t, 64)
	lazy := openLazy(t, dir, LoadOptions{CheckFinite: true})
	if st := lazy.lazy.state[0]; st.pins != 0 || st.resident {
		t.Errorf("the embedding has %d pins, resident %v after Open", st.pins, st.resident)
	}
}

// CheckFinite of a lazy model opened without the check pins and scans
// each tensor, finding what Load's model holds; it leaves nothing pinned.
func TestLazyCheckFinite(t *testing.T) {
	m := randomModel(t, tinyConfigs()["gpt2-tanh-nonuniform"], 4)
	name := "transformer.h.1.mlp.c_proj.weight"
	m.Param(name)[7] = float32(math.NaN())
	dir := t.TempDir()
	if err := m.Save(dir, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := loaded.CheckFinite()
	lazy := openLazy(t, dir, LoadOptions{})
	got := lazy.CheckFinite()
	if want == nil || got == nil || got.Error() != want.Error() || !strings.Contains(got.Error(), name) {
		t.Errorf("lazy: %v\nloaded: %v", got, want)
	}
	for i, st := range lazy.lazy.state {
		if st.pins != 0 || st.resident {
			t.Errorf("%s: %d pins, resident %v after CheckFinite", lazy.Layout.Tensors[i].Name, st.pins, st.resident)
		}
	}
}

// pinConcurrently pins and unpins the blocks of m from 8 goroutines, 20
// times each, checking the pinned weights against loaded's, and that
// nothing stays pinned.
func pinConcurrently(t *testing.T, m, loaded *Model) {
	t.Helper()
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for g := range errs {
		wg.Go(func() {
			for k := range 20 {
				ts := m.Layout.BlockTensors((g + k) % len(m.Config.Layers))
				if err := m.Pin(ctx, ts...); err != nil {
					errs[g] = err
					return
				}
				for _, ti := range ts {
					if !slices.Equal(ti.Of(m.W), ti.Of(loaded.W)) {
						errs[g] = errors.New(ti.Name + ": differs from Load's while pinned")
					}
				}
				m.Unpin(ts...)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, st := range m.lazy.state {
		if st.pins != 0 || st.resident || st.loading != nil {
			t.Errorf("%s: %d pins, resident %v after all goroutines unpinned", m.Layout.Tensors[i].Name, st.pins, st.resident)
		}
	}
}
