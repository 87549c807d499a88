package model

import "fmt"

// UniformPolicy is the one rule for saving a model that Hugging Face cannot
// load from config.json's standard fields (Config.HFCompatible: layers of
// different dims, or a GPT-2 whose heads no longer span n_embd). The save
// stage's `uniform` and lopper prune's --uniform both apply it before they
// call Save; Save itself writes any model lopper can run.
type UniformPolicy string

const (
	// UniformRefuse (the default) refuses such a model, saying why.
	UniformRefuse UniformPolicy = "refuse"
	// UniformKeep writes it anyway, with its real dims in config.json's
	// lopper_dims and hf_compatible: false in lopper.json: lopper loads
	// it, Hugging Face does not.
	UniformKeep UniformPolicy = "keep"
)

// ParseUniformPolicy reads "refuse", "keep" or "" (refuse).
func ParseUniformPolicy(s string) (UniformPolicy, error) {
	switch p := UniformPolicy(s); p {
	case "":
		return UniformRefuse, nil
	case UniformRefuse, UniformKeep:
		return p, nil
	}
	return "", fmt.Errorf("%q is not a policy; want refuse or keep", s)
}

// Check returns nil when a model with config c may be saved under p: it is
// HF-compatible, or p is UniformKeep. Otherwise the error says why Hugging
// Face could not load it; callers add how to opt in, in their own spelling.
func (p UniformPolicy) Check(c *Config) error {
	if p == UniformKeep {
		return nil
	}
	if err := c.HFCompatible(); err != nil {
		//lint:ignore ST1005 the message starts with a name, "Hugging Face"
		return fmt.Errorf("Hugging Face could not load this model: %w", err)
	}
	return nil
}
