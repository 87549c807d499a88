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
  src/transformers/models/phi3/modeling_phi3.py
      Phi3Attention.forward (qkv_proj split q | k | v by rows, sliding_window on every
      layer), Phi3MLP.forward (gate_up_proj.chunk(2): gate rows first, up · silu(gate)),
      apply_rotary_pos_emb (partial rotary: rotate the first cos.shape[-1] dims)
  src/transformers/models/phi3/configuration_phi3.py
      Phi3Config (rope_scaling "type" longrope, top-level original_max_position_embeddings,
      partial_rotary_factor)
  src/transformers/models/gemma/modeling_gemma.py
      GemmaRMSNorm (x·rsqrt(mean(x²)+eps)·(1 + w), float32), GemmaModel.forward
      (normalizer = torch.tensor(hidden_size**0.5, dtype=hidden_states.dtype)), GemmaMLP
      (down(act(gate(x)) · up(x)), act = hidden_activation, gelu_pytorch_tanh)
  src/transformers/models/gemma2/modeling_gemma2.py
      eager_attention_forward (scores · query_pre_attn_scalar**-0.5, then softcap
      c·tanh(s/c), then the mask), Gemma2DecoderLayer.forward (input_layernorm,
      post_attention_layernorm on the attention output, pre_feedforward_layernorm,
      post_feedforward_layernorm on the MLP output), Gemma2ForCausalLM.forward (final
      logit softcapping); configuration_gemma2.py layer_types (even layers slide)
  src/transformers/models/gemma3/modeling_gemma3.py
      Gemma3TextScaledWordEmbedding (embed_scale float32 tensor .to(weight dtype)),
      Gemma3Attention.forward (q_norm, k_norm: Gemma3RMSNorm over head_dim before RoPE),
      Gemma3TextModel (rotary_emb_local: rope_local_base_freq, default RoPE, for sliding
      layers; rotary_emb: rope_theta and rope_scaling for full layers);
      configuration_gemma3.py layer_types ((i+1) % sliding_window_pattern != 0 slides)
  src/transformers/models/gemma3/modular_gemma3.py (5.x)
      Gemma3TextConfig.convert_rope_params_to_dict (rope_parameters keyed by layer type,
      missing entries {"rope_type": "default"}, rope_scaling updates full_attention,
      rope_theta defaults to rope_theta / rope_local_base_freq), Gemma3RotaryEmbedding
      (one inv_freq per layer type, from ROPE_INIT_FUNCTIONS[that type's rope_type])
  src/transformers/models/olmo2/modular_olmo2.py
      Olmo2Attention.forward (q_norm(q_proj(x)), k_norm(k_proj(x)): RMSNorm over the whole
      projection, before .view and RoPE), Olmo2DecoderLayer.forward (no input norm:
      h = x + post_attention_layernorm(attn(x)); y = h + post_feedforward_layernorm(mlp(h))),
      Olmo2RMSNorm (w · x·rsqrt(mean(x²)+eps))
  src/transformers/models/smollm3/modular_smollm3.py
      SmolLM3Config (no_rope_layers: 1 = RoPE; layer_types: sliding on NoPE layers when
      use_sliding_window), SmolLM3Attention.forward (RoPE only when use_rope)

Models (tiny, random, exact Hugging Face layout and config.json; batch 2 × 7):

  mistral-window-f32   model_type mistral, sliding_window 3 < T on every layer, F32
  qwen2-window-bf16    model_type qwen2, use_sliding_window with max_window_layers 1
                       of 2 layers: layer 1 slides (window 4), layer 0 does not, BF16
  phi3-f32             model_type phi3 as Phi-3-mini-4k: fused qkv_proj and gate_up_proj,
                       sliding_window 3 < T, untied, F32
  phi4-mini-bf16       model_type phi3 as Phi-4-mini: GQA, partial_rotary_factor 0.75
                       (6 of 8 dims), longrope (legacy "type") with top-level
                       original_max_position_embeddings 5 < T: long factors; the prefix
                       run (T = 5) uses the short ones. Tied, BF16
  gemma-bf16           model_type gemma: (1 + w) norms, √24 embedding scale rounded to
                       BF16 (4.90625), GeGLU (hidden_activation gelu_pytorch_tanh wins over
                       hidden_act gelu), head_dim 6 ≠ hidden/heads, MQA, tied, BF16
  gemma2-bf16          model_type gemma2: four norms per layer, query_pre_attn_scalar 10
                       ≠ head_dim, attention and final softcapping, sliding window 3 < T on
                       the even layers, GQA, tied, BF16
  gemma3-f32           model_type gemma3_text: per-head (1 + w) q/k norms,
                       sliding_window_pattern 2 (layers 0 and 2 slide, window 3, base
                       rope_local_base_freq 20), layer 1 global with rope_theta 1000 and
                       linear scaling × 4, F32
  gemma3-v5-f32        gemma3-f32's weights and batch under the transformers 5.x config form:
                       rope_parameters keyed by layer type, explicit layer_types, no
                       rope_theta, rope_scaling, rope_local_base_freq or
                       sliding_window_pattern; the same logits as gemma3-f32 (asserted)
  olmo2-f32            model_type olmo2: no input norms, post-norms, q/k norms over the
                       whole projection, GQA, untied, F32
  smollm3-bf16         model_type smollm3: no_rope_layers [1, 0, 1] (layer 1 NoPE),
                       use_sliding_window with window 3 on the NoPE layer, GQA, tied, BF16

golden.json holds tokens, targets, logits and loss; golden_grads.safetensors
the F32 gradients of the mean cross-entropy.

Run with PyTorch 1.13: /usr/bin/python3 scripts/make_family2_goldens.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_model_goldens as base  # noqa: E402  (golden, llama_params)
import make_family_goldens as fam  # noqa: E402  (cos_sin, apply_rope, rms_norm, llama_cfg, add_prefix)


# ---- masks and attention (masking_utils.py, eager_attention_forward) ----

def layer_types(cfg):
    """Gemma2Config / Gemma3TextConfig layer_types."""
    if "layer_types" in cfg:
        return cfg["layer_types"]
    pattern = 2 if cfg["model_type"] == "gemma2" else cfg.get("sliding_window_pattern", 6)
    return ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(cfg["num_hidden_layers"])]


def layer_window(cfg, l):
    """The sliding window of layer l, or None (Qwen2Config.__post_init__, MistralAttention)."""
    w = cfg.get("sliding_window")
    if cfg["model_type"] in ("mistral", "phi3"):  # every layer
        return w
    if cfg["model_type"] == "olmo2":
        return None
    if cfg["model_type"] == "smollm3":  # SmolLM3Config: sliding on NoPE layers
        slides = cfg.get("use_sliding_window") and w is not None and not cfg["no_rope_layers"][l]
        return w if slides else None
    if cfg["model_type"] == "gemma":
        return None
    if cfg["model_type"] in ("gemma2", "gemma3_text"):
        return w if layer_types(cfg)[l] == "sliding_attention" else None
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


def attend(q, k, v, scale, window, softcap=None):
    """eager_attention_forward: repeat_kv, scores·scaling, softcap (Gemma 2), mask, float32 softmax."""
    rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    w = torch.matmul(q, k.transpose(2, 3)) * scale
    if softcap is not None:
        w = torch.tanh(w / softcap) * softcap
    w = w.masked_fill(~mask(q.shape[2], window), torch.finfo(w.dtype).min)
    return torch.matmul(F.softmax(w, dim=-1, dtype=torch.float32), v)


# ---- forward (modeling_llama.py / modeling_mistral.py / modeling_qwen2.py) ----

def head_dims(cfg):
    """head_dim (explicit, else hidden/heads) and the rotary dim int(head_dim · partial_rotary_factor)."""
    hd = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    return hd, int(hd * cfg.get("partial_rotary_factor", 1.0))


def cos_sin(cfg, Bn, Tn):
    """The rotary tables of make_family_goldens (RoPE scalings) over the rotary dims."""
    _, rot = head_dims(cfg)
    return fam.cos_sin(dict(cfg, lopper_dims={"rotary_dim": rot}), Bn, Tn)


def qkv(cfg, p, pre, h):
    """q, k, v projections [B, T, ·]: Phi3Attention splits the fused qkv_proj rows."""
    lin = lambda name: F.linear(h, p[pre + name + ".weight"], p.get(pre + name + ".bias"))
    if cfg["model_type"] == "phi3":
        hd, _ = head_dims(cfg)
        a = lin("self_attn.qkv_proj")
        nq, nkv = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
        return a[..., :nq], a[..., nq:nq + nkv], a[..., nq + nkv:]
    return lin("self_attn.q_proj"), lin("self_attn.k_proj"), lin("self_attn.v_proj")


def mlp(cfg, p, pre, h):
    """LlamaMLP: down(silu(gate) · up); Phi3MLP: gate_up_proj.chunk(2), gate first."""
    lin = lambda name, x: F.linear(x, p[pre + name + ".weight"], p.get(pre + name + ".bias"))
    if cfg["model_type"] == "phi3":
        gate, up = lin("mlp.gate_up_proj", h).chunk(2, dim=-1)
    else:
        gate, up = lin("mlp.gate_proj", h), lin("mlp.up_proj", h)
    return lin("mlp.down_proj", up * F.silu(gate))


# ---- Gemma (modeling_gemma.py, modeling_gemma2.py, modeling_gemma3.py) ----

DT = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def gemma_norm(x, w, eps):
    """GemmaRMSNorm / Gemma2RMSNorm / Gemma3RMSNorm: (1 + w), in float32."""
    out = x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps)
    return out * (1.0 + w.float())


