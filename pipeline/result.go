package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Result is what a stage produces. Once returned it is shared and read by
// other stages, reports and the run record: nobody mutates it.
type Result struct {
	// Metrics are what expressions read (`baseline.perplexity`).
	Metrics Metrics
	// Artifacts are opaque values other stages consume through their
	// StageContext (e.g. "model"), passed in memory within a run.
	Artifacts map[string]Artifact
	// Details is any JSON-encodable value; it goes into run.json and reports.
	Details any
}

// Artifact is an opaque stage output: the engine only needs its kind (to pick
// a Codec and to check that consumers get what they expect) and a content
// digest (for run records, lockfiles and cache keys), e.g. "sha256:…".
type Artifact interface {
	Kind() string
	Digest() string
}

// Codec writes artifacts of one kind to a directory and reads them back, for
// the stage cache and resume. Encode gets an empty directory and may write
// any files into it; atomicity (temp dir + rename) is the caller's job (see
// WriteArtifact).
type Codec interface {
	Kind() string
	Encode(ctx context.Context, a Artifact, dir string) error
	Decode(ctx context.Context, dir string) (Artifact, error)
}

// Metrics are a stage's named float results. In JSON, NaN and ±Inf (which
// JSON numbers cannot hold) are written as the strings "NaN", "+Inf", "-Inf".
type Metrics map[string]float64

// MarshalJSON implements json.Marshaler.
func (m Metrics) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch {
		case math.IsNaN(v):
			out[k] = "NaN"
		case math.IsInf(v, 1):
			out[k] = "+Inf"
		case math.IsInf(v, -1):
			out[k] = "-Inf"
		default:
			out[k] = v
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Metrics, len(raw))
	for k, r := range raw {
		var s string
		if err := json.Unmarshal(r, &s); err == nil {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("metric %s: %q is not a number", k, s)
			}
			out[k] = v
			continue
		}
		var v float64
		if err := json.Unmarshal(r, &v); err != nil {
			return fmt.Errorf("metric %s: %w", k, err)
		}
		out[k] = v
	}
	*m = out
	return nil
}
