package report

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"lopper/history"
	"lopper/pipeline"
)

// LossCurveKey is the field of a stage's Details that reports plot as a
// training loss curve: a list of per-step objects with a "step" and loss
// fields ("loss" and any "*_loss": lm_loss, kd_loss, eval_loss), as the
// retrain stage writes (train.StepStats). Other fields (lr, grad_norm,
// tokens) are not plotted.
const LossCurveKey = "curve"

// reportLossField reports whether a curve field is plotted as a loss.
func reportLossField(name string) bool { return name == "loss" || strings.HasSuffix(name, "_loss") }

// reportLossSeries reads the loss curve from a stage's Details (a Go value
// in memory, or what run.json decoded): one series per loss field ("loss"
// first, the others sorted), leaving out a series equal to an earlier one
// (lm_loss is loss without a teacher). found is false when the Details have
// no such curve; entries that are not objects, and loss values that are not
// numbers, are skipped.
func reportLossSeries(details any) (out []plotSeries, found bool) {
	if details == nil {
		return nil, false
	}
	b, err := json.Marshal(details)
	if err != nil {
		return nil, false
	}
	var d map[string]json.RawMessage
	if json.Unmarshal(b, &d) != nil { // details that are not an object have no curve
		return nil, false
	}
	var entries []json.RawMessage
	if raw, ok := d[LossCurveKey]; !ok || json.Unmarshal(raw, &entries) != nil {
		return nil, false
	}
	byName := map[string]int{}
	for i, e := range entries {
		var p map[string]json.RawMessage
		if json.Unmarshal(e, &p) != nil {
			continue
		}
		step := float64(i + 1)
		if s, ok := reportNumber(p["step"]); ok {
			step = s
		}
		for _, k := range slices.Sorted(maps.Keys(p)) {
			v, ok := reportNumber(p[k])
			if !reportLossField(k) || !ok {
				continue
			}
			j, seen := byName[k]
			if !seen {
				j = len(out)
				byName[k] = j
				out = append(out, plotSeries{Label: k})
			}
			out[j].Points = append(out[j].Points, plotPoint{step, v})
		}
	}
	out = slices.DeleteFunc(out, func(s plotSeries) bool { return len(s.Points) == 0 })
	slices.SortFunc(out, func(a, b plotSeries) int { // "loss" first, the rest sorted
		switch {
		case a.Label == b.Label:
			return 0
		case a.Label == "loss":
			return -1
		case b.Label == "loss":
			return 1
		}
		return strings.Compare(a.Label, b.Label)
	})
	for i := len(out) - 1; i > 0; i-- {
		for j := range i {
			if reportSameSeries(out[i], out[j]) {
				out = slices.Delete(out, i, i+1)
				break
			}
		}
	}
	return out, len(out) > 0
}

func reportSameSeries(a, b plotSeries) bool {
	return slices.EqualFunc(a.Points, b.Points, func(p, q plotPoint) bool {
		return p.X == q.X && (p.Y == q.Y || math.IsNaN(p.Y) && math.IsNaN(q.Y))
	})
}

// reportNumber reads a JSON number, or the strings run.json uses for
// non-finite ones ("NaN", "+Inf", "-Inf").
func reportNumber(raw json.RawMessage) (float64, bool) {
	var v float64
	if json.Unmarshal(raw, &v) == nil {
		return v, true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return 0, false
	}
	switch s {
	case "NaN":
		return math.NaN(), true
	case "+Inf", "Inf":
		return math.Inf(1), true
	case "-Inf":
		return math.Inf(-1), true
	}
	return 0, false
}

// reportLoss is the loss curves of one stage id (a retrain, or the same
// retrain in every loop iteration or matrix branch): a summary table and a
// plot with one series per instance and loss field.
type reportLoss struct {
	Stage  string
	Rows   []reportLossRow
	Figure *reportFigure
}

type reportLossRow struct {
	Instance, Series       string
	Steps                  int
	First, Last, Min, Note string
}

// losses gathers the loss curves of the covered stages, nested ones
// included, grouped by stage id in the order first seen.
func (b *reportBuilder) losses() []reportLoss {
	type instance struct {
		path   string
		series []plotSeries
	}
	var order []string
	groups := map[string][]instance{}
	var walk func(list []*pipeline.StageRecord)
	walk = func(list []*pipeline.StageRecord) {
		for _, s := range list {
			if history.Finished(s) {
				if ss, found := reportLossSeries(s.Details); found {
					if _, ok := groups[s.ID]; !ok {
						order = append(order, s.ID)
					}
					groups[s.ID] = append(groups[s.ID], instance{s.Path, ss})
				}
			}
			if s.Loop != nil {
				for _, it := range s.Loop.Iterations {
					walk(it.Stages)
				}
			}
			if s.Matrix != nil {
				for _, br := range s.Matrix.Branches {
					walk(br.Stages)
				}
			}
		}
	}
	walk(b.covered)
	var out []reportLoss
	for _, id := range order {
		l := reportLoss{Stage: id}
		spec := reportPlot{Name: id + "-loss", Title: "training loss: " + id, XLabel: "step", YLabel: "loss"}
		inst := groups[id]
		for _, in := range inst {
			for _, s := range in.series {
				row := reportLossRow{Instance: in.path, Series: s.Label, Steps: len(s.Points), First: "-", Last: "-", Min: "-"}
				pts, dropped := finitePoints(s.Points)
				if len(s.Points) > 0 {
					row.First = history.FormatNumber(s.Points[0].Y)
					row.Last = history.FormatNumber(s.Points[len(s.Points)-1].Y)
				}
				if len(pts) > 0 {
					low := pts[0].Y
					for _, p := range pts {
						low = min(low, p.Y)
					}
					row.Min = history.FormatNumber(low)
				}
				if dropped > 0 {
					row.Note = fmt.Sprintf("%d non-finite values", dropped)
				}
				l.Rows = append(l.Rows, row)
				label := s.Label
				if len(inst) > 1 {
					label = in.path + " " + s.Label
				}
				spec.Series = append(spec.Series, plotSeries{Label: label, Points: s.Points})
			}
		}
		caption := fmt.Sprintf("Training loss of %s by step", id)
		if len(inst) > 1 {
			caption += fmt.Sprintf(", one line per run of the stage (%d)", len(inst))
		}
		l.Figure = b.figure(spec, caption+".")
		out = append(out, l)
	}
	return out
}
