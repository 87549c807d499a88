package stages

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"

	"lopper/internal/fsx"
	"lopper/model"
	"lopper/pipeline"
	"lopper/pruning"
)

// scoresCodec stores a scores artifact in a directory:
//
//	scores.json   method, calibration shape, model digest, target names
//	config.json   the scored model's config (for its layout)
//	scores.bin    the targets' scores, float32 little-endian, in target order
type scoresCodec struct{}

type scoresFile struct {
	Method       pruning.Method `json:"method"`
	CalibSamples int            `json:"calib_samples"`
	CalibSeqLen  int            `json:"calib_seq_len"`
	ModelDigest  string         `json:"model_digest"`
	Targets      []string       `json:"targets"`
}

const (
	scoresJSON   = "scores.json"
	scoresConfig = "config.json"
	scoresBin    = "scores.bin"
)

func (scoresCodec) Kind() string { return ArtifactScores }

func (scoresCodec) Encode(_ context.Context, a pipeline.Artifact, dir string) error {
	sa, ok := a.(*ScoresArtifact)
	if !ok {
		return fmt.Errorf("scores codec: got a %T", a)
	}
	s := sa.Scores
	meta := scoresFile{Method: s.Method, CalibSamples: s.CalibSamples, CalibSeqLen: s.CalibSeqLen, ModelDigest: sa.ModelDigest}
	n := 0
	for _, t := range s.Targets {
		meta.Targets = append(meta.Targets, t.Name)
		n += t.Size
	}
	buf := make([]byte, 0, 4*n)
	for _, t := range s.Targets {
		for _, v := range t.Of(s.Values) {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	mj, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{scoresBin, buf}, {scoresConfig, sa.Config}, {scoresJSON, mj}} {
		if err := fsx.WriteFileAtomic(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Decode rebuilds the scores. pruning.Scores binds its layout in an
// unexported field that only pruning.Score sets, so the layout is obtained
// by scoring a zero model of the stored config by magnitude over exactly
// the stored targets, and the stored values then replace the scores.
// TODO(pruning): a pruning.NewScores(layout, method, targets, values)
// constructor would make this direct.
func (scoresCodec) Decode(ctx context.Context, dir string) (pipeline.Artifact, error) {
	raw, err := os.ReadFile(filepath.Join(dir, scoresJSON))
	if err != nil {
		return nil, err
	}
	var meta scoresFile
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("%s: %w", scoresJSON, err)
	}
	cfgJSON, err := os.ReadFile(filepath.Join(dir, scoresConfig))
	if err != nil {
		return nil, err
	}
	cfg, err := model.ParseConfig(cfgJSON)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", scoresConfig, err)
	}
	zero, err := model.New(cfg)
	if err != nil {
		return nil, err
	}
	spec := pruning.TargetSpec{}
	for _, name := range meta.Targets {
		spec.Include = append(spec.Include, "^"+regexp.QuoteMeta(name)+"$")
	}
	s, err := pruning.Score(ctx, zero, pruning.ScoreOptions{Method: pruning.Magnitude, Targets: spec})
	if err != nil {
		return nil, err
	}
	if len(s.Targets) != len(meta.Targets) {
		return nil, fmt.Errorf("%d stored targets, %d found in the layout", len(meta.Targets), len(s.Targets))
	}
	bin, err := os.ReadFile(filepath.Join(dir, scoresBin))
	if err != nil {
		return nil, err
	}
	off := 0
	for i, t := range s.Targets {
		if t.Name != meta.Targets[i] {
			return nil, fmt.Errorf("target %d is %s in the layout, %s stored", i, t.Name, meta.Targets[i])
		}
		if len(bin) < off+4*t.Size {
			return nil, fmt.Errorf("%s is truncated at tensor %s", scoresBin, t.Name)
		}
		dst := t.Of(s.Values)
		for j := range dst {
			dst[j] = math.Float32frombits(binary.LittleEndian.Uint32(bin[off+4*j:]))
		}
		off += 4 * t.Size
	}
	if off != len(bin) {
		return nil, fmt.Errorf("%s has %d bytes, the targets need %d", scoresBin, len(bin), off)
	}
	s.Method, s.CalibSamples, s.CalibSeqLen = meta.Method, meta.CalibSamples, meta.CalibSeqLen
	return &ScoresArtifact{Scores: s, Config: cfgJSON, ModelDigest: meta.ModelDigest}, nil
}
