package stages

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

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

// Decode rebuilds the scores with pruning.NewScores (which refuses NaN
// scores) over the layout of the stored config, reading scores.bin in
// chunks straight into the scores: memory is the scores' own, one float32
// per parameter of the layout, whatever the size of the file.
func (scoresCodec) Decode(_ context.Context, dir string) (pipeline.Artifact, error) {
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
	layout, err := model.NewLayout(&cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", scoresConfig, err)
	}
	values := make([]float32, layout.Total)
	if err := readScores(filepath.Join(dir, scoresBin), layout, meta.Targets, values); err != nil {
		return nil, err
	}
	s, err := pruning.NewScores(layout, meta.Method, meta.Targets, values)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", scoresJSON, err)
	}
	s.CalibSamples, s.CalibSeqLen = meta.CalibSamples, meta.CalibSeqLen
	return &ScoresArtifact{Scores: s, Config: cfgJSON, ModelDigest: meta.ModelDigest}, nil
}

// readScores reads the targets' scores from path (float32 little-endian,
// in targets order) into values, flat over layout.
func readScores(path string, layout *model.Layout, targets []string, values []float32) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	need := int64(0)
	for _, name := range targets {
		t, ok := layout.Lookup(name)
		if !ok {
			return fmt.Errorf("%s: target %q is not in the layout of %s", scoresJSON, name, scoresConfig)
		}
		need += 4 * int64(t.Size)
	}
	if fi.Size() != need {
		return fmt.Errorf("%s has %d bytes, the targets need %d", path, fi.Size(), need)
	}
	buf := make([]byte, 64<<10)
	for _, name := range targets {
		t, _ := layout.Lookup(name)
		for dst := t.Of(values); len(dst) > 0; {
			n := min(len(dst), len(buf)/4)
			if _, err := io.ReadFull(f, buf[:4*n]); err != nil {
				return fmt.Errorf("%s: tensor %s: %w", path, name, err)
			}
			for j := range n {
				dst[j] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*j:]))
			}
			dst = dst[n:]
		}
	}
	return nil
}
