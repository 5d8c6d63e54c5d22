"""OFA's published specialized subnets as reference markers on a front.

The OFA authors searched subnets for each device, fine-tuned them and
published their (latency budget, ImageNet top-1 after fine-tuning) in the
folder names of ``specialized/`` (:mod:`ofa_dash.specialized` reads them).
Each of them comes from one of OFA's two spaces (most from width 1.0, a few
larger Note10 and FLOPs ones from width 1.2), so a front draws only those
that are subnets of its own space: a marker from the other space would sit
among points it cannot be compared with. The markers stand at the published
figures (fine-tuned weights), not at this catalogue's predictions, and carry
their subnet id, so a click opens the subnet as extracted from the supernet.
"""

from __future__ import annotations

import pandas as pd

from ofa_dash.specialized import SpecializedSubnet

COLUMNS = ["x", "y", "label", "hover", "id"]


def reference_markers(subnets: list[SpecializedSubnet], device: str) -> pd.DataFrame:
    """Markers (x, y, label, hover, id) for the latency front of ``device`` (e.g. note10); empty for other devices."""
    part = [s for s in subnets if s.device == device and s.metric == "latency_ms"]
    return pd.DataFrame(
        {
            "x": [s.budget for s in part],
            "y": [s.top1_published for s in part],
            "label": [f"OFA {s.budget:g} ms" for s in part],
            "hover": [
                f"<b>{s.arch.id}</b>: OFA's specialized subnet {s.name}<br>{device} latency budget {s.budget:g} ms · ImageNet top-1 "
                f"{s.top1_published:.1f} % (published, after {s.finetune_epochs} fine-tuning epochs)<br>image size {s.arch.r}; "
                "click to open it as extracted from the supernet"
                for s in part
            ],
            "id": [s.arch.id for s in part],
        },
        columns=COLUMNS,
    )
