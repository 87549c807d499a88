package pruning

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"lopper/internal/sharedtest"
)

// torchCase is one case of shared/reference/torch_prune_cases.json.
type torchCase struct {
	Op             string            `json:"op"`
	Weight         [][]float64       `json:"weight"`
	Weights        [][][]float64     `json:"weights"`
	Amount         json.RawMessage   `json:"amount"`
	Amounts        []json.RawMessage `json:"amounts"`
	N              json.RawMessage   `json:"n"`
	Dim            int               `json:"dim"`
	Mask           [][]int           `json:"mask"`
	MaskAfterFirst [][]int           `json:"mask_after_first"`
	Masks          [][][]int         `json:"masks"`
}

// parseAmount reads a JSON amount: an integer literal is a count, a
// literal with a point or exponent a fraction (as Python sees them).
func parseAmount(t *testing.T, raw json.RawMessage) Amount {
	t.Helper()
	s := string(raw)
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("amount %s: %v", s, err)
	}
	for _, c := range s {
		if c == '.' || c == 'e' || c == 'E' {
			return Fraction(f)
		}
	}
	return Count(int(f))
}

func flat32(m [][]float64) (w []float32, rows, cols int) {
	for _, r := range m {
		for _, v := range r {
			w = append(w, float32(v))
		}
	}
	return w, len(m), len(m[0])
}

func flatMask(m [][]int) []byte {
	var out []byte
	for _, r := range m {
		for _, v := range r {
			out = append(out, byte(v))
		}
	}
	return out
}

func sameMask(t *testing.T, what string, got []byte, want [][]int) {
	t.Helper()
	w := flatMask(want)
	if string(got) != string(w) {
		t.Errorf("%s: mask %v, torch %v", what, got, w)
	}
}

// Every case computed with torch.nn.utils.prune is reproduced exactly.
func TestTorchPruneCases(t *testing.T) {
	b := sharedtest.Read(t, "reference", "torch_prune_cases.json")
	var doc struct {
		Cases []torchCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) != 16 {
		t.Fatalf("%d cases, want 16", len(doc.Cases))
	}
	for i, c := range doc.Cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.Op), func(t *testing.T) {
			switch c.Op {
			case "l1_unstructured":
				w, _, _ := flat32(c.Weight)
				got, err := L1Unstructured(w, nil, parseAmount(t, c.Amount))
				if err != nil {
					t.Fatal(err)
				}
				sameMask(t, "mask", got, c.Mask)
			case "l1_unstructured_twice":
				w, _, _ := flat32(c.Weight)
				first, err := L1Unstructured(w, nil, parseAmount(t, c.Amounts[0]))
				if err != nil {
					t.Fatal(err)
				}
				sameMask(t, "first", first, c.MaskAfterFirst)
				masked := make([]float32, len(w))
				for j, v := range w {
					masked[j] = v * float32(first[j])
				}
				second, err := L1Unstructured(masked, first, parseAmount(t, c.Amounts[1]))
				if err != nil {
					t.Fatal(err)
				}
				sameMask(t, "second", second, c.Mask)
			case "ln_structured":
				w, rows, cols := flat32(c.Weight)
				p := math.Inf(1)
				if string(c.N) != `"inf"` {
					if err := json.Unmarshal(c.N, &p); err != nil {
						t.Fatal(err)
					}
				}
				got, err := LnStructured(w, rows, cols, nil, parseAmount(t, c.Amount), p, c.Dim)
				if err != nil {
					t.Fatal(err)
				}
				sameMask(t, "mask", got, c.Mask)
			case "global_unstructured_l1":
				ws := make([][]float32, len(c.Weights))
				for j := range ws {
					ws[j], _, _ = flat32(c.Weights[j])
				}
				got, err := GlobalUnstructured(ws, make([][]byte, len(ws)), parseAmount(t, c.Amount))
				if err != nil {
					t.Fatal(err)
				}
				for j := range got {
					sameMask(t, fmt.Sprintf("tensor %d", j), got[j], c.Masks[j])
				}
			default:
				t.Fatalf("unknown op %q", c.Op)
			}
		})
	}
}

// torch's refusals: a count above the size, a fraction outside [0, 1].
func TestTorchAmountErrors(t *testing.T) {
	w := []float32{1, 2, 3}
	for _, a := range []Amount{Count(4), Count(-1), Fraction(1.5), Fraction(-0.1), Fraction(math.NaN())} {
		if _, err := L1Unstructured(w, nil, a); err == nil {
			t.Errorf("amount %+v was accepted", a)
		}
	}
	if got, _ := Fraction(0.5).of(3); got != 2 {
		t.Errorf("round(1.5) = %d, Python gives 2", got)
	}
	if got, _ := Fraction(0.5).of(5); got != 2 {
		t.Errorf("round(2.5) = %d, Python gives 2", got)
	}
}

// StructureNorms against hand-computed values.
func TestStructureNorms(t *testing.T) {
	w := []float32{3, -4, 0, 1, 2, -2} // rows [3 −4 0], [1 2 −2]
	cases := []struct {
		p    float64
		dim  int
		want []float64
	}{
		{1, 0, []float64{7, 5}},
		{2, 0, []float64{5, 3}},
		{math.Inf(1), 0, []float64{4, 2}},
		{1, 1, []float64{4, 6, 2}},
		{2, 1, []float64{math.Sqrt(10), math.Sqrt(20), 2}},
		{3, 0, []float64{math.Cbrt(27 + 64), math.Cbrt(1 + 8 + 8)}},
	}
	for _, c := range cases {
		got, err := StructureNorms(w, 2, 3, c.p, c.dim)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-12 {
				t.Errorf("p=%g dim=%d: %v, want %v", c.p, c.dim, got, c.want)
				break
			}
		}
	}
	if _, err := StructureNorms(w, 2, 3, 0, 0); err == nil {
		t.Error("p = 0 accepted")
	}
	if _, err := StructureNorms(w, 2, 3, 2, 2); err == nil {
		t.Error("dim 2 accepted")
	}
}

// torchTopK selects the indices torch.topk selects, ties included
// (testdata/torch_topk.json, made by scripts/gen_pruning_topk.py with
// PyTorch 1.13 on both of topk's CPU paths).
func TestTorchTopKTies(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "torch_topk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []struct {
			Levels  []int `json:"levels"`
			Scale   int   `json:"scale"`
			K       int   `json:"k"`
			Largest bool  `json:"largest"`
			Indices []int `json:"indices"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for i, c := range doc.Cases {
		vals := make([]float64, len(c.Levels))
		for j, l := range c.Levels {
			vals[j] = float64(float32(l) / float32(c.Scale))
		}
		got := torchTopK(vals, c.K, c.Largest)
		slices.Sort(got)
		if !slices.Equal(got, c.Indices) {
			t.Errorf("case %d (n=%d k=%d largest=%v): %v, torch %v", i, len(vals), c.K, c.Largest, got, c.Indices)
		}
	}
}
