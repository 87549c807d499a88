package pruning

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"lopper/model"
)

const stTol = 1e-5

// A plan that keeps everything returns an identical model: config (raw
// fields included), layout, parameters and mask, bit for bit.
func TestSliceKeepAllIsIdentity(t *testing.T) {
	for name, cfg := range stConfigs() {
		t.Run(name, func(t *testing.T) {
			m := stRandomModel(t, cfg, 1)
			m.Mask = m.Layout.NewMask()
			for i := range m.W {
				if i%7 == 3 {
					m.Mask.Set(i, false)
					m.W[i] = 0
				}
			}
			m.TokenizerJSON = []byte(`{"model":{}}`)
			out, err := Slice(m, KeepAll(&m.Config))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(out.Config, m.Config) {
				t.Errorf("config changed:\n%+v\n%+v", out.Config, m.Config)
			}
			if !reflect.DeepEqual(out.Layout.Tensors, m.Layout.Tensors) || out.Layout.Total != m.Layout.Total {
				t.Error("layout changed")
			}
			if !slices.Equal(out.W, m.W) || !out.Mask.Equal(m.Mask) {
				t.Error("parameters or mask changed")
			}
			if string(out.TokenizerJSON) != string(m.TokenizerJSON) {
				t.Error("tokenizer not carried over")
			}
		})
	}
}

// Slicing out MLP neurons computes the same function as zeroing them.
func TestSliceNeuronsEqualsMasked(t *testing.T) {
	for name, cfg := range stConfigs() {
		t.Run(name, func(t *testing.T) {
			m := stRandomModel(t, cfg, 2)
			p := KeepAll(&m.Config)
			masked := m.Clone()
			removed := 0
			for l, d := range m.Config.Layers {
				// a different set per layer, so layers end non-uniform
				var gone []int
				for j := l % 3; j < d.Intermediate; j += 3 + l {
					gone = append(gone, j)
				}
				p.Layers[l].Neurons = complement(gone, d.Intermediate)
				zeroNeurons(t, masked, l, gone)
				removed += len(gone)
			}
			out := checkPlan(t, m, masked, p)
			H := m.Config.Hidden
			per := 3 * H // gate row, up row, down column
			if m.Config.MLPBias {
				per += 2
			}
			if m.Config.Arch == model.GPT2 {
				per = 2*H + 1 // c_fc row and bias, c_proj column
			}
			if got, want := m.NumParams()-out.NumParams(), removed*per; got != want {
				t.Errorf("removed %d parameters, want %d", got, want)
			}
			for l, d := range out.Config.Layers {
				if want := len(p.Layers[l].Neurons); d.Intermediate != want {
					t.Errorf("layer %d: intermediate %d, want %d", l, d.Intermediate, want)
				}
			}
		})
	}
}

