package sharedtest

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// Result is one evaluation of a model in reference.json: the dense model's
// or that of a reference pruning (then with its sparsity).
type Result struct {
	PPL      float64 `json:"ppl"`
	Acc      float64 `json:"acc"`
	Tokens   int     `json:"tokens"`
	Sparsity float64 `json:"sparsity"`
}

// Reference is a shared model's reference.json: PyTorch's numbers.
type Reference struct {
	Name string `json:"-"`
	// Top5 holds the five largest (id, logit) at the last position of the
	// prompt "ROMEO: "; SumAbs the sum of |logit| over all its positions.
	Top5   [][2]float64 `json:"prompt_last_logits_top5"`
	SumAbs float64      `json:"prompt_logits_sum_abs"`
	Params int          `json:"param_count"`
	Dense  Result       `json:"dense"`
	all    map[string]json.RawMessage
}

// LoadReference reads shared model name's reference.json.
func LoadReference(tb testing.TB, name string) *Reference {
	tb.Helper()
	b := Read(tb, "models", name, "reference.json")
	r := &Reference{Name: name}
	if err := json.Unmarshal(b, r); err != nil {
		tb.Fatalf("%s: %v", filepath.Join(name, "reference.json"), err)
	}
	if err := json.Unmarshal(b, &r.all); err != nil {
		tb.Fatal(err)
	}
	return r
}

// Result returns the entry key (e.g. "magnitude_layerwise_50"), failing the
// test when there is none.
func (r *Reference) Result(tb testing.TB, key string) Result {
	tb.Helper()
	raw, ok := r.all[key]
	if !ok {
		tb.Fatalf("%s: reference.json has no %q", r.Name, key)
	}
	var res Result
	if err := json.Unmarshal(raw, &res); err != nil {
		tb.Fatalf("%s: reference.json %q: %v", r.Name, key, err)
	}
	return res
}
