package pruning

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lopper/model"
)

// Two layers of five neurons whose scores run on different scales: after
// dividing by each layer's mean, layer 0's four small scores rank below
// all of layer 1's.
var skewed = [][]float64{{1, 1, 1, 1, 100}, {10, 11, 12, 13, 14}}

func skewedConfig() model.Config { return stLlamaConfig(2, 4, 2, 5, false) }

func planFor(t *testing.T, c model.Config, scores [][]float64, o StructuredOptions) (Plan, *StructuredReport, error) {
	t.Helper()
	o, err := o.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	rep := &StructuredReport{}
	p, err := planWithinLayers(&c, scores, o, rep)
	return p, rep, err
}

// Global allocation that would leave layers of different sizes is rounded
// to the same count per layer by default, kept on request, or refused.
func TestGlobalAllocationNonUniform(t *testing.T) {
	c := skewedConfig()
	base := StructuredOptions{Structure: StructNeurons, Scope: AllocGlobal, Ratio: 0.4}

	p, rep, err := planFor(t, c, skewed, base)
	if err != nil {
		t.Fatal(err)
	}
	// Global ranking takes layer 0's four lowest (one always stays):
	// counts [4 0]; rounding keeps (1+5)/2 = 3 per layer, each layer its
	// three best.
	if !rep.Rounded || !slices.Equal(rep.GlobalCounts, []int{4, 0}) {
		t.Errorf("rounded %v, global counts %v; want true, [4 0]", rep.Rounded, rep.GlobalCounts)
	}
	if !slices.Equal(p.Layers[0].Neurons, []int{2, 3, 4}) || !slices.Equal(p.Layers[1].Neurons, []int{2, 3, 4}) {
		t.Errorf("kept %v and %v, want [2 3 4] in both", p.Layers[0].Neurons, p.Layers[1].Neurons)
	}

	keep := base
	keep.NonUniform = NonUniformKeep
	p, rep, err = planFor(t, c, skewed, keep)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rounded || !slices.Equal(p.Layers[0].Neurons, []int{4}) || !slices.Equal(p.Layers[1].Neurons, []int{0, 1, 2, 3, 4}) {
		t.Errorf("keep: kept %v and %v, want [4] and all", p.Layers[0].Neurons, p.Layers[1].Neurons)
	}

	refuse := base
	refuse.NonUniform = NonUniformRefuse
	if _, _, err := planFor(t, c, skewed, refuse); err == nil || !strings.Contains(err.Error(), "[4 0]") {
		t.Errorf("refuse: error %v, want the per-layer counts [4 0]", err)
	}

	// Uniform scales: the global ranking is already uniform, no rounding.
	even := [][]float64{{5, 1, 4, 2, 3}, {50, 10, 40, 20, 30}}
	p, rep, err = planFor(t, c, even, base)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rounded || !slices.Equal(p.Layers[0].Neurons, []int{0, 2, 4}) || !slices.Equal(p.Layers[1].Neurons, []int{0, 2, 4}) {
		t.Errorf("even: rounded %v, kept %v and %v", rep.Rounded, p.Layers[0].Neurons, p.Layers[1].Neurons)
	}
}

