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

// llama is the language-model job of settings s.
func llama(t *testing.T, s settings) job {
	t.Helper()
	j, err := llamaJob(s)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// tiny are settings that train in about a second: too few steps to learn
// the task, so no bar.
func tiny() settings {
	s := defaultSettings()
	s.Data = dataSpec{Length: 3, TrainLines: 300, EvalLines: 60, ChoiceTasks: 20, Choices: 3}
	s.Train.Steps, s.Train.BatchSize, s.Train.SeqLen, s.Train.WarmupSteps = 4, 2, 32, 1
	s.MinAcc = 0
	return s
}

func TestGenerateWritesDataAndModel(t *testing.T) {
	s := tiny()
	m, log := generated(t, llama(t, s))
	var meta metadata[settings, result]
	if err := json.Unmarshal(m.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(meta.Settings, s) || meta.Result.Perplexity <= 1 || len(meta.Data) != 3 {
		t.Errorf("lopper.json metadata %+v", meta)
	}
	if !strings.Contains(log, "held out: multiple-choice acc") {
		t.Errorf("log %q does not report the held-out accuracy", log)
	}
}

// generated runs j into a fresh directory, checks that it holds j's data
// files and model/ and nothing else (no temporary leftovers), and returns
// the model and the log.
func generated(t *testing.T, j job) (*model.Model, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "qs")
	var log bytes.Buffer
	if err := generate(context.Background(), j, out, true, &log); err != nil {
		t.Fatal(err)
	}
	for _, f := range j.files {
		got, err := os.ReadFile(filepath.Join(out, f.name))
		if err != nil || !bytes.Equal(got, f.data) {
			t.Errorf("%s: not the generated data (%v)", f.name, err)
		}
	}
	if entries, err := os.ReadDir(out); err != nil || len(entries) != len(j.files)+1 {
		t.Errorf("out holds %d entries (%v), want the %d data files and model/", len(entries), err, len(j.files))
	}
	m, err := model.Load(filepath.Join(out, modelDir), model.LoadOptions{CheckFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	return m, log.String()
}

// A model below the bar is not saved, and the data files are not
// replaced either, for both quickstarts.
func TestGenerateBelowTheBarWritesNothing(t *testing.T) {
	s, b := tiny(), tinyBERT()
	s.MinAcc, b.MinAcc = 1.01, 1.01
	for name, j := range map[string]job{"llama": llama(t, s), "bert": bertJobOf(t, b)} {
		out := t.TempDir()
		err := generate(context.Background(), j, out, true, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "below") {
			t.Fatalf("%s: err = %v, want the bar", name, err)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("%s: out holds %d entries after a failed run", name, len(entries))
		}
	}
}

func TestRunCommand(t *testing.T) {
	files, err := dataFiles(defaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	_, bertFiles, err := reviews(defaultBERTSettings())
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	for _, c := range []struct {
		flags []string
		files []namedData
	}{{nil, files}, {[]string{"-bert"}, bertFiles}} {
		out := t.TempDir()
		if code := run(context.Background(), append(c.flags, "-out", out, "-data-only"), &stdout, &stderr); code != 0 {
			t.Fatalf("%v -data-only: exit %d: %s", c.flags, code, stderr.String())
		}
		for _, f := range c.files {
			if got, err := os.ReadFile(filepath.Join(out, f.name)); err != nil || !bytes.Equal(got, f.data) {
				t.Errorf("%v -data-only: %s not written as generated (%v)", c.flags, f.name, err)
			}
		}
		if entries, _ := os.ReadDir(out); len(entries) != len(c.files) {
			t.Errorf("%v -data-only wrote %d entries, want the %d data files (no model)", c.flags, len(entries), len(c.files))
		}
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
