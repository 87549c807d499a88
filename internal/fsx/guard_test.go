package fsx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chdir moves the test into dir for its duration.
func chdir(t *testing.T, dir string) {
	t.Helper()
	t.Chdir(dir)
}

func mustWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func wantRefused(t *testing.T, err error, reason string, forcible bool) {
	t.Helper()
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a refusal containing %q", err, reason)
	}
	if !strings.Contains(re.Reason, reason) {
		t.Fatalf("reason %q does not say %q", re.Reason, reason)
	}
	if re.Forcible != forcible {
		t.Fatalf("Forcible = %v, want %v (%v)", re.Forcible, forcible, err)
	}
}

func TestGuardRefusesForeignDirectory(t *testing.T) {
	root := t.TempDir()
	chdir(t, root)
	mustWrite(t, filepath.Join(root, "mystuff", "notes.txt"), "x")
	wantRefused(t, Guard{}.Check("mystuff"), "lopper did not write it", true)
	owned := func(dir string) error { return errors.New("it holds notes.txt, which lopper did not write") }
	wantRefused(t, Guard{Owned: owned}.Check("mystuff"), "notes.txt", true)
	if err := (Guard{Force: true}).Check("mystuff"); err != nil {
		t.Fatalf("--force: %v", err)
	}
	if err := (Guard{Owned: func(string) error { return nil }}).Check("mystuff"); err != nil {
		t.Fatalf("owned: %v", err)
	}
}

func TestGuardAllowsNewAndEmpty(t *testing.T) {
	root := t.TempDir()
	chdir(t, root)
	if err := (Guard{}).Check("new/out"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir("empty", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := (Guard{}).Check("empty"); err != nil {
		t.Fatal(err)
	}
}

func TestGuardProtectsEvenWithForce(t *testing.T) {
	root := t.TempDir()
	work := filepath.Join(root, "work")
	model := filepath.Join(work, "models", "m")
	mustWrite(t, filepath.Join(model, "config.json"), "{}")
	mustWrite(t, filepath.Join(work, "recipe.yaml"), "x")
	chdir(t, work)
	g := Guard{
		Force:  true,
		Keep:   []Protected{{Path: filepath.Join(work, "recipe.yaml"), What: "the recipe"}},
		Inputs: []Protected{{Path: model, What: "the input model"}},
	}
	cases := []struct{ dst, reason string }{
		{model, "it is the input model"},
		{"models/m/", "it is the input model"},
		{"models", "contains the input model"},
		{"models/m/sub", "inside the input model"},
		{".", "it is the working directory"},
		{"..", "contains the working directory"},
		{"../work", "it is the working directory"},
		{"/", "root of the file system"},
		{"recipe.yaml", "it is the recipe"},
	}
	for _, c := range cases {
		wantRefused(t, g.Check(c.dst), c.reason, false)
	}
	// A symbolic link to the model is the model.
	if err := os.Symlink(model, filepath.Join(work, "alias")); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, g.Check("alias"), "it is the input model", false)
}

func TestGuardRefusesFilesAndLinks(t *testing.T) {
	root := t.TempDir()
	chdir(t, root)
	mustWrite(t, "f", "x")
	wantRefused(t, Guard{Force: true}.Check("f"), "is a file", false)
	if err := os.Mkdir("d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("d", "l"); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, Guard{}.Check("l"), "symbolic link", false)
}

func TestWithin(t *testing.T) {
	cases := []struct {
		p, dir string
		want   bool
	}{
		{"/a/b", "/a", true},
		{"/a", "/a", false},
		{"/ab", "/a", false},
		{"/a/..b", "/a", true},
		{"/", "/a", false},
		{"/a/b/c", "/", true},
	}
	for _, c := range cases {
		if got := Within(c.p, c.dir); got != c.want {
			t.Errorf("Within(%q, %q) = %v", c.p, c.dir, got)
		}
	}
}
