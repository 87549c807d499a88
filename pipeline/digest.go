package pipeline

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

// ConfigJSON returns the canonical JSON of a resolved stage config and its
// digest, "sha256:…" over the kind name and that JSON. encoding/json writes
// struct fields in declaration order and map keys sorted, so equal configs
// give equal digests; Refs encode as their ids. This is the config part of a
// stage's cache key.
func ConfigJSON(uses string, cfg any) (json.RawMessage, string, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("config of kind %s is not JSON-encodable: %w", uses, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", uses)
	h.Write(b)
	return b, fmt.Sprintf("sha256:%x", h.Sum(nil)), nil
}
