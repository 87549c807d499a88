//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"lopper/internal/sharedtest"
)

// Calibration reads only the text its windows need: lopper prune
// calibrates on a pipe that is never closed, so reading to its end would
// wait for ever.
func TestPruneCLICalibReadsWhatItNeeds(t *testing.T) {
	dir := sharedtest.ModelDir(t, "tiny-llama")
	fifo := filepath.Join(t.TempDir(), "calib.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	text, err := os.ReadFile(sharedtest.Path(t, "data", "shakespeare_train.txt"))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer close(release)
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		_, _ = w.Write(text[:500_000]) // ends with EPIPE once the reader is done
		<-release                      // and the pipe stays open: no end of file
	}()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := runPruneCLI("--model", dir, "--out", filepath.Join(t.TempDir(), "p"), "--method", "wanda",
			"--calib", fifo, "--calib-samples", "4", "--calib-seq-len", "128")
		done <- result{code, stdout, stderr}
	}()
	select {
	case r := <-done:
		if r.code != exitOK || !strings.Contains(r.stdout, "calibration on 4 × 128 tokens") {
			t.Errorf("exit %d: %s%s", r.code, r.stdout, r.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("lopper prune is still reading the calibration pipe after 60 s")
	}
}
