package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"lopper/internal/fsx"
	"lopper/model"
	"lopper/pipeline"
)

// modelCodec stores a model artifact in a directory:
//
//	model/               the model, saved with model.Save in float32 (exact)
//	mask.bin             the mask over the layout, if masked: one bit per
//	                     parameter, (n+7)/8 bytes, parameter i at bit i%8
//	                     (least significant first) of byte i/8, set = kept
//	                     (model.Mask.PackedBytes)
//	model_artifact.json  the tensors' storage dtypes, the history, and
//	                     "mask_format": "bits"
//
// Entries written before masks were bitsets have no mask_format and one
// byte per parameter in mask.bin (0 pruned); they still decode, to the
// same mask. Decoding restores the storage dtypes, so a model that went
// through the cache saves exactly as one that did not. Encoding a lazy
// model pins one tensor at a time (model.Save); in a lazy run
// (WithLazyModels) decoding opens the model lazily (model.Open) unless it
// is an encoder classifier.
type modelCodec struct{}

type modelArtifactFile struct {
	DTypes map[string]model.DType `json:"dtypes"`
	Masked bool                   `json:"masked"`
	// MaskFormat is how mask.bin holds the mask: maskBits, or "" for
	// one byte per parameter (entries from before bitsets).
	MaskFormat string        `json:"mask_format,omitempty"`
	History    []HistoryStep `json:"history"`
	// Source is the model's Source: the directory it was loaded from.
	Source string `json:"source,omitempty"`
}

const (
	modelSubdir       = "model"
	maskFile          = "mask.bin"
	maskBits          = "bits"
	modelArtifactJSON = "model_artifact.json"
)

func (modelCodec) Kind() string { return ArtifactModel }

func (modelCodec) Encode(ctx context.Context, a pipeline.Artifact, dir string) error {
	ma, ok := a.(*ModelArtifact)
	if !ok {
		return fmt.Errorf("model codec: got a %T", a)
	}
	m := ma.Model
	if err := m.Save(filepath.Join(dir, modelSubdir), model.SaveOptions{DType: model.F32}); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	meta := modelArtifactFile{DTypes: map[string]model.DType{}, Masked: m.Mask != nil, History: ma.History, Source: m.Source}
	for _, t := range m.Layout.Tensors {
		meta.DTypes[t.Name] = t.DType
	}
	if m.Mask != nil {
		meta.MaskFormat = maskBits
		if err := fsx.WriteFileAtomic(filepath.Join(dir, maskFile), m.Mask.PackedBytes(), 0o644); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	return fsx.WriteFileAtomic(filepath.Join(dir, modelArtifactJSON), b, 0o644)
}

func (modelCodec) Decode(ctx context.Context, dir string) (pipeline.Artifact, error) {
	raw, err := os.ReadFile(filepath.Join(dir, modelArtifactJSON))
	if err != nil {
		return nil, err
	}
	var meta modelArtifactFile
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("%s: %w", modelArtifactJSON, err)
	}
	m, err := decodeModel(ctx, filepath.Join(dir, modelSubdir))
	if err != nil {
		return nil, err
	}
	if len(meta.DTypes) != len(m.Layout.Tensors) {
		return nil, fmt.Errorf("%s lists the dtypes of %d tensors, the model has %d", modelArtifactJSON, len(meta.DTypes), len(m.Layout.Tensors))
	}
	if m.Layout, err = m.Layout.WithDTypes(meta.DTypes); err != nil {
		return nil, err
	}
	if meta.Masked {
		if m.Mask, err = decodeMask(filepath.Join(dir, maskFile), meta.MaskFormat, m.Layout.Total); err != nil {
			return nil, err
		}
	}
	m.Source = meta.Source
	return &ModelArtifact{Model: m, History: meta.History}, nil
}

// decodeMask reads the mask file of n parameters in format (maskBits, or
// "" for one byte per parameter).
func decodeMask(path, format string, n int) (*model.Mask, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	switch format {
	case maskBits:
		k, err := model.MaskFromPacked(b, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	case "":
		if len(b) != n {
			return nil, fmt.Errorf("%s has %d entries, the model %d parameters", path, len(b), n)
		}
		return model.MaskFromBytes(b), nil
	}
	return nil, fmt.Errorf("%s: mask_format %q is not %q", modelArtifactJSON, format, maskBits)
}

// decodeModel loads the cached model in dir, or opens it lazily in a lazy
// run (an encoder classifier excepted, which runs resident only).
func decodeModel(ctx context.Context, dir string) (*model.Model, error) {
	lazy, _ := openLazily(ctx, dir)
	return openModel(ctx, dir, model.LoadOptions{}, lazy)
}
