# Independent check of the encoder quickstart outside lopper: transformers'
# BertForSequenceClassification and a fast tokenizer built from the model's
# tokenizer.json classify dev.tsv in batches of 8, padded with the attention
# mask, as `lopper eval --classify` does; it prints the accuracy and how many
# were right, which must be what lopper.json records (exit 1 otherwise).
# Not run by CI (it needs PyTorch and transformers):
#
#   python3 tools/mkquickstart/check_torch_bert.py quickstart/bert/model quickstart/bert/dev.tsv
import csv, json, sys
import torch
from transformers import BertForSequenceClassification, PreTrainedTokenizerFast

d, dev = sys.argv[1], sys.argv[2]
tok = PreTrainedTokenizerFast(tokenizer_file=d + '/tokenizer.json', pad_token='[PAD]', unk_token='[UNK]',
                              cls_token='[CLS]', sep_token='[SEP]', mask_token='[MASK]')
m = BertForSequenceClassification.from_pretrained(d).eval()
with open(dev, newline='') as f:
    rows = list(csv.DictReader(f, delimiter='\t', quoting=csv.QUOTE_NONE))
texts = [r['sentence'] for r in rows]
gold = [m.config.label2id[r['label']] for r in rows]
preds = []
with torch.no_grad():
    for i in range(0, len(texts), 8):
        enc = tok(texts[i:i + 8], padding=True, truncation=True, max_length=m.config.max_position_embeddings,
                  return_tensors='pt')
        preds += m(**enc).logits.argmax(-1).tolist()  # the first largest logit, as lopper
ok = sum(p == g for p, g in zip(preds, gold))
res = json.load(open(d + '/lopper.json'))['metadata']['result']
print(f"transformers: accuracy {ok / len(gold):.4f} ({ok} of {len(gold)}); "
      f"lopper.json: {res['accuracy']:.4f} ({res['correct']} of {res['examples']})")
sys.exit(0 if ok == res['correct'] and len(gold) == res['examples'] else 1)