def gemma_act(cfg, x):
    """ACT2FN[hidden_activation]: gelu_pytorch_tanh (tanh approximation) or gelu (erf)."""
    act = cfg.get("hidden_activation") or cfg.get("hidden_act")
    return F.gelu(x, approximate="tanh") if act == "gelu_pytorch_tanh" else F.gelu(x)


def gemma_forward(cfg, p, tokens):
    H, nh, nkv, hd = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps, mt = cfg["rms_norm_eps"], cfg["model_type"]
    Bn, Tn = tokens.shape
    dtype = DT[cfg.get("torch_dtype") or cfg["dtype"]]  # 5.x writes dtype
    if mt == "gemma3_text":  # embed_scale = torch.tensor(H**0.5) (float32), .to(weight dtype)
        scale = torch.tensor(H ** 0.5).to(dtype).float()
    else:  # normalizer = torch.tensor(H**0.5, dtype=hidden_states.dtype)
        scale = torch.tensor(H ** 0.5, dtype=dtype).float()
    x = p["model.embed_tokens.weight"][tokens] * scale
    cos, sin = cos_sin(cfg, Bn, Tn)
    if mt == "gemma3_text":  # one table per layer type
        full, local = gemma3_rope(cfg)
        cos, sin = cos_sin(full, Bn, Tn)
        cos_l, sin_l = cos_sin(local, Bn, Tn)
    qpas = cfg.get("query_pre_attn_scalar", hd) if mt != "gemma" else hd
    softcap = cfg.get("attn_logit_softcapping") if mt != "gemma" else None
    for l in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{l}."
        lin = lambda name, inp: F.linear(inp, p[pre + name + ".weight"], p.get(pre + name + ".bias"))
        post = lambda name, y: gemma_norm(y, p[pre + name + ".weight"], eps) if mt != "gemma" else y
        h = gemma_norm(x, p[pre + "input_layernorm.weight"], eps)
        q = lin("self_attn.q_proj", h).view(Bn, Tn, nh, hd)
        k = lin("self_attn.k_proj", h).view(Bn, Tn, nkv, hd)
        v = lin("self_attn.v_proj", h).view(Bn, Tn, nkv, hd).transpose(1, 2)
        if mt == "gemma3_text":
            q = gemma_norm(q, p[pre + "self_attn.q_norm.weight"], eps)
            k = gemma_norm(k, p[pre + "self_attn.k_norm.weight"], eps)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        c, s_ = (cos_l, sin_l) if mt == "gemma3_text" and layer_window(cfg, l) is not None else (cos, sin)
        q, k = fam.apply_rope(q, c, s_), fam.apply_rope(k, c, s_)
        y = attend(q, k, v, qpas ** -0.5, layer_window(cfg, l), softcap).transpose(1, 2).reshape(Bn, Tn, nh * hd)
        x = x + post("post_attention_layernorm", lin("self_attn.o_proj", y))
        h = gemma_norm(x, p[pre + ("pre_feedforward_layernorm" if mt != "gemma" else "post_attention_layernorm") + ".weight"], eps)
        y = lin("mlp.down_proj", gemma_act(cfg, lin("mlp.gate_proj", h)) * lin("mlp.up_proj", h))
        x = x + post("post_feedforward_layernorm", y)
    x = gemma_norm(x, p["model.norm.weight"], eps)
    logits = F.linear(x, p.get("lm_head.weight", p["model.embed_tokens.weight"]))
    cap = cfg.get("final_logit_softcapping") if mt == "gemma2" else None
    if cap is not None:
        logits = torch.tanh(logits / cap) * cap
    return logits


