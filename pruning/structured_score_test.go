package pruning

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"lopper/model"
)

// Direct, name-based computations of what a structure owns, independent of
// the package's role-based regions.

type stEntry struct {
	name string
	idx  int
}

// neuronEntries lists the parameters of MLP neuron j of layer l.
func neuronEntries(t testing.TB, m *model.Model, l, j int) []stEntry {
	in, down := mlpNames(m.Config, l)
	var out []stEntry
	for _, n := range in {
		ti, _ := stParam(t, m, n)
		if len(ti.Shape) == 1 {
			out = append(out, stEntry{n, j})
			continue
		}
		for c := 0; c < ti.Cols(); c++ {
			out = append(out, stEntry{n, j*ti.Cols() + c})
		}
	}
	ti, _ := stParam(t, m, down)
	for r := 0; r < ti.Rows(); r++ {
		out = append(out, stEntry{down, r*ti.Cols() + j})
	}
	return out
}

// groupEntries lists the parameters of kv group g of layer l (its query
// heads' q rows and o columns, the kv head's k and v rows, bias entries).
func groupEntries(t testing.TB, m *model.Model, l, g int) []stEntry {
	c := m.Config
	d, hd, H := c.Layers[l], c.HeadDim, c.Hidden
	rep := d.Heads / d.KVHeads
	var out []stEntry
	rows := func(name string, firstRow, n int, bias bool) {
		for r := firstRow; r < firstRow+n; r++ {
			if bias {
				out = append(out, stEntry{name, r})
				continue
			}
			for k := 0; k < H; k++ {
				out = append(out, stEntry{name, r*H + k})
			}
		}
	}
	var qkv [3]string
	var offs [3]int
	if c.Arch == model.GPT2 {
		p := fmt.Sprintf("transformer.h.%d.attn.c_attn.", l)
		qkv = [3]string{p, p, p}
		offs = [3]int{0, d.Heads * hd, (d.Heads + d.KVHeads) * hd}
	} else {
		p := fmt.Sprintf("model.layers.%d.self_attn.", l)
		qkv = [3]string{p + "q_proj.", p + "k_proj.", p + "v_proj."}
	}
	hasBias := c.Arch == model.GPT2 || c.QKVBias
	for part := 0; part < 3; part++ {
		first, n := offs[part]+g*hd, hd
		if part == 0 {
			first, n = offs[0]+g*rep*hd, rep*hd
		}
		rows(qkv[part]+"weight", first, n, false)
		if hasBias {
			rows(qkv[part]+"bias", first, n, true)
		}
	}
	on := oName(c, l)
	for r := 0; r < H; r++ {
		for k := g * rep * hd; k < (g+1)*rep*hd; k++ {
			out = append(out, stEntry{on, r*d.Heads*hd + k})
		}
	}
	return out
}

func sumEntries(t testing.TB, m *model.Model, es []stEntry, f func(w float64, e stEntry) float64) float64 {
	var s float64
	for _, e := range es {
		_, w := stParam(t, m, e.name)
		s += f(float64(w[e.idx]), e)
	}
	return s
}

