#!/usr/bin/env python3
"""Make golden files for lopper's RoPE scalings, partial rotary and Qwen3
(model/testdata/goldens/, next to those of make_model_goldens.py).

Plain torch, no `transformers`: each op below is re-typed from the
transformers source it names (huggingface/transformers, main as of 2025):

  src/transformers/modeling_rope_utils.py
      _compute_linear_scaling_rope_parameters, _compute_dynamic_ntk_parameters,
      _compute_yarn_parameters, _compute_longrope_parameters,
      _compute_llama3_parameters, dynamic_rope_update (dynamic_frequency_update,
      longrope_frequency_update), RotaryEmbeddingConfigMixin.standardize_rope_params
  src/transformers/models/llama/modeling_llama.py
      LlamaRotaryEmbedding.forward (float32 inv_freq @ position_ids, cos·A, sin·A),
      rotate_half, apply_rotary_pos_emb, LlamaRMSNorm, LlamaMLP, eager_attention_forward
  src/transformers/models/phi3/modeling_phi3.py
      apply_rotary_pos_emb (partial rotary: rotate the first cos.shape[-1] dims)
  src/transformers/models/qwen3/modeling_qwen3.py
      Qwen3Attention.forward (q_norm/k_norm: Qwen3RMSNorm over head_dim of
      q_proj(x).view(..., head_dim), before RoPE), Qwen3RMSNorm

Models (tiny, random, exact Hugging Face layout and config.json):

  llama3-rope-bf16     model_type llama, rope_scaling llama3 (4.x form, top-level
                       rope_theta), tied embeddings like Llama 3.2, GQA, BF16
  yarn-f32             model_type qwen2, rope_parameters yarn (5.x form, rope_theta
                       inside, no top-level rope_theta), F32
  longrope-f32         model_type llama, rope_scaling longrope with
                       original_max_position_embeddings 5 < T: long factors; the
                       prefix run (T = 5) uses the short ones. F32
  linear-f32           model_type mistral, legacy {"type": "linear"}, F32
  dynamic-f32          model_type llama, dynamic NTK, max_position_embeddings 4 < T;
                       the prefix run (T = 4) is plain RoPE. F32
  partial-rotary-f32   model_type llama with head_dim 12 ≠ hidden/heads and a rotary
                       dim of 6 (transformers' Phi-3 partial rotary). A llama config
                       cannot say partial rotary (LlamaAttention rotates whole
                       heads), so config.json carries it as lopper writes it, in
                       "lopper_dims"; the weights are the exact Llama layout. F32
  qwen3-bf16           model_type qwen3: q_norm/k_norm, head_dim 12 ≠ hidden/heads,
                       GQA, tied embeddings, two layers, BF16

golden.json holds tokens, targets, logits and loss of a batch of 2 × 7 and, for
dynamic and longrope, "prefix_seq" and "prefix_logits": the logits of a pass
over the first prefix_seq tokens of each sequence (the other length regime).
golden_grads.safetensors holds the F32 gradients of the mean cross-entropy.

Run with PyTorch 1.13: /usr/bin/python3 scripts/make_family_goldens.py
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_model_goldens as base  # noqa: E402  (st_bytes, write, byte_tokenizer, rotate_half, attend)

OUT = base.OUT


# ---- RoPE (modeling_rope_utils.py) ----

def rope_dims(cfg):
    hd = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    rot = cfg.get("lopper_dims", {}).get("rotary_dim") or hd
    return hd, rot


def rope_params(cfg):
    """rope dict after standardize_rope_params: type, theta, original max."""
    rp = dict(cfg.get("rope_scaling") or cfg.get("rope_parameters") or {})
    rp.setdefault("rope_type", rp.get("type", "default"))
    rp.setdefault("rope_theta", cfg.get("rope_theta", 10000.0))
    if rp["rope_type"] in ("llama3", "yarn", "longrope"):
        if "original_max_position_embeddings" in cfg:
            rp["original_max_position_embeddings"] = cfg["original_max_position_embeddings"]
        else:
            rp.setdefault("original_max_position_embeddings", cfg["max_position_embeddings"])
    return rp


def inv_freq_and_scale(cfg, seq_len):
    """(inv_freq, attention_scaling) for a forward whose max(position_ids)+1 is seq_len."""
    _, dim = rope_dims(cfg)
    rp = rope_params(cfg)
    t, theta, M = rp["rope_type"], rp["rope_theta"], cfg["max_position_embeddings"]
    default = lambda b: 1.0 / (b ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    if t == "default":
        return default(theta), 1.0
    if t == "linear":
        return default(theta) / rp["factor"], 1.0
    if t == "dynamic":
        # dynamic_frequency_update: recompute with seq_len when it grows past
        # max_position_embeddings (a fresh model; lopper is stateless).
        s = torch.maximum(torch.tensor(seq_len), torch.tensor(M))
        b = theta * ((rp["factor"] * s / M) - (rp["factor"] - 1)) ** (dim / (dim - 2))
        return 1.0 / (b ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim)), 1.0
    if t == "llama3":
        inv = default(theta)
        factor, lo, hi, old = rp["factor"], rp["low_freq_factor"], rp["high_freq_factor"], rp["original_max_position_embeddings"]
        low_wl, high_wl = old / lo, old / hi
        wl = 2 * math.pi / inv
        inv_l = torch.where(wl > low_wl, inv / factor, inv)
        smooth = (old / wl - lo) / (hi - lo)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = ~(wl < high_wl) * ~(wl > low_wl)
        return torch.where(medium, smoothed, inv_l), 1.0
    if t == "yarn":
        O = rp["original_max_position_embeddings"]
        factor = rp["factor"] if rp.get("factor") is not None else M / O
        mscale, mscale_all = rp.get("mscale"), rp.get("mscale_all_dim")

        def get_mscale(scale, m=1):
            return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0
        A = rp.get("attention_factor")
        if A is None:
            A = float(get_mscale(factor, mscale) / get_mscale(factor, mscale_all)) if mscale and mscale_all else get_mscale(factor)
        beta_fast, beta_slow = rp.get("beta_fast") or 32, rp.get("beta_slow") or 1
        corr = lambda n: (dim * math.log(O / (n * 2 * math.pi))) / (2 * math.log(theta))
        low, high = corr(beta_fast), corr(beta_slow)
        if rp.get("truncate", True):
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, dim - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
        pos_freqs = theta ** (torch.arange(0, dim, 2).float() / dim)
        extrap, interp = 1.0 / pos_freqs, 1.0 / (factor * pos_freqs)
        ef = 1 - ramp
        return interp * (1 - ef) + extrap * ef, A
    if t == "longrope":
        O = rp["original_max_position_embeddings"]
        factor = rp.get("factor")
        if factor is None:
            factor = M / O
        A = rp.get("attention_factor")
        if A is None:
            A = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(O))
        ext = rp["long_factor"] if seq_len > O else rp["short_factor"]  # longrope_frequency_update
        shape = torch.arange(0, dim, 2, dtype=torch.int64).float() / dim
        return 1.0 / (torch.tensor(ext, dtype=torch.float32) * theta ** shape), A
    raise ValueError(t)


def cos_sin(cfg, Bn, Tn):
    """LlamaRotaryEmbedding.forward for position_ids 0..Tn-1."""
    inv, A = inv_freq_and_scale(cfg, Tn)
    pos = torch.arange(Tn)[None, :].expand(Bn, -1)
    inv_e = inv[None, :, None].float().expand(Bn, -1, 1)
    freqs = (inv_e.float() @ pos[:, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return (emb.cos() * A)[:, None], (emb.sin() * A)[:, None]  # unsqueeze_dim=1


def apply_rope(x, cos, sin):
    """Phi-3's apply_rotary_pos_emb: rotate the first cos.shape[-1] dims (all for Llama/Qwen)."""
    r = cos.shape[-1]
    x_rot, x_pass = x[..., :r], x[..., r:]
    return torch.cat([(x_rot * cos) + (base.rotate_half(x_rot) * sin), x_pass], dim=-1)


