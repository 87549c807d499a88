package stages

import (
	"crypto/sha256"
	"fmt"
	"sync"

	"lopper/pruning"
)

// ArtifactScores is the artifact kind (and name) of importance scores.
const ArtifactScores = "scores"

// ScoresArtifact is a score stage's output: importance scores over a
// model's prunable targets, reusable by several prune stages (a sweep over
// sparsities scores once). Never mutated once made.
type ScoresArtifact struct {
	Scores *pruning.Scores
	// Config is the scored model's config.json (the scores' layout is
	// rebuilt from it when the artifact is decoded).
	Config []byte
	// ModelDigest is the digest of the model that was scored.
	ModelDigest string

	once   sync.Once
	digest string
}

// Kind implements pipeline.Artifact.
func (a *ScoresArtifact) Kind() string { return ArtifactScores }

// Digest implements pipeline.Artifact: "sha256:…" over the method, the
// calibration shape, the scored model's digest, the target names and the
// targets' score values.
func (a *ScoresArtifact) Digest() string {
	a.once.Do(func() {
		s := a.Scores
		h := sha256.New()
		fmt.Fprintf(h, "lopper scores v1\nmethod %s\ncalib %d %d\nmodel %s\n", s.Method, s.CalibSamples, s.CalibSeqLen, a.ModelDigest)
		for _, t := range s.Targets {
			fmt.Fprintf(h, "target %s %d %d\n", t.Name, t.Offset, t.Size)
			writeFloats(h, t.Of(s.Values))
		}
		a.digest = fmt.Sprintf("sha256:%x", h.Sum(nil))
	})
	return a.digest
}
