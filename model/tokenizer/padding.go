package tokenizer

import (
	"encoding/json"
	"fmt"
)

// Padding pads a batch of encodings to one length, as Hugging Face's padding
// parameters.
type Padding struct {
	// ID and TypeID fill the ids and the type ids of the padding.
	ID, TypeID int32
	// Length is the length to pad to; 0 means the longest in the batch
	// (Hugging Face's BatchLongest). Longer encodings are left as they are.
	Length int
	// MultipleOf, when above 0, rounds the length up to a multiple of it.
	MultipleOf int
	// Left pads before the tokens instead of after them.
	Left bool
}

// Pad pads every encoding of batch (as EncodeText returns them) in place:
// padding has id p.ID, type id p.TypeID and attention mask 0.
func Pad(batch []Encoding, p Padding) {
	length := p.Length
	if length == 0 {
		for _, e := range batch {
			length = max(length, len(e.IDs))
		}
	}
	if p.MultipleOf > 0 && length%p.MultipleOf != 0 {
		length += p.MultipleOf - length%p.MultipleOf
	}
	for i := range batch {
		e := &batch[i]
		n := length - len(e.IDs)
		if n <= 0 {
			continue
		}
		e.IDs = padded(e.IDs, n, p.ID, p.Left)
		e.TypeIDs = padded(e.TypeIDs, n, p.TypeID, p.Left)
		e.AttentionMask = padded(e.AttentionMask, n, 0, p.Left)
	}
}

// padded returns s with n copies of v before (left) or after it.
func padded(s []int32, n int, v int32, left bool) []int32 {
	out := make([]int32, 0, len(s)+n)
	if !left {
		out = append(out, s...)
	}
	for range n {
		out = append(out, v)
	}
	if left {
		out = append(out, s...)
	}
	return out
}

// PadID returns the padding token: the pad_id of tokenizer.json's padding
// block, else a special token named [PAD] or <pad>. A model's config.json
// pad_token_id is authoritative.
func (t *Tokenizer) PadID() (int32, bool) {
	if t.padID >= 0 {
		return t.padID, true
	}
	id := t.specialNamed("[PAD]", "<pad>")
	return id, id >= 0
}

// parsePadding reads the pad id of tokenizer.json's padding block (-1 for
// null); lopper pads only when asked (see Pad), as transformers does.
func parsePadding(raw json.RawMessage) (int32, error) {
	if isNull(raw) {
		return -1, nil
	}
	var c struct {
		PadID *int32 `json:"pad_id"`
	}
	if err := decodeComponent(raw, "padding", &c); err != nil {
		return 0, err
	}
	if c.PadID == nil {
		return -1, nil
	}
	if *c.PadID < 0 || *c.PadID >= maxID {
		return 0, fmt.Errorf("padding: pad_id %d outside [0, %d)", *c.PadID, maxID)
	}
	return *c.PadID, nil
}
