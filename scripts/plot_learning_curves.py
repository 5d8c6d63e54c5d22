"""Learning curves of a progressive-shrinking run: holdout top-1 of the largest, a fixed middle and the smallest subnet per epoch.

Usage: python scripts/plot_learning_curves.py [--log training/cifar10-v2/train_log.jsonl]
       [--compare precomputed/cifar10/train_log.jsonl] [--out docs/flagship_curves.png]

Epochs run on across phases (phase boundaries are marked), so one picture
shows the whole run; ``--compare`` adds another run's largest subnet (dashed)
for scale. Logs written before the fixed middle subnet was recorded show the
largest and the phase's smallest only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def curves(records: list[dict]) -> dict[str, list[tuple[int, float]]]:
    """Series name -> (cumulative epoch, top-1) points; the phase boundaries under the key ``_phases``."""
    out: dict[str, list] = {"largest": [], "mid": [], "smallest": [], "_phases": []}
    last_phase = None
    for epoch, r in enumerate(records, start=1):
        if r["phase"] != last_phase:
            out["_phases"].append((epoch - 1, r["phase"]))
            last_phase = r["phase"]
        for key in ("largest", "mid", "smallest"):
            if r.get(f"top1_{key}") is not None:
                out[key].append((epoch, float(r[f"top1_{key}"])))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", default=str(ROOT / "training" / "cifar10-v2" / "train_log.jsonl"))
    ap.add_argument("--compare", help="another run's train_log.jsonl, drawn dashed (its largest subnet)")
    ap.add_argument("--title", default="cifar10-v2 flagship: holdout top-1 (2,000 images, BN recalibrated) per epoch")
    ap.add_argument("--out", default=str(ROOT / "docs" / "flagship_curves.png"))
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = curves(read_log(Path(args.log)))
    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=110)
    for key, colour in (("largest", "#1f77b4"), ("mid", "#2ca02c"), ("smallest", "#d62728")):
        if c[key]:
            xs, ys = zip(*c[key], strict=True)
            ax.plot(xs, ys, marker="o", ms=3, color=colour, label=f"{key} subnet")
    if args.compare:
        old = curves(read_log(Path(args.compare)))
        if old["largest"]:
            xs, ys = zip(*old["largest"], strict=True)
            ax.plot(xs, ys, ls="--", color="grey", label=f"largest, {Path(args.compare).parent.name} (shipped)")
    for x, name in c["_phases"]:
        ax.axvline(x + 0.5, color="#bbbbbb", lw=0.8)
        ax.text(x + 0.7, 1.0, name, rotation=90, va="bottom", fontsize=8, color="#666666", transform=ax.get_xaxis_transform())
    ax.set_xlabel("epoch (all phases)")
    ax.set_ylabel("holdout top-1 (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title(args.title, fontsize=10)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f"wrote {args.out} ({sum(len(v) for k, v in c.items() if not k.startswith('_'))} points)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
