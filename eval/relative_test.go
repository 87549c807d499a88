package eval

import (
	"math"
	"testing"
)

func TestRelative(t *testing.T) {
	base := Metrics{"perplexity": 6, "accuracy": 0.48, "acc": 0.30, "params_nonzero": 1000, "bytes_on_disk": 4000, "tokens_per_sec": 500}
	cur := Metrics{"perplexity": 9, "accuracy": 0.40, "acc": 0.27, "params_nonzero": 400, "bytes_on_disk": 4000, "tokens_per_sec": 750}
	got := Relative(base, cur)
	want := Metrics{"acc_drop": 0.08, "ppl_ratio": 1.5, "size_ratio": 0.4, "compression": 2.5, "disk_ratio": 1, "speedup": 1.5}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, w := range want {
		if math.Abs(got[k]-w) > 1e-12 {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	// acc_drop reads the headline accuracy only: acc (or acc_norm) alone on
	// both sides gives none.
	if got := Relative(Metrics{"acc": 0.3, "acc_norm": 0.4}, Metrics{"acc": 0.2, "acc_norm": 0.3}); len(got) != 0 {
		t.Errorf("got %v, want nothing without accuracy", got)
	}
	// Zero denominators and missing inputs are left out.
	if got := Relative(Metrics{"perplexity": 0, "params_nonzero": 0}, Metrics{"perplexity": 3, "params_nonzero": 5}); len(got) != 0 {
		t.Errorf("got %v, want nothing", got)
	}
}

// The headline accuracy is next-token accuracy for a text and acc_norm for
// multiple choice, so acc_drop between two multiple-choice results is the
// drop in acc_norm.
func TestResultMetrics(t *testing.T) {
	tm := TextResult{Perplexity: 5.9, Accuracy: 0.48, Tokens: 128}.Metrics()
	cm := ChoiceResult{Acc: 0.25, AccNorm: 0.3, Tokens: 12}.Metrics()
	if tm[MetricPerplexity] != 5.9 || tm[MetricAccuracy] != 0.48 || tm[MetricTokens] != 128 ||
		cm[MetricAcc] != 0.25 || cm[MetricAccNorm] != 0.3 || cm[MetricAccuracy] != 0.3 || cm[MetricTokens] != 12 {
		t.Errorf("text %v, choice %v", tm, cm)
	}
	baseNorm, curNorm := 0.375, 0.3
	base := ChoiceResult{Acc: 0.25, AccNorm: baseNorm}.Metrics()
	if d := Relative(base, cm)[MetricAccDrop]; d != baseNorm-curNorm {
		t.Errorf("acc_drop between choice results %v, want acc_norm's drop %v", d, baseNorm-curNorm)
	}
}
