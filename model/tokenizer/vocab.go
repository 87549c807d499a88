package tokenizer

import "fmt"

// buildVocab fills the id tables from the model vocabulary and the added
// tokens, and builds the added-token matchers. An added token that is also a
// vocabulary entry takes the vocabulary's id, as in Hugging Face.
func (t *Tokenizer) buildVocab(added []addedToken) error {
	size := 0
	for _, id := range t.model.vocabulary() {
		size = max(size, int(id)+1)
	}
	var keep []*addedToken
	for i := range added {
		a := &added[i]
		if a.Content == "" {
			continue // Hugging Face ignores empty added tokens
		}
		if id, ok := t.model.vocabulary()[a.Content]; ok {
			a.ID = id
		} else if a.ID < 0 || a.ID >= maxID {
			return fmt.Errorf("added_tokens[%d] %q: id %d outside [0, %d)", i, a.Content, a.ID, maxID)
		}
		if prev, ok := t.added[a.Content]; ok && prev != a.ID {
			return fmt.Errorf("added_tokens[%d] %q: listed twice, with ids %d and %d", i, a.Content, prev, a.ID)
		}
		t.added[a.Content] = a.ID
		size = max(size, int(a.ID)+1)
		keep = append(keep, a)
	}
	t.tokens, t.kinds = make([]string, size), make([]uint8, size)
	for tok, id := range t.model.vocabulary() {
		// Two strings with one id would make decoding ambiguous; keep the
		// smaller so that the choice does not depend on map order.
		if t.kinds[id] == kindNone || tok < t.tokens[id] {
			t.tokens[id], t.kinds[id] = tok, kindModel
		}
	}
	var rawPat, normPat []string
	var rawTok, normTok []*addedToken
	for _, a := range keep {
		if t.kinds[a.ID] == kindModel && t.tokens[a.ID] != a.Content {
			return fmt.Errorf("added token %q has id %d, which the vocab gives to %q", a.Content, a.ID, t.tokens[a.ID])
		}
		t.tokens[a.ID], t.kinds[a.ID] = a.Content, kindAdded
		if a.Special {
			t.kinds[a.ID] = kindSpecial
		}
		if !a.Normalized {
			rawPat, rawTok = append(rawPat, a.Content), append(rawTok, a)
			continue
		}
		pat := a.Content // matched against normalized text, so normalized too
		if t.norm != nil {
			pat = t.norm.normalize(pat)
		}
		if pat != "" {
			normPat, normTok = append(normPat, pat), append(normTok, a)
		}
	}
	t.raw, t.normalized = newAddedMatcher(rawPat, rawTok), newAddedMatcher(normPat, normTok)
	return nil
}

// findBOSEOS guesses the BOS and EOS tokens; see (*Tokenizer).BOS.
func (t *Tokenizer) findBOSEOS() {
	if len(t.post.prefix) == 1 && t.kind(t.post.prefix[0]) == kindSpecial {
		t.bos = t.post.prefix[0]
	} else {
		t.bos = t.specialNamed("<s>", "<|begin_of_text|>", "<|startoftext|>", "<|endoftext|>")
	}
	t.eos = t.specialNamed("</s>", "<|end_of_text|>", "<|endoftext|>")
}

func (t *Tokenizer) specialNamed(names ...string) int32 {
	for _, n := range names {
		if id, ok := t.added[n]; ok && t.kind(id) == kindSpecial {
			return id
		}
	}
	return -1
}
