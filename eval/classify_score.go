package eval

import ()

// predictClasses is the predicted class set of one example's logits (nil
// for regression).
func predictClasses(p Problem, row []float32) []int {
	switch p {
	case SingleLabel:
		return []int{argmax(row)}
	case MultiLabel:
		out := []int{}
		for c, v := range row {
			if v > 0 {
				out = append(out, c)
			}
		}
		return out
	}
	return nil
}

// score fills in r's metrics from the examples' labels and the logits.
func (r *ClassifyResult) score(exs []Example, logits []float32, info ClassifierInfo) {
	k := len(info.Labels)
	f := func(v float64) *float64 { return &v }
	switch info.Problem {
	case SingleLabel:
		gold, pred := make([]int, len(exs)), make([]int, len(exs))
		for i, ex := range exs {
			gold[i], pred[i] = ex.Label, argmax(logits[i*k:(i+1)*k])
		}
		s := scoreSingleLabel(gold, pred, info.Labels)
		r.Accuracy, r.MacroF1, r.MCC, r.Correct = f(s.accuracy), f(s.macroF1), f(s.mcc), &s.correct
		r.PerClass, r.Confusion = s.perClass, s.confusion
	case MultiLabel:
		gold, pred := make([][]int, len(exs)), make([][]int, len(exs))
		for i, ex := range exs {
			gold[i], pred[i] = ex.Labels, predictClasses(MultiLabel, logits[i*k:(i+1)*k])
		}
		s := scoreMultiLabel(gold, pred, info.Labels)
		r.Accuracy, r.MicroF1, r.MacroF1, r.Correct = f(s.accuracy), f(s.microF1), f(s.macroF1), &s.correct
		r.PerClass = s.perClass
	case Regression:
		gold, pred := make([]float64, len(exs)), make([]float64, len(exs))
		for i, ex := range exs {
			gold[i], pred[i] = ex.Target, float64(logits[i])
		}
		s := scoreRegression(gold, pred)
		r.MSE, r.Pearson, r.Spearman = f(s.mse), s.pearson, s.spearman
	}
}

// Metrics returns examples and the metrics the problem type has: accuracy
// (the headline, what acc_drop compares), macro_f1 and mcc (single-label);
// accuracy, micro_f1 and macro_f1 (multi-label); mse and, when defined,
// pearson and spearman (regression, which has no accuracy).
func (r ClassifyResult) Metrics() Metrics {
	m := Metrics{MetricExamples: float64(r.Examples)}
	for name, v := range map[string]*float64{
		MetricAccuracy: r.Accuracy, MetricMacroF1: r.MacroF1, MetricMCC: r.MCC, MetricMicroF1: r.MicroF1,
		MetricMSE: r.MSE, MetricPearson: r.Pearson, MetricSpearman: r.Spearman,
	} {
		if v != nil {
			m[name] = *v
		}
	}
	return m
}
