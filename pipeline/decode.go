package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decodeStrict decodes a stage's (instantiated) with block into cfg,
// rejecting unknown fields, and reports every problem at its position in the
// recipe.
//
// yaml.v3 only checks unknown fields when decoding from text, and its errors
// carry only a line, so the block is re-encoded in block style (one key or
// list item per line), decoded strictly, and each error line is mapped back
// to the node it came from. When that pass is clean, the block is decoded
// from the nodes themselves, so that Refs keep their recipe positions.
func decodeStrict(file string, with *yaml.Node, cfg any) []*Problem {
	if with == nil {
		return nil
	}
	block, err := copyNode(with)
	if err != nil {
		return []*Problem{{Pos: nodePos(file, with), Msg: "with: " + err.Error()}}
	}
	blockStyle(block)
	text, err := yaml.Marshal(block)
	if err != nil {
		return []*Problem{{Pos: nodePos(file, with), Msg: "with: " + err.Error()}}
	}
	var reparsed yaml.Node
	if err := yaml.Unmarshal(text, &reparsed); err != nil || len(reparsed.Content) == 0 {
		return []*Problem{{Pos: nodePos(file, with), Msg: fmt.Sprintf("with: cannot re-encode the block: %v", err)}}
	}
	idx := &lineIndex{}
	idx.build(reparsed.Content[0], block, "")
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(reflect.New(reflect.TypeOf(cfg).Elem()).Interface()); err != nil {
		return idx.problems(file, with, err, reflect.TypeOf(cfg))
	}
	if probs := fractionalInts(file, reflect.TypeOf(cfg), block, ""); len(probs) > 0 {
		return probs
	}
	if err := block.Decode(cfg); err != nil {
		return []*Problem{{Pos: nodePos(file, with), Msg: "with: " + firstLine(err.Error())}}
	}
	return nil
}

func nodePos(file string, n *yaml.Node) Pos { return Pos{File: file, Line: n.Line, Col: n.Column} }

// blockStyle clears flow style so that every key and list item of the
// re-encoded text starts its own line.
func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style &^= yaml.FlowStyle
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// lineIndex maps lines of the re-encoded text to the recipe nodes on them.
type lineIndex struct {
	entries []lineEntry
}

type lineEntry struct {
	line, col int        // in the re-encoded text
	node      *yaml.Node // in the recipe (with its recipe position)
	path      string
	isKey     bool
}

// build walks the re-parsed tree and the block it was encoded from in
// parallel (they have the same shape).
func (x *lineIndex) build(re, orig *yaml.Node, path string) {
	x.entries = append(x.entries, lineEntry{re.Line, re.Column, orig, path, false})
	if len(re.Content) != len(orig.Content) {
		return
	}
	for i := range re.Content {
		child := path
		switch re.Kind {
		case yaml.MappingNode:
			if i%2 == 0 {
				x.entries = append(x.entries, lineEntry{re.Content[i].Line, re.Content[i].Column, orig.Content[i], path, true})
				continue
			}
			child = joinPath(path, re.Content[i-1].Value)
		case yaml.SequenceNode:
			child = joinPath(path, strconv.Itoa(i))
		}
		x.build(re.Content[i], orig.Content[i], child)
	}
}

// find returns the entry at line:col, or the first (wantKey) or last entry
// on the line.
func (x *lineIndex) find(line, col int, wantKey bool) (lineEntry, bool) {
	var first, last *lineEntry
	for i := range x.entries {
		e := &x.entries[i]
		if e.line != line {
			continue
		}
		if col > 0 && e.col == col {
			return *e, true
		}
		if first == nil || (wantKey && e.isKey && !first.isKey) {
			first = e
		}
		last = e
	}
	switch {
	case first == nil:
		return lineEntry{}, false
	case wantKey:
		return *first, true
	}
	return *last, true
}

// findKey returns the key entry called name of the mapping at path on a
// line of the re-encoded text.
func (x *lineIndex) findKey(line int, path, name string) (lineEntry, bool) {
	for _, e := range x.entries {
		if e.line == line && e.isKey && e.path == path && e.node.Value == name {
			return e, true
		}
	}
	return lineEntry{}, false
}

var (
	typeErrLineRE = regexp.MustCompile(`^line (\d+)(?::(\d+))?: (.*)$`)
	notFoundRE    = regexp.MustCompile(`^field (.+) not found in type \S+$`)
	alreadySetRE  = regexp.MustCompile(`^field (.+) already set in type \S+$`)
	dupKeyRE      = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
	unmarshalRE   = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")
)