// Per-layer allocation removes the same number from every layer, lowest
// scores first (ties by index), and never all of a layer.
func TestPerLayerAllocation(t *testing.T) {
	c := skewedConfig()
	p, _, err := planFor(t, c, skewed, StructuredOptions{Structure: StructNeurons, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Layers[0].Neurons, []int{2, 3, 4}) || !slices.Equal(p.Layers[1].Neurons, []int{2, 3, 4}) {
		t.Errorf("kept %v and %v", p.Layers[0].Neurons, p.Layers[1].Neurons)
	}
	_, _, err = planFor(t, c, skewed, StructuredOptions{Structure: StructNeurons, Count: 5})
	if err == nil || !strings.Contains(err.Error(), "would leave none; at most 4") {
		t.Errorf("removing all: %v", err)
	}
	_, _, err = planFor(t, c, skewed, StructuredOptions{Structure: StructNeurons, Ratio: 0.05})
	if err == nil || !strings.Contains(err.Error(), "rounds to removing no") {
		t.Errorf("nothing removed: %v", err)
	}
	_, _, err = planFor(t, c, skewed, StructuredOptions{Structure: StructNeurons, Scope: AllocGlobal, Count: 5})
	if err == nil || !strings.Contains(err.Error(), "at most 8") {
		t.Errorf("global removing all: %v", err)
	}
}

// Query-head slots remove the lowest-scored head of every group, and each
// group chooses its own.
func TestQueryHeadSlots(t *testing.T) {
	c := stLlamaConfig(1, 8, 2, 4, false) // groups {0..3} and {4..7}
	scores := [][]float64{{5, 2, 7, 1, 3, 9, 0.5, 4}}
	p, _, err := planFor(t, c, scores, StructuredOptions{Structure: StructHeads, HeadMode: HeadsQuery, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	// group 0 loses heads 3 and 1, group 1 loses 6 and 4
	if want := []int{0, 2, 5, 7}; !slices.Equal(p.Layers[0].Heads, want) || p.Layers[0].KVHeads != nil {
		t.Errorf("kept heads %v kv %v, want %v and all kv heads", p.Layers[0].Heads, p.Layers[0].KVHeads, want)
	}
	_, _, err = planFor(t, c, scores, StructuredOptions{Structure: StructHeads, HeadMode: HeadsQuery, Count: 4})
	if err == nil || !strings.Contains(err.Error(), "query-head slots") {
		t.Errorf("removing every query head: %v", err)
	}
	// KV groups: group scores are per kv head.
	p, _, err = planFor(t, c, [][]float64{{3, 1}}, StructuredOptions{Structure: StructHeads, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Layers[0].KVHeads, []int{0}) || !slices.Equal(p.Layers[0].Heads, []int{0, 1, 2, 3}) {
		t.Errorf("kv groups: kept %v / %v", p.Layers[0].Heads, p.Layers[0].KVHeads)
	}
}

// A non-uniform result from PruneStructured runs, saves with its per-layer
// dims (hf_compatible false), and loads back with the same logits; a
// uniform one saves with updated Hugging Face fields.
func TestPruneStructuredSaveLoad(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name      string
		cfg       model.Config
		o         StructuredOptions
		hf        bool
		wantField map[string]float64
		prep      func(m *model.Model)
	}{
		{"llama kv group", stLlamaConfig(2, 4, 2, 24, false),
			StructuredOptions{Structure: StructHeads, Count: 1}, true,
			map[string]float64{"num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8, "num_hidden_layers": 2}, nil},
		{"llama global keep", stLlamaConfig(2, 4, 2, 24, false),
			StructuredOptions{Structure: StructNeurons, Scope: AllocGlobal, Ratio: 0.5, NonUniform: NonUniformKeep}, false, nil,
			// a few strong neurons in layer 0 make its others weak relative
			// to its mean: the global ranking takes more from layer 0
			func(m *model.Model) {
				for _, n := range []string{"model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight"} {
					w := m.Param(n)
					for i := range w[:3*m.Config.Hidden] {
						w[i] *= 20
					}
				}
			}},
		{"gpt2 neurons", stGPT2Config(2, 4, 48),
			StructuredOptions{Structure: StructNeurons, Ratio: 0.25}, true,
			map[string]float64{"n_inner": 36, "n_head": 4, "n_layer": 2}, nil},
		{"gpt2 head", stGPT2Config(2, 4, 48),
			StructuredOptions{Structure: StructHeads, Count: 1}, false, nil, nil},
		{"llama layer", stLlamaConfig(3, 4, 2, 24, false),
			StructuredOptions{Structure: StructLayers, Count: 1, Criterion: ByRandom}, true,
			map[string]float64{"num_hidden_layers": 2, "intermediate_size": 24}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := stRandomModel(t, c.cfg, 17)
			if c.prep != nil {
				c.prep(m)
			}
			out, rep, err := PruneStructured(ctx, m, c.o)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("dims %v, global counts %v", out.Config.Layers, rep.GlobalCounts)
			// GPT-2 derives head_dim from n_embd / n_head: fewer heads
			// cannot be expressed, uniform or not.
			uniform := c.hf || c.o.Structure == StructHeads
			if rep.HFCompatible != c.hf || out.Config.Uniform() != uniform {
				t.Errorf("hf compatible %v (%s), uniform %v; want %v, %v", rep.HFCompatible, rep.HFReason, out.Config.Uniform(), c.hf, uniform)
			}
			if rep.ParamsAfter != out.NumParams() || rep.ParamsAfter >= rep.ParamsBefore {
				t.Errorf("params %d → %d (model has %d)", rep.ParamsBefore, rep.ParamsAfter, out.NumParams())
			}
			back, dir := stSaveLoad(t, out)
			toks := stTokens(2*10, m.Config.Vocab, 18)
			if a, b := stLogits(t, back, toks, 10), stLogits(t, out, toks, 10); !slices.Equal(a, b) {
				stAssertClose(t, "reloaded logits", a, b, 0)
			}
			if !slices.Equal(back.Config.Layers, out.Config.Layers) {
				t.Errorf("reloaded dims %v, saved %v", back.Config.Layers, out.Config.Layers)
			}
			var cfg map[string]any
			stReadJSON(t, filepath.Join(dir, "config.json"), &cfg)
			for k, v := range c.wantField {
				if cfg[k] != v {
					t.Errorf("config.json %s = %v, want %v", k, cfg[k], v)
				}
			}
			var meta struct {
				HF bool `json:"hf_compatible"`
			}
			stReadJSON(t, filepath.Join(dir, "lopper.json"), &meta)
			if _, has := cfg["lopper_dims"]; meta.HF != c.hf || has == c.hf {
				t.Errorf("lopper.json hf_compatible %v, lopper_dims present %v; want %v", meta.HF, has, c.hf)
			}
		})
	}
}

func stReadJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Bad options are refused with a clear message.
func TestStructuredOptionErrors(t *testing.T) {
	m := stRandomModel(t, stLlamaConfig(2, 4, 2, 8, false), 19)
	cases := []struct {
		o    StructuredOptions
		want string
	}{
		{StructuredOptions{Structure: "rows", Ratio: 0.5}, "want neurons, heads or layers"},
		{StructuredOptions{Structure: StructLayers, Criterion: ByL2, Count: 1}, "does not score whole layers"},
		{StructuredOptions{Structure: StructNeurons, Criterion: "sparsegpt", Ratio: 0.5}, "does not score neurons"},
		{StructuredOptions{Structure: StructNeurons}, "exactly one of a ratio and a count"},
		{StructuredOptions{Structure: StructNeurons, Ratio: 0.5, Count: 2}, "exactly one of a ratio and a count"},
		{StructuredOptions{Structure: StructNeurons, Ratio: 1}, "strictly between 0 and 1"},
		{StructuredOptions{Structure: StructNeurons, Ratio: 0.5, Criterion: ByActivation}, "needs calibration data"},
		{StructuredOptions{Structure: StructLayers, Count: 2}, "needs calibration"},
		{StructuredOptions{Structure: StructLayers, Count: 2, Criterion: ByRandom}, "would leave none"},
		{StructuredOptions{Structure: StructHeads, HeadMode: "pairs", Count: 1}, "want kv_groups or query_heads"},
	}
	for _, c := range cases {
		_, _, err := PruneStructured(context.Background(), m, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.o, err, c.want)
		}
	}
}
