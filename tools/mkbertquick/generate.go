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
	trainFile = "train.tsv"
	devFile   = "dev.tsv"
	modelDir  = "model"
)

// dataFile is one data file's name and content.
type dataFile struct {
	name string
	data []byte
}

// reviews generates the task and renders its files.
func reviews(s settings) (*synth.ReviewSet, []dataFile, error) {
	d, err := synth.GenerateReviews(s.reviewSpec())
	if err != nil {
		return nil, nil, err
	}
	return d, []dataFile{{trainFile, d.TrainTSV()}, {devFile, d.EvalTSV()}}, nil
}

// metadata is what model/lopper.json says about how the model was made.
type metadata struct {
	MadeBy   string            `json:"made_by"`
	Settings settings          `json:"settings"`
	Data     map[string]string `json:"data_sha256"` // file name → SHA-256 of the data it was trained and measured on
	Result   result            `json:"result"`
}

// generate writes the data files into out and, with withModel, trains the
// classifier and saves it as out/model. With the model, the data are
// written to a temporary directory inside out first and moved into place
// only when the model has cleared the bar, so a failed or interrupted run
// leaves out as it was.
func generate(ctx context.Context, s settings, out string, withModel bool, log io.Writer) (err error) {
	d, files, err := reviews(s)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	dir := out
	if withModel {
		if dir, err = os.MkdirTemp(out, ".mkbertquick-"); err != nil {
			return err
		}
		defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	}
	digests := map[string]string{}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := fsx.WriteFileAtomic(path, f.data, 0o644); err != nil {
			return err
		}
		sum := sha256.Sum256(f.data)
		digests[f.name] = hex.EncodeToString(sum[:])
		if !withModel {
			fmt.Fprintf(log, "wrote %s (%d bytes)\n", path, len(f.data))
		}
	}
	if !withModel {
		return nil
	}
	m, res, err := trainModel(ctx, s, d, dir, log)
	if err != nil {
		return err
	}
	meta, err := json.Marshal(metadata{MadeBy: "go run ./tools/mkbertquick", Settings: s, Data: digests, Result: res})
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := os.Rename(filepath.Join(dir, f.name), filepath.Join(out, f.name)); err != nil {
			return err
		}
		fmt.Fprintf(log, "wrote %s (%d bytes)\n", filepath.Join(out, f.name), len(f.data))
	}
	target := filepath.Join(out, modelDir)
	if err := m.Save(target, model.SaveOptions{Metadata: meta}); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s\n", target)
	return nil
}
