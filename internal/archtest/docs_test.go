package archtest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"testing"
)

// Every exported identifier of a library package (not main, not a test
// file, not generated code) has a doc comment: a function or method (on an
// exported type), a type, a constant or a variable. A group's comment
// covers its constants and variables, and so does a comment at the end of
// their line.
func TestExportedIdentifiersHaveDocs(t *testing.T) {
	root, pkgs := listModule(t)
	var missing []string
	fset := token.NewFileSet()
	for _, p := range pkgs {
		if p.Name == "main" {
			continue
		}
		for file, test := range p.files() {
			if test {
				continue
			}
			f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if f.Name.Name == "main" || ast.IsGenerated(f) {
				continue
			}
			for _, m := range undocumented(f) {
				pos := fset.Position(m.pos)
				missing = append(missing, fmt.Sprintf("%s:%d:%d: exported %s has no doc comment", rel(root, pos.Filename), pos.Line, pos.Column, m.what))
			}
		}
	}
	slices.Sort(missing)
	for _, m := range missing {
		t.Error(m)
	}
}

// undocumentedDecl is an exported identifier without a doc comment.
type undocumentedDecl struct {
	pos  token.Pos
	what string // e.g. "func Pos.String", "const NM"
}

// undocumented lists f's exported identifiers that have no doc comment.
func undocumented(f *ast.File) []undocumentedDecl {
	var out []undocumentedDecl
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() || d.Doc != nil {
				continue
			}
			what := "func " + d.Name.Name
			if d.Recv != nil {
				recv := receiverType(d.Recv.List[0].Type)
				if !ast.IsExported(recv) {
					continue
				}
				what = "method " + recv + "." + d.Name.Name
			}
			out = append(out, undocumentedDecl{d.Name.Pos(), what})
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					// A group's comment does not document its types.
					if s.Name.IsExported() && s.Doc == nil && (d.Doc == nil || d.Lparen.IsValid()) {
						out = append(out, undocumentedDecl{s.Name.Pos(), "type " + s.Name.Name})
					}
				case *ast.ValueSpec:
					if s.Doc != nil || s.Comment != nil || d.Doc != nil {
						continue
					}
					for _, n := range s.Names {
						if n.IsExported() {
							out = append(out, undocumentedDecl{n.Pos(), d.Tok.String() + " " + n.Name})
						}
					}
				}
			}
		}
	}
	return out
}

// receiverType returns the name of a method's receiver type: T for T, *T,
// T[P] and *T[P, Q].
func receiverType(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// The check finds each kind of undocumented exported identifier and
// accepts each kind of documentation.
func TestUndocumented(t *testing.T) {
	src := `package p

// Doc is documented.
func Doc() {}
func Bare() {}
func unexported() {}

type T struct{}
type u struct{}

func (T) M() {}
func (*T) N() {}
func (u) M() {}

// M is documented.
func (G[P]) M() {}
func (*G[P]) N() {}

type G[P any] struct{}

const C = 1
const c = 1

// Group documents its constants.
const (
	A = 1
	B = 2
)

const (
	D = 1 // D is documented at the end of its line.
	E = 2
)

var V int

// The group's comment does not document the types in it.
type (
	W int
)
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range undocumented(f) {
		got = append(got, fmt.Sprintf("%d %s", fset.Position(m.pos).Line, m.what))
	}
	want := []string{"5 func Bare", "8 type T", "11 method T.M", "12 method T.N", "17 method G.N", "19 type G", "21 const C", "32 const E", "35 var V", "39 type W"}
	if !slices.Equal(got, want) {
		t.Errorf("undocumented:\n got %q\nwant %q", got, want)
	}
}
