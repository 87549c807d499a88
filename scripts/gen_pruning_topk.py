#!/usr/bin/env python3
"""Golden file for pruning/torchtopk.go: which indices torch.topk (CPU)
selects when values tie. Run with PyTorch 1.13 (the version the shared
torch_prune_cases.json was made with):

    /usr/bin/python3 scripts/gen_pruning_topk.py > pruning/testdata/torch_topk.json
"""
import json
import torch

g = torch.Generator().manual_seed(1234)
cases = []
# Values are levels/scale (ties everywhere), stored as the integer levels.
# (n, k) pairs covering both of topk's CPU paths: partial_sort when
# k*64 <= n, nth_element otherwise; values drawn from few levels so ties
# are everywhere.
for n, k in [(5, 2), (8, 3), (17, 5), (36, 5), (64, 1), (65, 1), (100, 40),
             (128, 2), (129, 2), (200, 3), (257, 4), (300, 150), (300, 299),
             (640, 10), (640, 11), (31, 31), (2, 1)]:
    for levels in (3, 20):
        for largest in (False, True):
            v = torch.randint(0, levels, (n,), generator=g)
            idx = torch.topk(v.float() / levels, k, largest=largest).indices
            cases.append({"levels": v.tolist(), "scale": levels, "k": k,
                          "largest": largest, "indices": sorted(idx.tolist())})
print(json.dumps({"torch": torch.__version__, "cases": cases}))
