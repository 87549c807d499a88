package model

import (
	"fmt"
	"testing"
)

// Every tiny configuration, built as a literal (no config.json read),
// survives MarshalHF and ParseConfig: the families' fields (windows and
// which layers slide, Gemma's scales and softcaps, Phi-3's partial rotary,
// Qwen3's norms, RoPE scalings) are all written.
func TestConfigLiteralsSurviveMarshalHF(t *testing.T) {
	for name, cfg := range tinyConfigs() {
		out, err := cfg.MarshalHF("float32")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		back, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		if got, want := runtimeFields(back), runtimeFields(cfg); got != want {
			t.Errorf("%s: reloaded\n%s\nwant\n%s\nfrom\n%s", name, got, want, out)
		}
	}
}

// runtimeFields renders what a Config computes with (not config.json's
// raw fields nor its special tokens).
func runtimeFields(c Config) string {
	c.raw, c.tokens = nil, specialTokens{}
	if c.ModelType == "" {
		c.ModelType = string(c.Arch)
	}
	return fmt.Sprintf("%+v", c)
}
