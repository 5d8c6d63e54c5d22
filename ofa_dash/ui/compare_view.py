"""Two to four subnets side by side: what differs in their architecture, their objectives, where their time goes.

Neighbouring subnets on a front often differ by less than the predictor's
error, so a decision needs more than one point's figures: the architecture
diff says *what* a few tenths of a point of accuracy cost (a deeper stage, a
larger kernel, a higher resolution), the per-stage latency from the device's
lookup table says *where* the milliseconds go, per-class accuracy (where the
subnets were validated) says what the difference means for the classes that
matter, and int8 against fp32 says whether quantization helps this subnet.
Everything here is pure (tables in, tables out) so tests reach it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ofa_dash.hardware.latency import LatencyTable
from ofa_dash.space import MAX_DEPTH, Arch, SearchSpace
from ofa_dash.ui.point_click import clicked_subnet
from ofa_dash.ui.state import MAX_COMPARED
from ofa_dash.ui.tables import round_significant, source_tag

INACTIVE = ""  # a slot the subnet's depth leaves out


def compared_ids(value: object, limit: int = MAX_COMPARED) -> list[str]:
    """Well-formed, distinct subnet ids from a link or a form (a comma list or a list), at most ``limit``."""
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    out: list[str] = []
    for item in items:
        sid = clicked_subnet(item)
        if sid and sid not in out:
            out.append(sid)
    return out[:limit]


def arch_diff(space: SearchSpace, archs: Mapping[str, Arch]) -> pd.DataFrame:
    """One row per resolution, stage depth and block slot; one column per subnet; ``differs`` marks rows that are not all equal.

    A block reads ``k5 e4`` (kernel 5, expand ratio 4); a slot the stage's depth leaves out is blank.
    """
    rows: list[dict] = [{"part": "resolution", **{sid: f"{a.r} px" for sid, a in archs.items()}}]
    for s in range(len(space.stages)):
        rows.append({"part": f"stage {s + 1} depth", **{sid: str(a.d[s]) for sid, a in archs.items()}})
        for j in range(MAX_DEPTH):
            i = s * MAX_DEPTH + j
            rows.append({"part": f"stage {s + 1} block {j + 1}", **{sid: f"k{a.ks[i]} e{a.e[i]}" if j < a.d[s] else INACTIVE for sid, a in archs.items()}})
    out = pd.DataFrame(rows, columns=["part", *archs])
    out["differs"] = out[list(archs)].nunique(axis=1) > 1
    return out


def objectives_side_by_side(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """``subnet_view.objectives_table`` of each subnet as one table: a row per quantity (with its unit), a column per subnet.

    A cell reads ``78.12 (predicted)`` or ``0.447 (measured)``: the short source tag; the
    long provenance stays on the Subnet page. Quantities one subnet lacks are blank.
    """
    order: list[str] = []
    cells: dict[str, dict[str, str]] = {}
    for sid, table in tables.items():
        for row in table.itertuples():
            name = f"{row.quantity} ({row.unit})"
            if name not in cells:
                order.append(name)
                cells[name] = {}
            tag = source_tag(row.source)
            value = "" if pd.isna(row.value) else f"{row.value:.2f}" if row.unit in ("%", "M", "MB") else f"{round_significant([row.value])[0]:g}"
            cells[name][sid] = f"{value} ({tag})" if value and tag else value
    return pd.DataFrame([{"quantity": q, **{sid: cells[q].get(sid, "") for sid in tables}} for q in order], columns=["quantity", *tables])


def latency_by_stage(table: LatencyTable, arch: Arch) -> pd.DataFrame:
    """Where ``arch``'s estimated time goes on ``table``'s device: the fixed layers (stem, first block, head), each stage's active blocks.

    The parts are the device's corrected per-layer costs (:mod:`ofa_dash.hardware.correction`:
    the lookup-table entries through the fitted correction, which may weigh stages
    differently); the fitted offset (per-call overheads no single layer holds) is its own
    part, so the parts add up to the estimate the front plots.
    """
    space = table.space
    ri = space.resolutions.index(arch.r)
    ki = [space.kernel_choices.index(k) for k in arch.ks]
    ei = [space.expand_choices.index(e) for e in arch.e]
    parts = [("stem, first block and head", float(table.cost_fixed_ms[ri]))]
    for s in range(len(space.stages)):
        active = range(s * MAX_DEPTH, s * MAX_DEPTH + arch.d[s])
        parts.append((f"stage {s + 1}", float(sum(table.cost_slot_ms[ri, i, ki[i], ei[i]] for i in active))))
    out = pd.DataFrame(parts, columns=["part", "ms"])
    if table.offset_ms:
        out.loc[len(out)] = ("fitted overhead", table.offset_ms)
    return out


def latency_breakdown(table: LatencyTable, archs: Mapping[str, Arch]) -> pd.DataFrame:
    """:func:`latency_by_stage` of every subnet, long form (``subnet, part, ms``) for a stacked bar chart."""
    frames = [latency_by_stage(table, a).assign(subnet=sid) for sid, a in archs.items()]
    return pd.concat(frames, ignore_index=True)[["subnet", "part", "ms"]] if frames else pd.DataFrame(columns=["subnet", "part", "ms"])


def per_class_accuracy(measured: Mapping[str, dict | None]) -> pd.DataFrame:
    """Per-class top-1 of the subnets that were validated (a column each) and the ``spread`` between them; empty when fewer than one was."""
    have = {sid: m["per_class"] for sid, m in measured.items() if m and isinstance(m.get("per_class"), Mapping) and m["per_class"]}
    if not have:
        return pd.DataFrame(columns=["class"])
    classes = list(next(iter(have.values())))
    out = pd.DataFrame({"class": classes, **{sid: [pc.get(c) for c in classes] for sid, pc in have.items()}})
    values = out[list(have)].astype(float)
    out[list(have)] = values.round(2)
    if len(have) > 1:
        out["spread"] = (values.max(axis=1) - values.min(axis=1)).round(2)
        out = out.sort_values("spread", ascending=False, kind="stable").reset_index(drop=True)
    return out


def int8_against_fp32_estimates(devices: Mapping[str, LatencyTable], space: SearchSpace, archs: Mapping[str, Arch], suffix: str = "-int8") -> pd.DataFrame:
    """For each device with an int8 twin (``X`` and ``X-int8``): both estimates per subnet and their ratio (below 1: int8 is faster)."""
    rows = []
    for name, table in devices.items():
        twin = devices.get(name + suffix)
        if name.endswith(suffix) or twin is None:
            continue
        for sid, arch in archs.items():
            g = space.encode(arch)
            fp32, int8 = float(table.estimate(g)[0]), float(twin.estimate(g)[0])
            rows.append({"subnet": sid, "device": name, "fp32 (ms)": fp32, "int8 (ms)": int8, "int8 / fp32": int8 / fp32 if fp32 > 0 else np.nan})
    out = pd.DataFrame(rows, columns=["subnet", "device", "fp32 (ms)", "int8 (ms)", "int8 / fp32"])
    for c in ("fp32 (ms)", "int8 (ms)"):
        out[c] = round_significant(out[c].to_numpy(dtype=float))
    out["int8 / fp32"] = out["int8 / fp32"].astype(float).round(2)
    return out
