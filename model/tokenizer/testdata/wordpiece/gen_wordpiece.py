"""Makes the WordPiece test data of this directory with an independent Python
reference, written here from the published algorithms of Hugging Face's
tokenizers (normalizers/bert.rs, pre_tokenizers/bert.rs, models/wordpiece,
decoders/wordpiece.rs, processors/template.rs, utils/truncation.rs):

  BertNormalizer  clean_text: drop U+0000, U+FFFD and Cc/Cf/Co except \\t \\n \\r,
                  then whitespace (\\t \\n \\r or White_Space) becomes ' ';
                  handle_chinese_chars: spaces around CJK ideographs;
                  strip_accents (null: follow lowercase): NFD, drop Mn;
                  lowercase: per character.
  BertPreTokenizer  split on White_Space (dropped), isolate ASCII punctuation
                  and Unicode P*.
  WordPiece       greedy longest match from the left, '##' after the first
                  piece; no match or too many characters: one [UNK].
  post-processing [CLS] A [SEP] (B [SEP]), type ids 0 then 1; longest_first
                  truncation to max_length including the special tokens.

It writes:
  tiny.json, cases.json  a small hand-made vocabulary and random texts (accents,
      CJK, kana, Hangul, punctuation, control characters, Unicode spaces, long
      words, cased and uncased) under five normalizer settings, single and
      pair, with truncation.

Run from this directory: python3 gen_wordpiece.py. Python's unicodedata gives
the categories; the random texts use only characters whose category has not
changed since 2016 (see bert.go on Unicode versions). Not needed to run the
tests.
"""

import json
import random
import unicodedata

WHITE_SPACE = set(map(chr, [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
                            0x2028, 0x2029, 0x202F, 0x205F, 0x3000]))
CJK = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
       (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def is_ws(c):
    return c in "\t\n\r" or c in WHITE_SPACE


def is_control(c):
    return c not in "\t\n\r" and unicodedata.category(c) in ("Cc", "Cf", "Co")


def is_punct(c):
    o = ord(c)
    if o < 128:
        return 0x20 < o < 0x7F and not c.isalnum()
    return unicodedata.category(c).startswith("P")


def normalize(s, cfg):
    if cfg["clean_text"]:
        s = "".join(" " if is_ws(c) else c for c in s if not (c in "\0\ufffd" or is_control(c)))
    if cfg["handle_chinese_chars"]:
        s = "".join(f" {c} " if any(a <= ord(c) <= b for a, b in CJK) else c for c in s)
    strip = cfg["strip_accents"]
    if strip is None:
        strip = cfg["lowercase"]
    if strip:
        s = "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")
    if cfg["lowercase"]:
        s = "".join(c.lower() for c in s)  # per character, as Rust's char::to_lowercase
    return s


def pre_tokenize(s):
    words, cur = [], ""
    for c in s:
        if is_ws(c):
            words.append(cur)
            cur = ""
        elif is_punct(c):
            words += [cur, c]
            cur = ""
        else:
            cur += c
    words.append(cur)
    return [w for w in words if w]


def wordpiece(word, vocab, max_chars):
    if len(word) > max_chars:
        return [vocab["[UNK]"]]
    out, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            sub = word[start:end] if start == 0 else "##" + word[start:end]
            if sub in vocab:
                break
            end -= 1
        if end == start:
            return [vocab["[UNK]"]]
        out.append(vocab[sub])
        start = end
    return out


def encode_plain(text, tok):
    """Ids without special tokens; [CLS] and friends in the text are added tokens."""
    ids, rest = [], text
    while rest:
        hits = [(rest.find(s), s) for s in SPECIALS if s in rest]
        if not hits:
            pos, sp = len(rest), None
        else:
            pos, sp = min(hits)
        for w in pre_tokenize(normalize(rest[:pos], tok["cfg"])):
            ids += wordpiece(w, tok["vocab"], tok["max_chars"])
        if sp is None:
            break
        ids.append(tok["vocab"][sp])
        rest = rest[pos + len(sp):]
    return ids


def longest_first(n1, n2, room):
    swap = n1 > n2
    if swap:
        n1, n2 = n2, n1
    n2 = n1 if n1 > room else max(n1, room - n1)
    if n1 + n2 > room:
        n1 = room // 2
        n2 = n1 + room % 2
    return (n2, n1) if swap else (n1, n2)


def encode(tok, a, b=None, max_length=0):
    v = tok["vocab"]
    ea = encode_plain(a, tok)
    eb = encode_plain(b, tok) if b is not None else None
    if max_length:
        room = max_length - (3 if eb is not None else 2)
        if room == 0:
            ea, eb = [], ([] if eb is not None else None)
        elif eb is None:
            ea = ea[:room]
        elif len(ea) + len(eb) > room:
            n1, n2 = longest_first(len(ea), len(eb), room)
            ea, eb = ea[:n1], eb[:n2]
    ids = [v["[CLS]"]] + ea + [v["[SEP]"]]
    types = [0] * len(ids)
    if eb is not None:
        ids += eb + [v["[SEP]"]]
        types += [1] * (len(eb) + 1)
    return ids, types


def cleanup(s):
    for a, b in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                 (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]:
        s = s.replace(a, b)
    return s


