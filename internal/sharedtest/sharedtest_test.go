package sharedtest

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// The locator finds ../shared from a package directory two levels down
// (this one) and its files exist.
func TestDirFromPackage(t *testing.T) {
	d := Dir(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(wd, "..", "..", "..", "shared"); filepath.Clean(want) != d {
		t.Errorf("Dir = %s, want %s", d, filepath.Clean(want))
	}
	if got := len(EvalText(t)); got != 115394 {
		t.Errorf("shakespeare_eval.txt has %d bytes, README says 115394", got)
	}
	r := LoadReference(t, "tiny-llama")
	if r.Dense.Tokens != 115328 || r.Params == 0 || len(r.Top5) != 5 {
		t.Errorf("reference %+v", r)
	}
	if s := r.Result(t, "magnitude_layerwise_50").Sparsity; s != 0.5 {
		t.Errorf("magnitude_layerwise_50 sparsity %v", s)
	}
}

// outcome records how a call ended on a stand-in testing.TB: returned,
// skipped or failed (Skipf and Fatalf end the goroutine, as testing's do).
type outcome struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (o *outcome) Helper() {}

func (o *outcome) Skipf(format string, args ...any) {
	o.skipped, o.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (o *outcome) Fatalf(format string, args ...any) {
	o.failed, o.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls f with a stand-in TB on its own goroutine and reports how it
// ended.
func run(f func(tb testing.TB)) *outcome {
	o := &outcome{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(o)
	}()
	<-done
	return o
}

// Absent shared data skips a test, unless CI is set: then it fails the
// test, for a missing directory, a directory without README.md, a missing
// file and a locator error alike.
func TestAbsentSkipsOrFailsInCI(t *testing.T) {
	full := t.TempDir() // a shared directory with README.md and nothing else
	if err := os.WriteFile(filepath.Join(full, "README.md"), []byte("shared\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	calls := map[string]func(tb testing.TB){
		"missing file":      func(tb testing.TB) { pathIn(tb, dirAt(tb, full, nil), "models", "tiny-llama") },
		"no README.md":      func(tb testing.TB) { dirAt(tb, empty, nil) },
		"missing directory": func(tb testing.TB) { dirAt(tb, filepath.Join(empty, "shared"), nil) },
		"no module root":    func(tb testing.TB) { dirAt(tb, "", errors.New("no go.mod of module lopper above /")) },
	}
	for _, ci := range []string{"", "0", "false", "true", "1"} {
		t.Setenv("CI", ci)
		wantFail := ci == "true" || ci == "1"
		for name, call := range calls {
			o := run(call)
			if o.failed != wantFail || o.skipped == wantFail {
				t.Errorf("CI=%q, %s: failed %v, skipped %v (%s); want failed %v", ci, name, o.failed, o.skipped, o.msg, wantFail)
			}
		}
	}
	// What is there is returned, CI or not.
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		var got string
		if o := run(func(tb testing.TB) { got = pathIn(tb, dirAt(tb, full, nil), "README.md") }); o.failed || o.skipped {
			t.Errorf("CI=%q: an existing file: %s", ci, o.msg)
		}
		if want := filepath.Join(full, "README.md"); got != want {
			t.Errorf("CI=%q: path %q, want %q", ci, got, want)
		}
	}
}

func TestIsLopperModule(t *testing.T) {
	for src, want := range map[string]bool{
		"module lopper\n\ngo 1.26\n":          true,
		"// x\nmodule lopper\n":               true,
		"module lopper/model/tensor/asm\n":    false,
		"go 1.26\n":                           false,
		"module example.com/lopper\ngo 1.2\n": false,
	} {
		if got := isLopperModule([]byte(src)); got != want {
			t.Errorf("isLopperModule(%q) = %v", src, got)
		}
	}
}

// Score against a hand-computed case: vocab 3, uniform logits except that
// the target (the next token) gets +1 on even rows.
func TestScoreByHand(t *testing.T) {
	tokens := make([]int32, 2*Window+5)
	for i := range tokens {
		tokens[i] = int32(i % 3)
	}
	const V = 3
	fwd := func(in []int32, b, T int) ([]float32, error) {
		out := make([]float32, b*T*V)
		for r := range b * T {
			// in[r]'s successor in tokens is (in[r]+1) mod 3.
			if r%2 == 0 {
				out[r*V+int((in[r]+1)%3)] = 1
			}
		}
		return out, nil
	}
	for _, batch := range []int{1, 2, 5} {
		s, err := Score(tokens, V, batch, fwd)
		if err != nil {
			t.Fatal(err)
		}
		hitNLL := math.Log(math.E+2) - 1
		want := math.Exp((hitNLL + math.Log(3)) / 2)
		// Odd rows are all ties: the first largest logit (id 0) is a hit
		// when the target is 0, a third of the time.
		if s.Tokens != 2*Window || math.Abs(s.PPL-want) > 1e-12 {
			t.Errorf("batch %d: %+v, want perplexity %v over %d tokens", batch, s, want, 2*Window)
		}
		hits := 0
		for r := range 2 * Window {
			if r%2 == 0 || tokens[r+1] == 0 {
				hits++
			}
		}
		if want := float64(hits) / float64(2*Window); s.Acc != want {
			t.Errorf("batch %d: accuracy %v, want %v", batch, s.Acc, want)
		}
	}
	if _, err := Score(tokens[:Window], V, 1, fwd); err == nil {
		t.Error("no full window: want an error")
	}
}
