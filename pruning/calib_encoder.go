package pruning

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"lopper/model"
	"lopper/model/tensor"
)

// Encoder classifiers (model.BERT) have no next-token logits: they
// calibrate on the examples of a labelled task, each one window of the
// Calibration right-padded to SeqLen, through ClassifierState and its
// Hook. Padded rows are dropped before any statistic sees them (Wanda's
// norms, SparseGPT's Hessians, activation norms, Block Influence), and
// each batch runs at the length of its longest example. Taylor scores
// differentiate the model's own loss on the examples' labels. The
// functions here are what the calibration entry points (sequential.go,
// score_taylor.go, blockinfluence.go) call for an encoder: decoders never
// reach them.

// ExampleCalibration lays out the encoded examples of an encoder
// classifier (token ids and type ids with the special tokens, unpadded; nil
// type ids mean 0) as a Calibration: one window per example, right-padded
// to the longest with padID, Mask 1 for the tokens. labels, needed by
// Taylor scores only, are the examples' targets as model.ClassifierLoss
// takes them (Classes, one per example; or Values, one row per example).
func ExampleCalibration(ids, typeIDs [][]int32, padID int32, labels model.ClassifierTargets) (*Calibration, error) {
	n := len(ids)
	if n == 0 {
		return nil, errors.New("calibration: no examples")
	}
	if typeIDs != nil && len(typeIDs) != n {
		return nil, fmt.Errorf("calibration: %d examples and %d type id lists", n, len(typeIDs))
	}
	T := 0
	for i, e := range ids {
		if len(e) == 0 {
			return nil, fmt.Errorf("calibration: example %d has no tokens", i+1)
		}
		if typeIDs != nil && len(typeIDs[i]) != len(e) {
			return nil, fmt.Errorf("calibration: example %d has %d tokens and %d type ids", i+1, len(e), len(typeIDs[i]))
		}
		T = max(T, len(e))
	}
	c := &Calibration{SeqLen: T, Tokens: make([]int32, n*T), TypeIDs: make([]int32, n*T), Mask: make([]int32, n*T), Labels: labels}
	for i, e := range ids {
		row := c.Tokens[i*T : (i+1)*T]
		for j := range row {
			row[j] = padID
		}
		copy(row, e)
		if typeIDs != nil {
			copy(c.TypeIDs[i*T:], typeIDs[i])
		}
		for j := range e {
			c.Mask[i*T+j] = 1
		}
	}
	return c, nil
}

// isExamples reports whether c holds an encoder's padded examples.
func (c *Calibration) isExamples() bool { return c != nil && c.Mask != nil }

// forEncoder checks that the calibration is of the kind m takes: padded
// examples for an encoder classifier, token windows for a decoder. It
// returns whether m is an encoder.
func forEncoder(m *model.Model, c *Calibration) (bool, error) {
	enc := m.Config.Arch == model.BERT
	switch {
	case c == nil:
		return enc, nil
	case enc && !c.isExamples():
		return true, errors.New("calibration: an encoder classifier calibrates on the examples of a labelled task, not on token windows of a text")
	case !enc && c.isExamples():
		return false, errors.New("calibration: labelled examples calibrate an encoder classifier; a language model calibrates on token windows of a text")
	}
	return enc, nil
}

// validateExamples checks the layout of padded examples.
func (c *Calibration) validateExamples() error {
	n, T := c.Samples(), c.SeqLen
	if len(c.Mask) != len(c.Tokens) || len(c.TypeIDs) != len(c.Tokens) {
		return fmt.Errorf("calibration: %d tokens, %d mask entries and %d type ids", len(c.Tokens), len(c.Mask), len(c.TypeIDs))
	}
	for i := range n {
		row := c.Mask[i*T : (i+1)*T]
		k := exampleLen(row)
		if k == 0 || slices.ContainsFunc(row[:k], func(v int32) bool { return v != 1 }) || slices.ContainsFunc(row[k:], func(v int32) bool { return v != 0 }) {
			return fmt.Errorf("calibration: example %d is not right-padded (mask %v)", i+1, row)
		}
	}
	if l := c.Labels; l.Classes != nil && len(l.Classes) != n || l.Values != nil && len(l.Values)%n != 0 {
		return fmt.Errorf("calibration: %d classes and %d target values for %d examples", len(l.Classes), len(l.Values), n)
	}
	return nil
}

// exampleLen is the number of tokens of a right-padded mask row.
func exampleLen(mask []int32) int {
	k := 0
	for k < len(mask) && mask[k] != 0 {
		k++
	}
	return k
}

