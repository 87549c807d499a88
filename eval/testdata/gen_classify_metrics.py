#!/usr/bin/env python3
"""Goldens for eval's classification metrics (classify_metrics_golden.json).

Plain Python, independent of lopper's Go code: exact rational arithmetic
(fractions.Fraction) for every count-based score and for the regression
sums, square roots in 60-digit decimal arithmetic, rounded to float64 only
at the end. The definitions are scikit-learn's (accuracy_score, f1_score
average="macro"/"micro", matthews_corrcoef, mean_squared_error) and
scipy's (pearsonr, spearmanr with average ranks for ties), written out from
their documented formulas rather than their code: F1 as the harmonic mean
of precision and recall, MCC from the covariances of the one-hot true and
predicted labels.

Run: python3 eval/testdata/gen_classify_metrics.py > eval/testdata/classify_metrics_golden.json
"""
import json
import sys
from decimal import Decimal, getcontext
from fractions import Fraction

getcontext().prec = 60


class LCG:
    """A fixed pseudo-random stream (numbers only matter through the file)."""

    def __init__(self, seed):
        self.s = seed

    def next(self, n):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) % 2**64
        return (self.s >> 33) % n


def dec(q):
    """A Fraction as a 60-digit Decimal."""
    return Decimal(q.numerator) / Decimal(q.denominator)


def fl(q):
    return float(q)


def div0(a, b):
    """a / b for counts, 0 when b is 0 (scikit-learn's zero_division)."""
    return Fraction(0) if b == 0 else Fraction(a, b)


def f1_of(tp, support, predicted):
    p = div0(tp, predicted)
    r = div0(tp, support)
    return Fraction(0) if p + r == 0 else 2 * p * r / (p + r)


def single(k, gold, pred):
    n = len(gold)
    conf = [[0] * k for _ in range(k)]
    for g, p in zip(gold, pred):
        conf[g][p] += 1
    per = []
    f1s = []
    for c in range(k):
        tp = sum(1 for g, p in zip(gold, pred) if g == c and p == c)
        sup = sum(1 for g in gold if g == c)
        prd = sum(1 for p in pred if p == c)
        f1 = f1_of(tp, sup, prd)
        per.append([sup, prd, tp, fl(div0(tp, prd)), fl(div0(tp, sup)), fl(f1)])
        if sup + prd > 0:
            f1s.append(f1)
    acc = Fraction(sum(1 for g, p in zip(gold, pred) if g == p), n)
    # MCC: Pearson correlation of the one-hot encodings, summed over classes
    # (Gorodkin 2004): cov(X, Y) / sqrt(cov(X, X) cov(Y, Y)), with
    # cov(A, B) = sum_k sum_i (A_ik - mean_k(A)) (B_ik - mean_k(B)).
    def cov(a, b):
        s = Fraction(0)
        for c in range(k):
            ma = Fraction(sum(1 for x in a if x == c), n)
            mb = Fraction(sum(1 for x in b if x == c), n)
            for x, y in zip(a, b):
                s += ((1 if x == c else 0) - ma) * ((1 if y == c else 0) - mb)
        return s
    cxy, cxx, cyy = cov(gold, pred), cov(gold, gold), cov(pred, pred)
    mcc = 0.0 if cxx * cyy == 0 else float(dec(cxy) / dec(cxx * cyy).sqrt())
    return {"k": k, "gold": gold, "pred": pred, "accuracy": fl(acc),
            "macro_f1": fl(sum(f1s, Fraction(0)) / len(f1s)), "mcc": mcc,
            "per_class": per, "confusion": conf}


def multi(k, gold, pred):
    n = len(gold)
    per = []
    f1s = []
    TP = SUP = PRD = 0
    for c in range(k):
        tp = sum(1 for g, p in zip(gold, pred) if c in g and c in p)
        sup = sum(1 for g in gold if c in g)
        prd = sum(1 for p in pred if c in p)
        f1 = f1_of(tp, sup, prd)
        per.append([sup, prd, tp, fl(div0(tp, prd)), fl(div0(tp, sup)), fl(f1)])
        f1s.append(f1)
        TP, SUP, PRD = TP + tp, SUP + sup, PRD + prd
    acc = Fraction(sum(1 for g, p in zip(gold, pred) if set(g) == set(p)), n)
    return {"k": k, "gold": gold, "pred": pred, "accuracy": fl(acc),
            "micro_f1": fl(f1_of(TP, SUP, PRD)), "macro_f1": fl(sum(f1s, Fraction(0)) / k),
            "per_class": per}


def avg_ranks(x):
    # rank of v = (number of values below v) + (number equal to v + 1) / 2
    return [Fraction(sum(1 for w in x if w < v)) + Fraction(sum(1 for w in x if w == v) + 1, 2) for v in x]


def corr(x, y):
    n = len(x)
    mx, my = sum(x, Fraction(0)) / n, sum(y, Fraction(0)) / n
    sxy = sum(((a - mx) * (b - my) for a, b in zip(x, y)), Fraction(0))
    sxx = sum(((a - mx) ** 2 for a in x), Fraction(0))
    syy = sum(((b - my) ** 2 for b in y), Fraction(0))
    if sxx == 0 or syy == 0:
        return None
    return float(dec(sxy) / dec(sxx * syy).sqrt())


def regression(gold, pred):
    g = [Fraction(v) for v in gold]
    p = [Fraction(v) for v in pred]
    mse = sum(((a - b) ** 2 for a, b in zip(p, g)), Fraction(0)) / len(g)
    return {"gold": gold, "pred": pred, "mse": fl(mse), "pearson": corr(p, g),
            "spearman": corr(avg_ranks(p), avg_ranks(g))}


def main():
    r = LCG(20240611)
    out = {"single": [], "multi": [], "regression": []}
    # Binary, right about 80% of the time.
    gold = [r.next(2) for _ in range(200)]
    out["single"].append(single(2, gold, [g if r.next(5) else 1 - g for g in gold]))
    # Three classes; class 2 is never predicted.
    gold = [r.next(3) for _ in range(150)]
    out["single"].append(single(3, gold, [g if g < 2 and r.next(3) else r.next(2) for g in gold]))
    # Five classes, class 4 neither true nor predicted (left out of macro_f1).
    gold = [r.next(4) for _ in range(97)]
    out["single"].append(single(5, gold, [g if r.next(2) else r.next(4) for g in gold]))
    # Everything predicted as one class: MCC's denominator is 0.
    out["single"].append(single(2, [r.next(2) for _ in range(31)], [1] * 31))
    # Four labels, label 3 never true nor predicted.
    gold = [sorted({c for c in range(3) if r.next(2)}) for _ in range(100)]
    pred = [sorted({c for c in range(3) if (c in g) != (r.next(6) == 0)}) for g in gold]
    out["multi"].append(multi(4, gold, pred))
    # Targets with ties (tenths), noisy predictions; then constant predictions.
    gold = [r.next(50) / 10 for _ in range(120)]
    pred = [v + (r.next(2001) - 1000) / 997 for v in gold]
    out["regression"].append(regression(gold, pred))
    out["regression"].append(regression(gold[:10], [2.5] * 10))
    # One case a line.
    sys.stdout.write("{\n" + ",\n".join(
        json.dumps(name) + ": [\n" + ",\n".join(json.dumps(c) for c in cases) + "\n]"
        for name, cases in out.items()) + "\n}\n")


main()
