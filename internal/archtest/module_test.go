package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// modulePath is the path of the module whose packages are checked.
const modulePath = "lopper"

// pkg is one package of the module as `go list -json` reports it.
type pkg struct {
	ImportPath     string
	Dir            string
	Name           string
	GoFiles        []string
	CgoFiles       []string
	IgnoredGoFiles []string // excluded by build constraints here, checked all the same
	TestGoFiles    []string
	XTestGoFiles   []string
}

// name is the package's name in docs/DESIGN.md: its path in the module,
// "main" for the root package.
func (p *pkg) name() string {
	if p.ImportPath == modulePath {
		return "main"
	}
	return strings.TrimPrefix(p.ImportPath, modulePath+"/")
}

// files returns the package's Go files, each with whether it is a test.
func (p *pkg) files() map[string]bool {
	files := map[string]bool{}
	for _, list := range [][]string{p.GoFiles, p.CgoFiles, p.IgnoredGoFiles, p.TestGoFiles, p.XTestGoFiles} {
		for _, f := range list {
			files[filepath.Join(p.Dir, f)] = strings.HasSuffix(f, "_test.go")
		}
	}
	return files
}

// listModule returns the module's root directory and its packages (those
// of ./..., which leaves out the nested asm module and testdata).
func listModule(t *testing.T) (string, []*pkg) {
	t.Helper()
	gomod := goCmd(t, "", "env", "GOMOD")
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	out := goCmd(t, root, "list", "-json", "./...")
	var pkgs []*pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := &pkg{}
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list -json: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list ./... found no packages")
	}
	return root, pkgs
}

// goCmd runs the go command in dir and returns its standard output.
func goCmd(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// rel returns path relative to root, for messages.
func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return r
	}
	return path
}
