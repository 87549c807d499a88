package model

import (
	"strings"
	"testing"
)

// bos_token_id and eos_token_id: an id, a list (the first is the token),
// null or absent (none); out-of-range or non-integer values are errors
// naming the field. They survive MarshalHF.
func TestConfigSpecialTokens(t *testing.T) {
	base := `{"model_type":"llama","hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":4,"vocab_size":50`
	for _, tc := range []struct {
		fields         string
		bos, eos       int32
		hasBOS, hasEOS bool
	}{
		{``, 0, 0, false, false},
		{`,"bos_token_id":1,"eos_token_id":2`, 1, 2, true, true},
		{`,"bos_token_id":null,"eos_token_id":[7,3]`, 0, 7, false, true},
		{`,"bos_token_id":0`, 0, 0, true, false},
		{`,"eos_token_id":49.0`, 0, 49, false, true},
	} {
		c, err := ParseConfig([]byte(base + tc.fields + `}`))
		if err != nil {
			t.Fatalf("%s: %v", tc.fields, err)
		}
		bos, hasBOS := c.BOSToken()
		eos, hasEOS := c.EOSToken()
		if bos != tc.bos || hasBOS != tc.hasBOS || eos != tc.eos || hasEOS != tc.hasEOS {
			t.Errorf("%s: BOS %d %v, EOS %d %v", tc.fields, bos, hasBOS, eos, hasEOS)
		}
		back, _ := reparse(t, &c)
		if b2, ok := back.BOSToken(); b2 != bos || ok != hasBOS {
			t.Errorf("%s: BOS after MarshalHF %d %v", tc.fields, b2, ok)
		}
		if e2, ok := back.EOSToken(); e2 != eos || ok != hasEOS {
			t.Errorf("%s: EOS after MarshalHF %d %v", tc.fields, e2, ok)
		}
	}
	for fields, want := range map[string]string{
		`,"bos_token_id":50`:      `"bos_token_id" = 50: outside the vocabulary of 50`,
		`,"eos_token_id":-1`:      `"eos_token_id" = -1: outside the vocabulary of 50`,
		`,"eos_token_id":[1,"x"]`: `"eos_token_id" = [1,"x"]: want a token id or a list of them`,
		`,"bos_token_id":1.5`:     `"bos_token_id" = 1.5: want a token id or a list of them`,
		`,"eos_token_id":[]`:      `"eos_token_id" = []: want a token id or a list of them`,
	} {
		if _, err := ParseConfig([]byte(base + fields + `}`)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", fields, err, want)
		}
	}
	if _, ok := (&Config{}).BOSToken(); ok {
		t.Error("a Config not read from config.json has a BOS token")
	}
}
