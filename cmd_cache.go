package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"

	"lopper/model/tensor"
	"lopper/pipeline"
)

func init() {
	register(command{
		name:    "cache",
		args:    "(gc --keep-last N [--dry-run] | verify) (RECIPE | --cache-dir DIR)",
		summary: "stage cache upkeep: gc keeps what the last N runs used, verify reads every entry back",
		help: "gc removes every entry and artifact that the last N runs using the cache did not use\n" +
			"(refused while a run uses the cache); verify decodes everything and checks its digest.\n" +
			"Exit codes: 0 ok, 1 damaged entries (verify) or an I/O error, 2 bad usage.",
		example: "lopper cache gc --keep-last 5 recipes/quickstart.yaml\nlopper cache gc --keep-last 0 --dry-run --cache-dir .lopper/cache\n" +
			"lopper cache verify recipes/quickstart.yaml",
		run: runCache,
	})
}

func runCache(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("cache")
	keep := fs.Int("keep-last", -1, "gc, required: keep the entries (and their artifacts) used by the last `N` runs that used the cache, remove the rest; 0 empties it")
	dry := fs.Bool("dry-run", false, "gc: only say what would be removed")
	dir := fs.String("cache-dir", "", "the cache `DIR` (default: .lopper/cache next to RECIPE)")
	if len(args) == 0 || (args[0] != "gc" && args[0] != "verify") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			a.commandHelp(a.stdout, fs)
			return exitOK
		}
		fmt.Fprintln(a.stderr, "lopper cache: want a subcommand, gc or verify")
		fs.Usage()
		return exitUsage
	}
	sub := args[0]
	pos, code, ok := a.parse(fs, args[1:])
	if !ok {
		return code
	}
	switch {
	case sub == "gc" && *keep < 0:
		fmt.Fprintln(a.stderr, "lopper cache gc: --keep-last N is required (N ≥ 0)")
		return exitUsage
	case sub == "verify" && (flagSet(fs, "keep-last") || *dry):
		fmt.Fprintln(a.stderr, "lopper cache verify: --keep-last and --dry-run are gc's flags")
		return exitUsage
	case len(pos) > 1 || (len(pos) == 1) == (*dir != ""):
		fmt.Fprintf(a.stderr, "lopper cache %s: give a RECIPE (its cache is .lopper/cache next to it) or --cache-dir DIR\n", sub)
		return exitUsage
	case len(pos) == 1:
		*dir = pipeline.DefaultCacheDir(pos[0])
	}
	if _, err := os.Stat(*dir); err != nil {
		fmt.Fprintf(a.stderr, "lopper cache %s: %v\n", sub, err)
		return exitUsage
	}
	c, err := pipeline.OpenCache(*dir)
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper cache %s: %v\n", sub, err)
		return exitFailed
	}
	if sub == "verify" {
		return a.verifyCache(ctx, c)
	}
	rep, err := c.GC(pipeline.GCOptions{KeepLast: *keep, DryRun: *dry})
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper cache gc: %v\n", err)
		return exitFailed
	}
	writeGCReport(a.stdout, c.Dir(), rep, *dry)
	return exitOK
}

// verifyCache reads every entry and artifact of c back; exit 1 when any
// is damaged (runs recompute those; gc removes damaged entries).
func (a *app) verifyCache(ctx context.Context, c *pipeline.Cache) int {
	rep, err := c.Verify(ctx, newRegistry())
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper cache verify: %v\n", err)
		return exitFailed
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(a.stdout, "damaged: %s\n", p)
	}
	fmt.Fprintf(a.stdout, "%s: %d entries, %d artifacts, %d run logs, %d damaged\n", c.Dir(), rep.Entries, rep.Objects, rep.Runs, len(rep.Problems))
	if len(rep.Problems) > 0 {
		return exitFailed
	}
	return exitOK
}

func writeGCReport(w io.Writer, dir string, r *pipeline.GCReport, dry bool) {
	verb := "removed"
	if dry {
		verb = "would remove"
	}
	fmt.Fprintf(w, "%s: %s %d of %d runs' logs, %d of %d entries, %d of %d artifacts, %d temporary leftovers (%.1f MB)\n",
		dir, verb, r.RunsRemoved, r.Runs, r.EntriesRemoved, r.Entries, r.ObjectsRemoved, r.Objects, r.TempRemoved, float64(r.BytesRemoved)/1e6)
	for _, p := range r.Unknown {
		fmt.Fprintf(w, "left alone: %s (not a file of the cache)\n", p)
	}
}

// buildID identifies this program in cache keys and lockfiles: its
// version, and for development versions also a digest of the executable,
// since code changes without a version bump must not reuse results.
var buildID = sync.OnceValue(func() string {
	if !strings.Contains(version, "dev") {
		return version
	}
	exe, err := os.Executable()
	if err != nil {
		return version + "+unknown-executable"
	}
	d, err := pipeline.FileDigest(exe)
	if err != nil {
		return version + "+unknown-executable"
	}
	return version + "+" + strings.TrimPrefix(d, "sha256:")[:12]
})

// numericsID fingerprints this machine's float arithmetic as lopper's
// kernels do it: the bits of a few products, norms, activations and an
// attention on fixed inputs. The AVX-512 and AVX2 kernels give the same
// bits, the portable Go kernels do not (see the README's "Determinism"), so
// results computed with one are never reused with another; machines whose
// kernels agree share the fingerprint, whatever their vector extensions.
var numericsID = sync.OnceValue(func() string {
	h := sha256.New()
	put := func(xs ...[]float32) {
		for _, x := range xs {
			for _, v := range x {
				h.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
			}
		}
	}
	seed := uint32(12345)
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			seed = seed*1664525 + 1013904223
			x[i] = float32(int32(seed>>8)-1<<23) / (1 << 23)
		}
		return x
	}
	const m, n, k = 9, 33, 300 // k crosses a GEMM k block; m and n leave edge tiles
	a, b, c := fill(m*k), fill(n*k), make([]float32, m*n)
	tensor.MatMulNT(c, a, b, m, n, k, false)
	put(c)
	x, w, g := fill(4*40), fill(40), fill(4*40)
	out, stat, mean := make([]float32, 4*40), make([]float32, 4), make([]float32, 4)
	tensor.RMSNorm(out, stat, x, w, 4, 40, 1e-5)
	put(out, stat)
	tensor.LayerNorm(out, mean, stat, x, w, w, 4, 40, 1e-5)
	put(out, mean, stat)
	for _, act := range []func(out, x []float32){tensor.GELU, tensor.GELUTanh} {
		act(out, x)
		put(out)
	}
	tensor.SwiGLU(out, x, g)
	put(out)
	s := fill(77)
	tensor.SoftmaxInPlace(s)
	put(s, []float32{tensor.Dot(x, g)})
	const T, hd = 5, 8
	q, kk, v, y, p := fill(T*hd), fill(T*hd), fill(T*hd), make([]float32, T*hd), make([]float32, T*T)
	tensor.CausalAttention(tensor.Mat{Data: y, Stride: hd}, tensor.Mat{Data: q, Stride: hd}, tensor.Mat{Data: kk, Stride: hd},
		tensor.Mat{Data: v, Stride: hd}, p, T, hd, 0.35)
	put(y)
	return runtime.GOARCH + ":" + hex.EncodeToString(h.Sum(nil))[:12]
})
