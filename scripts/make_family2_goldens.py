#!/usr/bin/env python3
"""Make golden files for lopper's sliding windows and the families of
issue 12's second phase (model/testdata/goldens/, next to those of
make_model_goldens.py and make_family_goldens.py).

Plain torch, no `transformers`: each op below is re-typed from the
transformers source it names (huggingface/transformers, main as of 2025):

  src/transformers/masking_utils.py
      causal_mask_function (kv_idx <= q_idx), sliding_window_overlay
      (kv_idx > q_idx - sliding_window)
  src/transformers/models/qwen2/configuration_qwen2.py  Qwen2Config.__post_init__
      (layer_types: sliding from max_window_layers on when use_sliding_window)
  src/transformers/models/mistral/modeling_mistral.py  MistralAttention
      (sliding_window on every layer)

Models (tiny, random, exact Hugging Face layout and config.json; batch 2 × 7):

  mistral-window-f32   model_type mistral, sliding_window 3 < T on every layer, F32
  qwen2-window-bf16    model_type qwen2, use_sliding_window with max_window_layers 1
                       of 2 layers: layer 1 slides (window 4), layer 0 does not, BF16

golden.json holds tokens, targets, logits and loss; golden_grads.safetensors
the F32 gradients of the mean cross-entropy.

Run with PyTorch 1.13: /usr/bin/python3 scripts/make_family2_goldens.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_model_goldens as base  # noqa: E402  (golden, llama_params)
import make_family_goldens as fam  # noqa: E402  (cos_sin, apply_rope, rms_norm, llama_cfg)


# ---- masks and attention (masking_utils.py, eager_attention_forward) ----

def layer_window(cfg, l):
    """The sliding window of layer l, or None (Qwen2Config.__post_init__, MistralAttention)."""
    w = cfg.get("sliding_window")
    if cfg["model_type"] == "mistral":
        return w
    if cfg["model_type"] in ("qwen2", "qwen3"):
        if not cfg.get("use_sliding_window") or w is None:
            return None
        types = cfg.get("layer_types") or ["sliding_attention" if i >= cfg["max_window_layers"] else "full_attention"
                                           for i in range(cfg["num_hidden_layers"])]
        return w if types[l] == "sliding_attention" else None
    raise ValueError(cfg["model_type"])


def mask(Tn, window):
    q = torch.arange(Tn)[:, None]
    k = torch.arange(Tn)[None, :]
    m = k <= q  # causal_mask_function
    if window is not None:
        m = m & (k > q - window)  # sliding_window_overlay
    return m


def attend(q, k, v, scale, window):
    """eager_attention_forward: repeat_kv, scores·scaling, mask, float32 softmax."""
    rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    w = torch.matmul(q, k.transpose(2, 3)) * scale
    w = w.masked_fill(~mask(q.shape[2], window), torch.finfo(w.dtype).min)
    return torch.matmul(F.softmax(w, dim=-1, dtype=torch.float32), v)


# ---- forward (modeling_llama.py / modeling_mistral.py / modeling_qwen2.py) ----

def forward(cfg, p, tokens):
    H, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or H // nh
    eps = cfg["rms_norm_eps"]
    Bn, Tn = tokens.shape
    x = p["model.embed_tokens.weight"][tokens]
    cos, sin = fam.cos_sin(cfg, Bn, Tn)
    for l in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{l}."
        lin = lambda name, inp: F.linear(inp, p[pre + name + ".weight"], p.get(pre + name + ".bias"))
        h = fam.rms_norm(x, p[pre + "input_layernorm.weight"], eps)
        q = lin("self_attn.q_proj", h).view(Bn, Tn, nh, hd).transpose(1, 2)
        k = lin("self_attn.k_proj", h).view(Bn, Tn, nkv, hd).transpose(1, 2)
        v = lin("self_attn.v_proj", h).view(Bn, Tn, nkv, hd).transpose(1, 2)
        q, k = fam.apply_rope(q, cos, sin), fam.apply_rope(k, cos, sin)
        y = attend(q, k, v, hd ** -0.5, layer_window(cfg, l)).transpose(1, 2).reshape(Bn, Tn, nh * hd)
        x = x + lin("self_attn.o_proj", y)
        h = fam.rms_norm(x, p[pre + "post_attention_layernorm.weight"], eps)
        x = x + lin("mlp.down_proj", F.silu(lin("mlp.gate_proj", h)) * lin("mlp.up_proj", h))
    x = fam.rms_norm(x, p["model.norm.weight"], eps)
    return F.linear(x, p.get("lm_head.weight", p["model.embed_tokens.weight"]))


def llama_params(cfg, g, dtype):
    run = dict(cfg, head_dim=cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"])
    return base.llama_params(run, g, dtype, cfg["model_type"] == "qwen2", False, False)


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(20261215)
    cfg = fam.llama_cfg(
        drop=("attention_bias", "mlp_bias", "pretraining_tp", "head_dim"),
        architectures=["MistralForCausalLM"], model_type="mistral", num_hidden_layers=2, sliding_window=3,
        rope_theta=100.0, transformers_version="4.46.0")
    base.golden("mistral-window-f32", cfg, llama_params(cfg, g, torch.float32), forward, g)
    cfg = fam.llama_cfg(
        drop=("attention_bias", "mlp_bias", "pretraining_tp", "head_dim"),
        architectures=["Qwen2ForCausalLM"], model_type="qwen2", num_hidden_layers=2, rope_theta=1000.0,
        rms_norm_eps=1e-6, use_sliding_window=True, sliding_window=4, max_window_layers=1,
        torch_dtype="bfloat16", transformers_version="4.46.0")
    base.golden("qwen2-window-bf16", cfg, llama_params(cfg, g, torch.bfloat16), forward, g)


if __name__ == "__main__":
    if not torch.__version__.startswith("1.13"):
        print("warning: made with PyTorch", torch.__version__, "(goldens were made with 1.13)", file=sys.stderr)
    main()