def decode(ids, tok, skip_special):
    inv = {i: t for t, i in tok["vocab"].items()}
    toks = [inv[i] for i in ids if not (skip_special and inv[i] in SPECIALS)]
    out = []
    for i, t in enumerate(toks):
        if i:
            t = t[2:] if t.startswith("##") else " " + t
        out.append(cleanup(t))
    return "".join(out)


def tokenizer_json(vocab, cfg, max_chars):
    """A tokenizer.json in Hugging Face's format, as bert-base-uncased's."""
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": vocab[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for s in SPECIALS],
        "normalizer": {"type": "BertNormalizer", **cfg},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [cls], "tokens": ["[CLS]"]},
                               "[SEP]": {"id": "[SEP]", "ids": [sep], "tokens": ["[SEP]"]}},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": max_chars, "vocab": dict(sorted(vocab.items(), key=lambda kv: kv[1]))},
    }


UNCASED = {"clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True}


TINY_WORDS = ("the The a an is are was run running runs ##ning ##s ##ed ##ing ##ly ##able ##aff un aff able "
              "hello Hello HELLO world World play ##er ##ers cafe café Café naive naïve resume résumé istanbul "
              "İstanbul σοφος ΣΟΦΟΣ straße strasse 12 123 ##4 ##5 ##56 中 文 字 豈 か が ##か ##が ##な な 한 ##국 "
              "ᄒ ##ᅡ ##ᆫ don ' t n't ' s").split()
TINY_CHARS = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éèüöñçåßαβγσς")
TINY_PUNCT = list(",.!?;:'\"()[]{}<>$+=^`|~-_@#%&*/\\") + list("«»—–…、。「」¿¡·")

PIECES = [
    # words, cased and not, with and without accents
    "Hello", "hello", "HELLO", "World", "running", "unaffable", "Unaffable", "played", "players",
    "café", "CAFÉ", "Café", "naïve", "résumé", "RÉSUMÉ", "İstanbul", "ΣΟΦΟΣ", "σοφος", "Straße", "ﬁne", "ǅemal",
    "e\u0301", "\u0301a", "Ångström", "Привет", "mañana",
    # CJK ideographs (isolated), compatibility ideographs (NFD maps U+F900), kana and Hangul (NFD)
    "中文", "漢字", "豈", "\u3400", "\U00020000", "かながな", "ひらがな", "한국어", "조각",
    # punctuation, ASCII and Unicode, and symbols that are not punctuation
    ",", ".", "!", "?", "'", "\"", "(", ")", "$", "+", "=", "^", "`", "|", "~", "-", "_", "@", "#", "&",
    "«", "»", "—", "…", "、", "。", "「", "」", "¿", "¡", "·", "€", "©", "°", "±", "∑", "≤",
    # control and format characters (dropped) and whitespace (a space)
    "\x00", "\x07", "\x1b", "\x0b", "\x0c", "\x85", "\u200b", "\u200d", "\ufeff", "\u00ad", "\ufffd",
    " ", " ", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "\u3000", "\u2028", "\u1680",
    # numbers, contractions, long words (max_input_chars_per_word is 12)
    "123", "12345", "4556", "don't", "it's", "abcdefghijklm", "supercalifragilistic", "aaaaaaaaaaaa",
    "[CLS]", "[MASK]",
]

CONFIGS = [
    UNCASED,
    {"clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": False},
    {"clean_text": True, "handle_chinese_chars": True, "strip_accents": True, "lowercase": False},
    {"clean_text": True, "handle_chinese_chars": True, "strip_accents": False, "lowercase": True},
    {"clean_text": False, "handle_chinese_chars": False, "strip_accents": None, "lowercase": True},
]


def random_text(rng):
    return "".join(rng.choice(PIECES) + rng.choice(["", " ", " ", ""]) for _ in range(rng.randint(0, 9)))


def make_cases():
    words = []
    for w in SPECIALS + TINY_WORDS + TINY_CHARS + ["##" + c for c in TINY_CHARS] + TINY_PUNCT:
        if w not in words:
            words.append(w)
    vocab = {w: i for i, w in enumerate(words)}
    with open("tiny.json", "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(vocab, UNCASED, 12), f, ensure_ascii=False, indent=1)
        f.write("\n")
    rng = random.Random(14)
    cases = []
    for cfg in CONFIGS:
        tok = {"vocab": vocab, "cfg": cfg, "max_chars": 12}
        for _ in range(40):
            text = random_text(rng)
            ids, _ = encode(tok, text)
            cases.append({"normalizer": cfg, "text": text, "ids": ids, "decoded": decode(ids, tok, True)})
        for _ in range(20):
            a, b = random_text(rng), random_text(rng)
            max_length = rng.choice([0, 3, 4, 5, 7, 9, 12, 16])
            ids, types = encode(tok, a, b, max_length)
            cases.append({"normalizer": cfg, "text": a, "pair": b, "max_length": max_length,
                          "ids": ids, "type_ids": types})
    with open("cases.json", "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n")
    print(f"tiny.json has {len(vocab)} tokens; {len(cases)} cases")


if __name__ == "__main__":
    make_cases()
