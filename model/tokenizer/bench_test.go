package tokenizer

import (
	"testing"

	"lopper/internal/sharedtest"
)

// Measured on the 2-vCPU Zen 4 development machine (one goroutine), 512 KB of
// WikiText-2: GPT-2 ~50-70 MB/s (~12-16 M tokens/s) with a warm word cache,
// ~32 MB/s cold; Llama 2 ~6.5 MB/s (the whole text is one word); GPT-2 decode
// ~85 MB/s; loading the GPT-2 tokenizer.json ~60 ms.

// wikiText returns the first n bytes of WikiText-2's test split.
func wikiText(b *testing.B, n int) string {
	data := sharedtest.Read(b, "data", "wikitext2", "wiki.test.raw")
	return string(data[:min(n, len(data))])
}

// benchmarkEncode encodes text repeatedly and reports tokens/s; with cold,
// every iteration starts with an empty word cache.
func benchmarkEncode(b *testing.B, tok *Tokenizer, text string, cold bool) {
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	tokens := 0
	for b.Loop() {
		if cold {
			b.StopTimer()
			tok.model.(*bpe).cache = newWordCache(wordCacheCapacity)
			b.StartTimer()
		}
		tokens += len(tok.Encode(text))
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkEncodeGPT2Wiki(b *testing.B) {
	tok := sharedTokenizer(b, "tokenizers/gpt2/tokenizer.json")
	text := wikiText(b, 512<<10)
	b.Run("warm", func(b *testing.B) { benchmarkEncode(b, tok, text, false) })
	b.Run("cold", func(b *testing.B) { benchmarkEncode(b, tok, text, true) })
}

// BenchmarkEncodeLlama2Wiki: without a pre-tokenizer the whole text is a
// single word, so this measures the merge queue on a 512 KB word.
func BenchmarkEncodeLlama2Wiki(b *testing.B) {
	tok := sharedTokenizer(b, "tokenizers/llama2/tokenizer.json")
	benchmarkEncode(b, tok, wikiText(b, 512<<10), false)
}

func BenchmarkDecodeGPT2Wiki(b *testing.B) {
	tok := sharedTokenizer(b, "tokenizers/gpt2/tokenizer.json")
	text := wikiText(b, 512<<10)
	ids := tok.Encode(text)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if tok.Decode(ids) != text {
			b.Fatal("round trip failed")
		}
	}
}

func BenchmarkLoadGPT2(b *testing.B) {
	path := sharedtest.Path(b, "tokenizers", "gpt2", "tokenizer.json")
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}
