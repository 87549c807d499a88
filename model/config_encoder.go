package model

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// The config.json of the encoder classifiers (Arch BERT), as transformers
// reads it: BertConfig and RobertaConfig (configuration_bert.py,
// configuration_roberta.py), DistilBertConfig (configuration_distilbert.py,
// other field names), and PretrainedConfig's labels (id2label, label2id,
// num_labels, problem_type).

// ProblemType is the loss of a sequence classifier (config.json's
// problem_type): cross-entropy over the labels, binary cross-entropy on
// each label, or mean squared error.
type ProblemType string

// The problem types of transformers' *ForSequenceClassification.
const (
	SingleLabel ProblemType = "single_label_classification"
	MultiLabel  ProblemType = "multi_label_classification"
	Regression  ProblemType = "regression"
)

// NumLabels is the number of classifier outputs (num_labels).
func (c *Config) NumLabels() int { return len(c.Labels) }

// LabelID returns the id of a label name: label2id, else the label's
// position in id2label.
func (c *Config) LabelID(name string) (int, bool) {
	if id, ok := c.Label2ID[name]; ok {
		return id, true
	}
	if i := slices.Index(c.Labels, name); i >= 0 {
		return i, true
	}
	return 0, false
}

// encoderKeys are the config.json names of an encoder's dims.
type encoderKeys struct{ hidden, layers, heads, inter, act string }

var (
	bertKeys   = encoderKeys{"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act"}
	distilKeys = encoderKeys{"dim", "n_layers", "n_heads", "hidden_dim", "activation"}
)

func keysOf(modelType string) encoderKeys {
	if modelType == "distilbert" {
		return distilKeys
	}
	return bertKeys
}

// parseEncoder reads a bert, roberta or distilbert config.json.
func parseEncoder(p *fieldParser, c *Config, fam family) {
	k := keysOf(c.ModelType)
	c.Hidden = p.integer(k.hidden, 0, true)
	n := p.integer(k.layers, 0, true)
	heads := p.integer(k.heads, 0, true)
	inter := p.integer(k.inter, 0, true)
	if act := p.str(k.act, "gelu", false); act != "gelu" && p.err == nil {
		p.fail(k.act, act, "unsupported activation (want gelu)")
	}
	c.Act = GELU
	if c.ModelType == "distilbert" {
		c.NormEps = fam.normEps // nn.LayerNorm(dim, eps=1e-12), not a config field
		if p.boolean("sinusoidal_pos_embds", false) {
			// The table is stored like any weight, but transformers
			// freezes it (requires_grad False), which retraining would not.
			p.fail("sinusoidal_pos_embds", true, "frozen sinusoidal position embeddings are not supported")
		}
	} else {
		c.NormEps = p.number("layer_norm_eps", fam.normEps)
		c.TypeVocab = p.integer("type_vocab_size", 2, false)
		if pe := p.str("position_embedding_type", "absolute", false); pe != "absolute" && p.err == nil {
			p.fail("position_embedding_type", pe, "only absolute position embeddings are supported")
		}
		if p.boolean("is_decoder", false) {
			p.fail("is_decoder", true, "lopper runs BERT-family models as encoders only")
		}
		if p.boolean("add_cross_attention", false) {
			p.fail("add_cross_attention", true, "cross-attention is not supported")
		}
	}
	c.Vocab = p.integer("vocab_size", 0, true)
	c.MaxPos = p.integer("max_position_embeddings", fam.maxPos, false)
	pad := 0
	if c.ModelType == "roberta" {
		pad = 1 // RobertaConfig's default
	}
	c.PadID = p.integer("pad_token_id", pad, false)
	if heads > 0 {
		if c.Hidden%heads != 0 && p.err == nil {
			p.fail(k.heads, heads, fmt.Sprintf("does not divide the hidden size %d", c.Hidden))
		}
		c.HeadDim = c.Hidden / heads
	}
	c.Layers = uniformLayers(n, LayerDims{heads, heads, inter})
	parsePrunedHeads(p, c.Layers, heads)
	parseLabels(p, c)
}

// parsePrunedHeads applies config.json's pruned_heads ({"layer": [head,
// …]}, transformers' prune_heads at load): those layers keep fewer heads,
// their tensors stored already shrunk.
func parsePrunedHeads(p *fieldParser, layers []LayerDims, heads int) {
	var ph map[string][]int
	if !p.get("pruned_heads", &ph, "an object of layer: [heads]", false) {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(ph)) {
		l, err := strconv.Atoi(k)
		if err != nil || l < 0 || l >= len(layers) {
			p.fail("pruned_heads", p.raw["pruned_heads"], fmt.Sprintf("key %q is not a layer of %d", k, len(layers)))
			return
		}
		seen := map[int]bool{}
		for _, h := range ph[k] {
			if h < 0 || h >= heads || seen[h] {
				p.fail("pruned_heads", p.raw["pruned_heads"], fmt.Sprintf("layer %d: head %d is not one of %d distinct heads", l, h, heads))
				return
			}
			seen[h] = true
		}
		if len(seen) == heads {
			p.fail("pruned_heads", p.raw["pruned_heads"], fmt.Sprintf("removes every head of layer %d", l))
			return
		}
		layers[l].Heads -= len(seen)
		layers[l].KVHeads = layers[l].Heads
	}
}

