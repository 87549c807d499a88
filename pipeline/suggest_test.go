package pipeline

import (
	"math/rand/v2"
	"testing"
)

// osaBrute is the optimal-string-alignment distance by plain recursion, an
// independent reference for editDistance.
func osaBrute(a, b []rune) int {
	if len(a) == 0 {
		return len(b)
	}
	if len(b) == 0 {
		return len(a)
	}
	cost := 1
	if a[len(a)-1] == b[len(b)-1] {
		cost = 0
	}
	d := min(osaBrute(a[:len(a)-1], b)+1, osaBrute(a, b[:len(b)-1])+1, osaBrute(a[:len(a)-1], b[:len(b)-1])+cost)
	if len(a) > 1 && len(b) > 1 && a[len(a)-1] == b[len(b)-2] && a[len(a)-2] == b[len(b)-1] {
		d = min(d, osaBrute(a[:len(a)-2], b[:len(b)-2])+1)
	}
	return d
}

func TestEditDistance(t *testing.T) {
	known := []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"abc", "", 3}, {"perplexitty", "perplexity", 1}, {"wiht", "with", 1},
		{"kitten", "sitting", 3}, {"ca", "abc", 3}, {"naïve", "naive", 1},
	}
	for _, k := range known {
		if got := editDistance(k.a, k.b); got != k.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", k.a, k.b, got, k.d)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() []rune {
		r := make([]rune, rng.IntN(7))
		for i := range r {
			r[i] = rune('a' + rng.IntN(3))
		}
		return r
	}
	for range 2000 {
		a, b := word(), word()
		if got, want := editDistance(string(a), string(b)), osaBrute(a, b); got != want {
			t.Fatalf("editDistance(%q, %q) = %d, brute force %d", string(a), string(b), got, want)
		}
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"perplexity", "accuracy", "schedule", "s", "steps"}
	for name, want := range map[string]string{
		"perplexitty": "perplexity", "acuracy": "accuracy", "sched": "schedule",
		"z": "", "loss": "", "stpes": "steps",
	} {
		if got := suggest(name, cands); got != want {
			t.Errorf("suggest(%q) = %q, want %q", name, got, want)
		}
	}
}
