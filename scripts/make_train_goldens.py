#!/usr/bin/env python3
"""Make golden files for lopper's training loop (train/testdata/).

PyTorch runs a few steps of lopper's recovery training on tiny random
models, with explicit batches, so that train.Train can be checked step by
step against an independent implementation:

  llama-distill  Llama (GQA 2:1, untied head), half of every block linear
                 weight pruned (zero, held by a mask), distilled from the
                 dense model (T = 2, alpha = 0.3): warmup 2 + cosine to
                 min_lr, AdamW (betas 0.9/0.95, weight decay 0.1 on 2-D
                 tensors only), grad-norm clipping at 0.5, one ignored target.
  gpt2-linear    GPT-2 (Conv1D weights, tied head), dense, no teacher:
                 warmup 1 + linear decay, weight decay 0.01, no clipping.

Each case directory holds the student (and teacher) as Hugging Face
directories, golden.json (config, per-step batches, loss, lm/kd terms, lr,
grad norm) and after/, the student after the last step. The forward passes are the plain-torch
ones of make_model_goldens.py.

Run with PyTorch 1.13: /usr/bin/python3 scripts/make_train_goldens.py
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_goldens import byte_tokenizer, gpt2_forward, gpt2_params, llama_forward, llama_params, st_bytes, write  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train", "testdata")
IGNORE = -100


def lr_at(c, t):
    # lopper's schedule (train/schedule.go), written from its definition.
    if t < c["warmup_steps"]:
        return c["lr"] * (t + 1) / c["warmup_steps"]
    decay = c["steps"] - c["warmup_steps"]
    p = (t - c["warmup_steps"]) / decay
    if c["schedule"] == "cosine":
        return c["min_lr"] + (c["lr"] - c["min_lr"]) * 0.5 * (1 + math.cos(math.pi * p))
    if c["schedule"] == "linear":
        return c["lr"] - (c["lr"] - c["min_lr"]) * p
    return c["lr"]


def save_model(d, cfg, params):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    write(os.path.join(d, "tokenizer.json"), byte_tokenizer(cfg["vocab_size"]))
    write(os.path.join(d, "model.safetensors"), st_bytes(params))


def run(name, cfg, forward, student, teacher, masked, c, g):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    vocab, B, T = cfg["vocab_size"], c["batch_size"], c["seq_len"]
    masks = {}
    for k in masked:
        masks[k] = (torch.rand(student[k].shape, generator=g) >= 0.5).float()
        student[k] = student[k] * masks[k]
    save_model(os.path.join(d, "student"), cfg, student)
    if teacher is not None:
        save_model(os.path.join(d, "teacher"), cfg, teacher)

    leaves = {k: v.clone().requires_grad_(True) for k, v in student.items()}
    decay = [v for v in leaves.values() if v.dim() == 2]
    flat = [v for v in leaves.values() if v.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": c["weight_decay"]}, {"params": flat, "weight_decay": 0.0}],
                            lr=c["lr"], betas=tuple(c["betas"]), eps=c["eps"])
    steps = []
    for t in range(c["steps"]):
        inputs = torch.randint(0, vocab, (B, T), generator=g)
        targets = torch.randint(0, vocab, (B, T), generator=g)
        if t == 1:
            targets[0, 3] = IGNORE
        lr = lr_at(c, t)
        for grp in opt.param_groups:
            grp["lr"] = lr
        opt.zero_grad()
        logits = forward(cfg, leaves, inputs).reshape(-1, vocab)
        tgt = targets.reshape(-1)
        lm = F.cross_entropy(logits, tgt, ignore_index=IGNORE)
        loss, kd = lm, None
        if teacher is not None:
            Tm, a = c["temperature"], c["alpha"]
            with torch.no_grad():
                tl = forward(cfg, teacher, inputs).reshape(-1, vocab)
            kl = F.kl_div(F.log_softmax(logits / Tm, -1), F.log_softmax(tl / Tm, -1), reduction="none", log_target=True).sum(-1)
            kd = kl[tgt != IGNORE].mean() * Tm * Tm
            loss = (1 - a) * lm + a * kd
        loss.backward()
        for k, m in masks.items():
            leaves[k].grad.mul_(m)
        max_norm = c["grad_clip"] if c["grad_clip"] > 0 else float("inf")
        norm = torch.nn.utils.clip_grad_norm_(list(leaves.values()), max_norm)
        opt.step()
        with torch.no_grad():
            for k, m in masks.items():
                leaves[k].mul_(m)
        steps.append({
            "inputs": inputs.reshape(-1).tolist(),
            "targets": [x if x != IGNORE else -1 for x in tgt.tolist()],
            "loss": float(loss), "lm_loss": float(lm), "kd_loss": None if kd is None else float(kd),
            "lr": lr, "grad_norm": float(norm),
        })
    save_model(os.path.join(d, "after"), cfg, {k: v.detach() for k, v in leaves.items()})
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump({"config": c, "steps": steps}, f)
    print(name, "losses", [round(s["loss"], 5) for s in steps])


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(20261130)
    llama = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16, "intermediate_size": 24,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 4,
        "vocab_size": 40, "max_position_embeddings": 16, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
        "hidden_act": "silu", "tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False,
        "torch_dtype": "float32",
    }
    dense = llama_params(llama, g, torch.float32, False, False, False)
    masked = [k for k in dense if k.startswith("model.layers.") and k.endswith("_proj.weight")]
    c = {"steps": 6, "batch_size": 2, "seq_len": 8, "lr": 0.01, "warmup_steps": 2, "schedule": "cosine", "min_lr": 0.001,
         "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1, "grad_clip": 0.5, "temperature": 2.0, "alpha": 0.3}
    run("llama-distill", llama, llama_forward, {k: v.clone() for k, v in dense.items()}, dense, masked, c, g)

    gpt2 = {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": 16, "n_layer": 2, "n_head": 2,
        "n_positions": 16, "n_ctx": 16, "n_inner": 40, "vocab_size": 40, "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True, "torch_dtype": "float32",
    }
    c = {"steps": 5, "batch_size": 3, "seq_len": 6, "lr": 0.003, "warmup_steps": 1, "schedule": "linear", "min_lr": 0.0,
         "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01, "grad_clip": 0.0}
    run("gpt2-linear", gpt2, gpt2_forward, gpt2_params(gpt2, g), None, [], c, g)


if __name__ == "__main__":
    if not torch.__version__.startswith("1.13"):
        print("warning: made with PyTorch", torch.__version__, "(goldens were made with 1.13)", file=sys.stderr)
    main()
