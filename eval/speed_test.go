package eval

import (
	"context"
	"runtime"
	"testing"
)

func TestMeasureSpeed(t *testing.T) {
	m := prefixLM{v: 7, maxPos: 32}
	res, err := measureSpeed(context.Background(), m, SpeedOptions{Batch: 2, Warmup: 1, Repeats: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Batch != 2 || res.SeqLen != 32 || res.Repeats != 5 || res.Warmup != 1 || res.GOMAXPROCS != runtime.GOMAXPROCS(0) || res.CPU == "" {
		t.Errorf("result %+v", res)
	}
	if !(res.LatencyMinMS <= res.LatencyMS && res.LatencyMS <= res.LatencyMaxMS && res.LatencyMinMS > 0) {
		t.Errorf("latencies min %v median %v max %v", res.LatencyMinMS, res.LatencyMS, res.LatencyMaxMS)
	}
	if want := 64 / (res.LatencyMS / 1e3); res.TokensPerSec != want {
		t.Errorf("tokens/s %v, want %v", res.TokensPerSec, want)
	}
	if _, err := measureSpeed(context.Background(), m, SpeedOptions{SeqLen: 33}); err == nil {
		t.Error("seq_len beyond the model's positions gave no error")
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{1, 2, 10}); m != 2 {
		t.Errorf("median of 1 2 10 = %v", m)
	}
	if m := median([]float64{1, 2, 3, 10}); m != 2.5 {
		t.Errorf("median of 1 2 3 10 = %v", m)
	}
}
