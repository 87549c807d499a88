#!/usr/bin/env python3
"""Time a GPT-2-small-shaped block in PyTorch, for comparison with
`go test ./model -run '^$' -bench GPT2Block` (same shapes, same FLOP count).

Hidden 768, 12 heads of 64, MLP 3072, gelu_new, causal attention written as
Hugging Face's GPT2Attention computes it (PyTorch 1.13 has no fused SDPA).
Run on the same machine in the same sitting: /usr/bin/python3 scripts/bench_block.py
"""
import math
import time

import torch
import torch.nn.functional as F

H, NH, HD, I = 768, 12, 64, 3072


def block(x, p):
    B, T, _ = x.shape
    h = F.layer_norm(x, (H,), p["ln1w"], p["ln1b"], 1e-5)
    q, k, v = F.linear(h, p["attn"], p["attnb"]).split(H, dim=2)
    heads = lambda t: t.view(B, T, NH, HD).transpose(1, 2)
    w = torch.matmul(heads(q), heads(k).transpose(-1, -2)) / math.sqrt(HD)
    w = w.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
    y = torch.matmul(F.softmax(w, dim=-1), heads(v)).transpose(1, 2).reshape(B, T, H)
    x = x + F.linear(y, p["proj"], p["projb"])
    h = F.layer_norm(x, (H,), p["ln2w"], p["ln2b"], 1e-5)
    u = F.linear(h, p["fc"], p["fcb"])
    u = 0.5 * u * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (u + 0.044715 * torch.pow(u, 3.0))))
    return x + F.linear(u, p["out"], p["outb"])


def bench(fn, reps=10):
    for _ in range(2):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    shapes = {"attn": (3 * H, H), "proj": (H, H), "fc": (I, H), "out": (H, I)}
    p = {k: (torch.randn(*s) * 0.02).requires_grad_() for k, s in shapes.items()}
    for k in ("attnb", "projb", "fcb", "outb"):
        p[k] = torch.zeros(shapes[k[:-1]][0]).requires_grad_()
    for k in ("ln1", "ln2"):
        p[k + "w"], p[k + "b"] = torch.ones(H).requires_grad_(), torch.zeros(H).requires_grad_()
    for B, T in ((4, 128), (1, 512)):
        n = B * T
        flops = 2 * n * (3 * H * H + H * H + 2 * H * I) + 2 * 2 * B * NH * (T * (T + 1) // 2) * HD
        x = torch.randn(B, T, H)
        with torch.no_grad():
            f = bench(lambda: block(x, p))
        g = torch.randn(B, T, H)
        fb = bench(lambda: torch.autograd.backward(block(x, p), g))
        print(f"torch {torch.__version__} B{B}xT{T}: forward {f * 1e3:.1f} ms ({flops / f / 1e9:.1f} GFLOP/s), "
              f"forward+backward {fb * 1e3:.1f} ms ({3 * flops / fb / 1e9:.1f} GFLOP/s)")


if __name__ == "__main__":
    main()