// problems converts a strict-decoding error into positioned problems.
func (x *lineIndex) problems(file string, with *yaml.Node, err error, cfgType reflect.Type) []*Problem {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []*Problem{{Pos: nodePos(file, with), Msg: "with: " + firstLine(strings.TrimPrefix(err.Error(), "yaml: "))}}
	}
	var out []*Problem
	for _, s := range te.Errors {
		m := typeErrLineRE.FindStringSubmatch(s)
		if m == nil {
			out = append(out, &Problem{Pos: nodePos(file, with), Msg: "with: " + s})
			continue
		}
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		msg := m[3]
		nf := notFoundRE.FindStringSubmatch(msg)
		dup := dupKeyRE.FindStringSubmatch(msg)
		e, ok := x.find(line, col, nf != nil || dup != nil || alreadySetRE.MatchString(msg))
		if !ok {
			out = append(out, &Problem{Pos: nodePos(file, with), Msg: "with: " + msg})
			continue
		}
		label := e.path
		switch {
		case nf != nil:
			known := yamlFieldNames(cfgType, e.path)
			msg = fmt.Sprintf("unknown field %q%s", nf[1], didYouMean(nf[1], known))
			if len(known) > 0 {
				msg += "; want one of " + oneOf(known)
			}
		case dup != nil:
			// yaml.v3 gives the first key's line in the re-encoded text.
			msg = fmt.Sprintf("duplicate key %q", dup[1])
			firstLine, _ := strconv.Atoi(dup[2])
			if first, ok := x.findKey(firstLine, e.path, dup[1]); ok {
				msg += fmt.Sprintf(" (first at line %d)", first.node.Line)
			}
		case alreadySetRE.MatchString(msg):
			msg = fmt.Sprintf("duplicate key %q", alreadySetRE.FindStringSubmatch(msg)[1])
		case unmarshalRE.MatchString(msg):
			u := unmarshalRE.FindStringSubmatch(msg)
			got := tagNames[u[1]]
			if got == "" {
				got = u[1]
			}
			if u[2] != "" {
				got += fmt.Sprintf(" %q", u[2])
			}
			msg = fmt.Sprintf("want %s, got %s", goTypeName(u[3]), got)
		}
		out = append(out, &Problem{Pos: nodePos(file, e.node), Msg: fmt.Sprintf("%s: %s", fieldLabel(label), msg)})
	}
	return out
}

var tagNames = map[string]string{
	"str": "string", "int": "number", "float": "number", "bool": "boolean",
	"map": "a mapping", "seq": "a list", "null": "null", "timestamp": "a timestamp",
}

// goTypeName words a Go type from a yaml error for recipe authors.
func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case t == "bool":
		return "a boolean"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "."):
		return "a mapping"
	}
	return t
}

// yamlFieldNames lists the yaml keys of the struct at path inside type t,
// for did-you-mean suggestions on unknown fields. Reflection is the only
// way to learn a config type's fields; it is used for these suggestions, to
// find Ref fields (isRefPath) and integer fields (fractionalInts), nothing
// else.
func yamlFieldNames(t reflect.Type, path string) []string {
	t = derefType(t)
	if path != "" {
		for _, part := range strings.Split(path, ".") {
			switch t.Kind() {
			case reflect.Struct:
				f, ok := fieldByYAMLName(t, part)
				if !ok {
					return nil
				}
				t = derefType(f.typ)
			case reflect.Slice, reflect.Array, reflect.Map:
				t = derefType(t.Elem())
			default:
				return nil
			}
		}
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for f := range structFields(t) {
		names = append(names, f.name)
	}
	return names
}

func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

type yamlField struct {
	name string
	typ  reflect.Type
}

// structFields yields the yaml-visible fields of struct t, inline ones
// flattened.
func structFields(t reflect.Type) func(func(yamlField) bool) {
	return func(yield func(yamlField) bool) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("yaml")
			name, opts, _ := strings.Cut(tag, ",")
			if name == "-" {
				continue
			}
			if strings.Contains(opts, "inline") && derefType(f.Type).Kind() == reflect.Struct {
				for sub := range structFields(derefType(f.Type)) {
					if !yield(sub) {
						return
					}
				}
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			if !yield(yamlField{name, f.Type}) {
				return
			}
		}
	}
}

func fieldByYAMLName(t reflect.Type, name string) (yamlField, bool) {
	for f := range structFields(t) {
		if f.name == name {
			return f, true
		}
	}
	return yamlField{}, false
}

var refType = reflect.TypeOf(Ref{})

// isRefPath reports whether the with path (e.g. "model", "teachers.1")
// holds a stage reference in config type t. Stage references build the
// graph, so they cannot be interpolated from run-time values.
func isRefPath(t reflect.Type, path string) bool {
	t = derefType(t)
	for _, part := range strings.Split(path, ".") {
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByYAMLName(t, part)
			if !ok {
				return false
			}
			t = derefType(f.typ)
		case reflect.Slice, reflect.Array, reflect.Map:
			t = derefType(t.Elem())
		default:
			return false
		}
	}
	return t == refType
}
