package pipeline

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Pos is a position in a recipe file. Line and Col are 1-based; Col is
// counted in characters (runes). A zero Line means "the file as a whole";
// a zero Col means "the whole line".
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// String renders the position as FILE:LINE:COL, FILE:LINE when the column
// is unknown, or FILE alone when the line is.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
}

// Problem is one validation problem. Error() renders it as
// "FILE:LINE:COL: message", followed (when the source line is known) by the
// offending line and a caret under the column.
type Problem struct {
	Pos     Pos
	Msg     string
	Snippet string // the source line at Pos.Line, "" if unknown
}

// Error renders the problem as described on Problem.
func (p *Problem) Error() string {
	var b strings.Builder
	if p.Pos.File != "" {
		b.WriteString(p.Pos.String())
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	if p.Snippet != "" && p.Pos.Line > 0 {
		num := fmt.Sprint(p.Pos.Line)
		fmt.Fprintf(&b, "\n  %s | %s", num, p.Snippet)
		if p.Pos.Col > 0 {
			fmt.Fprintf(&b, "\n  %s | %s^", strings.Repeat(" ", len(num)), caretPad(p.Snippet, p.Pos.Col))
		}
	}
	return b.String()
}

// caretPad returns the whitespace that puts a caret under column col of
// line, keeping tabs so that the caret lines up in a terminal.
func caretPad(line string, col int) string {
	var b strings.Builder
	i := 1
	for _, r := range line {
		if i >= col {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		i++
	}
	for ; i < col; i++ {
		b.WriteByte(' ')
	}
	return b.String()
}

// ValidationError holds every problem found in a recipe, sorted by position.
// It unwraps to the individual *Problem values, like errors.Join.
type ValidationError struct {
	Problems []*Problem
}

// Error renders every problem, one after another, separated by newlines.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap returns the problems as errors, so that errors.As finds a
// *Problem.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// problems collects validation problems for one recipe.
type problems struct {
	file  string
	lines []string // source lines, for snippets
	list  []*Problem
}

func newProblems(file string, src []byte) *problems {
	return &problems{file: file, lines: strings.Split(string(src), "\n")}
}

// at records a problem at line:col of the recipe file.
func (ps *problems) at(line, col int, format string, args ...any) {
	ps.add(Pos{File: ps.file, Line: line, Col: col}, fmt.Sprintf(format, args...))
}

func (ps *problems) add(pos Pos, msg string) {
	p := &Problem{Pos: pos, Msg: msg}
	if pos.File == ps.file && pos.Line > 0 && pos.Line <= len(ps.lines) {
		p.Snippet = strings.TrimRight(ps.lines[pos.Line-1], "\r")
	}
	ps.list = append(ps.list, p)
}

// addErr records err, keeping the position of a *Problem inside it.
func (ps *problems) addErr(pos Pos, err error) {
	var ve *ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			ps.add(p.Pos, p.Msg)
		}
		return
	}
	var p *Problem
	if errors.As(err, &p) {
		ps.add(p.Pos, p.Msg)
		return
	}
	ps.add(pos, err.Error())
}

// err returns the problems as a *ValidationError sorted by position with
// duplicates removed, or nil when there are none.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	list := slices.Clone(ps.list)
	slices.SortStableFunc(list, func(a, b *Problem) int {
		return cmp.Or(cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	list = slices.CompactFunc(list, func(a, b *Problem) bool { return a.Pos == b.Pos && a.Msg == b.Msg })
	return &ValidationError{Problems: list}
}
