# Independent check of the quickstart model outside lopper: a from-scratch
# PyTorch Llama (Hugging Face's LlamaForCausalLM computation: RMSNorm, RoPE
# with rotate_half, grouped-query attention, SwiGLU, tied head) reads
# config.json and model.safetensors by their Hugging Face names and sorts
# every line of eval.txt greedily; it prints the exact-match rate.
# Not run by CI (it needs PyTorch):
#
#   /usr/bin/python3 tools/mkquickstart/check_torch.py quickstart/model quickstart/eval.txt
import json, struct, sys, math, torch
d = sys.argv[1]
cfg = json.load(open(d + '/config.json'))
raw = open(d + '/model.safetensors', 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]; hdr = json.loads(raw[8:8+n]); base = 8 + n
W = {}
for k, v in hdr.items():
    if k == '__metadata__': continue
    assert v['dtype'] == 'F32', v
    a, b = v['data_offsets']
    W[k] = torch.frombuffer(bytearray(raw[base+a:base+b]), dtype=torch.float32).reshape(v['shape'])
H, L, NH, NKV = cfg['hidden_size'], cfg['num_hidden_layers'], cfg['num_attention_heads'], cfg['num_key_value_heads']
hd = H // NH; eps = cfg['rms_norm_eps']; theta = cfg['rope_theta']
assert cfg['tie_word_embeddings'] and 'lm_head.weight' not in W
def rms(x, w): return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
def rot(x): return torch.cat([-x[..., hd//2:], x[..., :hd//2]], -1)
def forward(ids):
    B, T = ids.shape
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2).double() / hd))
    fr = torch.outer(torch.arange(T).double(), inv); emb = torch.cat([fr, fr], -1)
    cos, sin = emb.cos().float(), emb.sin().float()
    x = W['model.embed_tokens.weight'][ids]
    for i in range(L):
        p = f'model.layers.{i}.'
        h = rms(x, W[p+'input_layernorm.weight'])
        q = (h @ W[p+'self_attn.q_proj.weight'].T).view(B, T, NH, hd).transpose(1, 2)
        k = (h @ W[p+'self_attn.k_proj.weight'].T).view(B, T, NKV, hd).transpose(1, 2)
        v = (h @ W[p+'self_attn.v_proj.weight'].T).view(B, T, NKV, hd).transpose(1, 2)
        q, k = q*cos + rot(q)*sin, k*cos + rot(k)*sin
        k, v = k.repeat_interleave(NH//NKV, 1), v.repeat_interleave(NH//NKV, 1)
        a = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        a = a.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float('-inf')).softmax(-1)
        x = x + (a @ v).transpose(1, 2).reshape(B, T, H) @ W[p+'self_attn.o_proj.weight'].T
        h = rms(x, W[p+'post_attention_layernorm.weight'])
        x = x + (torch.nn.functional.silu(h @ W[p+'mlp.gate_proj.weight'].T) * (h @ W[p+'mlp.up_proj.weight'].T)) @ W[p+'mlp.down_proj.weight'].T
    return rms(x, W['model.norm.weight']) @ W['model.embed_tokens.weight'].T
lines = open(sys.argv[2]).read().splitlines()
ctx = [l[:l.index('=')+1] for l in lines]; ans = [l[l.index('=')+1:] for l in lines]
ids = torch.tensor([list(c.encode()) for c in ctx])
with torch.no_grad():
    for _ in range(len(ans[0])):
        ids = torch.cat([ids, forward(ids)[:, -1].argmax(-1, keepdim=True)], 1)
out = [bytes(r[len(ctx[0]):].tolist()).decode() for r in ids]
ok = sum(o == a for o, a in zip(out, ans))
print(f'greedy exact match {ok}/{len(ans)} = {ok/len(ans):.4f}; e.g. {ctx[0]!r} -> {out[0]!r} (want {ans[0]!r})')
