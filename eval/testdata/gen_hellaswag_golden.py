#!/usr/bin/env python3
"""Golden multiple-choice log-likelihoods for eval's tests.

Scores the first TASKS HellaSwag tasks (of those whose continuations fit the model) of ../shared/data/hellaswag/hellaswag_val_200.txt
with ../shared/models/tiny-llama, following lm-evaluation-harness (v0.4) step by step:
continuation = " " + ending; _encode_pair (trailing context whitespace moves to the
continuation; continuation tokens = tokens of the whole string after the context's);
inp = (context_enc + continuation_enc)[-(max_length + 1):][:-1]; the continuation's
log-probabilities are the last len(continuation_enc) rows of log_softmax(logits);
acc = argmax(lls), acc_norm = argmax(lls / len(ending)).

The forward pass is a plain PyTorch Llama written from Hugging Face's formulas
(RMSNorm, rotate_half RoPE, GQA, SwiGLU, tied head), independent of lopper's Go code.
Tokenizer: the model's byte-level tokenizer (token id = byte value).

Run from the repository root: /usr/bin/python3 eval/testdata/gen_hellaswag_golden.py
(PyTorch 1.13). Writes eval/testdata/hellaswag_golden.json.
"""
import json
import os
import struct

import torch

TASKS = 12
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(ROOT, "..", "shared")
MODEL = os.path.join(SHARED, "models", "tiny-llama")
DATA = os.path.join(SHARED, "data", "hellaswag", "hellaswag_val_200.txt")
OUT = os.path.join(ROOT, "eval", "testdata", "hellaswag_golden.json")


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info["dtype"]
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(body[a:b]), dtype=torch.float32)
        out[name] = t.reshape(info["shape"]).double()
    return out


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def llama_logits(cfg, p, tokens):
    """Logits [T, V] in float64 for one sequence."""
    T = len(tokens)
    d, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = d // nh
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    x = p["model.embed_tokens.weight"][torch.tensor(tokens)]
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    for l in range(cfg["num_hidden_layers"]):
        pre = "model.layers.%d." % l
        h = rms_norm(x, p[pre + "input_layernorm.weight"], cfg["rms_norm_eps"])
        q = (h @ p[pre + "self_attn.q_proj.weight"].T).view(T, nh, hd).transpose(0, 1)
        k = (h @ p[pre + "self_attn.k_proj.weight"].T).view(T, nkv, hd).transpose(0, 1)
        v = (h @ p[pre + "self_attn.v_proj.weight"].T).view(T, nkv, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=0)
        v = v.repeat_interleave(nh // nkv, dim=0)
        att = torch.softmax(q @ k.transpose(-1, -2) / hd**0.5 + mask, dim=-1)
        y = (att @ v).transpose(0, 1).reshape(T, d)
        x = x + y @ p[pre + "self_attn.o_proj.weight"].T
        h = rms_norm(x, p[pre + "post_attention_layernorm.weight"], cfg["rms_norm_eps"])
        g = h @ p[pre + "mlp.gate_proj.weight"].T
        u = h @ p[pre + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ p[pre + "mlp.down_proj.weight"].T
    x = rms_norm(x, p["model.norm.weight"], cfg["rms_norm_eps"])
    return x @ p["model.embed_tokens.weight"].T


def tok_encode(s):
    return list(s.encode("utf-8"))


def encode_pair(context, continuation):
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = tok_encode(context + continuation)
    ctx = tok_encode(context)
    return ctx, whole[len(ctx) :]


def read_tasks(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for i in range(len(lines) // 6):
        block = lines[6 * i : 6 * i + 6]
        yield {"line": 6 * i + 1, "context": block[0], "label": int(block[1]), "endings": block[2:6]}


def main():
    with open(os.path.join(MODEL, "config.json")) as f:
        cfg = json.load(f)
    p = read_safetensors(os.path.join(MODEL, "model.safetensors"))
    max_length = cfg["max_position_embeddings"]
    out = []
    for t in read_tasks(DATA):
        if len(out) == TASKS:
            break
        # The harness asserts len(continuation_enc) <= max_length; skip tasks it refuses.
        if any(len(encode_pair(t["context"], " " + e)[1]) > max_length for e in t["endings"]):
            continue
        lls = []
        for ending in t["endings"]:
            ctx, cont = encode_pair(t["context"], " " + ending)
            inp = (ctx + cont)[-(max_length + 1) :][:-1]
            logp = torch.log_softmax(llama_logits(cfg, p, inp), dim=-1)
            rows = logp[len(inp) - len(cont) : len(inp)]
            lls.append(float(rows[torch.arange(len(cont)), torch.tensor(cont)].sum()))
        norm = [ll / len(e) for ll, e in zip(lls, t["endings"])]
        out.append({
            "line": t["line"],
            "label": t["label"],
            "loglik": lls,
            "pred": max(range(4), key=lambda i: (lls[i], -i)),
            "pred_norm": max(range(4), key=lambda i: (norm[i], -i)),
        })
    with open(OUT, "w") as f:
        json.dump({"model": "tiny-llama", "data": "hellaswag_val_200.txt", "tasks": out}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
