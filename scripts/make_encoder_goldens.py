#!/usr/bin/env python3
"""Make golden files for lopper's encoder classifiers (model/testdata/goldens/,
next to those of make_model_goldens.py).

Plain torch, no `transformers`: each op below is re-typed from the transformers
source it names (huggingface/transformers; commits as stored by the spec
../shared/specs/model-families.md §5):

  src/transformers/models/bert/modeling_bert.py @004ad5f50b62
      BertEmbeddings.forward (word + token_type, + absolute positions 0..T-1,
      LayerNorm), BertSelfAttention.forward (scores / sqrt(head size) + the
      extended mask, softmax, · V), BertSelfOutput / BertOutput (dense, +
      residual, LayerNorm: post-LN), BertIntermediate (GELUActivation: erf),
      BertAttention.prune_heads (per-layer head counts from config.pruned_heads),
      BertPooler (tanh(dense(h[:, 0]))), BertForSequenceClassification.forward
      (problem_type: MSELoss / CrossEntropyLoss / BCEWithLogitsLoss),
      ModuleUtilsMixin.get_extended_attention_mask ((1 - mask) · finfo.min)
  src/transformers/models/roberta/modeling_roberta.py @000824f17f92
      create_position_ids_from_input_ids (cumsum of ids != pad, + pad),
      RobertaEmbeddings (position_embeddings with padding_idx), RobertaModel
      without a pooler, RobertaClassificationHead (tanh(dense(h[:, 0])),
      out_proj)
  src/transformers/models/distilbert/modeling_distilbert.py @00b326f4caca
      Embeddings (word + positions, LayerNorm eps 1e-12), MultiHeadSelfAttention
      (q / sqrt(dim_per_head) before q·kᵀ, masked_fill(finfo.min)),
      TransformerBlock (sa_layer_norm, ffn, output_layer_norm),
      DistilBertForSequenceClassification (pre_classifier, ReLU, classifier)
  modeling_utils.py _fix_state_dict_key_on_load (LayerNorm.gamma/beta)
  nn.Embedding(padding_idx): the padding row gets no gradient (F.embedding)

Models (tiny, random, exact Hugging Face layout and config.json):

  bert-f32        BertForSequenceClassification, 3 labels, problem_type null
                  (single-label), pruned_heads {"1": [0, 2]} (layer 1 keeps 2
                  of 4 heads, stored shrunk), TF-era LayerNorm.gamma/.beta
                  names and the persistent position_ids buffer (I64), F32
  bert-f16        BertForSequenceClassification, 4 named labels,
                  multi_label_classification, F16
  roberta-f32     RobertaForSequenceClassification, 3 labels, single-label,
                  pad_token_id 1 (offset positions), type_vocab_size 1, an
                  unused roberta.pooler and the position_ids buffer, F32
  roberta-f16     RobertaForSequenceClassification, 1 label: regression, F16
  distilbert-f32  DistilBertForSequenceClassification, 2 labels (SST-2 style
                  config), single-label, F32
  distilbert-f16  DistilBertForSequenceClassification, 2 labels, regression, F16

Each batch holds 3 sequences of 8 tokens: a pair ([CLS] A [SEP] B [SEP], type
ids 1 on B for BERT; <s> A </s></s> B </s> for RoBERTa) and two single
sequences padded on the right (5 and 3 tokens; the first holds a pad token
that its attention mask does not hide). golden.json holds ids,
type_ids, attention_mask, labels, logits and loss; golden_grads.safetensors the
F32 gradients of the loss, named as lopper names the weights.

Run with PyTorch 1.13: /usr/bin/python3 scripts/make_encoder_goldens.py
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_model_goldens as base  # noqa: E402  (st_bytes, write)

OUT = base.OUT
base.DTYPES[torch.int64] = "I64"
B, T = 3, 8
FMIN = torch.finfo(torch.float32).min


# ---- the network (one function for the three families) ----

def layer_norm(x, w, b, eps):
    return F.layer_norm(x, (x.shape[-1],), w, b, eps)


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))  # GELUActivation


def layer_names(fam, l):
    """Names (without .weight/.bias) of block l: q, k, v, o, ln1, up, down, ln2."""
    if fam == "distilbert":
        L = f"distilbert.transformer.layer.{l}."
        return [L + "attention." + s for s in ("q_lin", "k_lin", "v_lin", "out_lin")] + \
            [L + "sa_layer_norm", L + "ffn.lin1", L + "ffn.lin2", L + "output_layer_norm"]
    L = f"{fam}.encoder.layer.{l}."
    return [L + "attention.self." + s for s in ("query", "key", "value")] + \
        [L + "attention.output.dense", L + "attention.output.LayerNorm", L + "intermediate.dense",
         L + "output.dense", L + "output.LayerNorm"]


def positions(fam, cfg, ids):
    if fam == "roberta":
        pad = cfg["pad_token_id"]
        m = ids.ne(pad).int()
        return (torch.cumsum(m, dim=1).type_as(m) * m).long() + pad
    return torch.arange(ids.shape[1]).expand(ids.shape)


def forward(fam, cfg, p, ids, types, mask):
    """Logits [B, labels]. p maps lopper's (canonical) names to float32 leaves."""
    pre = {"bert": "bert.", "roberta": "roberta.", "distilbert": "distilbert."}[fam]
    eps = 1e-12 if fam == "distilbert" else cfg["layer_norm_eps"]
    pad = cfg["pad_token_id"]
    e = pre + "embeddings."
    pos = positions(fam, cfg, ids)
    x = F.embedding(ids, p[e + "word_embeddings.weight"], padding_idx=pad)
    if fam != "distilbert":
        x = x + F.embedding(types, p[e + "token_type_embeddings.weight"])
    x = x + F.embedding(pos, p[e + "position_embeddings.weight"], padding_idx=pad if fam == "roberta" else None)
    x = layer_norm(x, p[e + "LayerNorm.weight"], p[e + "LayerNorm.bias"], eps)

    heads = cfg["n_heads"] if fam == "distilbert" else cfg["num_attention_heads"]
    hidden = cfg["dim"] if fam == "distilbert" else cfg["hidden_size"]
    hd = hidden // heads
    n_layers = cfg["n_layers"] if fam == "distilbert" else cfg["num_hidden_layers"]
    for l in range(n_layers):
        q_, k_, v_, o_, ln1, up, down, ln2 = layer_names(fam, l)
        lin = lambda name, h: F.linear(h, p[name + ".weight"], p[name + ".bias"])
        nh = p[q_ + ".weight"].shape[0] // hd  # heads left after prune_heads
        split = lambda t: t.view(t.shape[0], t.shape[1], nh, hd).transpose(1, 2)
        q, k, v = split(lin(q_, x)), split(lin(k_, x)), split(lin(v_, x))
        if fam == "distilbert":
            q = q / math.sqrt(hd)
            s = torch.matmul(q, k.transpose(2, 3))
            s = s.masked_fill((mask == 0).view(mask.shape[0], 1, 1, -1).expand_as(s), FMIN)
        else:
            s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
            s = s + (1.0 - mask[:, None, None, :].float()) * FMIN
        ctx = torch.matmul(torch.softmax(s, dim=-1), v).transpose(1, 2).reshape(x.shape[0], x.shape[1], nh * hd)
        a = layer_norm(lin(o_, ctx) + x, p[ln1 + ".weight"], p[ln1 + ".bias"], eps)
        x = layer_norm(lin(down, gelu(lin(up, a))) + a, p[ln2 + ".weight"], p[ln2 + ".bias"], eps)

    h = x[:, 0]
    if fam == "bert":
        h = torch.tanh(F.linear(h, p["bert.pooler.dense.weight"], p["bert.pooler.dense.bias"]))
        return F.linear(h, p["classifier.weight"], p["classifier.bias"])
    if fam == "roberta":
        h = torch.tanh(F.linear(h, p["classifier.dense.weight"], p["classifier.dense.bias"]))
        return F.linear(h, p["classifier.out_proj.weight"], p["classifier.out_proj.bias"])
    h = torch.relu(F.linear(h, p["pre_classifier.weight"], p["pre_classifier.bias"]))
    return F.linear(h, p["classifier.weight"], p["classifier.bias"])


