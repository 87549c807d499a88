#!/usr/bin/env python3
"""PyTorch side of lopper's transformer block benchmarks (BENCHMARKS.md).

Times the blocks of model/bench_test.go, forward and forward+backward, on
the same shapes and with the same FLOP count (blockFlops: the linear layers
and the causal half of QKᵀ and PV, backward counted as twice the forward):

- gpt2: GPT-2 small's block (hidden 768, 12 heads of 64, MLP 3072,
  gelu_new), written as Hugging Face's GPT2Block computes it (fused c_attn,
  masked softmax; PyTorch 1.13 has no fused attention).
- llama: hidden 768, 12 query heads of 64 sharing 4 kv heads, SwiGLU MLP
  2048, RoPE, RMSNorm, written as Hugging Face's LlamaDecoderLayer computes
  it (separate q/k/v and gate/up projections, repeat_kv).

Prints one line per case: milliseconds per pass (mean over --iters passes),
GFLOP/s and tokens/s. By default it uses torch.set_num_threads(2) and the
wall clock, like `go test -bench 'GPT2Block|LlamaBlock'`. With --one-core it
runs on one thread and measures that thread's CPU time, like
BenchmarkBlockOneCore, which other load on the machine barely disturbs.

Usage: /usr/bin/python3 scripts/bench_block.py [--one-core] [--iters 10]
OpenBLAS picks its kernels by CPU; OPENBLAS_CORETYPE overrides that (this
workplace sets it to Haswell). bench_block_compare.py runs this and the Go
benchmarks in alternating rounds.
"""

import argparse
import math
import os
import sys
import time

# Debian's torch runs its own OpenMP threads beside OpenBLAS's pthreads;
# spinning OpenMP threads then fight OpenBLAS for the cores, which under
# other load made the two-thread block 3-5x slower here. bench_block_compare.py
# runs both policies and keeps PyTorch's better number.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
if "--one-core" in sys.argv:
    # OpenBLAS keeps its own thread pool, which torch.set_num_threads does
    # not size: limit it before torch loads it.
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    os.environ["OMP_NUM_THREADS"] = "1"

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

H, NH, HD = 768, 12, 64
GPT2_I = 3072
LLAMA_KV, LLAMA_I = 4, 2048
SHAPES = ((4, 128), (1, 512))


def causal_attention(q, k, v):
    """q, k, v: [B, heads, T, HD] -> [B, T, heads·HD], as GPT2Attention."""
    B, _, T, _ = q.shape
    w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(HD)
    w = w.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
    y = torch.matmul(F.softmax(w, dim=-1), v)
    return y.transpose(1, 2).reshape(B, T, -1)


def gpt2_block(x, p, _rope):
    B, T, _ = x.shape
    h = F.layer_norm(x, (H,), p["ln1w"], p["ln1b"], 1e-5)
    q, k, v = F.linear(h, p["attn"], p["attnb"]).split(H, dim=2)
    heads = lambda t: t.view(B, T, NH, HD).transpose(1, 2)
    y = causal_attention(heads(q), heads(k), heads(v))
    x = x + F.linear(y, p["proj"], p["projb"])
    h = F.layer_norm(x, (H,), p["ln2w"], p["ln2b"], 1e-5)
    u = F.linear(h, p["fc"], p["fcb"])
    u = 0.5 * u * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (u + 0.044715 * torch.pow(u, 3.0))))
    return x + F.linear(u, p["out"], p["outb"])


def gpt2_params():
    shapes = {"attn": (3 * H, H), "proj": (H, H), "fc": (GPT2_I, H), "out": (H, GPT2_I)}
    p = {k: torch.randn(*s) * 0.02 for k, s in shapes.items()}
    for k in ("attn", "proj", "fc", "out"):
        p[k + "b"] = torch.zeros(shapes[k][0])
    for k in ("ln1", "ln2"):
        p[k + "w"], p[k + "b"] = torch.ones(H), torch.zeros(H)
    return p


