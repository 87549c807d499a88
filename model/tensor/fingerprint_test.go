package tensor

import (
	"regexp"
	"testing"
)

// The fingerprint names the architecture and the kernels' bits: the two
// assembly GEMM kernels share it, the portable one (which rounds without
// FMA) does not, so the stage cache keeps their results apart.
func TestFingerprintSeparatesKernelsThatRoundDifferently(t *testing.T) {
	fp := Fingerprint()
	if !regexp.MustCompile(`^[a-z0-9]+:[0-9a-f]{12}$`).MatchString(fp) || fp != fingerprint() {
		t.Fatalf("Fingerprint() = %q, fingerprint() = %q", fp, fingerprint())
	}
	ks := archKernels()
	if len(ks) == 0 {
		t.Skip("no assembly kernels on this machine")
	}
	var got []string
	for _, k := range append(ks, goKernel) {
		withKernel(k, func() { got = append(got, fingerprint()) })
	}
	for i := 1; i < len(ks); i++ {
		if got[i] != got[0] {
			t.Errorf("%s gives %s, %s gives %s", ks[i].name, got[i], ks[0].name, got[0])
		}
	}
	if got[len(ks)] == got[0] {
		t.Errorf("the portable kernel shares the fingerprint %s", got[0])
	}
}
