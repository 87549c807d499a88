package pruning

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"lopper/model"
)

// revive sets entry (row, col) of tensor name in m to v, failing unless it
// was pruned (zero).
func revive(t *testing.T, m *model.Model, name string, row, col int, v float32) {
	t.Helper()
	ti, ok := m.Layout.Lookup(name)
	if !ok {
		t.Fatalf("no tensor %s", name)
	}
	w := ti.Of(m.W)
	if w[row*ti.Shape[1]+col] != 0 {
		t.Fatalf("%s[%d, %d] = %g is not pruned", name, row, col, w[row*ti.Shape[1]+col])
	}
	w[row*ti.Shape[1]+col] = v
}

// firstZero returns the first (row, col) of tensor name that is zero.
func firstZero(t *testing.T, m *model.Model, name string, after int) (row, col int) {
	t.Helper()
	ti, _ := m.Layout.Lookup(name)
	for i, v := range ti.Of(m.W) {
		if v == 0 && i >= after {
			return i / ti.Shape[1], i % ti.Shape[1]
		}
	}
	t.Fatalf("%s has no zero", name)
	return 0, 0
}

// CheckMasks finds pruned weights that became non-zero, against the
// model's own mask and against a reference's mask or zeros, in Llama and
// GPT-2 (whose Conv1D weights are transposed on disk: indices are of the
// canonical [out, in] shape).
func TestCheckMasks(t *testing.T) {
	for _, tc := range []struct {
		arch     model.Arch
		up, down string
	}{
		{model.Llama, "model.layers.1.mlp.up_proj.weight", "model.layers.0.self_attn.o_proj.weight"},
		{model.GPT2, "transformer.h.1.mlp.c_fc.weight", "transformer.h.0.attn.c_proj.weight"},
	} {
		t.Run(string(tc.arch), func(t *testing.T) {
			dense := tinyModel(t, tc.arch, 11)
			pruned, _ := prune(t, dense, Options{Method: Magnitude, Sparsity: 0.5})
			frac, n := pruned.Sparsity(model.Prunable)
			zeros := int(math.Round(frac * float64(n)))

			c, err := CheckMasks(pruned, nil)
			if err != nil || c.Violations != 0 || c.Checked != zeros || c.Err() != nil {
				t.Fatalf("fresh pruned model: %+v, %v; want %d checked, no violations", c, err, zeros)
			}
			// The same mask from the model and from a reference counts once.
			if c, err := CheckMasks(pruned, pruned.Clone()); err != nil || c.Checked != zeros || c.Violations != 0 {
				t.Errorf("against itself: %+v, %v", c, err)
			}

			// Three pruned weights revived in two tensors.
			bad := pruned.Clone()
			r, col := firstZero(t, bad, tc.up, 0)
			revive(t, bad, tc.up, r, col, 0.25)
			upInfo, _ := bad.Layout.Lookup(tc.up)
			r2, col2 := firstZero(t, bad, tc.up, r*upInfo.Shape[1]+col+1)
			revive(t, bad, tc.up, r2, col2, -1)
			r3, col3 := firstZero(t, bad, tc.down, 0)
			revive(t, bad, tc.down, r3, col3, 1e-30)
			c, err = CheckMasks(bad, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.Violations != 3 || c.Checked != zeros || len(c.Tensors) != 2 {
				t.Fatalf("%+v: want 3 violations in 2 tensors, %d checked", c, zeros)
			}
			// Layout order: the layer-0 tensor comes first.
			first := c.Tensors[0]
			if first.Tensor != tc.down || first.Count != 1 || first.Value != 1e-30 || first.Where() != fmt.Sprintf("entry %d (row %d, column %d)", first.First, r3, col3) {
				t.Errorf("first violation %+v at %s; want %s row %d column %d", first, first.Where(), tc.down, r3, col3)
			}
			if c.Tensors[1].Tensor != tc.up || c.Tensors[1].Count != 2 {
				t.Errorf("second violation %+v", c.Tensors[1])
			}
			msg := fmt.Sprint(c.Err())
			for _, want := range []string{"3 pruned weights in 2 tensors are not zero", tc.down, fmt.Sprintf("row %d, column %d", r3, col3)} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}

			// Saved to disk, masks are gone: the reference's zeros are
			// its mask, and the checked model's own (none) adds nothing.
			ref, onDisk := pruned.Clone(), bad.Clone()
			ref.Mask, onDisk.Mask = nil, nil
			c, err = CheckMasks(onDisk, ref)
			if err != nil || c.Violations != 3 || c.Checked != zeros {
				t.Errorf("against the reference's zeros: %+v, %v", c, err)
			}
			if c, err := CheckMasks(onDisk, nil); err != nil || c.Checked != 0 {
				t.Errorf("no mask, no reference: %+v, %v; want nothing checked", c, err)
			}
			// The dense model breaks the pruned model's mask everywhere.
			if c, err := CheckMasks(dense, pruned); err != nil || c.Violations != zeros {
				t.Errorf("dense against pruned: %+v, %v; want %d violations", c, err, zeros)
			}
		})
	}
}

// A structurally pruned model and its unsliced source have different
// shapes: checking one against the other is an error naming the tensor.
func TestCheckMasksShapes(t *testing.T) {
	dense := tinyModel(t, model.Llama, 12)
	small, _, err := Prune(context.Background(), dense, Options{Method: MethodL2, Pattern: Pattern{Kind: Neurons}, Sparsity: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]*model.Model{{small, dense}, {dense, small}} {
		_, err := CheckMasks(pair[0], pair[1])
		if err == nil || !strings.Contains(err.Error(), "model.layers.0.mlp.gate_proj.weight") || !strings.Contains(err.Error(), "unsliced source") {
			t.Errorf("different shapes: %v", err)
		}
	}
	gpt := tinyModel(t, model.GPT2, 12)
	if _, err := CheckMasks(dense, gpt); err == nil || !strings.Contains(err.Error(), "not in the reference") {
		t.Errorf("different architectures: %v", err)
	}
}
