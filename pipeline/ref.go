package pipeline

import (
	"encoding/json"

	"gopkg.in/yaml.v3"
)

// Ref is a reference from a stage's config to another stage, by id, e.g.
// `model: base`. It remembers where it was written so that an unknown id is
// reported at its FILE:LINE:COL. Inside a loop body the reserved id "prev"
// names the previous iteration's carried result (the loop's `from` stage in
// iteration 0).
type Ref struct {
	ID   string
	Line int // 1-based position in the recipe; 0 when made in code
	Col  int
}

// UnmarshalYAML accepts a scalar stage id. A null (or empty) value gives a
// Ref with an empty ID, which the engine reports as missing when the kind
// declares it as an input.
func (r *Ref) UnmarshalYAML(n *yaml.Node) error {
	r.Line, r.Col = n.Line, n.Column
	if n.Kind != yaml.ScalarNode {
		return NodeError(n, "want a stage id, got a %s", nodeKindName(n))
	}
	if n.Tag == "!!null" {
		r.ID = ""
		return nil
	}
	r.ID = n.Value
	return nil
}

// MarshalYAML writes the id only.
func (r Ref) MarshalYAML() (any, error) { return r.ID, nil }

// MarshalJSON writes the id only, so that config digests do not depend on
// where in the file a reference was written.
func (r Ref) MarshalJSON() ([]byte, error) { return json.Marshal(r.ID) }

// UnmarshalJSON reads an id.
func (r *Ref) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &r.ID) }

// String returns the referenced id.
func (r Ref) String() string { return r.ID }

// IsZero reports whether the reference is unset.
func (r Ref) IsZero() bool { return r.ID == "" }
