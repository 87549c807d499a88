package train

import (
	"fmt"
	"math"

	"lopper/model"
)

// classifierDistill turns dlogits, the gradient of loss (the classifier's
// own loss, model.ClassifierLoss, over logits [b, labels]), into the
// gradient of
//
//	(1 − α)·loss + α·KD
//
// with KD, from the teacher's logits on the same batch, by problem type:
//
//	single-label: T²·KL(softmax(z_t/T) ‖ softmax(z_s/T)), the mean over the
//	              scored examples (class ≥ 0): Train's term over the labels
//	multi-label:  T²·KL(σ(z_t/T) ‖ σ(z_s/T)) of each label's Bernoulli,
//	              the mean over examples and labels (as BCE averages)
//	regression:   (z_s − z_t)², the mean over examples: MSE to the
//	              teacher's prediction (no temperature)
//
// It returns the total and KD. Sums run in float64 in row order.
func classifierDistill(p model.ProblemType, student, teacher []float32, t model.ClassifierTargets, labels int, d Distill, loss float64, dlogits []float32) (total, kd float64, err error) {
	if len(teacher) != len(student) || len(dlogits) != len(student) || labels <= 0 || len(student)%labels != 0 {
		return 0, 0, fmt.Errorf("distillation: %d teacher and %d student logits, %d gradients, for %d labels", len(teacher), len(student), len(dlogits), labels)
	}
	if p == model.SingleLabel {
		return addDistill(student, teacher, t.Classes, labels, d, loss, dlogits)
	}
	keep := float32(1 - d.Alpha)
	for i := range dlogits {
		dlogits[i] *= keep
	}
	n := float64(len(student))
	for i, zs := range student {
		s, z := float64(zs), float64(teacher[i])
		var g float64
		if p == model.Regression {
			kd += (s - z) * (s - z)
			g = 2 * (s - z)
		} else {
			T := d.Temperature
			ps, qs := sigmoid(z/T), sigmoid(s/T)
			kd += T * T * bernoulliKL(z/T, s/T)
			g = T * (qs - ps)
		}
		dlogits[i] += float32(d.Alpha * g / n)
	}
	kd /= n
	return (1-d.Alpha)*loss + d.Alpha*kd, kd, nil
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// softplus is log(1 + eˣ), without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// bernoulliKL is KL(Bernoulli(σ(a)) ‖ Bernoulli(σ(b))), from the logits:
// log σ(x) = −softplus(−x), log(1 − σ(x)) = −softplus(x).
func bernoulliKL(a, b float64) float64 {
	p := sigmoid(a)
	return p*(softplus(-b)-softplus(-a)) + (1-p)*(softplus(b)-softplus(a))
}