func scoresFor(t *testing.T, m *model.Model, o StructuredOptions) [][]float64 {
	t.Helper()
	o, err := o.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	s, err := scoreUnits(context.Background(), m, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func stRelDiff(a, b float64) float64 { return math.Abs(a-b) / math.Max(math.Abs(b), 1e-300) }

// L1 and L2 scores are the norms of exactly the parameters a structure
// owns, for neurons and kv groups.
func TestWeightNormScores(t *testing.T) {
	for name, cfg := range stConfigs() {
		t.Run(name, func(t *testing.T) {
			m := stRandomModel(t, cfg, 9)
			for _, crit := range []StructCriterion{ByL1, ByL2} {
				norm := func(es []stEntry) float64 {
					if crit == ByL1 {
						return sumEntries(t, m, es, func(w float64, _ stEntry) float64 { return math.Abs(w) })
					}
					return math.Sqrt(sumEntries(t, m, es, func(w float64, _ stEntry) float64 { return w * w }))
				}
				ns := scoresFor(t, m, StructuredOptions{Structure: StructNeurons, Criterion: crit, Ratio: 0.5})
				hs := scoresFor(t, m, StructuredOptions{Structure: StructHeads, Criterion: crit, Ratio: 0.5})
				for l, d := range cfg.Layers {
					for _, j := range []int{0, d.Intermediate / 2, d.Intermediate - 1} {
						if want := norm(neuronEntries(t, m, l, j)); stRelDiff(ns[l][j], want) > 1e-12 {
							t.Errorf("%s layer %d neuron %d: %g, direct %g", crit, l, j, ns[l][j], want)
						}
					}
					for g := 0; g < d.KVHeads; g++ {
						if want := norm(groupEntries(t, m, l, g)); stRelDiff(hs[l][g], want) > 1e-12 {
							t.Errorf("%s layer %d kv group %d: %g, direct %g", crit, l, g, hs[l][g], want)
						}
					}
				}
			}
		})
	}
}

// stCalib returns n random windows of T tokens for m.
func stCalib(m *model.Model, n, T, batch int, seed uint64) *Calibration {
	return &Calibration{Tokens: stTokens(n*T, m.Config.Vocab, seed), SeqLen: T, Batch: batch}
}

// Activation and Wanda scores match activation norms collected through a
// full forward pass's hook over all windows at once.
func TestActivationScores(t *testing.T) {
	for name, cfg := range stConfigs() {
		t.Run(name, func(t *testing.T) {
			m := stRandomModel(t, cfg, 10)
			cal := stCalib(m, 5, 10, 2, 12)
			st, err := model.NewState(m, cal.Samples(), cal.SeqLen)
			if err != nil {
				t.Fatal(err)
			}
			ss := map[string][]float64{}
			st.Hook = func(weights []string, x []float32, rows, cols int) {
				for _, w := range weights {
					acc := ss[w]
					if acc == nil {
						acc = make([]float64, cols)
						ss[w] = acc
					}
					for r := 0; r < rows; r++ {
						for c := 0; c < cols; c++ {
							acc[c] += float64(x[r*cols+c]) * float64(x[r*cols+c])
						}
					}
				}
			}
			if _, err := st.Forward(cal.Tokens); err != nil {
				t.Fatal(err)
			}
			for _, structure := range []Structure{StructNeurons, StructHeads} {
				act := scoresFor(t, m, StructuredOptions{Structure: structure, Criterion: ByActivation, Ratio: 0.5, Calibration: cal})
				wanda := scoresFor(t, m, StructuredOptions{Structure: structure, Criterion: ByWanda, Ratio: 0.5, Calibration: cal})
				for l, d := range cfg.Layers {
					proj, width := oName(cfg, l), (d.Heads/d.KVHeads)*cfg.HeadDim
					if structure == StructNeurons {
						_, proj = mlpNames(cfg, l)
						width = 1
					}
					ti, w := stParam(t, m, proj)
					for u := range act[l] {
						var a, wd float64
						for c := u * width; c < (u+1)*width; c++ {
							a += ss[proj][c]
							var col float64
							for r := 0; r < ti.Rows(); r++ {
								col += math.Abs(float64(w[r*ti.Cols()+c]))
							}
							wd += math.Sqrt(ss[proj][c]) * col
						}
						if stRelDiff(act[l][u], math.Sqrt(a)) > 1e-5 || stRelDiff(wanda[l][u], wd) > 1e-5 {
							t.Errorf("%s layer %d unit %d: activation %g (direct %g), wanda %g (direct %g)", structure, l, u, act[l][u], math.Sqrt(a), wanda[l][u], wd)
						}
					}
				}
			}
		})
	}
}

// stMeanLoss is the mean next-token cross-entropy over every window of cal
// (the last position of each window has no target), by full forward
// passes.
func stMeanLoss(t testing.TB, m *model.Model, cal *Calibration) float64 {
	T := cal.SeqLen
	lg := stLogits(t, m, cal.Tokens, T)
	targets := make([]int32, len(cal.Tokens))
	for i := range targets {
		targets[i] = -1
		if (i+1)%T != 0 {
			targets[i] = cal.Tokens[i+1]
		}
	}
	l, err := model.CrossEntropy(lg, targets, m.Config.Vocab, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Taylor scores equal Σ |w·∂L/∂w| with the gradient by central finite
// differences of the calibration loss.
func TestTaylorScoresFiniteDifferences(t *testing.T) {
	for name, cfg := range map[string]model.Config{"llama": stLlamaConfig(2, 4, 2, 6, true), "gpt2": stGPT2Config(2, 2, 6)} {
		t.Run(name, func(t *testing.T) {
			m := stRandomModel(t, cfg, 13)
			cal := stCalib(m, 4, 8, 3, 14)
			s := scoresFor(t, m, StructuredOptions{Structure: StructNeurons, Criterion: ByTaylor, Ratio: 0.5, Calibration: cal})
			const h = 1e-2
			for _, lj := range [][2]int{{0, 1}, {1, 4}} {
				l, j := lj[0], lj[1]
				var want float64
				for _, e := range neuronEntries(t, m, l, j) {
					_, w := stParam(t, m, e.name)
					orig := w[e.idx]
					w[e.idx] = orig + h
					up := stMeanLoss(t, m, cal)
					w[e.idx] = orig - h
					down := stMeanLoss(t, m, cal)
					w[e.idx] = orig
					want += math.Abs(float64(orig) * (up - down) / (2 * h))
				}
				t.Logf("layer %d neuron %d: taylor %.6g, finite differences %.6g", l, j, s[l][j], want)
				if stRelDiff(s[l][j], want) > 1e-3 {
					t.Errorf("layer %d neuron %d: taylor %g, finite differences %g", l, j, s[l][j], want)
				}
			}
		})
	}
}

// Block Influence matches 1 − mean cos(h_l, h_l+1) computed from a full
// forward pass's residual stream, and a block made the identity has BI 0
// and is the one removed.
func TestBlockInfluence(t *testing.T) {
	for name, cfg := range stConfigs() {
		t.Run(name, func(t *testing.T) {
			m := stRandomModel(t, cfg, 15)
			// Block 1 becomes the identity: no attention or MLP output.
			p := KeepAll(&m.Config)
			p.Layers[1].Drop = true
			m, err := MaskPlan(m, p)
			if err != nil {
				t.Fatal(err)
			}
			m.Mask = nil
			cal := stCalib(m, 5, 10, 2, 16)
			bi, err := BlockInfluence(context.Background(), m, cal)
			if err != nil {
				t.Fatal(err)
			}
			st, err := model.NewState(m, cal.Samples(), cal.SeqLen)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Forward(cal.Tokens); err != nil {
				t.Fatal(err)
			}
			H := cfg.Hidden
			for l := range cfg.Layers {
				a, b := st.Hidden(l), st.Hidden(l+1)
				var sum float64
				for r := 0; r < len(a)/H; r++ {
					var ab, aa, bb float64
					for k := r * H; k < (r+1)*H; k++ {
						ab += float64(a[k]) * float64(b[k])
						aa += float64(a[k]) * float64(a[k])
						bb += float64(b[k]) * float64(b[k])
					}
					sum += ab / math.Sqrt(aa*bb)
				}
				want := 1 - sum/float64(len(a)/H)
				if math.Abs(bi[l]-want) > 1e-6 {
					t.Errorf("layer %d: BI %g, direct %g", l, bi[l], want)
				}
			}
			if math.Abs(bi[1]) > 1e-6 || slices.Min(bi) != bi[1] {
				t.Errorf("identity block 1: BI %v, want ~0 and the smallest", bi)
			}
			out, rep, err := PruneStructured(context.Background(), m, StructuredOptions{Structure: StructLayers, Count: 1, Calibration: cal})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Removed[1].Dropped || out.Config.NumLayers() != len(cfg.Layers)-1 {
				t.Errorf("removed %+v, want layer 1", rep.Removed)
			}
		})
	}
}
