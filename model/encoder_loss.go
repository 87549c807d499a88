package model

import (
	"fmt"
	"math"
)

// ClassifierTargets are the labels of a batch of b sequences for
// ClassifierLoss.
type ClassifierTargets struct {
	// Classes is one class id per sequence (single-label); a negative id
	// (transformers' -100) ignores the sequence.
	Classes []int32
	// Values are [b, num_labels] targets: 0/1 (or probabilities) per label
	// for multi-label, the values to regress on for regression.
	Values []float32
}

// ClassifierLoss returns the loss transformers' *ForSequenceClassification
// computes for problem type p over logits [b, labels]: the mean
// cross-entropy over the sequences whose class is not ignored
// (single-label), the mean binary cross-entropy with logits over every
// label (multi-label), or the mean squared error over every value
// (regression). When dlogits is not nil it is overwritten with the
// gradient. Losses are computed in float64 and summed in row order, on
// the calling goroutine (b rows of a few labels), allocating nothing.
func ClassifierLoss(p ProblemType, logits []float32, labels int, t ClassifierTargets, dlogits []float32) (float64, error) {
	if labels <= 0 || len(logits)%labels != 0 {
		return 0, fmt.Errorf("classifier loss: %d logits are not rows of %d labels", len(logits), labels)
	}
	if dlogits != nil && len(dlogits) != len(logits) {
		return 0, fmt.Errorf("classifier loss: dlogits has %d values, want %d", len(dlogits), len(logits))
	}
	b := len(logits) / labels
	switch p {
	case SingleLabel:
		if len(t.Classes) != b {
			return 0, fmt.Errorf("classifier loss: %d classes for %d sequences", len(t.Classes), b)
		}
		count := 0
		for i, k := range t.Classes {
			if int(k) >= labels {
				return 0, fmt.Errorf("classifier loss: sequence %d has class %d, outside the %d labels", i, k, labels)
			}
			if k >= 0 {
				count++
			}
		}
		inv := 1 / float64(max(count, 1))
		var sum float64
		for r, k := range t.Classes {
			var drow []float32
			if dlogits != nil {
				drow = dlogits[r*labels : (r+1)*labels]
			}
			sum += rowCrossEntropy(logits[r*labels:(r+1)*labels], k, drow, inv)
		}
		return sum * inv, nil
	case MultiLabel, Regression:
		if len(t.Values) != len(logits) {
			return 0, fmt.Errorf("classifier loss: %d target values for %d sequences × %d labels", len(t.Values), b, labels)
		}
		for i, y := range t.Values {
			if math.IsNaN(float64(y)) || math.IsInf(float64(y), 0) {
				return 0, fmt.Errorf("classifier loss: sequence %d, label %d: target %g is not finite", i/labels, i%labels, y)
			}
		}
		if p == MultiLabel {
			return bceWithLogits(logits, t.Values, dlogits), nil
		}
		return meanSquaredError(logits, t.Values, dlogits), nil
	}
	return 0, fmt.Errorf("classifier loss: unknown problem type %q", p)
}

// bceWithLogits is torch's BCEWithLogitsLoss (mean): max(x, 0) − x·y +
// log(1 + e^−|x|) per element; its gradient is (σ(x) − y) / count.
func bceWithLogits(x, y, dx []float32) float64 {
	inv := 1 / float64(len(x))
	var sum float64
	for i, v := range x {
		xv, yv := float64(v), float64(y[i])
		sum += math.Max(xv, 0) - xv*yv + math.Log1p(math.Exp(-math.Abs(xv)))
		if dx != nil {
			dx[i] = float32((1/(1+math.Exp(-xv)) - yv) * inv)
		}
	}
	return sum * inv
}

// meanSquaredError is torch's MSELoss (mean); its gradient is
// 2(x − y) / count.
func meanSquaredError(x, y, dx []float32) float64 {
	inv := 1 / float64(len(x))
	var sum float64
	for i, v := range x {
		d := float64(v) - float64(y[i])
		sum += d * d
		if dx != nil {
			dx[i] = float32(2 * d * inv)
		}
	}
	return sum * inv
}

// TrainStep runs Forward on a batch, the model's loss (its problem type)
// against t, and Backward into grads; it returns the loss. It is the
// classifier's step for retraining, and allocates nothing once the State
// has run one.
func (s *ClassifierState) TrainStep(in EncoderBatch, t ClassifierTargets, grads []float32) (float64, error) {
	if !s.train {
		return 0, fmt.Errorf("train step: an inference State keeps no activations (use NewClassifierState)")
	}
	logits, err := s.Forward(in)
	if err != nil {
		return 0, err
	}
	s.allocGrad()
	c := &s.m.Config
	dl := s.dlogits[:len(logits)]
	loss, err := ClassifierLoss(c.Problem, logits, len(c.Labels), t, dl)
	if err != nil {
		return 0, err
	}
	return loss, s.Backward(dl, grads)
}
