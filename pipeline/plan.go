package pipeline

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Plan is what a run would do, without running it: the resolved params and
// the stages in parallel levels (a level's stages can run at the same time
// once the levels before it are done). Loops and matrices hold their
// bodies' levels.
type Plan struct {
	Recipe   string         `json:"recipe"`
	Name     string         `json:"name"`
	Baseline string         `json:"baseline,omitempty"`
	Params   []ParamValue   `json:"params"`
	Stages   int            `json:"stages"` // every stage, nested ones included
	Levels   [][]*PlanStage `json:"levels"`
}

// PlanStage is one stage of a plan.
type PlanStage struct {
	ID     string         `json:"id"`
	Uses   string         `json:"uses"`
	Needs  []string       `json:"needs,omitempty"` // dependencies, explicit and inferred
	When   string         `json:"when,omitempty"`
	Loop   *PlanLoop      `json:"loop,omitempty"`
	Matrix *PlanMatrix    `json:"matrix,omitempty"`
	Levels [][]*PlanStage `json:"levels,omitempty"` // a loop's or matrix's body
	// Memory is the stage's memory estimate (Recipe.EstimateMemory).
	Memory *PlanMemory `json:"memory,omitempty"`
}

// PlanLoop describes a loop.
type PlanLoop struct {
	MaxIterations int    `json:"max_iterations"`
	Until         string `json:"until,omitempty"`
	Keep          string `json:"keep"`
	From          string `json:"from,omitempty"`
	Carry         string `json:"carry"`
	Measure       string `json:"measure,omitempty"`
}

// PlanMatrix describes a matrix.
type PlanMatrix struct {
	Axes     []PlanAxis `json:"axes"`
	Branches int        `json:"branches"`
}

// PlanAxis is one matrix axis.
type PlanAxis struct {
	Name   string `json:"name"`
	Values []any  `json:"values"`
}

// Plan returns the recipe's execution plan.
func (r *Recipe) Plan() *Plan {
	p := &Plan{Recipe: r.File, Name: r.Name, Baseline: r.Baseline, Stages: len(r.byID)}
	for _, prm := range r.Params {
		p.Params = append(p.Params, ParamValue{Name: prm.Name, Type: prm.Type, Value: prm.Value, Source: prm.Source})
	}
	p.Levels = planLevels(r.top)
	return p
}

func planLevels(sc *scope) [][]*PlanStage {
	var out [][]*PlanStage
	for _, lvl := range levels(sc.stages) {
		var ps []*PlanStage
		for _, s := range lvl {
			ps = append(ps, planStage(s))
		}
		out = append(out, ps)
	}
	return out
}

func planStage(s *Stage) *PlanStage {
	p := &PlanStage{ID: s.ID, Uses: s.Uses, Needs: s.Deps()}
	if s.When != nil {
		p.When = s.When.Source
	}
	if l := s.loop; l != nil {
		p.Loop = &PlanLoop{MaxIterations: l.max, Keep: l.keep, From: l.from.ID, Carry: l.carry.ID, Measure: l.measure.ID}
		if l.until != nil {
			p.Loop.Until = l.until.Source
		}
	}
	if m := s.matrix; m != nil {
		p.Matrix = &PlanMatrix{Branches: len(m.branches())}
		for _, ax := range m.axes {
			p.Matrix.Axes = append(p.Matrix.Axes, PlanAxis{Name: ax.name, Values: ax.values})
		}
	}
	if s.body != nil {
		p.Levels = planLevels(s.body)
	}
	return p
}

// WriteText writes the plan for people.
func (p *Plan) WriteText(w io.Writer) error {
	var buf bytes.Buffer
	if err := p.writeText(&buf); err != nil {
		return err
	}
	lines := strings.Split(buf.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}

func (p *Plan) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "recipe\t%s (%s)\n", p.Name, p.Recipe)
	if p.Baseline != "" {
		fmt.Fprintf(tw, "baseline\t%s\n", p.Baseline)
	}
	if len(p.Params) > 0 {
		fmt.Fprintf(tw, "params\t\n")
		for _, prm := range p.Params {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", prm.Name, prm.Type, formatParam(prm.Value), prm.Source)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d stages in %d levels\n", p.Stages, len(p.Levels))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	writeLevels(tw, p.Levels, "")
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeMemory(w, p.Levels)
}

// writeMemory lists the stages' memory estimates with their parts, when
// there are any.
func writeMemory(w io.Writer, lvls [][]*PlanStage) error {
	var rows []string
	var walk func(lvls [][]*PlanStage)
	walk = func(lvls [][]*PlanStage) {
		for _, lvl := range lvls {
			for _, s := range lvl {
				switch me := s.Memory; {
				case me == nil:
				case me.Unknown != "":
					rows = append(rows, fmt.Sprintf("  %s\tunknown\t%s\n", s.ID, me.Unknown))
				default:
					rows = append(rows, fmt.Sprintf("  %s\t%s\t%s\n", s.ID, me.Total, me.Detail))
				}
				walk(s.Levels)
			}
		}
	}
	walk(lvls)
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nmemory estimates (each stage's peak, its inputs included; stages of one level may run at once)\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprint(tw, r)
	}
	return tw.Flush()
}

func writeLevels(w io.Writer, lvls [][]*PlanStage, indent string) {
	for i, lvl := range lvls {
		fmt.Fprintf(w, "%slevel %d\t\t\t\n", indent, i+1)
		for _, s := range lvl {
			var notes []string
			if len(s.Needs) > 0 {
				notes = append(notes, "needs "+strings.Join(s.Needs, ", "))
			}
			if s.When != "" {
				notes = append(notes, "when "+s.When)
			}
			if l := s.Loop; l != nil {
				notes = append(notes, loopNote(l))
			}
			if me := s.Memory; me != nil && me.Unknown == "" {
				notes = append(notes, "memory ≈ "+me.Total)
			}
			if m := s.Matrix; m != nil {
				var axes []string
				for _, a := range m.Axes {
					vals := make([]string, len(a.Values))
					for i, v := range a.Values {
						vals[i] = formatValue(v)
					}
					axes = append(axes, fmt.Sprintf("%s=[%s]", a.Name, strings.Join(vals, ", ")))
				}
				notes = append(notes, fmt.Sprintf("%d branches: %s", m.Branches, strings.Join(axes, " × ")))
			}
			fmt.Fprintf(w, "%s  %s\t%s\t%s\n", indent, s.ID, s.Uses, strings.Join(notes, "; "))
			if len(s.Levels) > 0 {
				writeLevels(w, s.Levels, indent+"    ")
			}
		}
	}
}

func loopNote(l *PlanLoop) string {
	n := fmt.Sprintf("up to %d iterations", l.MaxIterations)
	if l.Until != "" {
		n += ", until " + l.Until
	}
	n += ", keep " + l.Keep
	if l.From != "" {
		n += ", from " + l.From
	}
	n += ", carry " + l.Carry
	if l.Measure != "" {
		n += ", measure " + l.Measure
	}
	return n
}

func formatParam(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return formatValue(v)
}
