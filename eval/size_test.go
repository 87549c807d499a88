package eval

import (
	"os"
	"path/filepath"
	"testing"

	"lopper/internal/sharedtest"
	"lopper/model"
)

func TestSizeSharedModels(t *testing.T) {
	for _, name := range sharedtest.Models {
		t.Run(name, func(t *testing.T) {
			m, dir := loadShared(t, name)
			res, err := Size(m, dir)
			if err != nil {
				t.Fatal(err)
			}
			// Prunable weights from the configs (hidden 64, 2 layers,
			// intermediate 192 / 4·64 = 256): Llama q 64·64, k and v 32·64
			// (2 KV heads of 16), o 64·64, gate/up/down 192·64 each; GPT-2
			// c_attn 192·64, c_proj 64·64, c_fc 256·64, mlp.c_proj 64·256.
			const prunable = 2 * 49152
			if res.PrunableParams != prunable || res.PrunableNonZero != prunable || res.Sparsity != 0 {
				t.Errorf("prunable %d (%d non-zero, sparsity %v), want %d dense", res.PrunableParams, res.PrunableNonZero, res.Sparsity, prunable)
			}
			if name == "tiny-llama" && res.Params != 115008 { // reference.json param_count
				t.Errorf("params %d, want 115008", res.Params)
			}
			var onDisk int64
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				info, err := e.Info()
				if err != nil {
					t.Fatal(err)
				}
				onDisk += info.Size()
			}
			if res.BytesOnDisk != onDisk {
				t.Errorf("bytes on disk %d, directory listing %d", res.BytesOnDisk, onDisk)
			}

			// Zero the first half of every prunable tensor and one bias.
			p := m.Clone()
			zeroed := 0
			for _, ti := range p.Layout.Tensors {
				if model.Prunable(ti) {
					w := ti.Of(p.W)
					clear(w[:len(w)/2])
					zeroed += len(w) / 2
				}
			}
			pr, err := Size(p, "")
			if err != nil {
				t.Fatal(err)
			}
			if pr.PrunableNonZero != prunable-zeroed || pr.Sparsity != 0.5 || pr.NonZero != res.NonZero-zeroed {
				t.Errorf("after zeroing half: prunable non-zero %d sparsity %v non-zero %d", pr.PrunableNonZero, pr.Sparsity, pr.NonZero)
			}
			if want := float64(res.Params-pr.NonZero) / float64(res.Params); pr.SparsityAll != want {
				t.Errorf("sparsity over all %v, want %v", pr.SparsityAll, want)
			}
			for _, ts := range pr.Tensors {
				if ts.Prunable && ts.Sparsity != 0.5 {
					t.Errorf("%s: sparsity %v, want 0.5", ts.Name, ts.Sparsity)
				}
			}
			rel := Relative(res.Metrics(), pr.Metrics())
			if want := float64(pr.NonZero) / float64(res.NonZero); rel[MetricSizeRatio] != want {
				t.Errorf("size_ratio %v, want %v", rel[MetricSizeRatio], want)
			}
		})
	}
}

func TestDirBytes(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for path, n := range map[string]int{"a": 10, "sub/b": 7} {
		if err := os.WriteFile(filepath.Join(dir, path), make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := DirBytes(dir); err != nil || n != 17 {
		t.Errorf("DirBytes = %d, %v; want 17", n, err)
	}
	if _, err := DirBytes(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing directory gave no error")
	}
}
