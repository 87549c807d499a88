package eval

import (
	"encoding/json"
	"testing"

	"lopper/model"
	"lopper/model/tokenizer"
)

// An empty context starts from the BOS token, else EOS; config.json's
// bos_token_id / eos_token_id win over the tokenizer's guesses by name.
func TestPrefixTokenPrecedence(t *testing.T) {
	tok := func(specials ...string) *tokenizer.Tokenizer {
		vocab := map[string]int{"a": 0, "<s>": 1, "</s>": 2, "x": 3, "y": 4}
		var added []map[string]any
		for _, s := range specials {
			added = append(added, map[string]any{"id": vocab[s], "content": s, "special": true})
		}
		b, err := json.Marshal(map[string]any{"model": map[string]any{"type": "BPE", "vocab": vocab, "merges": []any{}}, "added_tokens": added})
		if err != nil {
			t.Fatal(err)
		}
		tk, err := tokenizer.FromJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	cfg := func(fields string) *model.Config {
		c, err := model.ParseConfig([]byte(`{"model_type":"llama","hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":1,"vocab_size":5` + fields + `}`))
		if err != nil {
			t.Fatal(err)
		}
		return &c
	}
	for _, c := range []struct {
		name   string
		enc    tokenizerEncoder
		want   int32
		wantOK bool
	}{
		{"tokenizer BOS", tokenizerEncoder{tok("<s>", "</s>"), cfg(``)}, 1, true},
		{"config BOS wins", tokenizerEncoder{tok("<s>", "</s>"), cfg(`,"bos_token_id":3`)}, 3, true},
		{"tokenizer BOS before config EOS", tokenizerEncoder{tok("<s>", "</s>"), cfg(`,"eos_token_id":4`)}, 1, true},
		{"config EOS without any BOS", tokenizerEncoder{tok("</s>"), cfg(`,"bos_token_id":null,"eos_token_id":[4,2]`)}, 4, true},
		{"tokenizer EOS", tokenizerEncoder{tok("</s>"), cfg(``)}, 2, true},
		{"none", tokenizerEncoder{tok(), cfg(``)}, 0, false},
	} {
		if got, ok := c.enc.prefix(); got != c.want || ok != c.wantOK {
			t.Errorf("%s: prefix %d %v, want %d %v", c.name, got, ok, c.want, c.wantOK)
		}
	}
}
