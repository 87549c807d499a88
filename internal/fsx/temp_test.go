package fsx

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReplaceDirSwapsAndRemovesOld(t *testing.T) {
	root := t.TempDir()
	dst := filepath.Join(root, "out")
	mustWrite(t, filepath.Join(dst, "old.txt"), "old")
	td, err := NewTempDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(td.Path, "new.txt"), "new")
	if err := td.Commit(dst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "old.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old content still there: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "new.txt")); err != nil || string(b) != "new" {
		t.Fatalf("new content: %q %v", b, err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestWriteAtomicKeepsOldOnError(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "f.json")
	mustWrite(t, p, "old")
	boom := errors.New("boom")
	err := WriteAtomic(p, 0o644, func(w io.Writer) error {
		if _, err := w.Write([]byte("partial")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("content %q", b)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Fatalf("temporary file left: %v", entries)
	}
	if err := WriteFileAtomic(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	if err := WriteFileAtomic(filepath.Join(root, "missing", "x"), nil, 0o644); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

// TestRemoveStale kills a process that holds a temporary directory and a
// temporary file, and checks that RemoveStale leaves them alone while it
// lives and removes them once it is dead, and never touches other names.
func TestRemoveStale(t *testing.T) {
	if os.Getenv("FSX_HOLD") != "" {
		return
	}
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, ".notes.tmp-1"), "the user's")
	mustWrite(t, filepath.Join(root, "out.lopper-tmp-1"), "no leading dot: not ours")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldTemp$")
	cmd.Env = append(os.Environ(), "FSX_HOLD="+root)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		t.Fatalf("helper: %q %v", line, err)
	}
	removed, err := RemoveStale(root, "")
	if err != nil || len(removed) != 0 {
		t.Fatalf("while alive: removed %v, %v", removed, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed: its error is the signal
	removed, err = RemoveStale(root, "")
	if err != nil || len(removed) != 2 {
		t.Fatalf("after kill: removed %v, %v", removed, err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != ".notes.tmp-1,out.lopper-tmp-1" {
		t.Fatalf("left %v", names)
	}
}

// TestHoldTemp is TestRemoveStale's other process: it makes a temporary
// directory and file and waits to be killed.
func TestHoldTemp(t *testing.T) {
	root := os.Getenv("FSX_HOLD")
	if root == "" {
		t.Skip("helper process for TestRemoveStale")
	}
	if _, err := NewTempDir(filepath.Join(root, "model")); err != nil {
		t.Fatal(err)
	}
	err := WriteAtomic(filepath.Join(root, "run.json"), 0o644, func(w io.Writer) error {
		os.Stdout.WriteString("ready\n")
		time.Sleep(time.Minute)
		return nil
	})
	t.Fatal("not killed", err)
}

// CommitNew renames into a missing target and refuses an existing one
// (another writer's), removing its own temporary directory.
func TestCommitNewNeverReplaces(t *testing.T) {
	root := t.TempDir()
	dst := filepath.Join(root, "obj")
	td, err := NewTempDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(td.Path, "a"), "first")
	if err := td.CommitNew(dst); err != nil {
		t.Fatal(err)
	}
	td, err = NewTempDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(td.Path, "a"), "second")
	if err := td.CommitNew(dst); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second commit: %v, want os.ErrExist", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "a")); string(b) != "first" {
		t.Fatalf("target replaced: %q", b)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

// RemoveStaleTree clears unlocked temporaries at any depth and keeps a
// live one (locked by this process's open TempDir) with what is in it.
func TestRemoveStaleTree(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{
		filepath.Join(root, ".run.json"+tempMark+"1"),
		filepath.Join(root, "stages", "a", ".m"+tempMark+"2", "config.json"),
		filepath.Join(root, "keep.txt"),
	} {
		mustWrite(t, p, "x")
	}
	live, err := NewTempDir(filepath.Join(root, "stages", "model"))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Discard()
	mustWrite(t, filepath.Join(live.Path, ".inner"+tempMark+"3"), "the live writer's")
	removed, err := RemoveStaleTree(root)
	if err != nil || len(removed) != 2 {
		t.Fatalf("removed %v, %v", removed, err)
	}
	var left []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			left = append(left, rel)
		}
		return err
	})
	want := []string{"keep.txt", filepath.Join("stages", filepath.Base(live.Path), ".inner"+tempMark+"3")}
	if strings.Join(left, ",") != strings.Join(want, ",") {
		t.Fatalf("left %v, want %v", left, want)
	}
}