// exampleBatches runs calibration examples through a ClassifierState in
// batches, each packed at the length of its longest example.
type exampleBatches struct {
	c                *Calibration
	ids, types, mask []int32
}

func newExampleBatches(c *Calibration) *exampleBatches {
	n := c.batch() * c.SeqLen
	return &exampleBatches{c: c, ids: make([]int32, n), types: make([]int32, n), mask: make([]int32, n)}
}

// batch packs examples [i, j) into an EncoderBatch of their longest length.
func (e *exampleBatches) batch(i, j int) model.EncoderBatch {
	c, T := e.c, e.c.SeqLen
	t := 0
	for k := i; k < j; k++ {
		t = max(t, exampleLen(c.Mask[k*T:(k+1)*T]))
	}
	for k := i; k < j; k++ {
		src, dst := k*T, (k-i)*t
		copy(e.ids[dst:dst+t], c.Tokens[src:src+t])
		copy(e.types[dst:dst+t], c.TypeIDs[src:src+t])
		copy(e.mask[dst:dst+t], c.Mask[src:src+t])
	}
	n := (j - i) * t
	return model.EncoderBatch{IDs: e.ids[:n], TypeIDs: e.types[:n], Mask: e.mask[:n], T: t}
}

// run calls fn for each batch in order, looking at ctx between batches
// and reporting the examples done to p.
func (e *exampleBatches) run(ctx context.Context, p *phase, fn func(in model.EncoderBatch, i, j int) error) error {
	n, B := e.c.Samples(), e.c.batch()
	for i := 0; i < n; i += B {
		if err := ctx.Err(); err != nil {
			return err
		}
		j := min(n, i+B)
		if err := fn(e.batch(i, j), i, j); err != nil {
			return err
		}
		p.to(j)
	}
	return nil
}

// tokenRows drops the padding rows of a hook's input before passing it on
// to the statistics that want it.
type tokenRows struct {
	mask []int32 // the current batch's
	buf  []float32
}

// hook wraps next: only the rows whose mask is 1 reach it, and only for
// the weights want accepts.
func (f *tokenRows) hook(want func([]string) bool, next model.LinearHook) model.LinearHook {
	return func(weights []string, x []float32, rows, cols int) {
		if !want(weights) {
			return
		}
		x, n := f.rows(x, rows, cols)
		next(weights, x, n, cols)
	}
}

// rows returns the token rows of x [rows, cols] (x itself when the batch
// has no padding) and their number.
func (f *tokenRows) rows(x []float32, rows, cols int) ([]float32, int) {
	mask := f.mask[:rows]
	if !slices.Contains(mask, 0) {
		return x, rows
	}
	f.buf = f.buf[:0]
	n := 0
	for r, m := range mask {
		if m != 0 {
			f.buf = append(f.buf, x[r*cols:(r+1)*cols]...)
			n++
		}
	}
	return f.buf, n
}

// wants reports whether the set collects statistics for one of weights.
func (s *statSet) wants(weights []string) bool {
	for _, w := range weights {
		if _, ok := s.byWeight[w]; ok {
			return true
		}
	}
	return false
}

// encoderStats runs every example through m once with the hook feeding
// stats.
func encoderStats(ctx context.Context, m *model.Model, c *Calibration, stats *statSet, p *phase) error {
	st, err := model.NewClassifierInferenceState(m, c.batch(), c.SeqLen)
	if err != nil {
		return err
	}
	rows := &tokenRows{}
	st.Hook = rows.hook(stats.wants, stats.hook)
	return newExampleBatches(c).run(ctx, p, func(in model.EncoderBatch, _, _ int) error {
		rows.mask = in.Mask
		_, err := st.Forward(in)
		return err
	})
}

// encoderSequential is calibrateSequential for an encoder: for each block
// with targets in order, every example runs through the model as it now
// is (the earlier blocks already pruned) while block l's inputs are
// collected; step then prunes block l. The blocks after l run too (the
// classifier has no partial pass), which costs time, not results; so
// done is told of every block only at the end.
func encoderSequential(ctx context.Context, w *model.Model, c *Calibration, kinds statKinds, byBlock [][]model.TensorInfo, step blockStep, done blockDone, progress ProgressFunc) error {
	last := lastTargetBlock(byBlock)
	if last < 0 {
		return nil
	}
	p := progress.start(last+1, UnitBlocks)
	for l := 0; l <= last; l++ {
		if len(byBlock[l]) > 0 {
			stats := newStatSet(kinds, byBlock[l])
			if err := encoderStats(ctx, w, c, stats, nil); err != nil {
				return err
			}
			if err := step(l, stats); err != nil {
				return err
			}
		}
		p.to(l + 1)
	}
	for l := 0; l <= last; l++ { // every pass above read every block
		if len(byBlock[l]) > 0 {
			if err := done(l); err != nil {
				return err
			}
		}
	}
	return nil
}

