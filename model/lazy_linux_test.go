//go:build linux

package model

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// vmRSS is the process's resident set in bytes (/proc/self/status).
func vmRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// Pinning a block of a lazy model adds about its float32 weights to the
// resident set, and unpinning gives them back: the checkpoint's mapped
// pages do not stay resident either.
func TestPinResidentSetFollowsBlocks(t *testing.T) {
	cfg := Config{
		Arch: Llama, ModelType: "llama", Hidden: 512, Vocab: 64, MaxPos: 16, HeadDim: 64,
		Layers:  []LayerDims{{8, 8, 2048}, {8, 8, 2048}, {8, 8, 2048}},
		NormEps: 1e-5, RopeTheta: 10000, Act: SiLU,
	}
	dir := t.TempDir()
	if err := randomModel(t, cfg, 1).Save(dir, SaveOptions{DType: BF16}); err != nil {
		t.Fatal(err)
	}
	m := openLazy(t, dir, LoadOptions{CheckFinite: true})
	blk := m.Layout.BlockTensors(1)
	var block int64
	for _, ti := range blk {
		block += 4 * int64(ti.Size)
	}
	debug.FreeOSMemory()
	before := vmRSS(t)
	if err := m.Pin(t.Context(), blk...); err != nil {
		t.Fatal(err)
	}
	pinned := vmRSS(t)
	m.Unpin(blk...)
	after := vmRSS(t)
	const slack = 4 << 20
	if grew := pinned - before; grew < block-slack || grew > block+slack {
		t.Errorf("pinning a block of %d bytes grew the resident set by %d", block, grew)
	}
	if d := after - before; d > slack {
		t.Errorf("after Unpin the resident set is %d bytes above what it was before Pin", d)
	}
}
