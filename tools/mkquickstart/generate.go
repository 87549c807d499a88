package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"lopper/internal/fsx"
	"lopper/internal/synth"
	"lopper/model"
)

// The output directory's files.
const (
	trainFile   = "train.txt"
	evalFile    = "eval.txt"
	choicesFile = "choices.jsonl"
	modelDir    = "model"
)

// namedData is one data file's name and content.
type namedData struct {
	name string
	data []byte
}

// dataFiles renders the dataset's files.
func dataFiles(s settings) ([]namedData, error) {
	d, err := synth.Generate(s.synthSpec())
	if err != nil {
		return nil, err
	}
	choices, err := d.ChoicesJSONL()
	if err != nil {
		return nil, err
	}
	return []namedData{{trainFile, d.TrainText()}, {evalFile, d.EvalText()}, {choicesFile, choices}}, nil
}

// job is one quickstart: its data files, the settings lopper.json
// records, and how to train its model on the data written into a
// directory (returning the model and what it scored).
type job struct {
	madeBy   string
	settings any
	files    []namedData
	train    func(ctx context.Context, dir string, log io.Writer) (*model.Model, any, error)
}

// llamaJob is the language-model quickstart of settings s.
func llamaJob(s settings) (job, error) {
	files, err := dataFiles(s)
	if err != nil {
		return job{}, err
	}
	return job{madeBy: "go run ./tools/mkquickstart", settings: s, files: files,
		train: func(ctx context.Context, dir string, log io.Writer) (*model.Model, any, error) {
			return trainModel(ctx, s, dir, log)
		}}, nil
}

// generate writes j's data files into out and, with withModel, trains the
// model on them and saves it as out/model. With the model, everything is
// made in a temporary directory inside out first and moved into place
// only when the model has cleared the bar, so a failed or interrupted run
// leaves out as it was.
func generate(ctx context.Context, j job, out string, withModel bool, log io.Writer) (err error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if !withModel {
		return writeData(out, j.files, log)
	}
	tmp, err := os.MkdirTemp(out, ".mkquickstart-")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, os.RemoveAll(tmp)) }()
	if err := writeData(tmp, j.files, io.Discard); err != nil {
		return err
	}
	m, res, err := j.train(ctx, tmp, log)
	if err != nil {
		return err
	}
	digests := map[string]string{}
	for _, f := range j.files {
		sum := sha256.Sum256(f.data)
		digests[f.name] = hex.EncodeToString(sum[:])
	}
	meta, err := json.Marshal(metadata[any, any]{MadeBy: j.madeBy, Settings: j.settings, Data: digests, Result: res})
	if err != nil {
		return err
	}
	for _, f := range j.files {
		if err := os.Rename(filepath.Join(tmp, f.name), filepath.Join(out, f.name)); err != nil {
			return err
		}
		fmt.Fprintf(log, "wrote %s (%d bytes)\n", filepath.Join(out, f.name), len(f.data))
	}
	dir := filepath.Join(out, modelDir)
	if err := m.Save(dir, model.SaveOptions{Metadata: meta}); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s\n", dir)
	return nil
}

// metadata is what model/lopper.json says about how the model was made:
// S and R are the quickstart's settings and result.
type metadata[S, R any] struct {
	MadeBy   string            `json:"made_by"`
	Settings S                 `json:"settings"`
	Data     map[string]string `json:"data_sha256"` // file name → SHA-256 of the data it was trained and measured on
	Result   R                 `json:"result"`
}

// writeData writes each file atomically into dir.
func writeData(dir string, files []namedData, log io.Writer) error {
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := fsx.WriteFileAtomic(path, f.data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(log, "wrote %s (%d bytes)\n", path, len(f.data))
	}
	return nil
}
