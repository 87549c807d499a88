package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyDir copies the regular files of src into a new directory dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshot lists every file under root with its content, to prove nothing
// changed.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func sameFiles(t *testing.T, before, after map[string]string) {
	t.Helper()
	if len(before) != len(after) {
		t.Fatalf("%d files before, %d after", len(before), len(after))
	}
	for p, b := range before {
		if after[p] != b {
			t.Fatalf("%s changed or vanished", p)
		}
	}
}

// lopper prune never replaces a directory it did not write (issue 10, case
// 1) unless forced, and never the input model, a directory holding it or
// the working directory, forced or not (case 2).
func TestPruneCLIRefusesToDestroy(t *testing.T) {
	work := filepath.Join(t.TempDir(), "project")
	modelDir := filepath.Join(work, "models", "m")
	copyDir(t, repoPath("quickstart", "model"), modelDir)
	mystuff := filepath.Join(work, "mystuff")
	if err := os.MkdirAll(mystuff, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mystuff, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	prune := func(out string, extra ...string) (int, string) {
		args := append([]string{"--model", modelDir, "--out", out, "--method", "magnitude", "--sparsity", "0.5"}, extra...)
		code, _, stderr := runPruneCLI(args...)
		return code, stderr
	}
	t.Chdir(work)
	before := snapshot(t, work)
	cases := []struct {
		out, want string
		force     bool
	}{
		{mystuff, "it holds notes.txt, which lopper's save did not write; choose another directory, or pass --force", false},
		{modelDir, "it is the input model", true},
		{filepath.Join(work, "models"), "it contains the input model", true},
		{filepath.Join(modelDir, "pruned"), "inside the input model", true},
		{".", "it is the working directory", true},
		{filepath.Join("..", "project"), "it is the working directory", true},
		{"..", "it contains the working directory", true},
	}
	for _, c := range cases {
		var extra []string
		if c.force {
			extra = []string{"--force"}
		}
		code, stderr := prune(c.out, extra...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("--out %s %v: exit %d, stderr %q; want exit %d saying %q", c.out, extra, code, stderr, exitUsage, c.want)
		}
		if c.force && strings.Contains(stderr, "--force to replace") {
			t.Errorf("--out %s: a protected directory must not suggest --force: %q", c.out, stderr)
		}
	}
	sameFiles(t, before, snapshot(t, work))

	// Its own output it replaces; a foreign directory only with --force.
	out := filepath.Join(work, "pruned")
	for i := 0; i < 2; i++ {
		if code, stderr := prune(out); code != exitOK {
			t.Fatalf("save %d into %s: exit %d: %s", i, out, code, stderr)
		}
	}
	if code, stderr := prune(mystuff, "--force"); code != exitOK {
		t.Fatalf("--force: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(mystuff, "notes.txt")); !os.IsNotExist(err) {
		t.Fatalf("--force kept notes.txt: %v", err)
	}
	entries, err := os.ReadDir(work)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary left in %s: %s", work, e.Name())
		}
	}
}
