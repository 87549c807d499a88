package report

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// xmlTree is what a strict XML parse of a document finds: its elements in
// order, with the text inside each <text> of an SVG.
type xmlTree struct {
	elements []string
	svgs     [][]string // per <svg>: the strings of its <text> elements
}

// parseXML parses doc strictly (every tag closed and nested, attributes
// quoted, entities defined): well-formed XHTML-style HTML and SVG pass.
func parseXML(t *testing.T, doc []byte) xmlTree {
	t.Helper()
	var tree xmlTree
	d := xml.NewDecoder(strings.NewReader(string(doc)))
	d.Strict = true
	var inText bool
	var depth []string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth = append(depth, e.Name.Local)
			tree.elements = append(tree.elements, e.Name.Local)
			if e.Name.Local == "svg" {
				tree.svgs = append(tree.svgs, nil)
			}
			inText = e.Name.Local == "text"
		case xml.EndElement:
			depth = depth[:len(depth)-1]
			inText = false
		case xml.CharData:
			if inText && len(tree.svgs) > 0 {
				last := len(tree.svgs) - 1
				tree.svgs[last] = append(tree.svgs[last], string(e))
			}
		}
	}
	if len(depth) != 0 {
		t.Fatalf("unclosed elements: %v", depth)
	}
	return tree
}

// report.html is one well-formed, self-contained document: it parses as
// XML, references nothing outside itself, inlines one SVG per plot with the
// expected series in its legend, and escapes what the record says.
func TestReportHTMLSelfContained(t *testing.T) {
	runDir, v := writeSynthetic(t, Options{})
	doc, err := os.ReadFile(filepath.Join(runDir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	tree := parseXML(t, doc)
	if tree.elements[0] != "html" || !slices.Contains(tree.elements, "style") || !slices.Contains(tree.elements, "table") {
		t.Errorf("unexpected structure: %v", tree.elements[:min(10, len(tree.elements))])
	}
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "src=", "url(", "@import", "href=\"http", "xlink:href"} {
		if strings.Contains(string(doc), bad) {
			t.Errorf("report.html contains %q: not self-contained", bad)
		}
	}
	if strings.Contains(string(doc), "<b>gradually") || !strings.Contains(string(doc), "&lt;b&gt;gradually") {
		t.Errorf("the recipe description is not escaped")
	}
	if len(tree.svgs) != len(v.figures) || len(tree.svgs) != 5 {
		t.Fatalf("%d inline SVGs, want one per figure (%d, expected 5)", len(tree.svgs), len(v.figures))
	}
	want := [][]string{
		{"gradual: accuracy by sparsity", "iterations", "kept: iteration 2", "until true: iteration 3", "baseline"},
		{"gradual: perplexity by sparsity", "iterations", "kept: iteration 2", "until true: iteration 3", "baseline"},
		{"sweep: accuracy by sparsity", "method=magnitude", "method=wanda", "baseline"},
		{"sweep: perplexity by sparsity", "method=magnitude", "method=wanda", "baseline"},
		{"training loss: retrain", "gradual[0]/retrain loss", "gradual[3]/retrain loss"},
	}
	for i, w := range want {
		for _, s := range w {
			if !slices.Contains(tree.svgs[i], s) {
				t.Errorf("SVG %d lacks the text %q; has %q", i, s, tree.svgs[i])
			}
		}
	}
}

// The Markdown's plots are standalone SVG files next to it, each
// well-formed, at the paths the Markdown links.
func TestReportMarkdownPlotFiles(t *testing.T) {
	runDir, v := writeSynthetic(t, Options{Formats: []string{Markdown}})
	md, err := os.ReadFile(filepath.Join(runDir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(runDir, "report.html")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("report.html written although format is [md]: %v", err)
	}
	for _, f := range v.figures {
		if !strings.Contains(string(md), "]("+f.File+")") {
			t.Errorf("report.md does not link %s", f.File)
		}
		svg, err := os.ReadFile(filepath.Join(runDir, filepath.FromSlash(f.File)))
		if err != nil {
			t.Fatal(err)
		}
		tree := parseXML(t, svg)
		if tree.elements[0] != "svg" || !slices.Contains(tree.svgs[0], f.Title) {
			t.Errorf("%s: not an SVG titled %q", f.File, f.Title)
		}
	}
}
