// Package sharedtest locates and reads lopper's shared test data (../shared
// next to the repository root: tiny models with PyTorch references, texts,
// tokenizers; see its README.md) for the tests of every package. It is
// imported only from _test.go files: the product never needs the data, and
// a test that asks for something absent is skipped, not failed, except in
// CI: with the environment variable CI set (to anything but "", "0" or
// "false"), absent shared data fails the test, so that CI cannot pass by
// skipping what it was meant to check.
//
// It imports nothing of lopper's but internal/par, so that package model's
// own tests can use it.
package sharedtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Models are the shared tiny models (byte-level tokenizers: id = byte).
var Models = []string{"tiny-llama", "tiny-gpt2"}

// root finds the shared directory once per test binary: the directory
// "shared" next to the root of module lopper, found upwards from the
// working directory (a test's is its package directory).
var root = sync.OnceValues(func() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && isLopperModule(b) {
			return filepath.Join(filepath.Dir(d), "shared"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of module lopper above %s", wd)
		}
	}
})

func isLopperModule(gomod []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if f := bytes.Fields(sc.Bytes()); len(f) == 2 && string(f[0]) == "module" {
			return string(f[1]) == "lopper"
		}
	}
	return false
}

// required reports whether absent shared data fails a test instead of
// skipping it: whether the environment variable CI is set to anything but
// "", "0" or "false" (CI services set CI=true; so does .ci/run).
func required() bool {
	switch strings.ToLower(os.Getenv("CI")) {
	case "", "0", "false":
		return false
	}
	return true
}

// absent skips the test, or fails it when shared data is required.
func absent(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if required() {
		tb.Fatalf(format+" (CI is set, so the shared test data is required)", args...)
	}
	tb.Skipf(format, args...)
}

// Dir returns the shared directory, skipping the test when it is absent
// (failing it in CI).
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, err := root()
	return dirAt(tb, dir, err)
}

// dirAt checks the shared directory dir that the locator found (or err).
func dirAt(tb testing.TB, dir string, err error) string {
	tb.Helper()
	if err != nil {
		absent(tb, "shared test data: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		absent(tb, "shared test data not found at %s", dir)
	}
	return dir
}

// Path returns the shared file or directory at the joined path elements
// (e.g. "data", "shakespeare_eval.txt"), skipping the test when it is
// absent (failing it in CI).
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	return pathIn(tb, Dir(tb), elem...)
}

// pathIn is Path under the shared directory dir.
func pathIn(tb testing.TB, dir string, elem ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{dir}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		absent(tb, "shared test data not found: %v", err)
	}
	return p
}

// Read returns the contents of Path(tb, elem...).
func Read(tb testing.TB, elem ...string) []byte {
	tb.Helper()
	b, err := os.ReadFile(Path(tb, elem...))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ModelDir returns the directory of shared model name (one of Models).
func ModelDir(tb testing.TB, name string) string {
	tb.Helper()
	return Path(tb, "models", name)
}

// EvalText returns the text of the references' evaluation protocol,
// data/shakespeare_eval.txt.
func EvalText(tb testing.TB) []byte {
	tb.Helper()
	return Read(tb, "data", "shakespeare_eval.txt")
}

// CalibText returns model name's calib.txt: its reference calibration
// windows (16 × 128 bytes) concatenated.
func CalibText(tb testing.TB, name string) []byte {
	tb.Helper()
	return Read(tb, "models", name, "calib.txt")
}

// Tokens returns the ids the shared models' byte-level tokenizers give
// text: one per byte, equal to its value.
func Tokens(text []byte) []int32 {
	ids := make([]int32, len(text))
	for i, c := range text {
		ids[i] = int32(c)
	}
	return ids
}