def rms_norm(x, w, eps):
    """LlamaRMSNorm / Qwen3RMSNorm (float32 here)."""
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def forward(cfg, p, tokens):
    H, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, _ = rope_dims(cfg)
    eps = cfg["rms_norm_eps"]
    qk_norm = cfg["model_type"] == "qwen3"
    Bn, Tn = tokens.shape
    x = p["model.embed_tokens.weight"][tokens]
    cos, sin = cos_sin(cfg, Bn, Tn)
    for l in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{l}."
        lin = lambda name, inp: F.linear(inp, p[pre + name + ".weight"], p.get(pre + name + ".bias"))
        h = rms_norm(x, p[pre + "input_layernorm.weight"], eps)
        q = lin("self_attn.q_proj", h).view(Bn, Tn, nh, hd)
        k = lin("self_attn.k_proj", h).view(Bn, Tn, nkv, hd)
        v = lin("self_attn.v_proj", h).view(Bn, Tn, nkv, hd)
        if qk_norm:
            q = rms_norm(q, p[pre + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, p[pre + "self_attn.k_norm.weight"], eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = base.attend(q, k, v, hd ** -0.5).transpose(1, 2).reshape(Bn, Tn, nh * hd)
        x = x + lin("self_attn.o_proj", y)
        h = rms_norm(x, p[pre + "post_attention_layernorm.weight"], eps)
        x = x + lin("mlp.down_proj", F.silu(lin("mlp.gate_proj", h)) * lin("mlp.up_proj", h))
    x = rms_norm(x, p["model.norm.weight"], eps)
    return F.linear(x, p.get("lm_head.weight", p["model.embed_tokens.weight"]))


def params(cfg, g, dtype):
    """make_model_goldens' llama_params (Qwen2: q/k/v biases), then Qwen3's q/k norms."""
    p = base.llama_params(cfg, g, dtype, cfg["model_type"] == "qwen2", False, False)
    if cfg["model_type"] == "qwen3":
        for l in range(cfg["num_hidden_layers"]):
            for n in ("q_norm", "k_norm"):
                p[f"model.layers.{l}.self_attn.{n}.weight"] = (1 + torch.randn(cfg["head_dim"], generator=g) * 0.1).to(dtype)
    return p


def golden(name, cfg, dtype, g, prefix=None):
    """make_model_goldens' golden(), plus the logits of a prefix pass."""
    base.golden(name, cfg, params(cfg, g, dtype), forward, g)
    if prefix:
        add_prefix(name, cfg, prefix, forward)


def add_prefix(name, cfg, prefix, forward):
    """Adds prefix_seq and prefix_logits (forward over the first prefix tokens) to golden.json."""
    path = os.path.join(OUT, name, "golden.json")
    with open(path) as f:
        out = json.load(f)
    with open(os.path.join(OUT, name, "model.safetensors"), "rb") as f:
        model = read_st(f.read())
    tokens = torch.tensor(out["tokens"]).view(out["batch"], out["seq"])
    with torch.no_grad():
        short = forward(cfg, model, tokens[:, :prefix])
    out["prefix_seq"] = prefix
    out["prefix_logits"] = [float(v) for v in short.reshape(-1)]
    with open(path, "w") as f:
        json.dump(out, f)


def read_st(data):
    """The tensors of a safetensors file (F32 or BF16), widened to float32."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    body, out = data[8 + n:], {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        raw = bytearray(body[e["data_offsets"][0]:e["data_offsets"][1]])
        if e["dtype"] == "BF16":
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(raw, dtype=torch.float32)
        out[name] = t.float().reshape(e["shape"])
    return out


def llama_cfg(drop=(), **kw):
    c = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16, "intermediate_size": 24,
        "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "vocab_size": 32,
        "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "hidden_act": "silu", "tie_word_embeddings": False,
        "attention_bias": False, "mlp_bias": False, "attention_dropout": 0.0, "initializer_range": 0.02,
        "pretraining_tp": 1, "use_cache": True, "bos_token_id": 1, "eos_token_id": 2,
        "torch_dtype": "float32", "transformers_version": "4.45.0",
    }
    c.update(kw)
    for k in drop:
        del c[k]
    return c


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(20261207)
    # Small bases (θ) so that the 7 test positions reach every band of the
    # 4 rotated pairs (head dim 8), as 5e5 does over 128k positions.
    golden("llama3-rope-bf16", llama_cfg(
        rope_theta=50.0, tie_word_embeddings=True, head_dim=8, torch_dtype="bfloat16", eos_token_id=[2, 3],
        rope_scaling={"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                      "original_max_position_embeddings": 24, "rope_type": "llama3"}), torch.bfloat16, g)
    golden("yarn-f32", llama_cfg(
        drop=("attention_bias", "mlp_bias", "pretraining_tp", "torch_dtype"), dtype="float32",
        architectures=["Qwen2ForCausalLM"], model_type="qwen2", max_position_embeddings=128, rms_norm_eps=1e-6,
        use_sliding_window=False, sliding_window=32, max_window_layers=1, transformers_version="5.0.0",
        rope_parameters={"rope_type": "yarn", "rope_theta": 100.0, "factor": 4.0, "original_max_position_embeddings": 32,
                         "beta_fast": 8.0, "beta_slow": 0.5}), torch.float32, g)
    golden("longrope-f32", llama_cfg(
        rope_theta=100.0, max_position_embeddings=40,
        rope_scaling={"rope_type": "longrope", "original_max_position_embeddings": 5,
                      "short_factor": [1.0, 1.25, 1.5, 2.0], "long_factor": [1.0, 2.0, 4.0, 8.0]}), torch.float32, g, prefix=5)
    golden("linear-f32", llama_cfg(
        drop=("attention_bias", "mlp_bias", "pretraining_tp"),
        architectures=["MistralForCausalLM"], model_type="mistral", sliding_window=None, rope_theta=1000.0,
        head_dim=8, num_attention_heads=4, num_key_value_heads=4,
        rope_scaling={"type": "linear", "factor": 2.0}), torch.float32, g)
    golden("dynamic-f32", llama_cfg(
        rope_theta=100.0, max_position_embeddings=4,
        rope_scaling={"rope_type": "dynamic", "factor": 3.0}), torch.float32, g, prefix=4)
    golden("partial-rotary-f32", llama_cfg(
        rope_theta=100.0, head_dim=12, num_key_value_heads=1,
        lopper_dims={"head_dim": 12, "rotary_dim": 6, "layers": [{"heads": 4, "kv_heads": 1, "intermediate": 24}]}), torch.float32, g)
    golden("qwen3-bf16", llama_cfg(
        drop=("mlp_bias", "pretraining_tp"),
        architectures=["Qwen3ForCausalLM"], model_type="qwen3", num_hidden_layers=2, head_dim=12, rope_theta=1000000.0,
        rms_norm_eps=1e-6, tie_word_embeddings=True, max_position_embeddings=40960, use_sliding_window=False,
        sliding_window=None, max_window_layers=28, rope_scaling=None, torch_dtype="bfloat16",
        transformers_version="4.51.0"), torch.bfloat16, g)


if __name__ == "__main__":
    if not torch.__version__.startswith("1.13"):
        print("warning: made with PyTorch", torch.__version__, "(goldens were made with 1.13)", file=sys.stderr)
    main()
