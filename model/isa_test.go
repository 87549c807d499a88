package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/cpu"
)

// passesDigest hashes the logits and gradients of a forward and backward
// pass of every tiny configuration over two sequences longer than one
// attention block.
func passesDigest(t *testing.T) string {
	h := sha256.New()
	cfgs := tinyConfigs()
	names := make([]string, 0, len(cfgs))
	for name := range cfgs {
		names = append(names, name)
	}
	sort.Strings(names)
	const B, T = 2, attnBlock + 9
	for _, name := range names {
		cfg := cfgs[name]
		cfg.MaxPos = T + 3 // computeGrads' State is longer than the batch
		m := randomModel(t, cfg, 5)
		rng := rand.New(rand.NewPCG(6, 6))
		randomMask(m, rng, 0.3)
		tokens := randomTokens(rng, B*T, cfg.Vocab)
		grads := computeGrads(t, m, tokens, randomTokens(rng, B*T, cfg.Vocab), B, T)
		st, err := NewInferenceState(m, B, T)
		if err != nil {
			t.Fatal(err)
		}
		logits, err := st.Forward(tokens)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range append(grads, logits...) {
			h.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(x)))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

const isaChildEnv = "LOPPER_TEST_ISA_CHILD"

// Forward and backward passes give the same bits on AVX-512 and AVX2
// machines: the test reruns itself with AVX-512 switched off
// (GODEBUG=cpu.avx512f=off, which the kernels' CPU detection honours) and
// compares digests of the logits and gradients.
func TestPassesSameBitsWithoutAVX512(t *testing.T) {
	if os.Getenv(isaChildEnv) != "" {
		os.Stdout.WriteString("digest " + passesDigest(t) + "\n")
		return
	}
	if runtime.GOARCH != "amd64" || !cpu.X86.HasAVX512F || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("needs a CPU with both AVX-512 and AVX2")
	}
	want := passesDigest(t)
	cmd := exec.Command(os.Args[0], "-test.run", "^TestPassesSameBitsWithoutAVX512$", "-test.count", "1")
	cmd.Env = append(os.Environ(), isaChildEnv+"=1", "GODEBUG=cpu.avx512f=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the AVX2 run failed: %v\n%s", err, out)
	}
	var got string
	for _, line := range strings.Split(string(out), "\n") {
		if d, ok := strings.CutPrefix(line, "digest "); ok {
			got = d
		}
	}
	if got == "" {
		t.Fatalf("the AVX2 run printed no digest:\n%s", out)
	}
	if got != want {
		t.Errorf("logits and gradients differ between AVX-512 (%s) and AVX2 (%s)", want[:16], got[:16])
	}
}
