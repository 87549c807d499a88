package model

import (
	"math"
	"strconv"
	"strings"
)

// An independent float64 implementation of the three encoder classifiers,
// written from transformers' modeling_bert.py, modeling_roberta.py and
// modeling_distilbert.py with naive loops over the Hugging Face tensor
// names. The gradient checks differentiate it numerically.

type encRef struct {
	m *Model
	w []float64
}

// p returns the tensor name ({L}: the layer).
func (r encRef) p(name string, layer ...int) []float64 {
	if len(layer) > 0 {
		name = strings.ReplaceAll(name, "{L}", strconv.Itoa(layer[0]))
	}
	t, ok := r.m.Layout.Lookup(name)
	if !ok {
		panic("reference: no tensor " + name)
	}
	return r.w[t.Offset : t.Offset+t.Size]
}

// encNames are one family's HF names ({L}: the layer).
type encNames struct {
	word, pos, typ, embLN                     string
	q, k, v, o, attLN, up, down, outLN        string
	pool, out                                 string
	relu, offsetPositions, scaleQBeforeScores bool
}

func encNamesOf(modelType string) encNames {
	switch modelType {
	case "distilbert":
		l := "distilbert.transformer.layer.{L}."
		return encNames{
			word: "distilbert.embeddings.word_embeddings", pos: "distilbert.embeddings.position_embeddings",
			embLN: "distilbert.embeddings.LayerNorm",
			q:     l + "attention.q_lin", k: l + "attention.k_lin", v: l + "attention.v_lin", o: l + "attention.out_lin",
			attLN: l + "sa_layer_norm", up: l + "ffn.lin1", down: l + "ffn.lin2", outLN: l + "output_layer_norm",
			pool: "pre_classifier", out: "classifier", relu: true, scaleQBeforeScores: true,
		}
	case "roberta":
		n := bertLikeNames("roberta.")
		n.pool, n.out, n.offsetPositions = "classifier.dense", "classifier.out_proj", true
		return n
	}
	n := bertLikeNames("bert.")
	n.pool, n.out = "bert.pooler.dense", "classifier"
	return n
}

func bertLikeNames(prefix string) encNames {
	l := prefix + "encoder.layer.{L}."
	return encNames{
		word: prefix + "embeddings.word_embeddings", pos: prefix + "embeddings.position_embeddings",
		typ: prefix + "embeddings.token_type_embeddings", embLN: prefix + "embeddings.LayerNorm",
		q: l + "attention.self.query", k: l + "attention.self.key", v: l + "attention.self.value",
		o: l + "attention.output.dense", attLN: l + "attention.output.LayerNorm",
		up: l + "intermediate.dense", down: l + "output.dense", outLN: l + "output.LayerNorm",
	}
}

func (r encRef) layerNorm(x []float64, w, b []float64) []float64 {
	n := float64(len(x))
	mean, v := 0.0, 0.0
	for _, e := range x {
		mean += e
	}
	mean /= n
	for _, e := range x {
		v += (e - mean) * (e - mean)
	}
	inv := 1 / math.Sqrt(v/n+r.m.Config.NormEps)
	y := make([]float64, len(x))
	for i, e := range x {
		y[i] = (e-mean)*inv*w[i] + b[i]
	}
	return y
}

// linear returns x·Wᵀ + b for one row.
func linear64(x, w, b []float64) []float64 {
	out := len(b)
	y := make([]float64, out)
	for o := range y {
		s := b[o]
		for i, v := range x {
			s += v * w[o*len(x)+i]
		}
		y[o] = s
	}
	return y
}