def gemma3_rope(cfg):
    """The full and the sliding layers' RoPE, each as a config with rope_scaling (its dict).

    4.x (Gemma3TextModel.__init__): full layers rope_theta and rope_scaling; sliding layers
    rotary_emb_local, a config copy with rope_theta = rope_local_base_freq and default RoPE.
    5.x (Gemma3TextConfig.convert_rope_params_to_dict): rope_parameters[layer type], a missing
    one {"rope_type": "default"}, rope_scaling updating full_attention, rope_theta defaulting to
    the top-level rope_theta (full) and rope_local_base_freq (sliding).
    """
    rp = cfg.get("rope_parameters")
    if rp is None:
        return cfg, dict(cfg, rope_theta=cfg.get("rope_local_base_freq", 10000.0), rope_scaling=None)
    full = dict(rp.get("full_attention") or {"rope_type": "default"})
    full.update(cfg.get("rope_scaling") or {})
    full.setdefault("rope_theta", cfg.get("rope_theta", 1000000.0))
    local = dict(rp.get("sliding_attention") or {"rope_type": "default"})
    local.setdefault("rope_theta", cfg.get("rope_local_base_freq", 10000.0))
    rest = {k: v for k, v in cfg.items() if k not in ("rope_parameters", "rope_scaling")}
    return dict(rest, rope_scaling=full), dict(rest, rope_scaling=local)


