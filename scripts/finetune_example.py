#!/usr/bin/env python3
"""An example training script for lopper's exec stage (recipes/finetune-exec.yaml).

    finetune_example.py --model DIR --data FILE --out DIR --metrics FILE [--steps N ...]

Fine-tunes the Hugging Face causal LM in --model (a pruned model that lopper
wrote for the stage) on random windows of the text in --data with AdamW,
keeping every weight that is exactly zero at zero (the pruned ones), and
writes the result to --out (model.safetensors, config.json, tokenizer) and
{"train_loss": mean of the last 10 steps, "first_loss": the first step's}
to --metrics. Any script with the same contract will do: read the model
directory, write a model directory and a JSON object of numbers.

Needs torch and transformers; uses the GPU when there is one.
"""
import argparse
import json

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="the model directory to start from")
    ap.add_argument("--data", required=True, help="training text")
    ap.add_argument("--out", required=True, help="where to write the fine-tuned model")
    ap.add_argument("--metrics", required=True, help="where to write the metrics JSON")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tok = AutoTokenizer.from_pretrained(a.model)
    model = AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32).to(device)
    # The pruned weights: the exact zeros of the 2-D weights stay zero.
    keep = {n: p != 0 for n, p in model.named_parameters() if p.dim() == 2}

    with open(a.data, encoding="utf-8") as f:
        ids = torch.tensor(tok(f.read(), add_special_tokens=False)["input_ids"], dtype=torch.long)
    if len(ids) <= a.seq_len:
        raise SystemExit(f"{a.data}: {len(ids)} tokens, need more than --seq-len {a.seq_len}")

    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(a.seed)
    model.train()
    losses = []
    for step in range(a.steps):
        starts = torch.randint(0, len(ids) - a.seq_len, (a.batch_size,), generator=gen)
        x = torch.stack([ids[s:s + a.seq_len] for s in starts.tolist()]).to(device)
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n in keep:
                    p.mul_(keep[n])
        losses.append(loss.item())
        if step % 10 == 0 or step == a.steps - 1:
            print(f"step {step}: loss {loss.item():.4f}", flush=True)

    model.save_pretrained(a.out, safe_serialization=True)
    tok.save_pretrained(a.out)
    tail = losses[-10:]
    with open(a.metrics, "w") as f:
        json.dump({"train_loss": sum(tail) / len(tail), "first_loss": losses[0]}, f)


if __name__ == "__main__":
    main()