// logits returns [b][labels] for the batch.
func (r encRef) logits(in EncoderBatch) [][]float64 {
	c := &r.m.Config
	nm := encNamesOf(c.ModelType)
	H, T := c.Hidden, in.T
	var out [][]float64
	for b := 0; b < len(in.IDs)/T; b++ {
		ids := in.IDs[b*T : (b+1)*T]
		mask := make([]int32, T)
		for t := range mask {
			mask[t] = 1
			if in.Mask != nil {
				mask[t] = in.Mask[b*T+t]
			}
		}
		// Positions (create_position_ids_from_input_ids for RoBERTa).
		pos := make([]int, T)
		cum := 0
		for t := range pos {
			pos[t] = t
			if nm.offsetPositions {
				m := 0
				if int(ids[t]) != c.PadID {
					m = 1
				}
				cum += m
				pos[t] = cum*m + c.PadID
			}
		}
		x := make([][]float64, T)
		for t := range x {
			e := make([]float64, H)
			for i := range e {
				e[i] = r.p(nm.word + ".weight")[int(ids[t])*H+i]
				if nm.typ != "" {
					tt := 0
					if in.TypeIDs != nil {
						tt = int(in.TypeIDs[b*T+t])
					}
					e[i] += r.p(nm.typ + ".weight")[tt*H+i]
				}
				e[i] += r.p(nm.pos + ".weight")[pos[t]*H+i]
			}
			x[t] = r.layerNorm(e, r.p(nm.embLN+".weight"), r.p(nm.embLN+".bias"))
		}
		for l, d := range c.Layers {
			x = r.block(nm, l, d, x, mask)
		}
		h := linear64(x[0], r.p(nm.pool+".weight"), r.p(nm.pool+".bias"))
		for i, v := range h {
			if nm.relu {
				h[i] = math.Max(v, 0)
			} else {
				h[i] = math.Tanh(v)
			}
		}
		out = append(out, linear64(h, r.p(nm.out+".weight"), r.p(nm.out+".bias")))
	}
	return out
}

func (r encRef) block(nm encNames, l int, d LayerDims, x [][]float64, mask []int32) [][]float64 {
	c := &r.m.Config
	T, hd := len(x), c.HeadDim
	lin := func(name string, row []float64) []float64 {
		return linear64(row, r.p(name+".weight", l), r.p(name+".bias", l))
	}
	q, k, v := make([][]float64, T), make([][]float64, T), make([][]float64, T)
	for t := range x {
		q[t], k[t], v[t] = lin(nm.q, x[t]), lin(nm.k, x[t]), lin(nm.v, x[t])
	}
	scale := 1 / math.Sqrt(float64(hd))
	out := make([][]float64, T)
	for i := range x {
		ctx := make([]float64, d.Heads*hd)
		for h := 0; h < d.Heads; h++ {
			s := make([]float64, T)
			mx := math.Inf(-1)
			for j := range s {
				dot := 0.0
				for e := 0; e < hd; e++ {
					qe := q[i][h*hd+e]
					if nm.scaleQBeforeScores {
						qe *= scale
					}
					dot += qe * k[j][h*hd+e]
				}
				if !nm.scaleQBeforeScores {
					dot *= scale
				}
				s[j] = dot
				if mask[j] == 1 {
					mx = math.Max(mx, dot)
				}
			}
			sum := 0.0
			for j := range s {
				s[j] = math.Exp(s[j] - mx)
				if mask[j] == 0 {
					s[j] = 0 // + finfo.min before the softmax
				}
				sum += s[j]
			}
			for j := range s {
				for e := 0; e < hd; e++ {
					ctx[h*hd+e] += s[j] / sum * v[j][h*hd+e]
				}
			}
		}
		a := lin(nm.o, ctx)
		for e := range a {
			a[e] += x[i][e]
		}
		a = r.layerNorm(a, r.p(nm.attLN+".weight", l), r.p(nm.attLN+".bias", l))
		f := lin(nm.up, a)
		for e, z := range f {
			f[e] = 0.5 * z * (1 + math.Erf(z/math.Sqrt2))
		}
		y := lin(nm.down, f)
		for e := range y {
			y[e] += a[e]
		}
		out[i] = r.layerNorm(y, r.p(nm.outLN+".weight", l), r.p(nm.outLN+".bias", l))
	}
	return out
}

// loss is transformers' loss for the model's problem type.
func (r encRef) loss(in EncoderBatch, tg ClassifierTargets) float64 {
	lg := r.logits(in)
	L := len(r.m.Config.Labels)
	sum, count := 0.0, 0
	for b, row := range lg {
		switch r.m.Config.Problem {
		case SingleLabel:
			k := tg.Classes[b]
			if k < 0 {
				continue
			}
			mx := math.Inf(-1)
			for _, v := range row {
				mx = math.Max(mx, v)
			}
			z := 0.0
			for _, v := range row {
				z += math.Exp(v - mx)
			}
			sum += mx + math.Log(z) - row[k]
			count++
		case MultiLabel:
			for j, x := range row {
				y := float64(tg.Values[b*L+j])
				p := 1 / (1 + math.Exp(-x))
				sum -= y*math.Log(p) + (1-y)*math.Log(1-p)
				count++
			}
		case Regression:
			for j, x := range row {
				d := x - float64(tg.Values[b*L+j])
				sum += d * d
				count++
			}
		}
	}
	return sum / float64(count)
}