def gemma_params(cfg, g, dtype):
    """llama_params with zero-centred norm weights (N(0, 0.1²)), plus Gemma 2/3's extra norms."""
    p = base.llama_params(cfg, g, dtype, cfg.get("attention_bias", False), cfg.get("attention_bias", False), False)
    r = lambda n: (torch.randn(n, generator=g) * 0.1).to(dtype)
    for name in list(p):
        if name.endswith("norm.weight"):
            p[name] = r(cfg["hidden_size"])
    for l in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{l}."
        if cfg["model_type"] != "gemma":
            p[pre + "pre_feedforward_layernorm.weight"] = r(cfg["hidden_size"])
            p[pre + "post_feedforward_layernorm.weight"] = r(cfg["hidden_size"])
        if cfg["model_type"] == "gemma3_text":
            p[pre + "self_attn.q_norm.weight"] = r(cfg["head_dim"])
            p[pre + "self_attn.k_norm.weight"] = r(cfg["head_dim"])
    return p


def gemma_cfg(model_type, **kw):
    """A tiny config.json as Gemma checkpoints write it."""
    arch = {"gemma": "GemmaForCausalLM", "gemma2": "Gemma2ForCausalLM", "gemma3_text": "Gemma3ForCausalLM"}[model_type]
    c = {
        "architectures": [arch], "model_type": model_type, "hidden_size": 24, "intermediate_size": 32,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "vocab_size": 32,
        "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "attention_bias": False,
        "attention_dropout": 0.0, "hidden_activation": "gelu_pytorch_tanh", "initializer_range": 0.02,
        "tie_word_embeddings": True, "bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0, "use_cache": True,
        "torch_dtype": "bfloat16",
    }
    c.update(kw)
    return c


def forward(cfg, p, tokens):
    if cfg["model_type"].startswith("gemma"):
        return gemma_forward(cfg, p, tokens)
    H, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, _ = head_dims(cfg)
    eps = cfg["rms_norm_eps"]
    Bn, Tn = tokens.shape
    x = p["model.embed_tokens.weight"][tokens]
    cos, sin = cos_sin(cfg, Bn, Tn)
    olmo2 = cfg["model_type"] == "olmo2"
    for l in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{l}."
        norm = lambda name, y: fam.rms_norm(y, p[pre + name + ".weight"], eps)
        h = x if olmo2 else norm("input_layernorm", x)
        q, k, v = qkv(cfg, p, pre, h)
        if olmo2:  # over the whole projection, before .view
            q, k = norm("self_attn.q_norm", q), norm("self_attn.k_norm", k)
        q = q.view(Bn, Tn, nh, hd).transpose(1, 2)
        k = k.view(Bn, Tn, nkv, hd).transpose(1, 2)
        v = v.view(Bn, Tn, nkv, hd).transpose(1, 2)
        if cfg.get("no_rope_layers", [1] * (l + 1))[l]:  # SmolLM3Attention.use_rope
            q, k = fam.apply_rope(q, cos, sin), fam.apply_rope(k, cos, sin)
        y = attend(q, k, v, hd ** -0.5, layer_window(cfg, l)).transpose(1, 2).reshape(Bn, Tn, nh * hd)
        y = F.linear(y, p[pre + "self_attn.o_proj.weight"], p.get(pre + "self_attn.o_proj.bias"))
        if olmo2:
            x = x + norm("post_attention_layernorm", y)
            x = x + norm("post_feedforward_layernorm", mlp(cfg, p, pre, x))
            continue
        x = x + y
        h = norm("post_attention_layernorm", x)
        x = x + mlp(cfg, p, pre, h)
    x = fam.rms_norm(x, p["model.norm.weight"], eps)
    return F.linear(x, p.get("lm_head.weight", p["model.embed_tokens.weight"]))


