package eval

import (
	"math"
	"testing"
)

func TestRelative(t *testing.T) {
	base := Metrics{"perplexity": 6, "accuracy": 0.48, "acc": 0.30, "params_nonzero": 1000, "bytes_on_disk": 4000, "tokens_per_sec": 500}
	cur := Metrics{"perplexity": 9, "accuracy": 0.40, "acc": 0.27, "params_nonzero": 400, "bytes_on_disk": 4000, "tokens_per_sec": 750}
	got := Relative(base, cur)
	want := Metrics{"acc_drop": 0.03, "ppl_ratio": 1.5, "size_ratio": 0.4, "compression": 2.5, "disk_ratio": 1, "speedup": 1.5}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, w := range want {
		if math.Abs(got[k]-w) > 1e-12 {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	// Without multiple-choice acc on both sides, acc_drop uses next-token accuracy.
	got = Relative(Metrics{"accuracy": 0.5, "acc": 0.3}, Metrics{"accuracy": 0.45})
	if math.Abs(got["acc_drop"]-0.05) > 1e-12 || len(got) != 1 {
		t.Errorf("got %v, want acc_drop 0.05 only", got)
	}
	// Zero denominators and missing inputs are left out.
	if got := Relative(Metrics{"perplexity": 0, "params_nonzero": 0}, Metrics{"perplexity": 3, "params_nonzero": 5}); len(got) != 0 {
		t.Errorf("got %v, want nothing", got)
	}
}

func TestResultMetrics(t *testing.T) {
	tm := TextResult{Perplexity: 5.9, Accuracy: 0.48, Tokens: 128}.Metrics()
	cm := ChoiceResult{Acc: 0.25, AccNorm: 0.3, Tokens: 12}.Metrics()
	if tm[MetricPerplexity] != 5.9 || tm[MetricAccuracy] != 0.48 || tm[MetricTokens] != 128 ||
		cm[MetricAcc] != 0.25 || cm[MetricAccNorm] != 0.3 || cm[MetricTokens] != 12 {
		t.Errorf("text %v, choice %v", tm, cm)
	}
}
