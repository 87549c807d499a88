package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// reportPlot is one line plot of a report: series of (x, y) points and
// highlighted points (the kept iteration, the one that stopped a loop).
type reportPlot struct {
	Name   string // file stem, unique within the report
	Title  string
	XLabel string
	YLabel string
	Series []plotSeries
	Marks  []plotMark
	Refs   []plotRef
}

// plotRef is a horizontal reference line, e.g. the baseline's value.
type plotRef struct {
	Label string
	Y     float64
}

type plotSeries struct {
	Label  string
	Points []plotPoint
}

type plotPoint struct{ X, Y float64 }

// plotMark is a highlighted point, drawn over the series with its own legend
// entry.
type plotMark struct {
	Label string
	At    plotPoint
	Kind  plotMarkKind
}

type plotMarkKind int

const (
	plotMarkKept plotMarkKind = iota // a large ring
	plotMarkStop                     // a large cross
)

// Plot size: fits a laptop screen and a Markdown viewer's column.
const reportPlotW, reportPlotH = 7.5 * vg.Inch, 3.6 * vg.Inch

// finitePoints drops the points gonum cannot draw (NaN, ±Inf) and returns how
// many it dropped.
func finitePoints(pts []plotPoint) ([]plotPoint, int) {
	out := pts[:0:0]
	for _, p := range pts {
		if !math.IsNaN(p.X) && !math.IsInf(p.X, 0) && !math.IsNaN(p.Y) && !math.IsInf(p.Y, 0) {
			out = append(out, p)
		}
	}
	return out, len(pts) - len(out)
}

func plotXYs(pts []plotPoint) plotter.XYs {
	out := make(plotter.XYs, len(pts))
	for i, p := range pts {
		out[i].X, out[i].Y = p.X, p.Y
	}
	return out
}

// renderSVG draws spec with gonum/plot and returns a standalone SVG
// document. Non-finite points are left out (dropped counts them); a spec
// with no finite point is an error.
func renderSVG(spec reportPlot) (svg []byte, dropped int, err error) {
	defer func() { // a plotting bug must cost a plot, not the report
		if v := recover(); v != nil {
			err = fmt.Errorf("plot %s: %v", spec.Name, v)
		}
	}()
	p := plot.New()
	for _, st := range []*text.Style{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle,
		&p.X.Tick.Label, &p.Y.Tick.Label, &p.Legend.TextStyle} {
		st.Font.Variant = "Sans"
	}
	p.Title.Text = spec.Title
	p.X.Label.Text = spec.XLabel
	p.Y.Label.Text = spec.YLabel
	p.Add(plotter.NewGrid())
	var all []plotPoint
	for i, s := range spec.Series {
		pts, n := finitePoints(s.Points)
		dropped += n
		if len(pts) == 0 {
			continue
		}
		all = append(all, pts...)
		line, dots, err := plotter.NewLinePoints(plotXYs(pts))
		if err != nil {
			return nil, dropped, fmt.Errorf("plot %s, series %s: %w", spec.Name, s.Label, err)
		}
		line.Color = plotutil.Color(i)
		line.Dashes = plotutil.Dashes(i)
		dots.Color = plotutil.Color(i)
		dots.Shape = plotutil.Shape(i)
		p.Add(line, dots)
		p.Legend.Add(s.Label, line, dots)
	}
	if len(all) == 0 {
		return nil, dropped, fmt.Errorf("plot %s: no finite points", spec.Name)
	}
	for _, m := range spec.Marks {
		pts, _ := finitePoints([]plotPoint{m.At})
		if len(pts) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(plotXYs(pts))
		if err != nil {
			return nil, dropped, fmt.Errorf("plot %s, mark %s: %w", spec.Name, m.Label, err)
		}
		sc.Radius = vg.Points(7)
		switch m.Kind {
		case plotMarkKept:
			sc.Shape, sc.Color = draw.RingGlyph{}, color.RGBA{R: 0x1a, G: 0x9e, B: 0x2e, A: 0xff}
		case plotMarkStop:
			sc.Shape, sc.Color = draw.CrossGlyph{}, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
		}
		p.Add(sc)
		p.Legend.Add(m.Label, sc)
	}
	ys := all
	for _, r := range spec.Refs {
		if math.IsNaN(r.Y) || math.IsInf(r.Y, 0) {
			continue
		}
		f := plotter.NewFunction(func(float64) float64 { return r.Y })
		f.Color = color.Gray{Y: 0x70}
		f.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(f)
		p.Legend.Add(r.Label, f)
		ys = append(ys, plotPoint{Y: r.Y})
	}
	padRange(&p.X, all, func(q plotPoint) float64 { return q.X })
	padRange(&p.Y, ys, func(q plotPoint) float64 { return q.Y })
	// The legend goes right of the plot, where it cannot hide data.
	legend := p.Legend
	p.Legend = plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.Padding = vg.Points(2)
	c := vgsvg.New(reportPlotW, reportPlotH)
	// A margin absorbs the difference when a viewer lacks the font
	// gonum measured text with and substitutes another.
	m := vg.Points(6)
	dc := draw.Crop(draw.New(c), m, -m, m, -m)
	lw := legend.Rectangle(dc).Size().X
	p.Draw(draw.Crop(dc, 0, -(lw + 2*m), 0, 0))
	legend.YOffs = -p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y - p.Title.Padding
	legend.Draw(draw.Crop(dc, dc.Size().X-lw, 0, 0, 0))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, dropped, err
	}
	return bytes.ReplaceAll(buf.Bytes(), []byte(svgFontFamily), []byte(svgFontFallback)), dropped, nil
}

// gonum/plot measures text with Liberation Sans and names only that font
// in the SVG; viewers without it fall back to their default (often a serif
// font of other widths). Name the fonts with the same metrics after it.
const (
	svgFontFamily   = "font-family:Liberation Sans;"
	svgFontFallback = "font-family:'Liberation Sans',Arial,Helvetica,'Nimbus Sans',sans-serif;"
)

// padRange widens an axis 5 % beyond the data on each side, so that points
// at the extremes are not drawn on the axis lines.
func padRange(a *plot.Axis, pts []plotPoint, v func(plotPoint) float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, q := range pts {
		lo, hi = min(lo, v(q)), max(hi, v(q))
	}
	pad := 0.05 * (hi - lo)
	if pad == 0 {
		pad = 0.05 * max(math.Abs(lo), 1)
	}
	a.Min, a.Max = lo-pad, hi+pad
}

// svgProlog is what vgsvg writes before the <svg> element.
var svgProlog = regexp.MustCompile(`^(?s)\s*<\?xml[^>]*\?>\s*(<!--.*?-->\s*)?`)

// inlineSVG turns a standalone SVG document into an element to embed in
// HTML: without the XML declaration and comment, scaled to its container.
func inlineSVG(doc []byte) []byte {
	out := svgProlog.ReplaceAll(doc, nil)
	return bytes.Replace(out, []byte("<svg "), []byte(`<svg class="plot" `), 1)
}

// sortPlotPoints orders a series by x, so lines run left to right.
func sortPlotPoints(pts []plotPoint) {
	slices.SortStableFunc(pts, func(a, b plotPoint) int {
		switch {
		case a.X < b.X:
			return -1
		case a.X > b.X:
			return 1
		}
		return 0
	})
}