def llama_params(cfg, g, dtype):
    if cfg["model_type"].startswith("gemma"):
        return gemma_params(cfg, g, dtype)
    hd, _ = head_dims(cfg)
    p = base.llama_params(dict(cfg, head_dim=hd), g, dtype, cfg["model_type"] == "qwen2", False, False)
    if cfg["model_type"] == "olmo2":
        for l in range(cfg["num_hidden_layers"]):
            pre = f"model.layers.{l}."
            del p[pre + "input_layernorm.weight"]
            p[pre + "post_feedforward_layernorm.weight"] = (1 + torch.randn(cfg["hidden_size"], generator=g) * 0.1).to(dtype)
            p[pre + "self_attn.q_norm.weight"] = (1 + torch.randn(cfg["num_attention_heads"] * hd, generator=g) * 0.1).to(dtype)
            p[pre + "self_attn.k_norm.weight"] = (1 + torch.randn(cfg["num_key_value_heads"] * hd, generator=g) * 0.1).to(dtype)
    if cfg["model_type"] == "phi3":
        for l in range(cfg["num_hidden_layers"]):
            pre = f"model.layers.{l}."
            p[pre + "self_attn.qkv_proj.weight"] = torch.cat([p.pop(pre + f"self_attn.{n}_proj.weight") for n in "qkv"])
            p[pre + "mlp.gate_up_proj.weight"] = torch.cat([p.pop(pre + f"mlp.{n}_proj.weight") for n in ("gate", "up")])
    return p


def golden(name, cfg, dtype, g, prefix=None):
    """make_model_goldens' golden(), plus the logits of a prefix pass as make_family_goldens' golden()."""
    base.golden(name, cfg, llama_params(cfg, g, dtype), forward, g)
    if prefix:
        fam.add_prefix(name, cfg, prefix, forward)