// encoderOnePass is calibrateOnePass for an encoder.
func encoderOnePass(ctx context.Context, m *model.Model, c *Calibration, kinds statKinds, targets []model.TensorInfo, progress ProgressFunc) (*statSet, error) {
	stats := newStatSet(kinds, targets)
	if err := encoderStats(ctx, m, c, stats, progress.start(c.Samples(), UnitWindows)); err != nil {
		return nil, err
	}
	return stats, stats.err
}

// encoderGradient is calibrationGradient for an encoder: ∂L/∂θ of the
// model's own loss (model.ClassifierLoss) over every calibration example,
// each batch weighted by its share of the scored examples.
func encoderGradient(ctx context.Context, m *model.Model, c *Calibration, progress ProgressFunc) ([]float32, error) {
	cfg := &m.Config
	n, k := c.Samples(), cfg.NumLabels()
	l := c.Labels
	single := cfg.Problem == model.SingleLabel
	if single && len(l.Classes) != n || !single && len(l.Values) != n*k {
		return nil, fmt.Errorf("taylor: the gradient of a %s classifier needs the labels of the %d calibration examples (a labelled task)", cfg.Problem, n)
	}
	scored := func(i, j int) int {
		if !single {
			return j - i
		}
		s := 0
		for _, cl := range l.Classes[i:j] {
			if cl >= 0 {
				s++
			}
		}
		return s
	}
	total := scored(0, n)
	if total == 0 {
		return nil, errors.New("taylor: no calibration example has a label to score")
	}
	st, err := model.NewClassifierState(m, c.batch(), c.SeqLen)
	if err != nil {
		return nil, err
	}
	grads := make([]float32, m.Layout.Total)
	dl := make([]float32, c.batch()*k)
	err = newExampleBatches(c).run(ctx, progress.start(n, UnitWindows), func(in model.EncoderBatch, i, j int) error {
		logits, err := st.Forward(in)
		if err != nil {
			return err
		}
		t := model.ClassifierTargets{}
		if single {
			t.Classes = l.Classes[i:j]
		} else {
			t.Values = l.Values[i*k : j*k]
		}
		d := dl[:len(logits)]
		if _, err := model.ClassifierLoss(cfg.Problem, logits, k, t, d); err != nil {
			return err
		}
		tensor.Scale(d, float32(scored(i, j))/float32(total))
		return st.Backward(d, grads)
	})
	if err != nil {
		return nil, err
	}
	return grads, nil
}

// encoderBlockInfluence is blockInfluence for an encoder: block l's input
// is what its q/k/v see, its output the next block's input or, for the
// last block, the State's Output; only the examples' tokens count.
func encoderBlockInfluence(ctx context.Context, m *model.Model, c *Calibration, progress ProgressFunc) ([]float64, error) {
	L, H := m.Config.NumLayers(), m.Config.Hidden
	q := map[string]int{}
	for l := range L {
		t, ok := m.Layout.Find(l, model.RoleQ)
		if !ok {
			return nil, fmt.Errorf("layer %d: no query weight", l)
		}
		q[t.Name] = l
	}
	st, err := model.NewClassifierInferenceState(m, c.batch(), c.SeqLen)
	if err != nil {
		return nil, err
	}
	in := make([][]float32, L+1) // block inputs (token rows), then the last output
	rows := &tokenRows{}
	st.Hook = func(weights []string, x []float32, r, cols int) {
		for _, w := range weights {
			if l, ok := q[w]; ok {
				x, n := rows.rows(x, r, cols)
				in[l] = append(in[l][:0], x[:n*cols]...)
				return
			}
		}
	}
	sum := make([]float64, L)
	tokens := 0
	err = newExampleBatches(c).run(ctx, progress.start(c.Samples(), UnitWindows), func(b model.EncoderBatch, _, _ int) error {
		rows.mask = b.Mask
		if _, err := st.Forward(b); err != nil {
			return err
		}
		out := st.Output()
		x, n := rows.rows(out, len(out)/H, H)
		in[L] = append(in[L][:0], x[:n*H]...)
		for l := range L {
			for r := range n {
				sum[l] += cosineSim(in[l][r*H:(r+1)*H], in[l+1][r*H:(r+1)*H])
			}
		}
		tokens += n
		return nil
	})
	if err != nil {
		return nil, err
	}
	bi := make([]float64, L)
	for l := range bi {
		bi[l] = 1 - sum[l]/float64(tokens)
	}
	return bi, nil
}
