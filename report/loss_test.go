package report

import (
	"math"
	"testing"

	"lopper/train"
)

func TestLossSeries(t *testing.T) {
	type retrainDetails struct { // as the retrain stage holds it in memory
		Steps int               `json:"steps"`
		Curve []train.StepStats `json:"curve"`
	}
	eval := 1.25
	nan := math.NaN()
	cases := []struct {
		name    string
		details any
		want    map[string][]plotPoint
	}{
		{"none", nil, nil},
		{"no curve", map[string]any{"steps": 3}, nil},
		{"not an object", []int{1, 2}, nil},
		{"a curve that is not a list", map[string]any{"curve": "cubic"}, nil},
		{"a list without losses", map[string]any{"curve": []any{map[string]any{"step": 1, "lr": 0.1}}}, nil},
		{"retrain without teacher: lm_loss is loss, lr and grad norm are not plotted",
			retrainDetails{Steps: 2, Curve: []train.StepStats{
				{Step: 1, Loss: 2, LMLoss: 2, LR: 1e-3, GradNorm: 5, Tokens: 64},
				{Step: 2, Loss: 1.5, LMLoss: 1.5, LR: 1e-3, GradNorm: 4, Tokens: 64, EvalLoss: &eval},
			}},
			map[string][]plotPoint{"loss": {{1, 2}, {2, 1.5}}, "eval_loss": {{2, 1.25}}}},
		{"distillation: three losses; NaN kept, junk entries skipped", map[string]any{"curve": []any{
			map[string]any{"step": 1, "loss": 3, "lm_loss": 2, "kd_loss": 1},
			"junk",
			map[string]any{"step": 2, "loss": "NaN", "lm_loss": 1.5, "kd_loss": 0.5},
		}}, map[string][]plotPoint{"kd_loss": {{1, 1}, {2, 0.5}}, "lm_loss": {{1, 2}, {2, 1.5}}, "loss": {{1, 3}, {2, nan}}}},
	}
	for _, c := range cases {
		got, found := reportLossSeries(c.details)
		if found != (c.want != nil) {
			t.Errorf("%s: found %v, want %v", c.name, found, c.want != nil)
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %d series, want %d: %+v", c.name, len(got), len(c.want), got)
		}
		for _, s := range got {
			if w, ok := c.want[s.Label]; !ok || !reportSameSeries(s, plotSeries{Points: w}) {
				t.Errorf("%s: series %s = %v, want %v", c.name, s.Label, s.Points, w)
			}
		}
	}
}
