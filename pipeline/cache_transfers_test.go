package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
)

// gc keeps the input objects and transfer directories (work files,
// payloads) of the runs it keeps, removes those of the runs it drops,
// leaves unknown files alone; verify checks inputs' and payloads'
// digests.
func TestGCAndVerifyInputsWorkAndPayloads(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "cache")
	c, err := pipeline.OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	file := func(name, text string) (string, string) {
		p := filepath.Join(src, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := pipeline.FileDigest(p)
		if err != nil {
			t.Fatal(err)
		}
		return p, d
	}
	shared, sharedD := file("shared.txt", "both runs")
	type put struct{ input, payload string }
	runOf := func(name, only string) put {
		t.Helper()
		cr, err := c.BeginRun(filepath.Join(src, "run-"+name), "r.yaml", hclog.NewNullLogger())
		if err != nil {
			t.Fatal(err)
		}
		defer cr.End()
		p, d := file(name+".txt", "only "+name)
		for _, in := range []struct{ path, digest string }{{p, d}, {shared, sharedD}} {
			if err := cr.KeepInput(in.digest); err != nil {
				t.Fatal(err)
			}
			if err := c.PutInput(ctx, in.path, in.digest, nil); err != nil {
				t.Fatal(err)
			}
		}
		cr.KeepTransfers(name)
		work := t.TempDir()
		if err := os.WriteFile(filepath.Join(work, "out.txt"), []byte(only), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := c.PutWorkDir(ctx, name, "stage", 1, work); err != nil {
			t.Fatal(err)
		}
		pd, err := c.PutPayload(ctx, name, []byte("payload of "+name))
		if err != nil {
			t.Fatal(err)
		}
		return put{d, pd}
	}
	old := runOf("old", "a")
	time.Sleep(10 * time.Millisecond) // the runs are ordered by when their logs were updated
	young := runOf("young", "b")
	unknown := filepath.Join(dir, "inputs", "notes.txt")
	if err := os.WriteFile(unknown, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := c.GC(pipeline.GCOptions{KeepLast: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inputs != 3 || rep.InputsRemoved != 1 || rep.Transfers != 4 || rep.TransfersRemoved != 2 || len(rep.Unknown) != 1 {
		t.Errorf("gc: %+v", rep)
	}
	has := func(digest string) bool {
		ok, err := c.HasInput(ctx, digest)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if has(old.input) || !has(young.input) || !has(sharedD) {
		t.Errorf("inputs after gc: old %v young %v shared %v", has(old.input), has(young.input), has(sharedD))
	}
	if _, err := c.GetPayload(ctx, "old", old.payload); err == nil {
		t.Error("the dropped run's payload is still there")
	}
	if _, err := c.GetPayload(ctx, "young", young.payload); err != nil {
		t.Errorf("the kept run's payload: %v", err)
	}
	if ok, err := c.FetchWorkDir(ctx, "old", "stage", 1, t.TempDir()); ok || err != nil {
		t.Errorf("the dropped run's work files: %v %v", ok, err)
	}
	if ok, err := c.FetchWorkDir(ctx, "young", "stage", 1, t.TempDir()); !ok || err != nil {
		t.Errorf("the kept run's work files: %v %v", ok, err)
	}
	if _, err := os.Stat(unknown); err != nil {
		t.Errorf("gc removed a file it did not make: %v", err)
	}

	vr, err := c.Verify(ctx, pipeline.NewRegistry())
	if err != nil || len(vr.Problems) != 0 || vr.Inputs != 2 || vr.Payloads != 1 {
		t.Fatalf("verify of a sound cache: %+v %v", vr, err)
	}
	for _, pattern := range []string{"inputs/*/*/file", "payloads/*/*/payload"} {
		files, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %v %v", pattern, files, err)
		}
		if err := os.WriteFile(files[0], []byte("damaged"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vr, err = c.Verify(ctx, pipeline.NewRegistry())
	if err != nil || len(vr.Problems) != 2 || !strings.Contains(strings.Join(vr.Problems, "\n"), "digest") {
		t.Fatalf("verify of a damaged input and payload: %+v %v", vr, err)
	}
}

// gc, removing the runs' inputs, work files and payloads, leaves alone
// what a user put under inputs/, work/ and payloads/ with names lopper
// does not give (a store prefix shared with other objects): reported as
// unknown, never removed, even with nothing kept.
func TestGCLeavesUserFilesInTransfers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c, err := pipeline.OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	mine := []string{
		"inputs/notes.txt", "inputs/ab/notes.txt", "inputs/ab/" + strings.Repeat("0", 63) + "/file",
		"work/mine/out.txt", "work/README", "work/" + strings.Repeat("a", 31) + "/x",
		"payloads/backup.tar", "payloads/" + strings.Repeat("b", 64) + "/payload",
	}
	for _, rel := range mine {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := c.GC(pipeline.GCOptions{KeepLast: 0})
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range mine {
		if _, err := os.Stat(filepath.Join(dir, rel)); err != nil {
			t.Errorf("gc removed the user's %s: %v", rel, err)
		}
	}
	if rep.InputsRemoved != 0 || rep.TransfersRemoved != 0 || len(rep.Unknown) == 0 {
		t.Errorf("gc: %+v", rep)
	}
}
