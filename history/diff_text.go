package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// WriteComparison writes a comparison as text tables: run fields, params,
// stages, metrics and artifacts, A and B side by side. A "*" in the first
// column marks what differs; metrics show B − A.
func WriteComparison(w io.Writer, c *Comparison) error {
	var buf bytes.Buffer
	t := table(&buf, "RUN\tA\tB")
	for _, f := range c.Run {
		t.row(f.Changed, f.Field, orDash(f.A), orDash(f.B))
	}
	t = t.next("PARAM\tA\tB")
	for _, p := range c.Params {
		t.row(p.Changed, p.Name, paramText(p.A), paramText(p.B))
	}
	t = t.next("STAGE\tKIND\tA\tB\tTIME A\tTIME B\tCONFIG")
	for _, s := range c.Stages {
		cfg := "same"
		switch {
		case s.StatusA == "" || s.StatusB == "":
			cfg = "-"
		case s.ConfigChanged:
			cfg = "changed"
		}
		t.row(s.StatusA != s.StatusB || s.ConfigChanged,
			s.Stage, s.Kind, orDash(s.StatusA), orDash(s.StatusB), seconds(s.SecondsA), seconds(s.SecondsB), cfg)
	}
	t = t.next("METRIC\tA\tB\tB - A")
	for _, m := range c.Metrics {
		delta := "-"
		if m.Delta != nil {
			delta = FormatDelta(float64(*m.A), float64(*m.B))
		}
		t.row(!sameNumber(m.A, m.B), m.Stage+"."+m.Metric, numText(m.A), numText(m.B), delta)
	}
	t = t.next("ARTIFACT\tKIND\tA\tB")
	for _, a := range c.Artifacts {
		t.row(!a.Same, a.Stage+"."+a.Artifact, a.Kind, orDash(ShortDigest(a.A)), orDash(ShortDigest(a.B)))
	}
	if err := t.end(); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// textTable is one aligned section; the first column holds "*" on rows
// that differ.
type textTable struct {
	buf *bytes.Buffer
	tw  *tabwriter.Writer
	err error // the first flush error of this or an earlier section
}

func table(buf *bytes.Buffer, header string) *textTable {
	t := &textTable{buf: buf, tw: tabwriter.NewWriter(buf, 0, 0, 2, ' ', 0)}
	fmt.Fprintf(t.tw, " \t%s\n", header)
	return t
}

// next ends this section and starts another after a blank line.
func (t *textTable) next(header string) *textTable {
	err := t.end()
	t.buf.WriteByte('\n')
	n := table(t.buf, header)
	n.err = err
	return n
}

// end flushes the section and returns the first error so far.
func (t *textTable) end() error {
	if err := t.tw.Flush(); err != nil && t.err == nil {
		t.err = err
	}
	return t.err
}

func (t *textTable) row(changed bool, cells ...string) {
	mark := " "
	if changed {
		mark = "*"
	}
	fmt.Fprintf(t.tw, "%s\t%s\n", mark, strings.Join(cells, "\t"))
}

// sameNumber reports whether both are present and equal (NaN equals NaN).
func sameNumber(a, b *Number) bool {
	if a == nil || b == nil {
		return false
	}
	x, y := float64(*a), float64(*b)
	return x == y || (math.IsNaN(x) && math.IsNaN(y))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return strings.ReplaceAll(s, "\n", " ")
}

func numText(n *Number) string {
	if n == nil {
		return "-"
	}
	return FormatNumber(float64(*n))
}

func seconds(n *Number) string {
	if n == nil {
		return "-"
	}
	return FormatSeconds(float64(*n))
}

// paramText shows a param value as it would be written with --set.
func paramText(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		return x
	case float64:
		return FormatNumber(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
