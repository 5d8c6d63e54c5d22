"""How far to trust the latency tables and the accuracy predictor (the Devices & predictors page).

For a device profile, the evidence is its own whole-subnet measurements:
estimated (table sum through the fitted correction) against measured, on the
validation subnets the correction never saw, with Kendall tau and MAPE. For
the project's predictor, it is the measured subnets held out from the fit.
OFA's published Note10 tables and predictor come without such evidence; the
page says so instead of showing numbers it cannot back.

Between devices, the page compares ranks (:mod:`ofa_dash.hardware.compare`)
on the catalogue's subnets, and puts the machines the profiles were measured
on side by side (:mod:`ofa_dash.hardware.machine`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ofa_dash.hardware.compare import DeviceComparison, compare_devices
from ofa_dash.hardware.devices import _has_note10, device_names, profile_path
from ofa_dash.hardware.latency import load_note10
from ofa_dash.hardware.machine import machine_rows
from ofa_dash.hardware.profile_format import load_profile
from ofa_dash.space import GENOME_LENGTH, SearchSpace
from ofa_dash.ui.catalogue import Catalogue


def correction_line(correction: dict) -> str:
    """One caption line for a profile's correction (its ``to_dict``): the form and its fitted numbers."""
    kind = correction.get("kind", "affine")
    if kind == "affine":
        return f"correction (affine): scale {correction.get('scale', 1):.3f}, offset {correction.get('offset_ms', 0):.3f} ms"
    parts = correction.get("part_scales") or []
    scales = ", ".join(f"{v:.2f}" for v in parts[1:])
    line = f"correction ({kind}): fixed layers x {parts[0]:.2f}, stages x {scales}" if parts else f"correction ({kind})"
    if kind == "per-stage+size":
        line += f", {correction.get('ms_per_mparam', 0):.3f} ms per M params, {correction.get('ms_per_mmac', 0):.4f} ms per M MACs"
    return line + f", offset {correction.get('offset_ms', 0):.3f} ms; {correction.get('fitted_on', '')}"


@dataclass
class DeviceReport:
    name: str
    meta: dict
    quality: dict | None
    correction: dict | None
    points: pd.DataFrame = field(default_factory=pd.DataFrame)  # split, id, measured_ms, estimated_ms
    path: str | None = None
    problem: str | None = None


def device_reports(space: SearchSpace, root: str | Path, official: str | Path | None) -> list[DeviceReport]:
    """One report per device of the space (a broken profile is a report with ``problem`` set)."""
    out: list[DeviceReport] = []
    if _has_note10(space, official):
        try:
            out.append(DeviceReport("note10", dict(load_note10(space, official).meta), None, None, path=str(Path(official) / "note10")))
        except (OSError, ValueError) as exc:
            out.append(DeviceReport("note10", {}, None, None, problem=str(exc)))
    for name in device_names(space, None, root):
        path = profile_path(space, name, root)
        try:
            profile = load_profile(path, space)
        except (OSError, ValueError) as exc:
            out.append(DeviceReport(name, {}, None, None, path=str(path), problem=str(exc)))
            continue
        table = profile.table(space)
        ms = list(profile.measurements)
        genomes = np.array([m.genome for m in ms], dtype=np.int64).reshape(-1, GENOME_LENGTH)
        points = pd.DataFrame(
            {
                "split": [m.split for m in ms],
                "id": [m.arch for m in ms],
                "measured_ms": [m.measured_ms for m in ms],
                "estimated_ms": table.estimate(genomes) if len(ms) else [],
            }
        )
        out.append(DeviceReport(name, dict(profile.meta), dict(profile.quality), dict(table.meta.get("correction") or {}), points, str(path)))
    return out


def meta_table(meta: dict) -> pd.DataFrame:
    """Metadata as two readable columns (nested values as short JSON-ish text)."""
    rows = []
    for k, v in meta.items():
        if isinstance(v, dict | list):
            v = ", ".join(f"{a}: {b}" for a, b in v.items()) if isinstance(v, dict) else ", ".join(map(str, v))
        rows.append({"field": k, "value": str(v)})
    return pd.DataFrame(rows, columns=["field", "value"])


@dataclass
class PredictorReport:
    report: dict | None
    points: pd.DataFrame = field(default_factory=pd.DataFrame)  # id, measured, predicted
    problem: str | None = None


def predictor_quality(space: SearchSpace, root: str | Path, official: str | Path | None, predictor=None) -> PredictorReport:
    """The predictor's report and, where the fit's held-out subnets are on disk, predicted against measured for them."""
    # deferred: the predictors package imports torch, which the device reports above do not need
    from ofa_dash.predictors import predictor_meta, predictor_path, predictor_report
    from ofa_dash.predictors.measured import genome_matrix, read_measured

    try:
        report = predictor_report(space, precomputed_dir=root, official_dir=official)
    except (OSError, ValueError) as exc:
        return PredictorReport(None, problem=str(exc))
    points = pd.DataFrame(columns=["id", "measured", "predicted"])
    path = predictor_path(space, root)
    measured_file = path.parent / "measured.parquet"
    if predictor is not None and path.is_file() and measured_file.is_file():
        try:
            meta = predictor_meta(path, space)
            df = read_measured(measured_file, space)
            test_ids = set(meta.get("test_ids") or [])
            part = df[df["id"].isin(test_ids)] if test_ids else df.iloc[0:0]
            if len(part):
                points = pd.DataFrame(
                    {"id": part["id"].to_numpy(), "measured": part["top1_holdout"].to_numpy(dtype=float), "predicted": predictor.predict(genome_matrix(part))}
                )
        except (OSError, ValueError) as exc:
            return PredictorReport(report, points, problem=str(exc))
    return PredictorReport(report, points)


PROFILE_COMMAND = "python -m ofa_dash profile --space {space} --runtime ort --name my-cpu --json"
BROWSER_COMMAND = "python -m ofa_dash profile-browser --space {space} --name chromium-wasm --json"


# --------------------------------------------------------------------------- devices side by side
def machines_table(reports: list[DeviceReport]) -> pd.DataFrame:
    """The machines the shipped profiles were measured on, one column per profile ("not recorded" where an older profile lacks a field)."""
    profiles = {r.name: r.meta for r in reports if r.problem is None and r.quality is not None}  # profiles, not OFA's published tables
    return pd.DataFrame(machine_rows(profiles), columns=["field", *profiles])


@dataclass
class DevicesCompared:
    comparison: DeviceComparison | None
    subnets: str  # which subnets were compared, in words
    problem: str | None = None


def compare_catalogue_devices(cat: Catalogue) -> DevicesCompared:
    """Rank agreement between every device with a table, on the catalogue's distinct subnets (their estimates, not stored values)."""
    names = [n for n, info in cat.devices.items() if info.estimated and info.column in cat.points]
    if len(names) < 2:
        return DevicesCompared(None, "", f"comparing devices needs at least two latency tables for {cat.space}; found {names or 'none'}")
    points = cat.points.drop_duplicates("id").set_index("id")
    estimates = points[[cat.devices[n].column for n in names]].set_axis(names, axis=1)
    try:
        comparison = compare_devices(estimates)
    except ValueError as exc:
        return DevicesCompared(None, "", str(exc))
    runs = len({r["run_id"] for r in cat.runs})
    return DevicesCompared(comparison, f"the {len(comparison.estimates)} distinct subnets of {runs} stored run{'s' if runs != 1 else ''}")


def tau_matrix(comparison: DeviceComparison) -> pd.DataFrame:
    """Kendall tau between every pair of devices, rounded, with the device names as a first column."""
    return comparison.tau.round(3).reset_index(names="device")
