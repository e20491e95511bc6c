#!/usr/bin/python3
"""Train and val loss curves of one or more gptc runs, overlaid, from their metrics.jsonl.

  /usr/bin/python3 scripts/plot_loss.py out/run1 [out/run2 ...] [-o loss.png]

Each DIR is a `gptc train --out-dir`; the curves are the logged train loss (thin) and the
estimated val loss (markers). Needs Debian's python3-matplotlib (scripts/bench_fusion.sh
installs it).
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    steps, losses, vsteps, vals = [], [], [], []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                m = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not JSON ({e})")
            if "loss" in m:
                steps.append(m["step"])
                losses.append(m["loss"])
            if "val_loss" in m:
                vsteps.append(m["step"])
                vals.append(m["val_loss"])
    return steps, losses, vsteps, vals


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("-o", "--output", default="loss.png")
    args = ap.parse_args()
    fig, ax = plt.subplots(figsize=(8, 5))
    for d in args.dirs:
        path = os.path.join(d, "metrics.jsonl")
        if not os.path.exists(path):
            sys.exit(f"{path} does not exist (was it trained with gptc train --out-dir={d}?)")
        steps, losses, vsteps, vals = read(path)
        line, = ax.plot(steps, losses, linewidth=0.8, alpha=0.6, label=f"{os.path.basename(os.path.normpath(d))} train")
        ax.plot(vsteps, vals, "o-", color=line.get_color(), markersize=3, label=f"{os.path.basename(os.path.normpath(d))} val")
        if vals:
            print(f"{d}: last val loss {vals[-1]:.4f} at step {vsteps[-1]}, best {min(vals):.4f}")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
