#!/usr/bin/env python3
"""Turn lm-evaluation-harness results into the metrics file of a lopper exec stage.

    lm_eval_metrics.py --metrics FILE -- lm_eval ARGS... --output_path DIR ...
    lm_eval_metrics.py --metrics FILE --results DIR_OR_FILE

The first form runs the command after `--` (no shell), passes on its exit
status when it fails, and then reads the newest results_*.json under the
command's --output_path; the second only converts results already written.
FILE gets one JSON object of numbers (what lopper's exec stage reads):

  TASK_METRIC  every numeric metric of every task: hellaswag's "acc,none" is
               hellaswag_acc, "acc_norm_stderr,none" hellaswag_acc_norm_stderr;
               a filter other than "none" is kept (gsm8k_exact_match_strict_match)
  accuracy     lopper's headline accuracy: the mean over the tasks of acc_norm
               (acc for a task without acc_norm), as lopper's own multiple-choice
               evaluation defines it
  tasks        how many tasks went into accuracy

Only the Python standard library is used; lm_eval itself is whatever the
command runs. recipes/lm-eval.yaml shows it in a recipe.
"""
import argparse
import glob
import json
import math
import os
import re
import subprocess
import sys


def newest_results(path):
    """The newest results_*.json at or under path (a file is taken as it is)."""
    if os.path.isfile(path):
        return path
    found = glob.glob(os.path.join(path, "**", "results*.json"), recursive=True)
    if not found:
        sys.exit(f"lm_eval_metrics: no results*.json under {path}")
    return max(found, key=os.path.getmtime)


def name(*parts):
    """A metric name lopper's expressions can read: letters, digits and _."""
    s = re.sub(r"[^A-Za-z0-9_]+", "_", "_".join(p for p in parts if p)).strip("_")
    return "_" + s if s[:1].isdigit() else s


def flatten(results):
    """The flat metrics of an lm_eval results object."""
    out, heads = {}, []
    for task, metrics in sorted(results.get("results", {}).items()):
        by_metric = {}
        for key, value in metrics.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue  # "alias", and "N/A" stderrs
            if isinstance(value, float) and not math.isfinite(value):
                continue
            metric, _, filt = key.partition(",")
            out[name(task, metric, "" if filt in ("", "none") else filt)] = float(value)
            if filt in ("", "none"):
                by_metric[metric] = float(value)
        head = by_metric.get("acc_norm", by_metric.get("acc"))
        if head is not None:
            heads.append(head)
    if heads:
        out["accuracy"] = sum(heads) / len(heads)
        out["tasks"] = float(len(heads))
    return out


def output_path(argv):
    """The value of --output_path (or --output_path=…, -o) in a command line."""
    for i, a in enumerate(argv):
        if a in ("--output_path", "-o") and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--output_path="):
            return a.split("=", 1)[1]
    return None


def main():
    argv = sys.argv[1:]
    cmd = []
    if "--" in argv:
        i = argv.index("--")
        argv, cmd = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--metrics", required=True, help="the JSON file to write")
    ap.add_argument("--results", help="lm_eval's --output_path, or a results JSON file (without a command)")
    args = ap.parse_args(argv)
    results = args.results
    if cmd:
        results = results or output_path(cmd)
        if results is None:
            sys.exit("lm_eval_metrics: the command has no --output_path to read the results from")
        code = subprocess.call(cmd)
        if code != 0:
            sys.exit(code if code > 0 else 128 - code)
    if results is None:
        sys.exit("lm_eval_metrics: give a command after --, or --results")
    path = newest_results(results)
    with open(path) as f:
        metrics = flatten(json.load(f))
    if "accuracy" not in metrics:
        sys.exit(f"lm_eval_metrics: {path} has no task with acc or acc_norm")
    with open(args.metrics, "w") as f:
        json.dump(metrics, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"lm_eval_metrics: {len(metrics)} metrics from {path}: accuracy {metrics['accuracy']:.4f}")


if __name__ == "__main__":
    main()
