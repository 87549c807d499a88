package memgc

import (
	"os"
	"runtime/debug"
	"testing"
)

// GOGC: Percent for large weights, Go's default below From, the user's
// environment variable always; Tune never raises a lower setting.
func TestForAndTune(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	for _, c := range []struct {
		env     string
		unset   bool
		weights int64
		want    int
	}{
		{unset: true, weights: From, want: Percent},
		{unset: true, weights: From - 1, want: 100},
		{env: "50", weights: From, want: 50},
		{env: "off", weights: From, want: 0},
		{env: "junk", weights: 1, want: 100},
	} {
		if c.unset {
			unsetenv(t)
		} else {
			t.Setenv("GOGC", c.env)
		}
		if got := For(c.weights); got != c.want {
			t.Errorf("GOGC=%q unset=%v, %d bytes: %d, want %d", c.env, c.unset, c.weights, got, c.want)
		}
	}
	unsetenv(t)
	debug.SetGCPercent(100)
	if got := Tune(From); got != Percent || debug.SetGCPercent(Percent) != Percent {
		t.Errorf("Tune(From) = %d", got)
	}
	debug.SetGCPercent(10)
	if got := Tune(From); got != 10 || debug.SetGCPercent(10) != 10 {
		t.Errorf("Tune raised a lower setting: %d", got)
	}
	t.Setenv("GOGC", "300")
	debug.SetGCPercent(100)
	if got := Tune(From); got != 300 || debug.SetGCPercent(100) != 100 {
		t.Errorf("Tune with GOGC set changed the setting: %d", got)
	}
}

// unsetenv removes GOGC for the rest of the test (t.Setenv has set it, so
// it is restored afterwards).
func unsetenv(t *testing.T) {
	t.Helper()
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
}