def rms_norm(x, w, eps=1e-5):
    """LlamaRMSNorm."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_tables(T, theta=10000.0):
    inv = 1.0 / theta ** (torch.arange(0, HD, 2).float() / HD)
    ang = torch.outer(torch.arange(T).float(), inv)
    emb = torch.cat((ang, ang), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    return torch.cat((-x[..., HD // 2:], x[..., : HD // 2]), dim=-1)


def llama_block(x, p, rope):
    B, T, _ = x.shape
    cos, sin = rope
    h = rms_norm(x, p["n1"])
    q = F.linear(h, p["q"]).view(B, T, NH, HD).transpose(1, 2)
    k = F.linear(h, p["k"]).view(B, T, LLAMA_KV, HD).transpose(1, 2)
    v = F.linear(h, p["v"]).view(B, T, LLAMA_KV, HD).transpose(1, 2)
    q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
    rep = NH // LLAMA_KV  # repeat_kv
    k = k[:, :, None].expand(B, LLAMA_KV, rep, T, HD).reshape(B, NH, T, HD)
    v = v[:, :, None].expand(B, LLAMA_KV, rep, T, HD).reshape(B, NH, T, HD)
    x = x + F.linear(causal_attention(q, k, v), p["o"])
    h = rms_norm(x, p["n2"])
    return x + F.linear(F.silu(F.linear(h, p["gate"])) * F.linear(h, p["up"]), p["down"])


def llama_params():
    shapes = {"q": (H, H), "k": (LLAMA_KV * HD, H), "v": (LLAMA_KV * HD, H), "o": (H, H),
              "gate": (LLAMA_I, H), "up": (LLAMA_I, H), "down": (H, LLAMA_I)}
    p = {k: torch.randn(*s) * 0.02 for k, s in shapes.items()}
    p["n1"], p["n2"] = torch.ones(H), torch.ones(H)
    return p


def block_flops(name, B, T):
    """blockFlops in model/bench_test.go: one forward pass."""
    n = B * T
    if name == "gpt2":
        linear = 4 * H * H + 2 * H * GPT2_I
    else:
        linear = 2 * H * H + 2 * H * LLAMA_KV * HD + 3 * H * LLAMA_I
    causal = B * NH * (T * (T + 1) // 2) * HD
    return 2 * n * linear + 2 * 2 * causal


BLOCKS = {"gpt2": (gpt2_block, gpt2_params), "llama": (llama_block, llama_params)}


def mean_seconds(fn, iters, clock):
    for _ in range(2):
        fn()
    t = clock()
    for _ in range(iters):
        fn()
    return (clock() - t) / iters


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--one-core", action="store_true", help="one thread, thread CPU time")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--blocks", default="gpt2,llama")
    args = ap.parse_args()
    clock = time.thread_time if args.one_core else time.perf_counter
    torch.set_num_threads(1 if args.one_core else 2)
    torch.manual_seed(0)
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}, clock {clock.__name__}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    for name in args.blocks.split(","):
        block, params = BLOCKS[name]
        p = params()
        for B, T in SHAPES:
            flops = block_flops(name, B, T)
            rope = rope_tables(T)
            x, g = torch.randn(B, T, H), torch.randn(B, T, H)
            with torch.no_grad():
                f = mean_seconds(lambda: block(x, p, rope), args.iters, clock)
            pg = {k: v.clone().requires_grad_() for k, v in p.items()}
            fb = mean_seconds(lambda: torch.autograd.backward(block(x, pg, rope), g), args.iters, clock)
            for pas, sec, fl in (("forward", f, flops), ("forward+backward", fb, 3 * flops)):
                print(f"{name}/{pas}/B{B}xT{T} {sec * 1e3:.2f} ms {fl / sec / 1e9:.1f} GFLOP/s "
                      f"{B * T / sec:.0f} tokens/s")


if __name__ == "__main__":
    main()