// parseLabels reads id2label (whose size wins over num_labels, as in
// PretrainedConfig.__init__; keys must be 0 … n−1), label2id (default: the
// inverse of id2label) and problem_type (null: regression for one label,
// else single-label).
func parseLabels(p *fieldParser, c *Config) {
	var id2 map[string]string
	if p.get("id2label", &id2, "an object of id: label name", false) {
		c.Labels = make([]string, len(id2))
		for k, v := range id2 {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(id2) || strconv.Itoa(i) != k {
				p.fail("id2label", p.raw["id2label"], fmt.Sprintf("key %q: the ids of %d labels must be 0 … %d", k, len(id2), len(id2)-1))
				return
			}
			c.Labels[i] = v
		}
	} else {
		n := p.integer("num_labels", 2, false)
		if n <= 0 || n > 1<<20 {
			p.fail("num_labels", n, "want a positive number of labels")
			return
		}
		c.Labels = defaultLabels(n)
	}
	var l2i map[string]int
	if p.get("label2id", &l2i, "an object of label name: id", false) {
		for name, id := range l2i {
			if id < 0 || id >= len(c.Labels) {
				p.fail("label2id", p.raw["label2id"], fmt.Sprintf("label %q has id %d, outside the %d labels", name, id, len(c.Labels)))
				return
			}
		}
		c.Label2ID = l2i
	} else {
		c.Label2ID = labelIndex(c.Labels)
	}
	switch pt := ProblemType(p.str("problem_type", "", false)); pt {
	case "":
		c.Problem = defaultProblem(len(c.Labels))
	case SingleLabel, MultiLabel, Regression:
		c.Problem = pt
	default:
		p.fail("problem_type", pt, "want single_label_classification, multi_label_classification, regression or null")
	}
}

// defaultLabels are PretrainedConfig's names for n labels without id2label.
func defaultLabels(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "LABEL_" + strconv.Itoa(i)
	}
	return out
}

func labelIndex(labels []string) map[string]int {
	m := make(map[string]int, len(labels))
	for i, l := range labels {
		m[l] = i
	}
	return m
}

// defaultProblem is transformers' choice when problem_type is null:
// regression for one label, single-label for integer labels (the labels
// lopper reads for classes).
func defaultProblem(labels int) ProblemType {
	if labels == 1 {
		return Regression
	}
	return SingleLabel
}

// validateEncoder checks the fields of an encoder classifier.
func (c *Config) validateEncoder() error {
	if c.Act != GELU {
		return fmt.Errorf("BERT-family models use the gelu (erf) activation, got %q", c.Act)
	}
	if c.QKVBias || c.OBias || c.MLPBias || c.QKNorm || c.SlidingWindow != 0 || c.RotaryDim != 0 || c.Rope.typ() != RoPEDefault || c.TiedEmbeddings {
		return fmt.Errorf("BERT-family models have fixed biases, learned positions and an untied classifier; QKVBias, OBias, MLPBias, QKNorm, SlidingWindow, RotaryDim, Rope and TiedEmbeddings must be unset")
	}
	distil := c.modelType() == "distilbert"
	switch {
	case distil && c.TypeVocab != 0:
		return fmt.Errorf("DistilBERT has no token type embeddings, got type vocab %d", c.TypeVocab)
	case !distil && c.TypeVocab <= 0:
		return fmt.Errorf("type vocab size must be positive, got %d", c.TypeVocab)
	case c.PadID < 0 || c.PadID >= c.Vocab:
		return fmt.Errorf("pad token id %d is outside the vocabulary of %d", c.PadID, c.Vocab)
	case c.MaxSeqLen() <= 0:
		return fmt.Errorf("%d positions leave no room for a sequence after RoBERTa's position offset %d", c.MaxPos, c.PadID+1)
	case len(c.Labels) == 0:
		return fmt.Errorf("a classifier needs at least one label")
	}
	switch c.Problem {
	case SingleLabel, MultiLabel, Regression:
	default:
		return fmt.Errorf("problem type %q is not %s, %s or %s", c.Problem, SingleLabel, MultiLabel, Regression)
	}
	for name, id := range c.Label2ID {
		if id < 0 || id >= len(c.Labels) {
			return fmt.Errorf("label %q has id %d, outside the %d labels", name, id, len(c.Labels))
		}
	}
	for i, d := range c.Layers {
		if d.KVHeads != d.Heads {
			return fmt.Errorf("layer %d: BERT-family models have no grouped-query attention (kv heads %d != heads %d)", i, d.KVHeads, d.Heads)
		}
	}
	return nil
}

