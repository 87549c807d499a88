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

// parseMarshal parses the config.json src and renders it again.
func parseMarshal(t *testing.T, src string) (Config, []byte) {
	t.Helper()
	c, err := ParseConfig([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.MarshalHF("")
	if err != nil {
		t.Fatal(err)
	}
	return c, out
}

// reparse renders c and parses the result back.
func reparse(t *testing.T, c *Config) (Config, []byte) {
	t.Helper()
	out, err := c.MarshalHF("")
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseConfig(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return back, out
}
