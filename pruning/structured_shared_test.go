package pruning

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"lopper/model"
)

// Structured pruning of the shared tiny models, evaluated with the shared
// perplexity protocol. No reference exists for these numbers; the tests
// check what must hold (exact parameter counts, dims, finite perplexity
// above the dense model's) and log the numbers.

type stCase struct {
	name string
	o    StructuredOptions
	// removed is the exact number of parameters the case removes.
	removed func(c model.Config) int
	dims    func(d model.LayerDims) model.LayerDims
}

func stSharedCases(arch model.Arch, cal *Calibration) []stCase {
	neuron := func(c model.Config) int { // parameters per MLP neuron
		if c.Arch == model.GPT2 {
			return 2*c.Hidden + 1
		}
		return 3 * c.Hidden
	}
	quarter := func(c model.Config) int { return c.NumLayers() * (c.Layers[0].Intermediate / 4) * neuron(c) }
	less := func(d model.LayerDims) model.LayerDims { d.Intermediate -= d.Intermediate / 4; return d }
	var cases []stCase
	for _, crit := range []StructCriterion{ByL2, ByActivation, ByWanda, ByTaylor} {
		cases = append(cases, stCase{"neurons 25% " + string(crit), StructuredOptions{Structure: StructNeurons, Ratio: 0.25, Criterion: crit, Calibration: cal}, quarter, less})
	}
	// One kv group (Llama: 2 query heads, 1 kv head) or one head (GPT-2)
	// per layer: q, k, v rows (with GPT-2's bias entries) and o columns.
	group := func(c model.Config) int {
		d, hd, H := c.Layers[0], c.HeadDim, c.Hidden
		if c.Arch == model.GPT2 {
			return c.NumLayers() * (4*hd*H + 3*hd)
		}
		rep := d.Heads / d.KVHeads
		return c.NumLayers() * (2*rep*hd*H + 2*hd*H)
	}
	oneGroup := func(d model.LayerDims) model.LayerDims {
		d.Heads -= d.Heads / d.KVHeads
		d.KVHeads--
		return d
	}
	for _, crit := range []StructCriterion{ByL2, ByActivation, ByTaylor} {
		cases = append(cases, stCase{"1 kv group/layer " + string(crit), StructuredOptions{Structure: StructHeads, Count: 1, Criterion: crit, Calibration: cal}, group, oneGroup})
	}
	if arch == model.Llama {
		// One query head from each group: q rows and o columns of 2 heads.
		perGroup := func(c model.Config) int { return c.NumLayers() * c.Layers[0].KVHeads * 2 * c.HeadDim * c.Hidden }
		fewerQ := func(d model.LayerDims) model.LayerDims { d.Heads -= d.KVHeads; return d }
		for _, crit := range []StructCriterion{ByL2, ByActivation} {
			cases = append(cases, stCase{"1 query head/group " + string(crit), StructuredOptions{Structure: StructHeads, HeadMode: HeadsQuery, Count: 1, Criterion: crit, Calibration: cal}, perGroup, fewerQ})
		}
	}
	block := func(c model.Config) int { // one block's parameters
		m, err := model.New(c)
		if err != nil {
			return -1
		}
		n := 0
		for _, t := range m.Layout.Tensors {
			if t.Layer == 0 {
				n += t.Size
			}
		}
		return n
	}
	same := func(d model.LayerDims) model.LayerDims { return d }
	cases = append(cases, stCase{"1 layer block_influence", StructuredOptions{Structure: StructLayers, Count: 1, Calibration: cal}, block, same})
	return cases
}

