// Command mkbench writes the checkpoints of lopper's memory benchmarks
// (BENCHMARKS.md, "Memory"): BF16 Llamas with the shapes of released
// models and random weights, a byte-level tokenizer.json, and optionally a
// text to calibrate and evaluate on.
//
//	go run ./tools/mkbench -shape tinyllama-1.1b -out bench/tinyllama
//	go run ./tools/mkbench -shape 25m -out bench/25m -text bench/text.txt
//
// Shapes: tinyllama-1.1b (TinyLlama-1.1B: hidden 2048, 22 layers, 32
// heads, 4 kv heads, intermediate 5632, vocab 32000), llama-3.2-1b
// (hidden 2048, 16 layers, 32/8 heads, intermediate 8192, vocab 128256,
// tied embeddings, llama3 RoPE scaling), 110m (llama2.c's stories110M:
// hidden 768, 12 layers, 12 heads, intermediate 2048, vocab 32000, tied)
// and 25m (hidden 384, 8 layers, 6/2 heads, intermediate 1024, vocab
// 32000, tied). The weights are uniform with standard deviation 0.02 from a
// PCG generator seeded per tensor, RMSNorm weights 1: the same bytes on
// every machine. The model is built in float32 (4 bytes per parameter) and
// written through model.Save, tensor by tensor.
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"

	"lopper/internal/par"
	"lopper/internal/synth"
	"lopper/model"
)

func main() {
	shape := flag.String("shape", "", "checkpoint shape: "+strings.Join(shapeNames(), ", "))
	out := flag.String("out", "", "model directory to write (new, empty, or one mkbench wrote)")
	text := flag.String("text", "", "also write this text file (pseudo-random words) for calibration and evaluation")
	textBytes := flag.Int("text-bytes", 1<<20, "size of -text in bytes")
	seed := flag.Uint64("seed", 1, "weight seed")
	flag.Parse()
	if err := run(*shape, *out, *text, *textBytes, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "mkbench:", err)
		os.Exit(1)
	}
}

func run(shape, out, text string, textBytes int, seed uint64) error {
	if text != "" {
		if err := os.WriteFile(text, Text(textBytes, seed), 0o644); err != nil {
			return err
		}
	}
	if shape == "" && text != "" {
		return nil
	}
	cfgJSON, ok := shapes[shape]
	if !ok {
		return fmt.Errorf("unknown -shape %q (want one of %s)", shape, strings.Join(shapeNames(), ", "))
	}
	if out == "" {
		return fmt.Errorf("-out is required")
	}
	m, err := Build(cfgJSON, seed)
	if err != nil {
		return fmt.Errorf("%s: %w", shape, err)
	}
	meta := fmt.Sprintf(`{"command": "mkbench", "shape": %q, "seed": %d}`, shape, seed)
	if err := m.Save(out, model.SaveOptions{Metadata: []byte(meta)}); err != nil {
		return err
	}
	fmt.Printf("%s: %d parameters, BF16, in %s\n", shape, m.NumParams(), out)
	return nil
}

func shapeNames() []string {
	var n []string
	for k := range shapes {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

// Build returns the model of config.json cfgJSON with random weights (see
// the package doc), BF16 on disk, and a byte-level tokenizer.json.
func Build(cfgJSON string, seed uint64) (*model.Model, error) {
	cfg, err := model.ParseConfig([]byte(cfgJSON))
	if err != nil {
		return nil, err
	}
	m, err := model.New(cfg)
	if err != nil {
		return nil, err
	}
	dt := map[string]model.DType{}
	for _, t := range m.Layout.Tensors {
		dt[t.Name] = model.BF16
	}
	if m.Layout, err = m.Layout.WithDTypes(dt); err != nil {
		return nil, err
	}
	ts := m.Layout.Tensors
	par.For(len(ts), func(i int) {
		w := ts[i].Of(m.W)
		if len(ts[i].Shape) == 1 { // RMSNorm weights
			for j := range w {
				w[j] = 1
			}
			return
		}
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		half := float32(0.02 * math.Sqrt(3)) // uniform on ±half: std 0.02
		for j := range w {
			w[j] = (2*rng.Float32() - 1) * half
		}
	})
	if m.TokenizerJSON, err = synth.ByteLevelTokenizer(); err != nil {
		return nil, err
	}
	return m, nil
}

// Text returns n bytes of lower-case words separated by spaces and
// newlines, drawn with a PCG generator: stand-in calibration and
// evaluation text for byte-level models.
func Text(n int, seed uint64) []byte {
	words := strings.Fields(`the of and to in a is that for it as was with be by on not he this are or his
		from at which but have an they you were her she there one all we their can has more will would been
		model weight layer prune memory token window sparse dense block head train text number small large`)
	rng := rand.New(rand.NewPCG(seed, 0x74657874)) // "text"
	b := make([]byte, 0, n+16)
	for len(b) < n {
		b = append(b, words[rng.IntN(len(words))]...)
		if rng.IntN(12) == 0 {
			b = append(b, '\n')
		} else {
			b = append(b, ' ')
		}
	}
	return b[:n]
}
