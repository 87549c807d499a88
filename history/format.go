package history

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// FormatNumber formats a metric for people: whole numbers in full (params,
// bytes, tokens), others with four significant digits, NaN and ±Inf by name.
func FormatNumber(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// FormatDelta formats a change b − a with its sign, and its size relative
// to |a| when that means something: "+0.012 (+1.5%)".
func FormatDelta(a, b float64) string {
	d := b - a
	if math.IsNaN(d) || math.IsInf(d, 0) {
		return "-"
	}
	s := FormatNumber(d)
	if d >= 0 {
		s = "+" + s
	}
	if a != 0 && !math.IsInf(a, 0) {
		s += fmt.Sprintf(" (%+.1f%%)", 100*d/math.Abs(a))
	}
	return s
}

// FormatSeconds formats a duration in seconds: "0.4s", "12.3s", "4m05s",
// "2h03m".
func FormatSeconds(s float64) string {
	switch {
	case math.IsNaN(s) || s < 0:
		return "-"
	case s < 60:
		return fmt.Sprintf("%.1fs", s)
	case s < 3600:
		m := int(s) / 60
		return fmt.Sprintf("%dm%02ds", m, int(s)-60*m)
	}
	h := int(s) / 3600
	return fmt.Sprintf("%dh%02dm", h, (int(s)-3600*h)/60)
}

// ShortDigest shortens "sha256:0123abcd…" to "sha256:0123abcd4567" for
// tables; other strings are returned as they are.
func ShortDigest(d string) string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return algo + ":" + hex[:12]
}
