package eval

import (
	"context"
	"math"
	"testing"
)

// Every entry point that takes a model refuses NaN or ±Inf weights first,
// naming the tensor, instead of blaming the text for non-finite logits.
func TestNonFiniteWeightsRefused(t *testing.T) {
	m, _ := loadShared(t, "tiny-llama")
	const name = "model.layers.1.mlp.down_proj.weight"
	w := m.Param(name)
	w[7], w[9] = float32(math.NaN()), float32(math.Inf(-1))
	tf := &TaskFile{Tasks: []Task{{Context: "ROMEO:", Choices: []string{" a", " b"}}}}
	tokens := make([]int32, 300)
	ctx := context.Background()
	for what, run := range map[string]func() error{
		"Text":    func() error { _, err := Text(ctx, m, tokens, TextOptions{}); return err },
		"Choices": func() error { _, err := Choices(ctx, m, tf, ChoiceOptions{}); return err },
		"Speed":   func() error { _, err := Speed(ctx, m, SpeedOptions{Repeats: 1, Warmup: 1}); return err },
	} {
		err := run()
		want := `the model's weights are not finite: tensor "` + name + `": element 7 (of shape [64 192], [out, in] order) is NaN (2 of its 12288 weights are not finite)`
		if err == nil || err.Error() != want {
			t.Errorf("%s: error %v\nwant %s", what, err, want)
		}
	}
}
