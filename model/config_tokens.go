package model

import (
	"encoding/json"
	"fmt"
	"math"
)

// specialTokens are config.json's bos_token_id and eos_token_id.
type specialTokens struct {
	bos, eos       int32
	hasBOS, hasEOS bool
}

// BOSToken returns config.json's bos_token_id: the model's
// beginning-of-sequence token, which takes precedence over what a
// tokenizer guesses from token names. ok is false when the field is absent
// or null (or the Config was not read from a config.json).
func (c *Config) BOSToken() (id int32, ok bool) { return c.tokens.bos, c.tokens.hasBOS }

// EOSToken returns config.json's eos_token_id, the first one when it lists
// several (as instruction-tuned Llama 3 configs do); see BOSToken.
func (c *Config) EOSToken() (id int32, ok bool) { return c.tokens.eos, c.tokens.hasEOS }

// parseSpecialTokens reads bos_token_id and eos_token_id: an id or a
// non-empty list of ids in [0, vocab), or null. They stay in raw, so
// MarshalHF writes them as read.
func parseSpecialTokens(p *fieldParser, c *Config) {
	c.tokens.bos, c.tokens.hasBOS = p.tokenID("bos_token_id", c.Vocab)
	c.tokens.eos, c.tokens.hasEOS = p.tokenID("eos_token_id", c.Vocab)
}

// tokenID reads a token id field (the first id of a list).
func (p *fieldParser) tokenID(key string, vocab int) (int32, bool) {
	if p.err != nil || !p.present(key) {
		return 0, false
	}
	var ids []float64
	if err := json.Unmarshal(p.raw[key], &ids); err != nil {
		var one float64
		if json.Unmarshal(p.raw[key], &one) != nil {
			ids = nil
		} else {
			ids = []float64{one}
		}
	}
	if len(ids) == 0 {
		p.fail(key, p.raw[key], "want a token id or a list of them")
		return 0, false
	}
	for _, f := range ids {
		if f != math.Trunc(f) {
			p.fail(key, p.raw[key], "want a token id or a list of them")
			return 0, false
		}
		if f < 0 || f >= float64(vocab) {
			p.fail(key, p.raw[key], fmt.Sprintf("outside the vocabulary of %d", vocab))
			return 0, false
		}
	}
	return int32(ids[0]), true
}
