"""OFA's published specialized subnets as reference markers.

``specialized/<name>/`` in OFA's files holds the subnets the OFA authors
searched for each device and fine-tuned; the folder name carries the budget
and the published ImageNet top-1 after fine-tuning, e.g.
``note10_lat-22ms_top1-76.6_finetune-25``. They come from OFA's w1.0 space,
not ours, so the dashboard draws them at their published (latency, top-1) as
labelled markers and never as our subnets.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

_NAME = re.compile(r"^(?P<device>[A-Za-z0-9-]+?)_(?P<kind>lat|gpu64)-(?P<value>[\d.]+)ms_top1-(?P<top1>[\d.]+)_finetune-(?P<epochs>\d+)$")
_FLOPS = re.compile(r"^flops-(?P<value>[\d.]+)M_top1-(?P<top1>[\d.]+)_finetune-(?P<epochs>\d+)$")


def parse_specialized_name(name: str) -> dict | None:
    """Device, budget and published top-1 from a folder name; None for names of another shape."""
    m = _NAME.match(name)
    if m:
        return {
            "name": name,
            "device": m["device"].lower(),
            "metric": "latency_ms" if m["kind"] == "lat" else "gpu_batch64_ms",
            "value": float(m["value"]),
            "top1": float(m["top1"]),
            "finetune_epochs": int(m["epochs"]),
        }
    m = _FLOPS.match(name)
    if m:
        return {"name": name, "device": "flops", "metric": "mflops", "value": float(m["value"]), "top1": float(m["top1"]), "finetune_epochs": int(m["epochs"])}
    return None


def published_specialized(official: str | Path | None) -> pd.DataFrame:
    """Every parseable ``specialized/`` entry (with ``image_size`` from ``run.config`` where readable)."""
    cols = ["name", "device", "metric", "value", "top1", "finetune_epochs", "image_size"]
    if official is None:
        return pd.DataFrame(columns=cols)
    folder = Path(official) / "specialized"
    rows = []
    if folder.is_dir():
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            info = parse_specialized_name(sub.name)
            if info is None:
                continue
            try:
                info["image_size"] = int(json.loads((sub / "run.config").read_text())["image_size"])
            except (OSError, ValueError, KeyError, TypeError):
                info["image_size"] = None
            rows.append(info)
    return pd.DataFrame(rows, columns=cols)


def reference_markers(specialized: pd.DataFrame, device: str) -> pd.DataFrame:
    """Markers (x, y, label, hover) for the latency front of ``device`` (e.g. note10); empty for other devices."""
    part = specialized[(specialized["device"] == device) & (specialized["metric"] == "latency_ms")] if len(specialized) else specialized
    if not len(part):
        return pd.DataFrame(columns=["x", "y", "label", "hover"])
    return pd.DataFrame(
        {
            "x": part["value"].astype(float).to_numpy(),
            "y": part["top1"].astype(float).to_numpy(),
            "label": [f"OFA {v:g} ms" for v in part["value"]],
            "hover": [
                f"OFA published specialized subnet {n}<br>{device} latency budget {v:g} ms · ImageNet top-1 {t:.1f} % "
                f"(published, after {e} fine-tuning epochs)<br>from OFA's w1.0 space, image size {s}; not a subnet of this catalogue"
                for n, v, t, e, s in zip(part["name"], part["value"], part["top1"], part["finetune_epochs"], part["image_size"], strict=True)
            ],
        }
    )
