package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"lopper/model"
)

// tiny are settings that train in a fraction of a second: too few steps
// to learn the task, so no bar.
func tiny() settings {
	s := defaultSettings()
	s.Data = dataSpec{TrainLines: 200, EvalLines: 40}
	s.Train.Steps, s.Train.BatchSize, s.Train.WarmupSteps = 5, 8, 1
	s.MinAcc = 0
	return s
}

func TestGenerateWritesDataAndModel(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bert")
	s := tiny()
	var log bytes.Buffer
	if err := generate(context.Background(), s, out, true, &log); err != nil {
		t.Fatal(err)
	}
	_, files, err := reviews(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(out, f.name))
		if err != nil || !bytes.Equal(got, f.data) {
			t.Errorf("%s: not the generated data (%v)", f.name, err)
		}
	}
	m, err := model.Load(filepath.Join(out, modelDir), model.LoadOptions{CheckFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	var meta metadata
	if err := json.Unmarshal(m.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(meta.Settings, s) || meta.Result.Examples != 40 || len(meta.Data) != 2 {
		t.Errorf("lopper.json metadata %+v", meta)
	}
	if entries, err := os.ReadDir(out); err != nil || len(entries) != 3 {
		t.Errorf("out holds %d entries (%v), want the 2 data files and model/ (no temporary leftovers)", len(entries), err)
	}
	if !strings.Contains(log.String(), "dev: accuracy") {
		t.Errorf("log %q does not report the dev accuracy", log.String())
	}
	// Same settings, same bytes.
	again := filepath.Join(t.TempDir(), "bert")
	if err := generate(context.Background(), s, again, true, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.safetensors", "config.json", "tokenizer.json", "lopper.json"} {
		a, errA := os.ReadFile(filepath.Join(out, modelDir, f))
		b, errB := os.ReadFile(filepath.Join(again, modelDir, f))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("model/%s differs between two runs with the same settings", f)
		}
	}
}

// A model below the bar is not saved, and no data file is written.
func TestGenerateBelowTheBarWritesNothing(t *testing.T) {
	out := t.TempDir()
	s := tiny()
	s.MinAcc = 1.01
	err := generate(context.Background(), s, out, true, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "below") {
		t.Fatalf("err = %v, want the bar", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("out holds %d entries after a failed run", len(entries))
	}
}

func TestRunCommand(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-out", out, "-data-only"}, &stdout, &stderr); code != 0 {
		t.Fatalf("-data-only: exit %d: %s", code, stderr.String())
	}
	_, files, err := reviews(defaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if got, err := os.ReadFile(filepath.Join(out, f.name)); err != nil || !bytes.Equal(got, f.data) {
			t.Errorf("-data-only: %s not written as generated (%v)", f.name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, modelDir)); !os.IsNotExist(err) {
		t.Errorf("-data-only wrote a model (%v)", err)
	}
	for _, args := range [][]string{{"extra"}, {"-steps", "x"}, {"-nope"}} {
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code := run(ctx, []string{"-out", t.TempDir()}, &stdout, &stderr); code != 1 {
		t.Errorf("cancelled: exit %d, want 1", code)
	}
}
