#!/usr/bin/env python3
"""Compare lopper's transformer block with PyTorch's in one sitting.

Runs, in alternating rounds, the Go block benchmarks (model/bench_test.go:
BenchmarkBlockOneCore, BenchmarkGPT2Block, BenchmarkLlamaBlock) and
bench_block.py in two PyTorch environments:

- "OpenBLAS AVX-512": OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, so
  OpenBLAS picks its SkylakeX kernels (the strongest PyTorch here);
- "default": the environment as given (this workplace sets
  OPENBLAS_CORETYPE=Haswell, AVX2 kernels).

Each round runs the one-core measurements (thread CPU time) and then the
two-thread ones (wall clock), and records the load average. PyTorch's
two-thread runs go once with OMP_WAIT_POLICY=PASSIVE and once ACTIVE. The
table keeps each case's best GFLOP/s over the rounds (and policies), the
statistic BENCHMARKS.md uses.

With --baseline REV the same Go benchmarks of an earlier revision (its tree
exported with `git archive`, nothing checked out) run in every round too,
alternately before and after the current tree's, and the tables get a
column for it and the ratio current/REV: a regression check in one sitting.
--no-torch leaves PyTorch out (the regression check alone).

Usage, from the repository root:
    /usr/bin/python3 scripts/bench_block_compare.py [--rounds 3] [--go-iters 5] [--torch-iters 8]
        [--baseline REV] [--no-torch]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GO_LINE = re.compile(r"^Benchmark(\w+)/(\S+)-\d+\s+\d+\s+\d+ ns/op\s+([\d.]+) GFLOP/s\s+([\d.]+) tokens/s")
TORCH_LINE = re.compile(r"^(\S+) [\d.]+ ms ([\d.]+) GFLOP/s (\d+) tokens/s")
GO_NAMES = {"GPT2Block": "gpt2", "LlamaBlock": "llama"}


def run(cmd, env=None):
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return out.stdout.splitlines()


def go_bench(binary, pattern, iters):
    """Returns {case: GFLOP/s} from a Go benchmark run."""
    res = {}
    for line in run([binary, "-test.run", "^$", "-test.bench", pattern, "-test.benchtime", f"{iters}x"]):
        m = GO_LINE.match(line)
        if not m:
            continue
        bench, case = m.group(1), m.group(2)
        if bench in GO_NAMES:
            case = f"{GO_NAMES[bench]}/{case}"
        res[case] = float(m.group(3))
    return res


def torch_bench(env, one_core, iters, omp_wait="PASSIVE"):
    env = dict(os.environ if env is None else env, OMP_WAIT_POLICY=omp_wait)
    cmd = [sys.executable, os.path.join(HERE, "bench_block.py"), "--iters", str(iters)]
    if one_core:
        cmd.append("--one-core")
    res = {}
    for line in run(cmd, env):
        m = TORCH_LINE.match(line)
        if m:
            res[m.group(1)] = float(m.group(2))
    return res


def keep_best(best, res):
    for k, v in res.items():
        best[k] = max(best.get(k, 0.0), v)


def table(title, lop, avx512, dflt, base=None, rev=""):
    print(f"\n{title}\n")
    torch = bool(avx512 or dflt)
    head, rule = "| block | pass | B×T | lopper |", "|---|---|---|---:|"
    if torch:
        head += " PyTorch OpenBLAS AVX-512 | ratio | PyTorch default | ratio |"
        rule += "---:|---:|---:|---:|"
    if base is not None:
        head += f" lopper {rev} | ratio |"
        rule += "---:|---:|"
    print(head)
    print(rule)
    ratio = lambda a, b: f"{a / b:.2f}" if b else "–"
    for case in sorted(lop, key=lambda c: (c.split("/")[0], c.split("/")[2], c.split("/")[1])):
        blk, pas, shape = case.split("/")
        a, d = avx512.get(case, 0), dflt.get(case, 0)
        line = f"| {blk} | {pas} | {shape[1:].replace('xT', '×')} | {lop[case]:.0f} |"
        if torch:
            line += f" {a:.0f} | {ratio(lop[case], a)} | {d:.0f} | {ratio(lop[case], d)} |"
        if base is not None:
            b = base.get(case, 0)
            line += f" {b:.0f} | {ratio(lop[case], b)} |"
        print(line)


def build_baseline(rev, tmp):
    """Builds the model test binary of revision rev from `git archive` into tmp."""
    src = os.path.join(tmp, "baseline")
    os.makedirs(src)
    archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", src], input=archive, check=True)
    binary = os.path.join(tmp, "baseline.test")
    subprocess.run(["go", "test", "-c", "-o", binary, "./model"], cwd=src, check=True, capture_output=True, text=True)
    return binary


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--go-iters", type=int, default=5)
    ap.add_argument("--torch-iters", type=int, default=8)
    ap.add_argument("--baseline", metavar="REV", help="also run this git revision's Go benchmarks, interleaved")
    ap.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    args = ap.parse_args()
    avx512_env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    with tempfile.TemporaryDirectory() as tmp:
        binary = os.path.join(tmp, "model.test")
        run(["go", "test", "-c", "-o", binary, "./model"])
        binaries = {"lopper": binary}
        if args.baseline:
            binaries["baseline"] = build_baseline(args.baseline, tmp)
        names = ("lopper", "baseline", "avx512", "default")
        one = {n: {} for n in names}
        two = {n: {} for n in names}
        print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {args.rounds} rounds"
              + (f", baseline {args.baseline}" if args.baseline else ""))
        for r in range(args.rounds):
            order = list(binaries) if r % 2 == 0 else list(reversed(binaries))  # alternate which runs first
            load = [os.getloadavg()[0]]
            for name in order:
                keep_best(one[name], go_bench(binaries[name], "^BenchmarkBlockOneCore$", args.go_iters))
            if not args.no_torch:
                keep_best(one["avx512"], torch_bench(avx512_env, True, args.torch_iters))
                keep_best(one["default"], torch_bench(None, True, args.torch_iters))
            load.append(os.getloadavg()[0])
            for name in order:
                keep_best(two[name], go_bench(binaries[name], "^Benchmark(GPT2|Llama)Block$", args.go_iters))
            if not args.no_torch:
                for wait in ("PASSIVE", "ACTIVE"):
                    keep_best(two["avx512"], torch_bench(avx512_env, False, args.torch_iters, wait))
                    keep_best(two["default"], torch_bench(None, False, args.torch_iters, wait))
            load.append(os.getloadavg()[0])
            print(f"# round {r + 1} done {time.strftime('%H:%M:%S', time.gmtime())}, "
                  f"load average {' '.join(f'{x:.1f}' for x in load)}", flush=True)
    base = lambda d: d["baseline"] if args.baseline else None
    table("One core, thread CPU time, GFLOP/s (best of the rounds)", one["lopper"], one["avx512"], one["default"],
          base(one), args.baseline)
    table("Two threads, wall clock, GFLOP/s (best of the rounds)", two["lopper"], two["avx512"], two["default"],
          base(two), args.baseline)


if __name__ == "__main__":
    main()
