#!/usr/bin/env python3
"""Make golden files for lopper's model package (model/testdata/goldens/).

Creates tiny random models as Hugging Face directories and the logits and
gradients PyTorch computes for them. The forward passes below are written in
plain torch from Hugging Face's published formulas (modeling_llama.py,
modeling_qwen2.py, modeling_gpt2.py); `transformers` is not needed.

  llama-bf16   model_type llama: attention_bias + mlp_bias, explicit head_dim
               (6, not hidden/heads), GQA 4:1, untied head, rope_theta 5e5,
               BF16 weights
  qwen2-f16    model_type qwen2: q/k/v biases, GQA 2:1, untied head,
               rope_theta 1e6, F16 weights, sharded in two files with
               model.safetensors.index.json
  gpt2-gelu-new  model_type gpt2: gelu_new, explicit n_inner, tied head, F32,
               Conv1D [in, out] weights, names without the "transformer."
               prefix and with the attn.bias / attn.masked_bias buffers, as
               the original GPT-2 checkpoint has them

Each directory also gets golden.json (tokens, targets, logits, loss) and
golden_grads.safetensors (F32 gradients of the mean cross-entropy loss,
named and shaped as the weights are stored). Weights are computed in
float32 after widening, as lopper does.

adamw.json holds torch.optim.AdamW steps (weight decay on the 2-D tensor
only) and a torch.nn.utils.clip_grad_norm_ case.

Run with PyTorch 1.13: /usr/bin/python3 scripts/make_model_goldens.py
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model", "testdata", "goldens")
B, T = 2, 7
IGNORE = -100

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def st_bytes(tensors):
    """Serialize {name: tensor} as safetensors (independent of lopper's writer)."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    return struct.pack("<Q", len(js)) + js + b"".join(blobs)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def byte_tokenizer(vocab):
    # A byte-level tokenizer.json over the first `vocab` bytes, for Save to copy.
    return json.dumps({"version": "1.0", "model": {"type": "BPE", "vocab": {f"<{i}>": i for i in range(vocab)}, "merges": []}}).encode()


# ---- Llama family (modeling_llama.py / modeling_qwen2.py) ----

def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rope_cos_sin(T, hd, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    freqs = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def attend(q, k, v, scale):
    # q [B, nh, T, hd], k/v [B, nkv, T, hd]; repeat_kv then causal softmax.
    rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    w = torch.matmul(q, k.transpose(2, 3)) * scale
    Tq = q.shape[2]
    causal = torch.ones(Tq, Tq, dtype=torch.bool).tril()
    w = w.masked_fill(~causal, torch.finfo(w.dtype).min)
    w = F.softmax(w, dim=-1, dtype=torch.float32)
    return torch.matmul(w, v)


def llama_forward(cfg, p, tokens):
    H, nh, nkv, hd = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    x = p["model.embed_tokens.weight"][tokens]
    Bn, Tn = tokens.shape
    cos, sin = rope_cos_sin(Tn, hd, cfg["rope_theta"])
    for l in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{l}."
        lin = lambda name, inp: F.linear(inp, p[pre + name + ".weight"], p.get(pre + name + ".bias"))
        h = rms_norm(x, p[pre + "input_layernorm.weight"], eps)
        q = lin("self_attn.q_proj", h).view(Bn, Tn, nh, hd).transpose(1, 2)
        k = lin("self_attn.k_proj", h).view(Bn, Tn, nkv, hd).transpose(1, 2)
        v = lin("self_attn.v_proj", h).view(Bn, Tn, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        y = attend(q, k, v, hd ** -0.5).transpose(1, 2).reshape(Bn, Tn, nh * hd)
        x = x + lin("self_attn.o_proj", y)
        h = rms_norm(x, p[pre + "post_attention_layernorm.weight"], eps)
        x = x + lin("mlp.down_proj", F.silu(lin("mlp.gate_proj", h)) * lin("mlp.up_proj", h))
    x = rms_norm(x, p["model.norm.weight"], eps)
    head = p.get("lm_head.weight", p["model.embed_tokens.weight"])
    return F.linear(x, head)


def llama_params(cfg, g, dtype, qkv_bias, o_bias, mlp_bias):
    H, nh, nkv, hd, I, V = (cfg[k] for k in ("hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim", "intermediate_size", "vocab_size"))
    r = lambda *s, std=0.3: (torch.randn(*s, generator=g) * std).to(dtype)
    p = {"model.embed_tokens.weight": r(V, H), "model.norm.weight": (1 + r(H, std=0.1).float()).to(dtype)}
    if not cfg["tie_word_embeddings"]:
        p["lm_head.weight"] = r(V, H)
    for l in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{l}."
        p[pre + "input_layernorm.weight"] = (1 + r(H, std=0.1).float()).to(dtype)
        p[pre + "post_attention_layernorm.weight"] = (1 + r(H, std=0.1).float()).to(dtype)
        for name, out, inp, bias in (("self_attn.q_proj", nh * hd, H, qkv_bias), ("self_attn.k_proj", nkv * hd, H, qkv_bias),
                                     ("self_attn.v_proj", nkv * hd, H, qkv_bias), ("self_attn.o_proj", H, nh * hd, o_bias),
                                     ("mlp.gate_proj", I, H, mlp_bias), ("mlp.up_proj", I, H, mlp_bias), ("mlp.down_proj", H, I, mlp_bias)):
            p[pre + name + ".weight"] = r(out, inp)
            if bias:
                p[pre + name + ".bias"] = r(out, std=0.1)
    return p


# ---- GPT-2 (modeling_gpt2.py) ----

def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gpt2_forward(cfg, p, tokens):
    H, nh, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    hd = H // nh
    Bn, Tn = tokens.shape
    conv1d = lambda name, inp: torch.addmm(p[name + ".bias"], inp.reshape(-1, inp.shape[-1]), p[name + ".weight"]).view(Bn, Tn, -1)
    x = p["wte.weight"][tokens] + p["wpe.weight"][torch.arange(Tn)]
    for l in range(cfg["n_layer"]):
        pre = f"h.{l}."
        h = F.layer_norm(x, (H,), p[pre + "ln_1.weight"], p[pre + "ln_1.bias"], eps)
        q, k, v = conv1d(pre + "attn.c_attn", h).split(H, dim=2)
        heads = lambda t: t.view(Bn, Tn, nh, hd).transpose(1, 2)
        w = torch.matmul(heads(q), heads(k).transpose(-1, -2)) / torch.full([], hd ** 0.5)
        causal = torch.ones(Tn, Tn, dtype=torch.bool).tril()
        w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min))
        y = torch.matmul(F.softmax(w, dim=-1), heads(v)).transpose(1, 2).reshape(Bn, Tn, H)
        x = x + conv1d(pre + "attn.c_proj", y)
        h = F.layer_norm(x, (H,), p[pre + "ln_2.weight"], p[pre + "ln_2.bias"], eps)
        x = x + conv1d(pre + "mlp.c_proj", gelu_new(conv1d(pre + "mlp.c_fc", h)))
    x = F.layer_norm(x, (H,), p["ln_f.weight"], p["ln_f.bias"], eps)
    return F.linear(x, p["wte.weight"])


def gpt2_params(cfg, g):
    H, nh, I, V, P = cfg["n_embd"], cfg["n_head"], cfg["n_inner"], cfg["vocab_size"], cfg["n_positions"]
    r = lambda *s, std=0.3: torch.randn(*s, generator=g) * std
    p = {"wte.weight": r(V, H), "wpe.weight": r(P, H), "ln_f.weight": 1 + r(H, std=0.1), "ln_f.bias": r(H, std=0.1)}
    for l in range(cfg["n_layer"]):
        pre = f"h.{l}."
        for ln in ("ln_1", "ln_2"):
            p[pre + ln + ".weight"] = 1 + r(H, std=0.1)
            p[pre + ln + ".bias"] = r(H, std=0.1)
        for name, inp, out in (("attn.c_attn", H, 3 * H), ("attn.c_proj", H, H), ("mlp.c_fc", H, I), ("mlp.c_proj", I, H)):
            p[pre + name + ".weight"] = r(inp, out)  # Conv1D: [in, out]
            p[pre + name + ".bias"] = r(out, std=0.1)
    return p


def gpt2_buffers(cfg):
    P = cfg["n_positions"]
    b = {}
    for l in range(cfg["n_layer"]):
        b[f"h.{l}.attn.bias"] = torch.ones(P, P, dtype=torch.uint8).tril().view(1, 1, P, P).float()
        b[f"h.{l}.attn.masked_bias"] = torch.tensor(-1e4)
    return b


# ---- optimizer ----

def adamw_golden(g):
    w2, w1 = torch.randn(3, 4, generator=g), torch.randn(5, generator=g)
    init = torch.cat([w2.reshape(-1), w1]).tolist()
    p2, p1 = w2.clone().requires_grad_(True), w1.clone().requires_grad_(True)
    cfg = {"lr": 0.01, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1}
    opt = torch.optim.AdamW([{"params": [p2], "weight_decay": cfg["weight_decay"]}, {"params": [p1], "weight_decay": 0.0}],
                            lr=cfg["lr"], betas=tuple(cfg["betas"]), eps=cfg["eps"])
    grads, after = [], []
    for _ in range(4):
        g2, g1 = torch.randn(3, 4, generator=g), torch.randn(5, generator=g)
        p2.grad, p1.grad = g2.clone(), g1.clone()
        opt.step()
        grads.append(torch.cat([g2.reshape(-1), g1]).tolist())
        after.append(torch.cat([p2.detach().reshape(-1), p1.detach()]).tolist())
    c2, c1 = (torch.randn(3, 4, generator=g) * 3).requires_grad_(True), (torch.randn(5, generator=g) * 3).requires_grad_(True)
    c2.grad, c1.grad = c2.detach().clone(), c1.detach().clone()
    before = torch.cat([c2.grad.reshape(-1), c1.grad]).tolist()
    norm = torch.nn.utils.clip_grad_norm_([c2, c1], max_norm=0.5)
    clip = {"max_norm": 0.5, "grads": before, "norm": float(norm), "clipped": torch.cat([c2.grad.reshape(-1), c1.grad]).tolist()}
    with open(os.path.join(OUT, "adamw.json"), "w") as f:
        json.dump({"config": cfg, "init": init, "grads": grads, "after": after, "clip": clip}, f)
    print("adamw", after[-1][:3])


# ---- driver ----

def golden(name, cfg, params, forward, g, shards=None, buffers=None):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    vocab = cfg["vocab_size"]
    tokens = torch.randint(0, vocab, (B, T), generator=g)
    targets = torch.randint(0, vocab, (B, T), generator=g)
    targets[1, 2] = IGNORE
    leaves = {k: v.float().clone().requires_grad_(True) for k, v in params.items()}
    logits = forward(cfg, leaves, tokens)
    loss = F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1), ignore_index=IGNORE)
    loss.backward()

    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    write(os.path.join(d, "tokenizer.json"), byte_tokenizer(vocab))
    stored = dict(params)
    stored.update(buffers or {})
    if shards:
        weight_map = {}
        for i, names in enumerate(shards(sorted(stored))):
            fn = f"model-{i + 1:05d}-of-{len(shards(sorted(stored))):05d}.safetensors"
            write(os.path.join(d, fn), st_bytes({n: stored[n] for n in names}))
            weight_map.update({n: fn for n in names})
        total = sum(t.numel() * t.element_size() for t in stored.values())
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
    else:
        write(os.path.join(d, "model.safetensors"), st_bytes(stored))
    write(os.path.join(d, "golden_grads.safetensors"), st_bytes({k: v.grad.detach() for k, v in leaves.items()}))
    out = {
        "tokens": tokens.reshape(-1).tolist(),
        "targets": [t if t != IGNORE else -1 for t in targets.reshape(-1).tolist()],
        "batch": B, "seq": T,
        "logits": [float(v) for v in logits.detach().reshape(-1)],
        "loss": float(loss),
    }
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump(out, f)
    print(name, "loss", float(loss), "files", sorted(os.listdir(d)))


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(20261129)
    llama = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16, "intermediate_size": 24,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 6,
        "vocab_size": 40, "max_position_embeddings": 32, "rms_norm_eps": 1e-6, "rope_theta": 500000.0,
        "hidden_act": "silu", "tie_word_embeddings": False, "attention_bias": True, "mlp_bias": True,
        "torch_dtype": "bfloat16", "rope_scaling": None, "pretraining_tp": 1, "bos_token_id": 1, "eos_token_id": 2,
    }
    golden("llama-bf16", llama, llama_params(llama, g, torch.bfloat16, True, True, True), llama_forward, g)

    qwen2 = {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 16, "intermediate_size": 24,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 40,
        "max_position_embeddings": 32, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "hidden_act": "silu",
        "tie_word_embeddings": False, "torch_dtype": "float16", "use_sliding_window": False, "sliding_window": 32,
        "max_window_layers": 2, "attention_dropout": 0.0,
    }
    qwen2_run = dict(qwen2, head_dim=qwen2["hidden_size"] // qwen2["num_attention_heads"])
    half = lambda names: [names[: len(names) // 2], names[len(names) // 2:]]
    golden("qwen2-f16", qwen2, llama_params(qwen2_run, g, torch.float16, True, False, False),
           lambda c, p, t: llama_forward(qwen2_run, p, t), g, shards=half)

    gpt2 = {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": 16, "n_layer": 2, "n_head": 2,
        "n_positions": 16, "n_ctx": 16, "n_inner": 40, "vocab_size": 40, "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True, "scale_attn_weights": True,
        "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1, "torch_dtype": "float32",
    }
    golden("gpt2-gelu-new", gpt2, gpt2_params(gpt2, g), gpt2_forward, g, buffers=gpt2_buffers(gpt2))
    adamw_golden(g)


if __name__ == "__main__":
    if not torch.__version__.startswith("1.13"):
        print("warning: made with PyTorch", torch.__version__, "(goldens were made with 1.13)", file=sys.stderr)
    main()
