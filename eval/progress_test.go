package eval

import (
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	var b strings.Builder
	progress, finish := ProgressLine(&b, "windows", time.Hour)
	progress(1, 4) // shown: the first call
	progress(2, 4) // throttled
	progress(4, 4) // shown: the end
	finish()
	want := "\rwindows 1/4 (25%)\033[K\rwindows 4/4 (100%)\033[K\r\033[K"
	if b.String() != want {
		t.Errorf("wrote %q, want %q", b.String(), want)
	}
	var quiet strings.Builder
	_, finish = ProgressLine(&quiet, "x", time.Hour)
	finish()
	if quiet.Len() != 0 {
		t.Errorf("finish without progress wrote %q", quiet.String())
	}
}