// MaxSeqLen is the longest sequence the model's positions cover:
// max_position_embeddings, less RoBERTa's offset (its positions start at
// pad_token_id + 1).
func (c *Config) MaxSeqLen() int {
	if c.modelType() == "roberta" {
		return c.MaxPos - c.PadID - 1
	}
	return c.MaxPos
}

// origHeads is the encoder's num_attention_heads before any head was
// pruned: hidden / head_dim.
func (c *Config) origHeads() int { return c.Hidden / c.HeadDim }

// encoderHFCompatible: heads removed per layer are expressed by
// pruned_heads (as transformers' prune_heads saves them), so only FFN
// widths that differ between layers (intermediate_size is one number) or
// a head size that does not divide the hidden size need lopper_dims.
func (c *Config) encoderHFCompatible() error {
	if c.Hidden%c.HeadDim != 0 {
		return fmt.Errorf("head dim %d does not divide the hidden size %d; transformers derives it from num_attention_heads", c.HeadDim, c.Hidden)
	}
	for i, d := range c.Layers {
		if d.Intermediate != c.Layers[0].Intermediate {
			return fmt.Errorf("layer %d has intermediate size %d, layer 0 %d; Hugging Face configs have one intermediate_size", i, d.Intermediate, c.Layers[0].Intermediate)
		}
		if d.Heads > c.origHeads() {
			return fmt.Errorf("layer %d has %d heads, more than the %d of hidden / head dim", i, d.Heads, c.origHeads())
		}
	}
	return nil
}

// encoderOwnedFields are the config.json fields an encoder's c
// determines. Labels, problem type and pruned heads are written only when
// the stored fields do not already mean the same.
func (c *Config) encoderOwnedFields() map[string]any {
	mt := c.modelType()
	d := c.maxDims()
	f := map[string]any{
		"model_type":              mt,
		"architectures":           []string{families[mt].architectures},
		"vocab_size":              c.Vocab,
		"max_position_embeddings": c.MaxPos,
		"pad_token_id":            c.PadID,
	}
	heads := d.Heads
	if c.Hidden%c.HeadDim == 0 {
		heads = c.origHeads()
	}
	k := keysOf(mt)
	f[k.hidden], f[k.layers], f[k.heads], f[k.inter], f[k.act] = c.Hidden, len(c.Layers), heads, d.Intermediate, "gelu"
	if mt != "distilbert" {
		f["type_vocab_size"] = c.TypeVocab
		f["layer_norm_eps"] = c.NormEps
	}
	saved := Config{ModelType: mt, raw: c.raw}
	p := &fieldParser{raw: c.raw}
	parseLabels(p, &saved)
	if p.err != nil || !slices.Equal(saved.Labels, c.Labels) {
		id2 := make(map[string]string, len(c.Labels))
		for i, l := range c.Labels {
			id2[strconv.Itoa(i)] = l
		}
		f["id2label"] = id2
	}
	if p.err != nil || !maps.Equal(saved.Label2ID, c.Label2ID) {
		f["label2id"] = c.Label2ID
	}
	if p.err != nil || saved.Problem != c.Problem {
		f["problem_type"] = string(c.Problem)
	}
	if !c.samePrunedHeads(heads) {
		f["pruned_heads"] = c.prunedHeads(heads)
	}
	return f
}

// prunedHeads expresses layers with fewer than heads heads as
// pruned_heads: the last heads of each such layer. Which heads were
// removed does not matter to transformers, which keeps the stored
// (already shrunk) weights in order.
func (c *Config) prunedHeads(heads int) map[string][]int {
	ph := map[string][]int{}
	for i, d := range c.Layers {
		if d.Heads < heads {
			var hs []int
			for h := d.Heads; h < heads; h++ {
				hs = append(hs, h)
			}
			ph[strconv.Itoa(i)] = hs
		}
	}
	return ph
}

// samePrunedHeads reports whether config.json's pruned_heads (absent:
// none) already gives every layer its heads.
func (c *Config) samePrunedHeads(heads int) bool {
	layers := uniformLayers(len(c.Layers), LayerDims{heads, heads, 0})
	p := &fieldParser{raw: c.raw}
	parsePrunedHeads(p, layers, heads)
	if p.err != nil {
		return false
	}
	for i, d := range c.Layers {
		if layers[i].Heads != d.Heads {
			return false
		}
	}
	return true
}