// Slicing out heads computes the same function as zeroing their o_proj
// columns, in both grouped-query modes.
func TestSliceHeadsEqualsMasked(t *testing.T) {
	for name, cfg := range stConfigs() {
		for _, mode := range []HeadMode{HeadsKVGroups, HeadsQuery} {
			if mode == HeadsQuery && cfg.Layers[0].Heads == cfg.Layers[0].KVHeads {
				continue
			}
			t.Run(name+"/"+string(mode), func(t *testing.T) {
				m := stRandomModel(t, cfg, 3)
				p := KeepAll(&m.Config)
				masked := m.Clone()
				hd, H := m.Config.HeadDim, m.Config.Hidden
				wantRemoved := 0
				for l, d := range m.Config.Layers {
					rep := d.Heads / d.KVHeads
					var goneQ, goneKV []int
					if mode == HeadsKVGroups {
						g := (l + 1) % d.KVHeads
						goneKV = []int{g}
						for h := g * rep; h < (g+1)*rep; h++ {
							goneQ = append(goneQ, h)
						}
						p.Layers[l].KVHeads = complement(goneKV, d.KVHeads)
					} else {
						for g := 0; g < d.KVHeads; g++ {
							goneQ = append(goneQ, g*rep+(g+l)%rep) // a different head in each group
						}
					}
					p.Layers[l].Heads = complement(goneQ, d.Heads)
					zeroHeadOutputs(t, masked, l, goneQ)
					perQ, perKV := 2*hd*H, 2*hd*H // q rows + o columns; k rows + v rows
					if m.Config.QKVBias || m.Config.Arch == model.GPT2 {
						perQ, perKV = perQ+hd, perKV+2*hd
					}
					wantRemoved += len(goneQ)*perQ + len(goneKV)*perKV
				}
				out := checkPlan(t, m, masked, p)
				if got := m.NumParams() - out.NumParams(); got != wantRemoved {
					t.Errorf("removed %d parameters, want %d", got, wantRemoved)
				}
				for l, d := range out.Config.Layers {
					lp := p.Layers[l]
					if d.Heads != len(lp.Heads) || (lp.KVHeads != nil && d.KVHeads != len(lp.KVHeads)) || d.Heads%d.KVHeads != 0 {
						t.Errorf("layer %d: dims %+v for plan %+v", l, d, lp)
					}
				}
			})
		}
	}
}

