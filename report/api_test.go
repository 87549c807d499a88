package report

import (
	"slices"
	"testing"
)

// Formats keeps the write order (HTML, then Markdown) whatever the order
// asked for, and gives every format when none is asked for.
func TestFormats(t *testing.T) {
	for _, c := range []struct{ want, got []string }{
		{nil, []string{HTML, Markdown}},
		{[]string{Markdown, HTML}, []string{HTML, Markdown}},
		{[]string{Markdown}, []string{Markdown}},
		{[]string{HTML}, []string{HTML}},
	} {
		if got := Formats(c.want); !slices.Equal(got, c.got) {
			t.Errorf("Formats(%v) = %v, want %v", c.want, got, c.got)
		}
	}
}

// BaseName flattens a stage path's nesting into a file name stem.
func TestBaseName(t *testing.T) {
	for path, want := range map[string]string{
		"report":                   "report",
		"sweep[1]/report":          "sweep-1-report",
		"gradual[2]/Final Report!": "gradual-2-final-report",
	} {
		if got := BaseName(path); got != want {
			t.Errorf("BaseName(%q) = %q, want %q", path, got, want)
		}
	}
}
