#!/usr/bin/env python3
"""PyTorch side of lopper's GEMM benchmarks (see BENCHMARKS.md).

Times C = A·Bᵀ (NT), A·B (NN) and Aᵀ·B (TN) in float32 for the shapes of
BenchmarkMatMul in model/tensor (m×n×k, 2·m·n·k flops per product) with
torch.set_num_threads(2), and prints one line per product with the best
GFLOP/s over --repeats timed runs of --iters products each, the same
statistic as the max over `go test -count` runs.

It then times the elementwise kernels of BenchmarkElem on one thread (ns per
element; lopper's run on the calling goroutine, callers split rows).

With --one-core it runs on one thread and measures that thread's CPU time,
like BenchmarkMatMulOneCore, which other load on the machine barely
disturbs.

Usage: python3 scripts/bench_torch.py [--one-core] [--repeats 5] [--iters 20]
Needs python3-torch (Debian's links the system BLAS: install
libopenblas0-pthread for an optimized one). OpenBLAS picks its kernels by
CPU; OPENBLAS_CORETYPE overrides that (this workplace sets it to Haswell).
"""

import argparse
import os
import sys
import time

if "--one-core" in sys.argv:
    # OpenBLAS keeps its own thread pool, which torch.set_num_threads does
    # not size: limit it before torch loads it.
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    os.environ["OMP_NUM_THREADS"] = "1"

import torch  # noqa: E402

SHAPES = [(512, 768, 768), (512, 768, 3072), (512, 3072, 768), (64, 4096, 4096)]


def operands(orient, m, n, k):
    """Returns a function computing the product, on tensors laid out like
    lopper's: NT A[m,k] B[n,k]; NN A[m,k] B[k,n]; TN A[k,m] B[k,n]."""
    g = torch.Generator().manual_seed(1)
    if orient == "NT":
        a, b = torch.randn(m, k, generator=g), torch.randn(n, k, generator=g)
        return lambda: torch.matmul(a, b.t())
    if orient == "NN":
        a, b = torch.randn(m, k, generator=g), torch.randn(k, n, generator=g)
        return lambda: torch.matmul(a, b)
    a, b = torch.randn(k, m, generator=g), torch.randn(k, n, generator=g)
    return lambda: torch.matmul(a.t(), b)


def best_gflops(f, flops, repeats, iters, clock):
    for _ in range(3):
        f()
    best = 0.0
    for _ in range(repeats):
        t = clock()
        for _ in range(iters):
            f()
        best = max(best, flops * iters / (clock() - t) / 1e9)
    return best


def elementwise(repeats, iters):
    """Yields (name, best ns per element) for BenchmarkElem's cases."""
    F = torch.nn.functional
    g = torch.Generator().manual_seed(2)
    x = torch.randn(512, 3072, generator=g)
    y = torch.randn(512, 3072, generator=g)
    h = torch.randn(2048, 768, generator=g)
    w, b = torch.randn(768, generator=g), torch.randn(768, generator=g)
    cases = [
        ("GELU", x.numel(), lambda: F.gelu(x)),
        ("GELUTanh", x.numel(), lambda: F.gelu(x, approximate="tanh")),
        ("SwiGLU", x.numel(), lambda: F.silu(x) * y),
        ("Softmax512", x.numel(), lambda: torch.softmax(x.view(-1, 512), dim=-1)),
        ("LayerNorm768", h.numel(), lambda: F.layer_norm(h, (768,), w, b, 1e-5)),
    ]
    for name, n, f in cases:
        for _ in range(3):
            f()
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(iters):
                f()
            best = min(best, (time.perf_counter() - t) / iters / n * 1e9)
        yield name, best


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--one-core", action="store_true", help="one thread, thread CPU time")
    args = p.parse_args()
    clock = time.thread_time if args.one_core else time.perf_counter
    torch.set_num_threads(1 if args.one_core else 2)
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"clock {clock.__name__}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    for orient in ("NT", "NN", "TN"):
        for m, n, k in SHAPES:
            g = best_gflops(operands(orient, m, n, k), 2 * m * n * k, args.repeats, args.iters, clock)
            print(f"{orient} {m}x{n}x{k} {g:.1f} GFLOP/s")
    if args.one_core:
        return
    torch.set_num_threads(1)
    for name, ns in elementwise(args.repeats, args.iters):
        print(f"elem {name} {ns:.3f} ns/elem (1 thread)")


if __name__ == "__main__":
    main()
