package pipeline

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"

	"gopkg.in/yaml.v3"
)

// ConfigJSON returns the canonical JSON of a resolved stage config, with the
// same keys as the recipe's with block, and its digest: "sha256:…" over the
// kind name and that JSON. The config goes through its YAML encoding (so no
// json tags are needed, and Refs are their ids), and encoding/json writes
// map keys sorted, so equal configs give equal digests. This is the config
// part of a stage's cache key. Non-finite numbers, which JSON cannot hold,
// are written as "NaN", "+Inf" and "-Inf", as in Metrics.
func ConfigJSON(uses string, cfg any) (json.RawMessage, string, error) {
	y, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("config of kind %s cannot be encoded: %w", uses, err)
	}
	var tree any
	if err := yaml.Unmarshal(y, &tree); err != nil {
		return nil, "", fmt.Errorf("config of kind %s cannot be encoded: %w", uses, err)
	}
	b, err := json.Marshal(finite(tree))
	if err != nil {
		return nil, "", fmt.Errorf("config of kind %s is not JSON-encodable: %w", uses, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", uses)
	h.Write(b)
	return b, fmt.Sprintf("sha256:%x", h.Sum(nil)), nil
}

// finite replaces non-finite floats in a decoded YAML tree with strings.
func finite(v any) any {
	switch x := v.(type) {
	case float64:
		switch {
		case math.IsNaN(x):
			return "NaN"
		case math.IsInf(x, 1):
			return "+Inf"
		case math.IsInf(x, -1):
			return "-Inf"
		}
	case map[string]any:
		for k, e := range x {
			x[k] = finite(e)
		}
	case []any:
		for i, e := range x {
			x[i] = finite(e)
		}
	}
	return v
}
