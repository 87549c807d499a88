package model

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// openWeights opens model.safetensors, or the shards of a sharded index.
// desc names the source in errors. The files are returned even on error,
// for the caller to close.
func openWeights(ctx context.Context, dir string) (files []*stFile, desc string, err error) {
	single := filepath.Join(dir, weightsFile)
	f, err := openSafetensors(single)
	if err == nil {
		return []*stFile{f}, single, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, single, err
	}
	idx := filepath.Join(dir, indexFile)
	data, err := readRegular(idx)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, dir, fmt.Errorf("%s: no %s or %s (only safetensors weights are supported)", dir, weightsFile, indexFile)
	}
	if err != nil {
		return nil, idx, err
	}
	files, err = openShards(ctx, dir, idx, data)
	return files, idx, err
}

// openShards opens the files of a sharded checkpoint and checks that each
// holds exactly the tensors the index assigns to it.
func openShards(ctx context.Context, dir, idx string, data []byte) ([]*stFile, error) {
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &index); err != nil {
		return nil, fmt.Errorf("%s: %v", idx, err)
	}
	if len(index.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: empty or missing weight_map", idx)
	}
	tensors := make([]string, 0, len(index.WeightMap))
	var shards []string
	for t, file := range index.WeightMap {
		tensors = append(tensors, t)
		if !slices.Contains(shards, file) {
			shards = append(shards, file)
		}
	}
	slices.Sort(tensors)
	slices.Sort(shards)
	for _, t := range tensors {
		if file := index.WeightMap[t]; file == "" || file != filepath.Base(file) || file == "." || file == ".." {
			return nil, fmt.Errorf("%s: tensor %q: shard %q must be a file name in the model directory", idx, t, file)
		}
	}
	files := make([]*stFile, 0, len(shards))
	byName := map[string]*stFile{}
	for _, n := range shards {
		if err := ctx.Err(); err != nil {
			return files, err
		}
		f, err := openSafetensors(filepath.Join(dir, n))
		if err != nil {
			return files, err
		}
		files = append(files, f)
		byName[n] = f
		for _, e := range f.hdr.Entries {
			if want := index.WeightMap[e.Name]; want != n {
				return files, fmt.Errorf("%s: tensor %q: the index assigns it to %q", f.path, e.Name, want)
			}
		}
	}
	for _, t := range tensors {
		f := byName[index.WeightMap[t]]
		if _, ok := f.hdr.lookup(t); !ok {
			return files, fmt.Errorf("%s: tensor %q: listed in %s but not in the file", f.path, t, indexFile)
		}
	}
	return files, nil
}

func closeAll(files []*stFile) error {
	var errs []error
	for _, f := range files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// readOptional returns a file's bytes, or nil if it does not exist.
func readOptional(path string) ([]byte, error) {
	b, err := readRegular(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// readRegular reads a regular file (see checkRegular).
func readRegular(path string) ([]byte, error) {
	if err := checkRegular(path); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// checkRegular refuses a path that is not a regular file (after
// symbolic links) before it is opened: reading a FIFO or a device could
// block for ever. A missing file is an fs.ErrNotExist error.
func checkRegular(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file (%s)", path, fi.Mode().Type())
	}
	return nil
}

// readMeta returns the "metadata" object of lopper.json, or nil.
func readMeta(path string) (json.RawMessage, error) {
	b, err := readOptional(path)
	if b == nil || err != nil {
		return nil, err
	}
	var doc struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if bytes.Equal(bytes.TrimSpace(doc.Metadata), []byte("null")) {
		return nil, nil
	}
	return doc.Metadata, nil
}
