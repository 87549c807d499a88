package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"lopper/model"
)

// Example is one labelled input of an encoder classifier: its token ids
// and type ids as the tokenizer gives them (special tokens included,
// unpadded) and its label in the form the model's problem type takes.
type Example struct {
	IDs, TypeIDs []int32 // TypeIDs nil means all 0
	// Class is the class (single-label); a negative class is not scored.
	Class int32
	// Values are the targets of the other problem types: one 0/1 per label
	// (multi-label) or the number to regress on (regression).
	Values []float32
}

// TrainClassifier fine-tunes the encoder classifier m (model.BERT) in place
// on labelled examples, as Train does a language model: AdamW with the
// schedule, clipping, masks held at zero (verified as in Train) and
// optional distillation, from cfg. The loss is the model's own
// (model.ClassifierLoss: cross-entropy, binary cross-entropy or MSE, by its
// problem type); with a teacher (a classifier with the same labels), the
// distillation term of classifierDistill is added. Batches are cfg.BatchSize
// examples of a shuffled pass over data (a new order, drawn from the seeded
// generator, each epoch), right-padded to their longest with m's
// pad_token_id and attention mask 0. cfg.SeqLen is ignored: the longest
// example sets the State's length, which m's positions must cover. With
// cfg.EvalEvery, the eval loss is the mean loss over the first
// cfg.EvalBatches batches of evalData in order. Same model, data, config
// and seed give bit-identical weights for any GOMAXPROCS.
func TrainClassifier(ctx context.Context, m *model.Model, data, evalData []Example, cfg Config) (*Result, error) {
	if m.Config.Arch != model.BERT {
		return nil, fmt.Errorf("train: model type %q is not an encoder classifier", m.Config.ModelType)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("train: no training examples")
	}
	maxLen := 1
	for _, set := range [][]Example{data, evalData} {
		for i, e := range set {
			if err := checkExample(&m.Config, e); err != nil {
				return nil, fmt.Errorf("train: example %d: %w", i+1, err)
			}
			maxLen = max(maxLen, len(e.IDs))
		}
	}
	cfg.SeqLen = maxLen
	cfg = cfg.WithDefaults()
	if err := cfg.validateClassifier(m, evalData); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := m.CheckMask(); err != nil {
		return nil, fmt.Errorf("train: the model's masks do not hold before training: %w", err)
	}
	B, T := cfg.BatchSize, maxLen
	st, err := model.NewClassifierState(m, B, T)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	var teacher *model.ClassifierState
	if cfg.Teacher != nil {
		if teacher, err = model.NewClassifierInferenceState(cfg.Teacher, B, T); err != nil {
			return nil, fmt.Errorf("train: teacher: %w", err)
		}
	}
	p, err := newStepper(m, &cfg, nil)
	if err != nil {
		return nil, err
	}
	c := &m.Config
	bat := newExampleBatcher(c, B, T)
	order := newEpochs(newRNG(cfg.Seed), len(data))
	dlogits := make([]float32, B*c.NumLabels())
	pick := make([]Example, 0, B)
	for t := range cfg.Steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pick = pick[:0]
		for range min(B, len(data)) {
			pick = append(pick, data[order.next()])
		}
		in, tg := bat.batch(pick)
		s := StepStats{Step: t + 1, LR: cfg.LRAt(t), Tokens: scoredExamples(c.Problem, pick)}
		logits, err := st.Forward(in)
		if err != nil {
			return nil, fmt.Errorf("train: step %d: %w", t+1, err)
		}
		dl := dlogits[:len(logits)]
		if s.LMLoss, err = model.ClassifierLoss(c.Problem, logits, c.NumLabels(), tg, dl); err != nil {
			return nil, fmt.Errorf("train: step %d: %w", t+1, err)
		}
		s.Loss = s.LMLoss
		if teacher != nil {
			tl, err := teacher.Forward(in)
			if err != nil {
				return nil, fmt.Errorf("train: step %d: teacher: %w", t+1, err)
			}
			if s.Loss, s.KDLoss, err = classifierDistill(c.Problem, logits, tl, tg, c.NumLabels(), cfg.Distill, s.LMLoss, dl); err != nil {
				return nil, fmt.Errorf("train: step %d: %w", t+1, err)
			}
		}
		if err := p.update(&s, func(g []float32) error { return st.Backward(dl, g) }); err != nil {
			return nil, err
		}
		if p.evalDue(t + 1) {
			l, err := classifierEvalLoss(st, bat, evalData, cfg.EvalBatches)
			if err != nil {
				return nil, fmt.Errorf("train: step %d: eval: %w", t+1, err)
			}
			s.EvalLoss = &l
		}
		p.record(s)
	}
	return p.finish()
}

// validateClassifier is Validate for a classifier with evalData as its
// eval set: the positions are the encoder's (RoBERTa's offset taken off),
// the teacher a classifier of the same labels and problem type.
func (c *Config) validateClassifier(m *model.Model, evalData []Example) error {
	v := *c
	v.SeqLen, v.EvalEvery = min(c.SeqLen, m.Config.MaxPos), 0
	errs := []error{v.Validate(m)}
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.SeqLen > m.Config.MaxSeqLen() {
		bad("an example of %d tokens exceeds the model's %d positions", c.SeqLen, m.Config.MaxSeqLen())
	}
	if c.EvalEvery < 0 {
		bad("eval every must not be negative, got %d", c.EvalEvery)
	}
	if c.Trainable != "" || c.Recompute {
		bad("trainable and recompute apply to language models; an encoder classifier trains every tensor with stored activations")
	}
	if c.EvalEvery > 0 && (len(evalData) == 0 || c.EvalBatches < 1) {
		bad("eval every %d needs eval examples and at least one eval batch", c.EvalEvery)
	}
	if t := c.Teacher; t != nil {
		tc, sc := &t.Config, &m.Config
		switch {
		case tc.Arch != model.BERT:
			bad("teacher model type %q is not an encoder classifier", tc.ModelType)
		case tc.Problem != sc.Problem || tc.NumLabels() != sc.NumLabels():
			bad("teacher is a %s classifier of %d labels, the student %s of %d", tc.Problem, tc.NumLabels(), sc.Problem, sc.NumLabels())
		case c.SeqLen > tc.MaxSeqLen():
			bad("an example of %d tokens exceeds the teacher's %d positions", c.SeqLen, tc.MaxSeqLen())
		}
	}
	return errors.Join(errs...)
}

