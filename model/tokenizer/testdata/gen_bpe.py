"""Makes bpe_cases.json: token ids for random texts under the shared GPT-2 and
Llama 2 tokenizers, computed by an independent reference written here from the
published algorithms: OpenAI's GPT-2 encoder (regex split, byte-to-unicode
mapping, then repeatedly merge every occurrence of the lowest-ranked pair) and,
for Llama 2, the SentencePiece-style pipeline of its tokenizer.json (prepend ▁,
spaces to ▁, the whole text as one word, byte fallback for characters not in
the vocabulary, the same merge rule). The Go tokenizer must agree.

Run from this directory with the shared data next to the repository:
    python3 gen_bpe.py ../../../../shared/tokenizers
"""
import json
import random
import sys

import regex

from gen_split import FRAGMENTS, GPT2, pin

WORDS = (
    "the of and to in is was for that on as with by he at from his an were are which this be has or had "
    "first not but after its new one also their been they who two time other into all year during only "
    "world history government between university season people under company however Hello Romeo Juliet "
    "tokenizer transformer pruning sparsity embedding attention gradient unbelievable internationalization"
).split()


def byte_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def bpe(symbols, ranks):
    word = list(symbols)
    while len(word) > 1:
        pairs = set(zip(word, word[1:]))
        best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if best not in ranks:
            break
        out, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                out.append(word[i] + word[i + 1])
                i += 2
            else:
                out.append(word[i])
                i += 1
        word = out
    return word


def load(path):
    with open(path, encoding="utf-8") as f:
        model = json.load(f)["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return model["vocab"], {p: r for r, p in enumerate(merges)}


def gpt2_encode(text, vocab, ranks, split, b2u):
    ids = []
    for piece in split.findall(text):
        ids += [vocab[t] for t in bpe([b2u[b] for b in piece.encode("utf-8")], ranks)]
    return ids


def llama2_encode(text, vocab, ranks):
    if not text:
        return []
    symbols = []
    for ch in "▁" + text.replace(" ", "▁"):
        if ch in vocab:
            symbols.append(ch)
        else:
            symbols += ["<0x%02X>" % b for b in ch.encode("utf-8")]
    return [vocab[t] for t in bpe(symbols, ranks)]


def main():
    root = sys.argv[1]
    gv, gr = load(root + "/gpt2/tokenizer.json")
    lv, lr = load(root + "/llama2/tokenizer.json")
    split, b2u = regex.compile(pin(GPT2)), byte_to_unicode()
    # The reference must first reproduce the shared Hugging Face cases.
    for name, enc in (("gpt2", lambda t: gpt2_encode(t, gv, gr, split, b2u)), ("llama2", lambda t: llama2_encode(t, lv, lr))):
        with open(root + "/" + name + "/cases.jsonl", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    c = json.loads(line)
                    assert enc(c["text"]) == c["ids"], (name, c["text"])
    rng = random.Random(7)
    frags = [f for f in FRAGMENTS if f != "<s>"]
    texts = []
    for k in range(160):
        n = rng.randint(1, 60)
        parts = []
        for _ in range(n):
            if rng.random() < 0.6:
                w = rng.choice(WORDS)
                parts.append(w.capitalize() if rng.random() < 0.2 else w)
                parts.append(rng.choice([" ", " ", " ", ", ", ". ", "\n", "  "]))
            else:
                parts.append(rng.choice(frags))
        texts.append("".join(parts))
    # Two long texts: for Llama 2 each is a single BPE word of thousands of symbols.
    for _ in range(2):
        texts.append(" ".join(rng.choice(WORDS) for _ in range(600)))
    cases = [{"text": t, "gpt2": gpt2_encode(t, gv, gr, split, b2u), "llama2": llama2_encode(t, lv, lr)} for t in texts]
    with open("bpe_cases.json", "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n")


if __name__ == "__main__":
    main()
