//go:build unix

package model

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lopper/internal/fsx"
)

// A process killed before Commit leaves the target as it was and only a
// lopper temporary directory next to it, which fsx.RemoveStale leaves
// alone while the writer lives and clears once it is dead.
func TestWriterCrashLeavesOnlyStaleTemp(t *testing.T) {
	if os.Getenv("MODEL_WRITER_HOLD") != "" {
		return
	}
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	m := randomModel(t, tinyConfigs()["llama"], 3)
	if err := m.Save(dir, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	before := dirFiles(t, dir)
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriterHold$", "-test.count=1")
	cmd.Env = append(os.Environ(), "MODEL_WRITER_HOLD="+dir)
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
	if removed, err := fsx.RemoveStale(root, "out"); err != nil || len(removed) != 0 {
		t.Fatalf("while the writer lives: removed %v, %v", removed, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed: its error is the signal
	left := leftovers(t, root, "out")
	if len(left) != 1 || !strings.HasPrefix(left[0], fsx.TempPrefix("out")) {
		t.Fatalf("after the crash: %v, want one %s* directory", left, fsx.TempPrefix("out"))
	}
	removed, err := fsx.RemoveStale(root, "out")
	if err != nil || len(removed) != 1 {
		t.Fatalf("after the crash: removed %v, %v", removed, err)
	}
	if l := leftovers(t, root, "out"); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
	after := dirFiles(t, dir)
	if len(after) != len(before) {
		t.Errorf("%d files before, %d after", len(before), len(after))
	}
	for name, b := range before {
		if string(after[name]) != string(b) {
			t.Errorf("%s changed", name)
		}
	}
}

// TestWriterHold is TestWriterCrashLeavesOnlyStaleTemp's other process: it
// writes half of a model's tensors and waits to be killed.
func TestWriterHold(t *testing.T) {
	dir := os.Getenv("MODEL_WRITER_HOLD")
	if dir == "" {
		t.Skip("helper process for TestWriterCrashLeavesOnlyStaleTemp")
	}
	m := randomModel(t, tinyConfigs()["llama"], 4)
	w, err := m.NewWriter(dir, SaveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(m.Layout.Tensors[:len(m.Layout.Tensors)/2]...); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
	t.Fatal("not killed")
}
