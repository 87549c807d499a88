package main

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"lopper/model"
)

// The sizes the fits are extrapolated to: Llama 2 7B and 70B.
var extrapolate = []struct {
	name   string
	params float64
}{{"7 B", 6_738_415_616}, {"70 B", 68_976_648_192}}

// fit is y = A·x + B by least squares.
type fit struct{ A, B float64 }

func (f fit) at(x float64) float64 { return f.A*x + f.B }

// leastSquares fits y = A·x + B; one point gives the line through it and
// the origin.
func leastSquares(xs, ys []float64) fit {
	n := float64(len(xs))
	if len(xs) == 1 {
		return fit{A: ys[0] / xs[0]}
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	a := (n*sxy - sx*sy) / (n*sxx - sx*sx)
	return fit{A: a, B: (sy - a*sx) / n}
}

// series are one command's results, ordered by parameter count.
type series struct {
	command string
	rs      []Result
}

func byCommand(rs []Result, label string) []series {
	var out []series
	for _, c := range commandNames() {
		s := series{command: c}
		for _, r := range rs {
			if r.Label == label && r.Command == c {
				s.rs = append(s.rs, r)
			}
		}
		if len(s.rs) == 0 {
			continue
		}
		slices.SortFunc(s.rs, func(a, b Result) int { return a.Params - b.Params })
		out = append(out, s)
	}
	return out
}

func (s series) xy(y func(Result) float64) (xs, ys []float64) {
	for _, r := range s.rs {
		xs, ys = append(xs, float64(r.Params)), append(ys, y(r))
	}
	return xs, ys
}

func rss(r Result) float64  { return float64(r.PeakRSS) }
func wall(r Result) float64 { return r.WallSeconds }

// plotResults writes rss.svg and time.svg into dir and the Markdown tables
// to w.
func plotResults(path, label, dir string, w io.Writer) error {
	rs, err := readResults(path)
	if err != nil {
		return err
	}
	ss := byCommand(rs, label)
	if len(ss) == 0 {
		return fmt.Errorf("%s: no results labelled %q", path, label)
	}
	writeTables(w, ss)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range []struct {
		file, title, ylabel string
		y                   func(Result) float64
		refs                []reference
	}{
		{"rss.svg", "lopper: peak resident memory", "peak RSS (bytes)", rss,
			[]reference{{"BF16 checkpoint (2 B/param)", 2}, {"1.5 × checkpoint (issue 13's goal)", 3}}},
		{"time.svg", "lopper: wall time (2 shared cores)", "wall time (s)", wall, nil},
	} {
		svg, err := draw2(ss, p.title, p.ylabel, p.y, p.refs)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, p.file), svg, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeTables writes the measurements and the fitted formulas.
func writeTables(w io.Writer, ss []series) {
	fmt.Fprintln(w, "| checkpoint | params | on disk | command | peak RSS | × disk | estimate | estimate / peak | wall |")
	fmt.Fprintln(w, "|---|---:|---:|---|---:|---:|---:|---:|---:|")
	for _, s := range ss {
		for _, r := range s.rs {
			est, ratio := "–", "–"
			if r.Estimate > 0 {
				est, ratio = model.FormatBytes(r.Estimate), fmt.Sprintf("%.2f", float64(r.Estimate)/float64(r.PeakRSS))
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.2f | %s | %s | %.1f s |\n", r.Checkpoint, millions(r.Params),
				model.FormatBytes(r.DiskBytes), r.Command, model.FormatBytes(r.PeakRSS),
				float64(r.PeakRSS)/float64(r.DiskBytes), est, ratio, r.WallSeconds)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "| command | peak RSS ≈ | wall ≈ |")
	for _, e := range extrapolate {
		fmt.Fprintf(w, " RSS at %s | wall at %s |", e.name, e.name)
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "|---|---|---|")
	for range extrapolate {
		fmt.Fprint(w, "---:|---:|")
	}
	fmt.Fprintln(w)
	for _, s := range ss {
		fr, ft := leastSquares(s.xy(rss)), leastSquares(s.xy(wall))
		fmt.Fprintf(w, "| %s | %.2f bytes × P %s | %.3g s per M params %s |", s.command, fr.A,
			signed(fr.B, func(v float64) string { return model.FormatBytes(int64(v)) }), ft.A*1e6,
			signed(ft.B, func(v float64) string { return fmt.Sprintf("%.1f s", v) }))
		for _, e := range extrapolate {
			fmt.Fprintf(w, " %s | %s |", model.FormatBytes(int64(fr.at(e.params))), duration(ft.at(e.params)))
		}
		fmt.Fprintln(w)
	}
}

// signed writes "+ x" or "− x" for v, x formatted by f.
func signed(v float64, f func(float64) string) string {
	if v < 0 {
		return "− " + f(-v)
	}
	return "+ " + f(v)
}

func millions(p int) string {
	if p >= 1e9 {
		return fmt.Sprintf("%.2f B", float64(p)/1e9)
	}
	return fmt.Sprintf("%.1f M", float64(p)/1e6)
}

func duration(s float64) string {
	if s >= 3600 {
		return fmt.Sprintf("%.1f h", s/3600)
	}
	if s >= 60 {
		return fmt.Sprintf("%.0f min", s/60)
	}
	return fmt.Sprintf("%.0f s", s)
}

// draw2 plots y against the parameter count on log-log axes: the
// measurements as points joined by lines, each command's fit extended to
// 70 B as a dashed line.
// reference is a gray line y = perParam·P.
type reference struct {
	label    string
	perParam float64
}

func draw2(ss []series, title, ylabel string, y func(Result) float64, refs []reference) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "parameters"
	p.Y.Label.Text = ylabel
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = siTicks{}, siTicks{}
	p.Add(plotter.NewGrid())
	for i, s := range ss {
		xs, ys := s.xy(y)
		pts := make(plotter.XYs, len(xs))
		for j := range xs {
			pts[j].X, pts[j].Y = xs[j], ys[j]
		}
		line, dots, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		line.Color, dots.Color, dots.Shape = plotutil.Color(i), plotutil.Color(i), plotutil.Shape(i)
		f := leastSquares(xs, ys)
		lo := xs[len(xs)-1]
		var ext plotter.XYs
		for k := 0; k <= 20; k++ {
			x := lo * math.Pow(extrapolate[len(extrapolate)-1].params/lo, float64(k)/20)
			if v := f.at(x); v > 0 {
				ext = append(ext, plotter.XY{X: x, Y: v})
			}
		}
		p.Add(line, dots)
		p.Legend.Add(s.command, line, dots)
		if len(ext) > 1 {
			el, err := plotter.NewLine(ext)
			if err != nil {
				return nil, err
			}
			el.Color, el.Dashes = plotutil.Color(i), []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(el)
		}
	}
	lo, hi := math.Inf(1), extrapolate[len(extrapolate)-1].params
	for _, s := range ss {
		lo = min(lo, float64(s.rs[0].Params))
	}
	for i, r := range refs {
		l, err := plotter.NewLine(plotter.XYs{{X: lo, Y: r.perParam * lo}, {X: hi, Y: r.perParam * hi}})
		if err != nil {
			return nil, err
		}
		l.Color = color.Gray{Y: uint8(0x60 + 0x40*i)}
		l.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(r.label, l)
	}
	p.Legend.Top, p.Legend.Left = true, true
	c := vgsvg.New(7*vg.Inch, 4.5*vg.Inch)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// siTicks marks 1, 2 and 5 times the powers of ten on a log axis, labelled
// with SI prefixes (10M, 2G), the 1s only when the axis spans more than
// two decades.
type siTicks struct{}

func (siTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	wide := hi/lo > 100
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || !wide {
				t.Label = siLabel(v)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

func siLabel(v float64) string {
	for _, u := range []struct {
		s string
		f float64
	}{{"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"k", 1e3}} {
		if v >= u.f {
			return fmt.Sprintf("%g%s", v/u.f, u.s)
		}
	}
	return fmt.Sprintf("%g", v)
}