def phi3_cfg(**kw):
    """Phi-3-mini-4k-instruct's config.json, tiny."""
    c = {
        "architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "hidden_size": 16, "intermediate_size": 24,
        "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 2, "vocab_size": 32,
        "max_position_embeddings": 64, "original_max_position_embeddings": 64, "rms_norm_eps": 1e-5,
        "hidden_act": "silu", "tie_word_embeddings": False, "attention_bias": False, "attention_dropout": 0.0,
        "embd_pdrop": 0.0, "resid_pdrop": 0.0, "initializer_range": 0.02, "rope_scaling": None, "rope_theta": 10000.0,
        "sliding_window": 3, "bos_token_id": 1, "eos_token_id": 30, "pad_token_id": 30, "use_cache": True,
        "torch_dtype": "float32", "transformers_version": "4.40.2",
    }
    c.update(kw)
    return c


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(20261215)
    cfg = fam.llama_cfg(
        drop=("attention_bias", "mlp_bias", "pretraining_tp", "head_dim"),
        architectures=["MistralForCausalLM"], model_type="mistral", num_hidden_layers=2, sliding_window=3,
        rope_theta=100.0, transformers_version="4.46.0")
    golden("mistral-window-f32", cfg, torch.float32, g)
    cfg = fam.llama_cfg(
        drop=("attention_bias", "mlp_bias", "pretraining_tp", "head_dim"),
        architectures=["Qwen2ForCausalLM"], model_type="qwen2", num_hidden_layers=2, rope_theta=1000.0,
        rms_norm_eps=1e-6, use_sliding_window=True, sliding_window=4, max_window_layers=1,
        torch_dtype="bfloat16", transformers_version="4.46.0")
    golden("qwen2-window-bf16", cfg, torch.bfloat16, g)
    golden("phi3-f32", phi3_cfg(), torch.float32, g)
    golden("phi4-mini-bf16", phi3_cfg(
        hidden_size=24, num_attention_heads=3, num_key_value_heads=1, head_dim=8, partial_rotary_factor=0.75,
        rope_theta=100.0, max_position_embeddings=40, original_max_position_embeddings=5, sliding_window=262144,
        rope_scaling={"type": "longrope", "short_factor": [1.0, 1.25, 1.5], "long_factor": [1.0, 3.0, 6.0]},
        tie_word_embeddings=True, torch_dtype="bfloat16", transformers_version="4.49.0"), torch.bfloat16, g, prefix=5)
    golden("gemma-bf16", gemma_cfg(
        "gemma", num_attention_heads=3, num_key_value_heads=1, head_dim=6, hidden_act="gelu",
        rope_scaling=None, transformers_version="4.38.0"), torch.bfloat16, g)
    golden("gemma2-bf16", gemma_cfg(
        "gemma2", query_pre_attn_scalar=10, attn_logit_softcapping=2.0, final_logit_softcapping=5.0,
        sliding_window=3, hidden_act="gelu_pytorch_tanh", cache_implementation="hybrid",
        transformers_version="4.42.4"), torch.bfloat16, g)
    gemma3 = gemma_cfg(
        "gemma3_text", num_hidden_layers=3, head_dim=12, query_pre_attn_scalar=12, sliding_window=3,
        sliding_window_pattern=2, rope_theta=1000.0, rope_local_base_freq=20.0,
        rope_scaling={"rope_type": "linear", "factor": 4.0}, attn_logit_softcapping=None, final_logit_softcapping=None,
        torch_dtype="float32", transformers_version="4.50.0")
    gemma3_state = g.get_state()  # gemma3-v5-f32 draws the same weights and batch
    golden("gemma3-f32", gemma3, torch.float32, g)
    golden("olmo2-f32", fam.llama_cfg(
        drop=("head_dim", "mlp_bias", "pretraining_tp"), architectures=["Olmo2ForCausalLM"], model_type="olmo2",
        num_hidden_layers=2, rope_theta=500000.0, rms_norm_eps=1e-6, pad_token_id=1, eos_token_id=30,
        rope_scaling=None, transformers_version="4.48.0"), torch.float32, g)
    golden("smollm3-bf16", fam.llama_cfg(
        drop=("head_dim", "pretraining_tp"), architectures=["SmolLM3ForCausalLM"], model_type="smollm3",
        num_hidden_layers=3, rope_theta=100.0, rms_norm_eps=1e-6, tie_word_embeddings=True, no_rope_layers=[1, 0, 1],
        no_rope_layer_interval=4, use_sliding_window=True, sliding_window=3, rope_scaling=None,
        torch_dtype="bfloat16", transformers_version="4.53.0"), torch.bfloat16, g)
    v5 = {k: v for k, v in gemma3.items()
          if k not in ("rope_theta", "rope_scaling", "rope_local_base_freq", "sliding_window_pattern", "torch_dtype")}
    v5.update(dtype="float32", transformers_version="5.0.0", layer_types=layer_types(gemma3), rope_parameters={
        "full_attention": {"rope_type": "linear", "factor": 4.0, "rope_theta": 1000.0},
        "sliding_attention": {"rope_type": "default", "rope_theta": 20.0}})
    golden("gemma3-v5-f32", v5, torch.float32, torch.Generator().set_state(gemma3_state))
    same_logits("gemma3-f32", "gemma3-v5-f32")


def same_logits(a, b):
    """Asserts that two goldens have the same weights, batch and logits."""
    read = lambda name, f: open(os.path.join(base.OUT, name, f), "rb").read()
    ga, gb = (json.loads(read(n, "golden.json")) for n in (a, b))
    assert read(a, "model.safetensors") == read(b, "model.safetensors"), (a, b)
    assert ga["tokens"] == gb["tokens"] and ga["targets"] == gb["targets"], (a, b)
    assert ga["logits"] == gb["logits"], (a, b, max(abs(x - y) for x, y in zip(ga["logits"], gb["logits"])))


if __name__ == "__main__":
    if not torch.__version__.startswith("1.13"):
        print("warning: made with PyTorch", torch.__version__, "(goldens were made with 1.13)", file=sys.stderr)
    main()
