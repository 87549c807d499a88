package eval

import (
	"context"
	"strconv"
	"testing"
)

func TestSpeedSharedModel(t *testing.T) {
	m, _ := loadShared(t, "tiny-llama")
	res, err := Speed(context.Background(), m, SpeedOptions{Batch: 2, SeqLen: 64, Warmup: 1, Repeats: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Batch != 2 || res.SeqLen != 64 || !(res.TokensPerSec > 0) || !(res.LatencyMS > 0) {
		t.Errorf("result %+v", res)
	}
}

// BenchmarkTextTinyLlama measures the text protocol's throughput: 64
// windows of 128 tokens per iteration.
func BenchmarkTextTinyLlama(b *testing.B) {
	m, _ := loadShared(b, "tiny-llama")
	tokens := randomTokens(64*128+1, 256, 1)
	for _, batch := range []int{1, 4, 16} {
		b.Run("batch"+strconv.Itoa(batch), func(b *testing.B) {
			for b.Loop() {
				if _, err := Text(context.Background(), m, tokens, TextOptions{SeqLen: 128, Batch: batch}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(64*128*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