// checkExample checks one example against the classifier's config.
func checkExample(c *model.Config, e Example) error {
	switch {
	case len(e.IDs) == 0:
		return fmt.Errorf("no tokens")
	case e.TypeIDs != nil && len(e.TypeIDs) != len(e.IDs):
		return fmt.Errorf("%d token ids and %d type ids", len(e.IDs), len(e.TypeIDs))
	case c.Problem == model.SingleLabel && int(e.Class) >= c.NumLabels():
		return fmt.Errorf("class %d is not one of the model's %d labels", e.Class, c.NumLabels())
	case c.Problem != model.SingleLabel && len(e.Values) != c.NumLabels():
		return fmt.Errorf("%d target values for the model's %d labels", len(e.Values), c.NumLabels())
	}
	for _, v := range e.Values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("target value %g is not finite", v)
		}
	}
	return nil
}

// scoredExamples counts the examples a batch's loss averages over.
func scoredExamples(p model.ProblemType, exs []Example) int {
	if p != model.SingleLabel {
		return len(exs)
	}
	n := 0
	for _, e := range exs {
		if e.Class >= 0 {
			n++
		}
	}
	return n
}

// exampleBatcher lays out batches of examples, reusing its buffers.
type exampleBatcher struct {
	pad              int32
	ids, types, mask []int32
	classes          []int32
	values           []float32
	problem          model.ProblemType
	numLabels        int
}

func newExampleBatcher(c *model.Config, B, T int) *exampleBatcher {
	return &exampleBatcher{
		pad: int32(c.PadID), ids: make([]int32, B*T), types: make([]int32, B*T), mask: make([]int32, B*T),
		classes: make([]int32, B), values: make([]float32, B*c.NumLabels()), problem: c.Problem, numLabels: c.NumLabels(),
	}
}

// batch pads exs to their longest: padding has the pad id, type id 0 and
// attention mask 0.
func (b *exampleBatcher) batch(exs []Example) (model.EncoderBatch, model.ClassifierTargets) {
	T := 0
	for _, e := range exs {
		T = max(T, len(e.IDs))
	}
	n := len(exs) * T
	ids, types, mask := b.ids[:n], b.types[:n], b.mask[:n]
	for i, e := range exs {
		row := i * T
		for j := range T {
			ids[row+j], types[row+j], mask[row+j] = b.pad, 0, 0
			if j < len(e.IDs) {
				ids[row+j], mask[row+j] = e.IDs[j], 1
				if e.TypeIDs != nil {
					types[row+j] = e.TypeIDs[j]
				}
			}
		}
	}
	in := model.EncoderBatch{IDs: ids, TypeIDs: types, Mask: mask, T: T}
	if b.problem == model.SingleLabel {
		cl := b.classes[:len(exs)]
		for i, e := range exs {
			cl[i] = e.Class
		}
		return in, model.ClassifierTargets{Classes: cl}
	}
	vs := b.values[:len(exs)*b.numLabels]
	for i, e := range exs {
		copy(vs[i*b.numLabels:], e.Values)
	}
	return in, model.ClassifierTargets{Values: vs}
}

// classifierEvalLoss is the mean loss over the first batches batches of
// data (each example weighted by its share of the scored examples).
func classifierEvalLoss(st *model.ClassifierState, bat *exampleBatcher, data []Example, batches int) (float64, error) {
	var sum float64
	n := 0
	for k := 0; k < batches && k*st.B < len(data); k++ {
		exs := data[k*st.B : min(len(data), (k+1)*st.B)]
		in, tg := bat.batch(exs)
		logits, err := st.Forward(in)
		if err != nil {
			return 0, err
		}
		l, err := model.ClassifierLoss(bat.problem, logits, bat.numLabels, tg, nil)
		if err != nil {
			return 0, err
		}
		w := scoredExamples(bat.problem, exs)
		sum += l * float64(w)
		n += w
	}
	if n == 0 {
		return math.NaN(), nil
	}
	return sum / float64(n), nil
}

// epochs deals indices 0…n−1 in a new shuffled order each pass.
type epochs struct {
	rng   *rand.Rand
	order []int
	pos   int
}

func newEpochs(rng *rand.Rand, n int) *epochs {
	e := &epochs{rng: rng, order: make([]int, n), pos: n}
	for i := range e.order {
		e.order[i] = i
	}
	return e
}

// next returns the next index, reshuffling (Fisher–Yates from the end,
// with Uint64N, whose output Go specifies) at the start of each pass.
func (e *epochs) next() int {
	if e.pos == len(e.order) {
		for i := len(e.order) - 1; i > 0; i-- {
			j := int(e.rng.Uint64N(uint64(i + 1)))
			e.order[i], e.order[j] = e.order[j], e.order[i]
		}
		e.pos = 0
	}
	e.pos++
	return e.order[e.pos-1]
}