// Neurons (25 %), one kv group or query head per group, and one layer by
// Block Influence, on both shared models.
func TestStructuredSharedModels(t *testing.T) {
	for _, name := range []string{"tiny-llama", "tiny-gpt2"} {
		t.Run(name, func(t *testing.T) {
			s := loadShared(t, name)
			m, text := s.m, s.eval
			if testing.Short() || raceEnabled {
				text = text[:48*128+1] // the first 48 windows
			}
			dense, n := perplexity(t, m, text)
			t.Logf("dense: perplexity %.4f over %d tokens, %d parameters", dense, n, m.NumParams())
			if len(text) == len(s.eval) {
				if ref := s.ref.Dense; stRelDiff(dense, ref.PPL) > 1e-3 || n != ref.Tokens {
					t.Fatalf("dense perplexity %.6f over %d tokens, PyTorch reference %.6f over %d: the evaluation is off", dense, n, ref.PPL, ref.Tokens)
				}
			}
			for _, c := range stSharedCases(m.Config.Arch, s.calib) {
				out, rep, err := PruneStructured(context.Background(), m, c.o)
				if err != nil {
					t.Errorf("%s: %v", c.name, err)
					continue
				}
				ppl, _ := perplexity(t, out, text)
				removed := m.NumParams() - out.NumParams()
				t.Logf("%-28s perplexity %8.4f (×%.3f), %6d parameters removed (%.1f %%), dims %v, removed %s", c.name, ppl, ppl/dense, removed, 100*float64(removed)/float64(m.NumParams()), out.Config.Layers, stRemovedSummary(rep))
				if math.IsNaN(ppl) || math.IsInf(ppl, 0) || ppl <= dense {
					t.Errorf("%s: perplexity %g, dense %g: want finite and above dense", c.name, ppl, dense)
				}
				if want := c.removed(m.Config); removed != want {
					t.Errorf("%s: removed %d parameters, want %d", c.name, removed, want)
				}
				wantLayers := m.Config.NumLayers()
				if c.o.Structure == StructLayers {
					wantLayers--
				}
				if out.Config.NumLayers() != wantLayers {
					t.Errorf("%s: %d layers, want %d", c.name, out.Config.NumLayers(), wantLayers)
				}
				for l, d := range out.Config.Layers {
					if want := c.dims(m.Config.Layers[0]); d != want {
						t.Errorf("%s: layer %d dims %+v, want %+v", c.name, l, d, want)
					}
				}
			}
		})
	}
}

func stRemovedSummary(rep *StructuredReport) string {
	b, err := json.Marshal(rep.Removed)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// Neurons then a kv group removed from tiny-llama, one after the other:
// the result saves with updated Hugging Face fields and loads back with
// the same logits.
func TestStructuredSharedSaveLoad(t *testing.T) {
	s := loadShared(t, "tiny-llama")
	ctx := context.Background()
	a, _, err := PruneStructured(ctx, s.m, StructuredOptions{Structure: StructNeurons, Ratio: 0.25, Criterion: ByActivation, Calibration: s.calib})
	if err != nil {
		t.Fatal(err)
	}
	b, rep, err := PruneStructured(ctx, a, StructuredOptions{Structure: StructHeads, Count: 1, Criterion: ByTaylor, Calibration: s.calib})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.HFCompatible {
		t.Errorf("not HF compatible: %s", rep.HFReason)
	}
	dir := filepath.Join(t.TempDir(), "pruned")
	if err := b.Save(dir, model.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	back, err := model.Load(dir, model.LoadOptions{CheckFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	toks := s.eval[:4*128]
	if x, y := stLogits(t, back, toks, 128), stLogits(t, b, toks, 128); !slices.Equal(x, y) {
		stAssertClose(t, "reloaded logits", x, y, 0)
	}
	var cfg map[string]any
	stReadJSON(t, filepath.Join(dir, "config.json"), &cfg)
	want := map[string]any{"intermediate_size": 144.0, "num_attention_heads": 2.0, "num_key_value_heads": 1.0,
		"head_dim": 16.0, "num_hidden_layers": 2.0, "hidden_size": 64.0, "tie_word_embeddings": true}
	for k, v := range want {
		if cfg[k] != v {
			t.Errorf("config.json %s = %v, want %v", k, cfg[k], v)
		}
	}
	if _, ok := cfg["lopper_dims"]; ok {
		t.Error("a uniform result should not need lopper_dims")
	}
	if got, want := b.NumParams(), s.m.NumParams()-2*48*3*64-2*(2*16*64*3); got != want {
		t.Errorf("%d parameters, want %d", got, want)
	}
}