def loss_of(cfg, logits, labels):
    n = logits.shape[1]
    pt = cfg.get("problem_type") or ("regression" if n == 1 else "single_label_classification")
    if pt == "regression":
        return F.mse_loss(logits.squeeze(), labels.squeeze()) if n == 1 else F.mse_loss(logits, labels)
    if pt == "single_label_classification":
        return F.cross_entropy(logits.view(-1, n), labels.view(-1))
    return F.binary_cross_entropy_with_logits(logits, labels)


# ---- parameters ----

def params(fam, cfg, g, dtype, pruned=None):
    """{canonical name: tensor in dtype}; pruned: {layer: heads removed}."""
    pre = {"bert": "bert.", "roberta": "roberta.", "distilbert": "distilbert."}[fam]
    H = cfg["dim"] if fam == "distilbert" else cfg["hidden_size"]
    I = cfg["hidden_dim"] if fam == "distilbert" else cfg["intermediate_size"]
    heads = cfg["n_heads"] if fam == "distilbert" else cfg["num_attention_heads"]
    n_layers = cfg["n_layers"] if fam == "distilbert" else cfg["num_hidden_layers"]
    labels = len(cfg["id2label"])
    hd = H // heads
    out = {}

    def mat(name, *shape, std=0.3):
        out[name] = (torch.randn(*shape, generator=g) * std).to(dtype)

    def norm(name):
        out[name + ".weight"] = (1 + torch.randn(H, generator=g) * 0.1).to(dtype)
        out[name + ".bias"] = (torch.randn(H, generator=g) * 0.1).to(dtype)

    def linear(name, o, i):
        mat(name + ".weight", o, i)
        mat(name + ".bias", o, std=0.1)

    e = pre + "embeddings."
    mat(e + "word_embeddings.weight", cfg["vocab_size"], H, std=1.0)
    mat(e + "position_embeddings.weight", cfg["max_position_embeddings"], H, std=0.5)
    if fam != "distilbert":
        mat(e + "token_type_embeddings.weight", cfg["type_vocab_size"], H, std=0.5)
    norm(e + "LayerNorm")
    for l in range(n_layers):
        q = (heads - len((pruned or {}).get(l, []))) * hd
        q_, k_, v_, o_, ln1, up, down, ln2 = layer_names(fam, l)
        for name in (q_, k_, v_):
            linear(name, q, H)
        linear(o_, H, q)
        norm(ln1)
        linear(up, I, H)
        linear(down, H, I)
        norm(ln2)
    if fam == "bert":
        linear("bert.pooler.dense", H, H)
        linear("classifier", labels, H)
    elif fam == "roberta":
        linear("classifier.dense", H, H)
        linear("classifier.out_proj", labels, H)
    else:
        linear("pre_classifier", H, H)
        linear("classifier", labels, H)
    return out


