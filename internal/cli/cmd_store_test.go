package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/pipeline/store/storetest"
)

// `lopper run --store URL` keeps the stage cache in a store (a file://
// directory, S3 through gofakes3 on 127.0.0.1): a rerun is all hits, the
// record names the store, --resume finds it, and `lopper cache` works on
// it. Nothing is written next to the recipe.
func TestRunAndCacheWithStore(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		if b.URL == "" { // a directory is --cache-dir; mem:// is per process
			continue
		}
		t.Run(b.Name, func(t *testing.T) {
			f := recipeFile(t, "st.yaml", statusRecipe)
			dir := filepath.Dir(f)
			out := t.TempDir()
			// The missing gate file fails stage b; a resume finds a in the store.
			if code, _, errs := lopper(ctx, "run", f, "--out", out, "--store", b.URL); code != exitFailed {
				t.Fatalf("run without gate.txt: code %d %s", code, errs)
			}
			run := onlyRun(t, out)
			if rec := readRunRecord(t, run); rec.Store != b.URL || rec.CacheDir != "" {
				t.Errorf("record: store %q cache_dir %q, want store %q", rec.Store, rec.CacheDir, b.URL)
			}
			if err := os.WriteFile(filepath.Join(dir, "gate.txt"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			before := testKit.Runs("a")
			code, stdout, errs := lopper(ctx, "run", "--resume", run)
			if code != exitOK || !strings.Contains(stdout, "1 cached") || testKit.Runs("a") != before {
				t.Fatalf("resume: code %d %q %s (a ran %d times)", code, stdout, errs, testKit.Runs("a")-before)
			}
			code, stdout, errs = lopper(ctx, "run", f, "--out", t.TempDir(), "--store", b.URL)
			if code != exitOK || !strings.Contains(stdout, "3 cached") {
				t.Errorf("rerun: code %d %q %s", code, stdout, errs)
			}
			if _, err := os.Stat(filepath.Join(dir, ".lopper")); err == nil {
				t.Errorf("a run with --store made a cache directory next to the recipe")
			}
			code, stdout, _ = lopper(ctx, "cache", "verify", "--store", b.URL)
			if code != exitOK || !strings.Contains(stdout, "3 entries, 3 artifacts, 2 run logs, 0 damaged") {
				t.Errorf("verify: code %d %q", code, stdout)
			}
			// What was written in the last hour stays: a run elsewhere may use it.
			code, stdout, _ = lopper(ctx, "cache", "gc", "--keep-last", "0", "--store", b.URL)
			if code != exitOK || !strings.Contains(stdout, "removed 0 of 2 runs' logs, 0 of 3 entries, 0 of 3 artifacts") || !strings.Contains(stdout, "kept 2 written in the last 1h0m0s") {
				t.Errorf("gc: code %d %q", code, stdout)
			}
		})
	}
}

func TestStoreFlagsAreChecked(t *testing.T) {
	ctx := context.Background()
	f := recipeFile(t, "st.yaml", statusRecipe)
	for _, args := range [][]string{
		{"run", f, "--store", "file:///tmp/x", "--cache-dir", t.TempDir()},
		{"run", f, "--store", "file:///tmp/x", "--no-cache"},
		{"run", f, "--store", t.TempDir()}, // a directory is --cache-dir
		{"run", f, "--store", "gs://bucket"},
		{"cache", "verify", "--store", "ftp://x"},
		{"cache", "verify", f, "--store", "file:///tmp/x"},
		{"cache", "verify", "--store", "file://" + filepath.ToSlash(filepath.Join(t.TempDir(), "typo"))},
	} {
		code, _, errs := lopper(ctx, args...)
		if code != exitUsage {
			t.Errorf("%v: code %d, want %d (%s)", args, code, exitUsage, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(f), ".lopper")); err == nil {
		t.Errorf("a refused run made a cache")
	}
}