// Dropping a layer computes the same function as skipping its block.
func TestSliceLayersEqualsSkippedBlock(t *testing.T) {
	for name, cfg := range stConfigs() {
		t.Run(name, func(t *testing.T) {
			m := stRandomModel(t, cfg, 4)
			L := m.Config.NumLayers()
			drop := L - 2
			p := KeepAll(&m.Config)
			p.Layers[drop].Drop = true
			out, err := Slice(m, p)
			if err != nil {
				t.Fatal(err)
			}
			if out.Config.NumLayers() != L-1 {
				t.Fatalf("%d layers, want %d", out.Config.NumLayers(), L-1)
			}
			const B, T = 2, 12
			toks := stTokens(B*T, m.Config.Vocab, 5)
			st, err := model.NewInferenceState(m, B, T)
			if err != nil {
				t.Fatal(err)
			}
			h, err := st.Embed(toks, B, T)
			if err != nil {
				t.Fatal(err)
			}
			for l := 0; l < L; l++ {
				if l != drop {
					if err := st.BlockForward(l, h, B, T, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			skipped, err := st.Head(h, B, T)
			if err != nil {
				t.Fatal(err)
			}
			stAssertClose(t, "sliced vs skipped block", stLogits(t, out, toks, T), skipped, stTol)
			viaMask, err := MaskPlan(m, p)
			if err != nil {
				t.Fatal(err)
			}
			stAssertClose(t, "MaskPlan vs skipped block", stLogits(t, viaMask, toks, T), skipped, stTol)
			// Renumbering: the block after the dropped one moved down.
			a := m.Param(oName(m.Config, drop+1))
			b := out.Param(oName(m.Config, drop))
			if !slices.Equal(a, b) {
				t.Errorf("layer %d of the source is not layer %d of the result", drop+1, drop)
			}
		})
	}
}

// checkPlan slices m by p and checks the result against the independently
// masked model and against MaskPlan, on random tokens.
func checkPlan(t *testing.T, m, masked *model.Model, p Plan) *model.Model {
	t.Helper()
	out, err := Slice(m, p)
	if err != nil {
		t.Fatal(err)
	}
	const T = 12
	toks := stTokens(2*T, m.Config.Vocab, 6)
	want := stLogits(t, masked, toks, T)
	stAssertClose(t, "sliced vs masked", stLogits(t, out, toks, T), want, stTol)
	viaMask, err := MaskPlan(m, p)
	if err != nil {
		t.Fatal(err)
	}
	stAssertClose(t, "MaskPlan vs masked", stLogits(t, viaMask, toks, T), want, stTol)
	if err := viaMask.CheckMask(); err != nil {
		t.Error(err)
	}
	if _, n := viaMask.Sparsity(nil); n == 0 {
		t.Error("MaskPlan masked nothing")
	}
	return out
}

// A mask is carried to the surviving weights: every parameter of the
// result keeps the mask stEntry of the source parameter it came from. The
// source weights are their own (1-based) flat index, so each result weight
// says where it came from.
func TestSliceCarriesMask(t *testing.T) {
	for name, cfg := range stConfigs() {
		t.Run(name, func(t *testing.T) {
			m, err := model.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			m.Mask = m.Layout.NewMask()
			for i := range m.W {
				m.W[i] = float32(i + 1)
				m.Mask.Set(i, (i*2654435761>>7)&1 != 0)
			}
			d := cfg.Layers[0]
			rep := d.Heads / d.KVHeads
			p := KeepAll(&m.Config)
			p.Layers[0].Neurons = []int{1, 4, 5}
			p.Layers[0].KVHeads = []int{d.KVHeads - 1}
			for h := (d.KVHeads - 1) * rep; h < d.Heads; h++ {
				p.Layers[0].Heads = append(p.Layers[0].Heads, h)
			}
			p.Layers[1].Drop = true
			out, err := Slice(m, p)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[int]bool{}
			for i, v := range out.W {
				src := int(v) - 1
				if float32(src+1) != v || src < 0 || src >= len(m.W) || seen[src] {
					t.Fatalf("result parameter %d holds %g: not a distinct source index", i, v)
				}
				seen[src] = true
				if out.Mask.Get(i) != m.Mask.Get(src) {
					t.Fatalf("result parameter %d (source %d): mask %v, source mask %v", i, src, out.Mask.Get(i), m.Mask.Get(src))
				}
			}
			if len(seen) != out.NumParams() {
				t.Errorf("%d distinct sources for %d parameters", len(seen), out.NumParams())
			}
		})
	}
}

// Plans that would break the model's invariants are refused with a message
// that names the layer and the problem.
func TestPlanRejections(t *testing.T) {
	llama := stLlamaConfig(2, 4, 2, 8, false)
	gpt := stGPT2Config(2, 4, 8)
	cases := []struct {
		name string
		cfg  model.Config
		edit func(p *Plan)
		want string
	}{
		{"uneven groups", llama, func(p *Plan) { p.Layers[0].Heads = []int{0, 1, 2} }, "same positive number"},
		{"orphan query head", llama, func(p *Plan) { p.Layers[1].Heads = []int{0, 2}; p.Layers[1].KVHeads = []int{1} }, "its kv head 0 is removed"},
		{"no neurons", llama, func(p *Plan) { p.Layers[0].Neurons = []int{} }, "keeps none of the 8 MLP neurons"},
		{"no heads", gpt, func(p *Plan) { p.Layers[1].Heads = []int{} }, "keeps none"},
		{"all layers", gpt, func(p *Plan) { p.Layers[0].Drop = true; p.Layers[1].Drop = true }, "drops all 2 layers"},
		{"gpt2 kv", gpt, func(p *Plan) { p.Layers[0].Heads = []int{0, 1}; p.Layers[0].KVHeads = []int{0} }, "no grouped-query attention"},
		{"range", llama, func(p *Plan) { p.Layers[0].Neurons = []int{3, 8} }, "index 8 is out of range"},
		{"order", llama, func(p *Plan) { p.Layers[0].Neurons = []int{3, 1} }, "ascending and distinct"},
		{"length", llama, func(p *Plan) { p.Layers = p.Layers[:1] }, "plan has 1 layers"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := stRandomModel(t, c.cfg, 8)
			p := KeepAll(&m.Config)
			p.Layers = slices.Clone(p.Layers)
			c.edit(&p)
			_, err := Slice(m, p)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Slice: error %v, want one containing %q", err, c.want)
			}
			if _, err2 := MaskPlan(m, p); err2 == nil {
				t.Error("MaskPlan accepted the plan")
			}
		})
	}
}
