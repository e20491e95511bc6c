#!/usr/bin/python3
"""Bar chart of fused vs unfused kernel times from Google Benchmark JSON, as written by
`gptc bench --fusion --json=FILE` or `build/bench/fusion_bench --benchmark_format=json`.

  /usr/bin/python3 scripts/plot_fusion.py fusion.json fusion.png

One panel per preset: for every fused op, the time of its unfused ops (one kernel each) and of
the fused kernel, labelled with the speedup; the last pair is the whole train step. Needs
Debian's python3-matplotlib (scripts/bench_fusion.sh installs it).
"""
import json
import sys
from collections import OrderedDict

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402

UNIT_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def load(path):
    """{preset: OrderedDict(case -> {"fused": us, "unfused": us})}"""
    with open(path) as f:
        data = json.load(f)
    out = OrderedDict()
    for b in data["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue  # aggregates (mean, median, ...) of repeated runs
        parts = b["name"].replace("/real_time", "").split("/")
        if len(parts) == 4 and parts[0] == "BM_Fusion":
            _, preset, case, kind = parts
        elif len(parts) == 3 and parts[0] == "BM_TrainStep":
            _, preset, kind = parts
            case = "whole train step"
        else:
            continue
        us = b["real_time"] * UNIT_US[b.get("time_unit", "ns")]
        out.setdefault(preset, OrderedDict()).setdefault(case, {})[kind] = us
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot_fusion.py RESULTS.json OUT.png")
    presets = load(sys.argv[1])
    if not presets:
        sys.exit(f"{sys.argv[1]}: no BM_Fusion or BM_TrainStep results")
    fig, axes = plt.subplots(1, len(presets), figsize=(7 * len(presets), 0.55 * max(len(c) for c in presets.values()) + 2),
                             squeeze=False)
    for ax, (preset, cases) in zip(axes[0], presets.items()):
        names = [n for n, t in cases.items() if "fused" in t and "unfused" in t]
        # Times span three orders of magnitude (us kernels, ms steps): relative bars read best.
        rel_unfused = [1.0 for _ in names]
        rel_fused = [cases[n]["fused"] / cases[n]["unfused"] for n in names]
        y = range(len(names))
        ax.barh([i + 0.2 for i in y], rel_unfused, height=0.4, color="#bbbbbb", label="unfused (one kernel per op)")
        ax.barh([i - 0.2 for i in y], rel_fused, height=0.4, color="#3a7dc9", label="fused")
        for i, n in enumerate(names):
            t = cases[n]
            ax.text(rel_fused[i] + 0.02, i - 0.2, f"{t['unfused'] / t['fused']:.2f}x  ({t['fused']:.0f} vs {t['unfused']:.0f} us)",
                    va="center", fontsize=8)
        ax.set_yticks(list(y))
        ax.set_yticklabels(names, fontsize=9)
        ax.invert_yaxis()
        ax.set_xlim(0, 1.6)
        ax.set_xlabel("time relative to the unfused ops (lower is better)")
        ax.set_title(f"{preset}: fused vs unfused")
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=120)
    print(f"wrote {sys.argv[2]}")


if __name__ == "__main__":
    main()
