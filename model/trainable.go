package model

import (
	"fmt"
	"regexp"
)

// Trainable is the set of a layout's tensors that training updates, and
// the compact layout of their gradients and AdamW moments: the trainable
// tensors in layout order, back to back, so that frozen tensors cost no
// gradient or moment memory. With every tensor trainable (AllTrainable)
// the compact layout is the model's layout itself.
type Trainable struct {
	// Pattern is the regular expression that selected the tensors ("":
	// all of them).
	Pattern string
	// Offset[i] is tensor i's offset in the compact buffers, -1 when it is
	// frozen.
	Offset []int
	// Total is the compact buffers' length.
	Total int
	// Tensors counts the trainable tensors.
	Tensors int
	layout  *Layout
}

// AllTrainable is the selection of every tensor of l (what training
// updates by default).
func AllTrainable(l *Layout) *Trainable {
	t := &Trainable{Offset: make([]int, len(l.Tensors)), Total: l.Total, Tensors: len(l.Tensors), layout: l}
	for i, ti := range l.Tensors {
		t.Offset[i] = ti.Offset
	}
	return t
}

// NewTrainable selects the tensors of l whose Hugging Face names match the
// RE2 expression pattern (unanchored, as regexp.MatchString; "" selects
// every tensor). A pattern that does not compile, or that matches no
// tensor, is an error naming it.
func NewTrainable(l *Layout, pattern string) (*Trainable, error) {
	if pattern == "" {
		return AllTrainable(l), nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("trainable %q: %w", pattern, err)
	}
	t := &Trainable{Pattern: pattern, Offset: make([]int, len(l.Tensors)), layout: l}
	for i, ti := range l.Tensors {
		t.Offset[i] = -1
		if re.MatchString(ti.Name) {
			t.Offset[i] = t.Total
			t.Total += ti.Size
			t.Tensors++
		}
	}
	if t.Tensors == 0 {
		return nil, fmt.Errorf("trainable %q matches no tensor of the model (names look like %q)", pattern, l.Tensors[len(l.Tensors)/2].Name)
	}
	return t, nil
}

// All reports whether every tensor is trainable.
func (t *Trainable) All() bool { return t.Tensors == len(t.layout.Tensors) }

// Layout is the model layout the selection is over.
func (t *Trainable) Layout() *Layout { return t.layout }

// gradPart is a trainable tensor's piece of a parameter span: from is its
// offset within the span, to its offset in the compact buffers.
type gradPart struct{ from, to, n int }

// gradSpan is where the gradient of a parameter span goes in the compact
// gradient buffer: all of it (span), none of it (frozen), or, when only
// some of the span's tensors are trainable (q but not k and v of the fused
// qkv product), the trainable parts.
type gradSpan struct {
	span             // in the compact buffer, when the whole span is trainable
	full  int        // the parameter span's length (0: the tensor is absent)
	parts []gradPart // when only some of it is trainable
}

// frozen reports whether no tensor of the span is trainable.
func (g gradSpan) frozen() bool { return g.n == 0 && g.parts == nil }

// gradSpanOf maps a parameter span of the layout onto the compact buffers.
func (t *Trainable) gradSpanOf(sp span) gradSpan {
	g := gradSpan{full: sp.n}
	if sp.n == 0 {
		return g
	}
	var parts []gradPart
	for i, ti := range t.layout.Tensors {
		if ti.Offset+ti.Size <= sp.off || ti.Offset >= sp.off+sp.n || t.Offset[i] < 0 {
			continue
		}
		parts = append(parts, gradPart{from: ti.Offset - sp.off, to: t.Offset[i], n: ti.Size})
	}
	if len(parts) == 0 {
		return g
	}
	contiguous := parts[0].from == 0
	for k := 1; k < len(parts); k++ {
		contiguous = contiguous && parts[k].from == parts[k-1].from+parts[k-1].n && parts[k].to == parts[k-1].to+parts[k-1].n
	}
	last := parts[len(parts)-1]
	if contiguous && last.from+last.n == sp.n {
		g.span = span{off: parts[0].to, n: sp.n}
		return g
	}
	g.parts = parts
	return g
}