# ---- tokenizers (for Save to copy; vocabularies match the configs) ----

def wordpiece_tokenizer(vocab):
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    words += ["##" + chr(c) for c in range(ord("a"), ord("a") + vocab - len(words))]
    cls, sep = 2, 3
    single = [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
              {"SpecialToken": {"id": "[SEP]", "type_id": 0}}]
    pair = single + [{"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}]
    return json.dumps({
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": w, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, w in enumerate(words[:5])],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": {
            "[CLS]": {"id": "[CLS]", "ids": [cls], "tokens": ["[CLS]"]},
            "[SEP]": {"id": "[SEP]", "ids": [sep], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": {w: i for i, w in enumerate(words)}},
    }, indent=2, ensure_ascii=False).encode()


def roberta_tokenizer(vocab):
    words = ["<s>", "<pad>", "</s>", "<unk>", "<mask>", "\u0120"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    words += ["\u0120" + chr(c) for c in range(ord("a"), ord("a") + vocab - len(words))]
    merges = ["\u0120 " + w[1:] for w in words[32:]]
    return json.dumps({
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": w, "single_word": False, "lstrip": w == "<mask>", "rstrip": False,
                          "normalized": False, "special": True} for i, w in enumerate(words[:5])],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                           "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": {w: i for i, w in enumerate(words)}, "merges": merges},
    }, indent=2, ensure_ascii=False).encode()


# ---- batches ----

def batch(fam, cfg, g):
    """ids, type ids, attention mask [B, T]: a pair, and singles of 5 and 3 tokens."""
    vocab, pad = cfg["vocab_size"], cfg["pad_token_id"]
    cls, sep = (0, 2) if fam == "roberta" else (2, 3)
    word = lambda n: torch.randint(5, vocab, (n,), generator=g).tolist()
    if fam == "roberta":
        pair = [cls] + word(2) + [sep, sep] + word(2) + [sep]
        types0 = [0] * T
    else:
        pair = [cls] + word(2) + [sep] + word(3) + [sep]
        types0 = [0] * 4 + [1] * 4
    rows, types, mask = [pair], [types0], [[1] * T]
    for n in (5, 3):
        rows.append(([cls] + word(n - 2) + [sep] + [pad] * (T - n)))
        types.append([0] * T)
        mask.append([1] * n + [0] * (T - n))
    # A pad token the mask lets through: nn.Embedding(padding_idx) still
    # gives its row no gradient, and RoBERTa gives it the pad position.
    rows[1][2] = pad
    return torch.tensor(rows), torch.tensor(types), torch.tensor(mask)


def labels_for(cfg, g):
    n = len(cfg["id2label"])
    pt = cfg.get("problem_type") or ("regression" if n == 1 else "single_label_classification")
    if pt == "single_label_classification":
        return torch.randint(0, n, (B,), generator=g)
    if pt == "multi_label_classification":
        return torch.randint(0, 2, (B, n), generator=g).float()
    return torch.randn(B, n, generator=g)


# ---- driver ----

def golden(name, fam, cfg, g, dtype, pruned=None, stored_names=None, extra=None):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    p = params(fam, cfg, g, dtype, pruned)
    ids, types, mask = batch(fam, cfg, g)
    labels = labels_for(cfg, g)
    leaves = {k: v.float().clone().requires_grad_(True) for k, v in p.items()}
    logits = forward(fam, cfg, leaves, ids, types, mask)
    loss = loss_of(cfg, logits, labels)
    loss.backward()

    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    tok = roberta_tokenizer if fam == "roberta" else wordpiece_tokenizer
    base.write(os.path.join(d, "tokenizer.json"), tok(cfg["vocab_size"]))
    stored = {(stored_names or (lambda n: n))(k): v for k, v in p.items()}
    stored.update(extra or {})
    base.write(os.path.join(d, "model.safetensors"), base.st_bytes(stored))
    base.write(os.path.join(d, "golden_grads.safetensors"), base.st_bytes({k: v.grad.detach() for k, v in leaves.items()}))
    out = {
        "ids": ids.reshape(-1).tolist(), "type_ids": types.reshape(-1).tolist(),
        "attention_mask": mask.reshape(-1).tolist(), "batch": B, "seq": T,
        "labels": [float(v) for v in labels.reshape(-1)],
        "logits": [float(v) for v in logits.detach().reshape(-1)],
        "loss": float(loss),
    }
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump(out, f)
    print(name, "loss", float(loss), "files", sorted(os.listdir(d)))


def bert_config(**kw):
    c = {
        "architectures": ["BertForSequenceClassification"], "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None, "gradient_checkpointing": False, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "hidden_size": 16, "initializer_range": 0.02, "intermediate_size": 24,
        "layer_norm_eps": 1e-12, "max_position_embeddings": 16, "model_type": "bert", "num_attention_heads": 4,
        "num_hidden_layers": 2, "pad_token_id": 0, "position_embedding_type": "absolute",
        "transformers_version": "4.30.2", "type_vocab_size": 2, "use_cache": True, "vocab_size": 40,
    }
    c.update(kw)
    return c


def labels_config(names):
    return {"id2label": {str(i): n for i, n in enumerate(names)}, "label2id": {n: i for i, n in enumerate(names)}}


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(20261214)

    # BERT, F32: TF-era gamma/beta names, the position_ids buffer, pruned heads.
    cfg = bert_config(torch_dtype="float32", pruned_heads={"1": [0, 2]}, **labels_config(["LABEL_0", "LABEL_1", "LABEL_2"]))
    tf_names = lambda n: n.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
    golden("bert-f32", "bert", cfg, g, torch.float32, pruned={1: [0, 2]}, stored_names=tf_names,
           extra={"bert.embeddings.position_ids": torch.arange(16).unsqueeze(0)})

    cfg = bert_config(torch_dtype="float16", problem_type="multi_label_classification",
                      **labels_config(["toxic", "obscene", "threat", "insult"]))
    golden("bert-f16", "bert", cfg, g, torch.float16)

    roberta = dict(bert_config(), architectures=["RobertaForSequenceClassification"], model_type="roberta",
                   bos_token_id=0, eos_token_id=2, pad_token_id=1, type_vocab_size=1, layer_norm_eps=1e-5,
                   max_position_embeddings=18)
    del roberta["gradient_checkpointing"]
    cfg = dict(roberta, torch_dtype="float32", problem_type="single_label_classification",
               **labels_config(["negative", "neutral", "positive"]))
    pooler = {"roberta.pooler.dense.weight": torch.randn(16, 16, generator=g),
              "roberta.pooler.dense.bias": torch.randn(16, generator=g),
              "roberta.embeddings.position_ids": torch.arange(18).unsqueeze(0)}
    golden("roberta-f32", "roberta", cfg, g, torch.float32, extra=pooler)

    cfg = dict(roberta, torch_dtype="float16", problem_type="regression", **labels_config(["LABEL_0"]))
    golden("roberta-f16", "roberta", cfg, g, torch.float16)

    distil = {
        "activation": "gelu", "architectures": ["DistilBertForSequenceClassification"], "attention_dropout": 0.1,
        "dim": 16, "dropout": 0.1, "finetuning_task": "sst-2", "hidden_dim": 24, "initializer_range": 0.02,
        "max_position_embeddings": 16, "model_type": "distilbert", "n_heads": 4, "n_layers": 2,
        "output_past": True, "pad_token_id": 0, "qa_dropout": 0.1, "seq_classif_dropout": 0.2,
        "sinusoidal_pos_embds": False, "tie_weights_": True, "vocab_size": 40,
    }
    cfg = dict(distil, torch_dtype="float32", **labels_config(["NEGATIVE", "POSITIVE"]))
    golden("distilbert-f32", "distilbert", cfg, g, torch.float32)

    cfg = dict(distil, torch_dtype="float16", problem_type="regression", **labels_config(["LABEL_0", "LABEL_1"]))
    golden("distilbert-f16", "distilbert", cfg, g, torch.float16)


if __name__ == "__main__":
    if not torch.__version__.startswith("1.13"):
        print("warning: made with PyTorch", torch.__version__, "(goldens were made with 1.13)", file=sys.stderr)
    main()
