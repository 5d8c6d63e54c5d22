"""``report``: what ``precomputed/`` holds for a space, with the quality figures of each part.

Every section degrades to ``null`` (with a line in ``notes``) when its
artifact is absent, so the report of a fresh checkout still prints.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ofa_dash.commands.common import emit
from ofa_dash.hardware.devices import device_names, get_device
from ofa_dash.space import get_space
from ofa_dash.workspace import Workspace, default_root


def predictor_section(space, precomputed_dir: Path, official_dir, notes: list[str]) -> dict | None:
    """``ofa_dash.predictors.predictor_report``: rmse, kendall_tau, n_measured and ``interval`` of the predictor in use.

    ``interval`` is ``{"level": 80, "coverage": <measured %>, ...}`` or null; why it is null goes to ``notes``.
    """
    from ofa_dash.predictors import predictor_report  # deferred: the predictors package imports torch; building the CLI parser should not

    try:
        section = predictor_report(space, precomputed_dir, official_dir)
    except (FileNotFoundError, ValueError) as exc:
        notes.append(f"predictor: {exc}")
        return None
    why = section.pop("interval_note", None)
    if section.get("interval") is None and why:
        notes.append(f"predictor.interval: {why}")
    return section


def int8_drop_section(space, precomputed_dir: Path, official_dir, notes: list[str]) -> dict:
    """``predictor.int8_drop``: the int8 drop model fitted on the current supernet's measured (fp32, int8) pairs (``n_pairs`` 0: none yet).

    ``interval`` is the predicted int8 top-1's interval calibrated end to end on those pairs
    (``{"level": 80, "half_width": ..., "coverage": <measured %>, ...}``) or null; why it is null goes to ``notes``.
    """
    from ofa_dash.predictors import load_predictor  # deferred: the predictors package imports torch; building the CLI parser should not
    from ofa_dash.predictors.int8_drop import drop_model_from_measurements, int8_interval_from_records  # deferred: pandas, as above
    from ofa_dash.store import RunStore  # deferred: the store imports pandas

    version = Workspace(precomputed_dir).space(space).supernet_version()
    records = RunStore(precomputed_dir).measurements(space.name, version)
    model = drop_model_from_measurements(records)
    interval, why = None, "no measured int8 pairs"
    if model.known:
        try:
            predictor = load_predictor(space, official_dir=official_dir, precomputed_dir=precomputed_dir)
        except (OSError, ValueError) as exc:
            predictor, why = None, str(exc)
        if predictor is not None:
            interval, why = int8_interval_from_records(space, predictor, records)
    if interval is None:
        notes.append(f"predictor.int8_drop.interval: {why}")
    return {**model.to_dict(), "interval": interval, "supernet_version": version}


def device_section(space, precomputed_dir: Path, official_dir, notes: list[str]) -> dict:
    """Per device: the validation figures stored with its profile, and where it was measured."""
    out = {}
    for name in device_names(space, official_dir, precomputed_dir):
        try:
            table = get_device(space, name, official_dir, precomputed_dir)
        except (ValueError, FileNotFoundError) as exc:
            notes.append(f"device {name}: {exc}")
            out[name] = {"kendall_tau": None, "mape": None, "n_validation": 0, "error": str(exc)}
            continue
        quality = table.quality or {}
        meta = table.meta
        out[name] = {
            "kendall_tau": quality.get("kendall_tau"),
            "mape": quality.get("mape"),
            "n_validation": quality.get("n_validation", 0),
            "runtime": meta.get("runtime"),
            "runtime_version": meta.get("runtime_version"),
            "precision": meta.get("precision"),
            "hardware": meta.get("hardware"),
            "threads": meta.get("threads"),
            "batch_size": meta.get("batch_size"),
            "date": meta.get("date"),
            "machine": meta.get("machine"),  # CPU, cores, runtime, threads, load while measuring (None: an older profile did not record it)
            "correction": meta.get("correction"),
            "range_ms": meta.get("range_ms"),  # measured: fastest and slowest subnet timed while profiling
            "estimated_range_ms": [float(v) for v in table.estimate(space.encode([space.smallest(), space.largest()]))],
            "source": meta.get("source", "profiled by ofa-dash on the machine named in hardware"),
        }
        if not quality:
            out[name]["note"] = "published table: no end-to-end measurements to validate against"
    return out


def supernet_section(space, precomputed_dir: Path, notes: list[str]) -> dict | None:
    """From ``train_manifest.json``: recipe, hardware, minutes, data copy, phases."""
    path = Workspace(precomputed_dir).space(space).train_manifest
    if not path.is_file():
        notes.append(f"supernet: no {path} (train the supernet first, or this space uses published weights)")
        return None
    try:
        m = json.loads(path.read_text())
        recipe = m.get("recipe")
        phases = m.get("phases", {})
        hardware = sorted({p.get("hardware") for p in phases.values() if p.get("hardware")})
        return {
            "recipe": recipe.get("name") if isinstance(recipe, dict) else recipe,
            "hardware": "; ".join(hardware) or None,
            "minutes": m.get("minutes"),
            "data": m.get("data"),
            "phases": m.get("phases_done", list(phases)),
            "supernet_version": m.get("supernet_version"),
        }
    except (json.JSONDecodeError, AttributeError, TypeError) as exc:
        notes.append(f"supernet: {path} is not a readable training manifest ({exc})")
        return None


def run_count(space, precomputed_dir: Path, notes: list[str]) -> int:
    """Stored search runs, from the result store's catalogue (unreadable runs are noted, not counted)."""
    from ofa_dash.store import RunStore  # deferred: the store imports pandas; building the CLI parser should not

    runs, problems = RunStore(precomputed_dir).list_runs(space.name)
    notes.extend(f"runs: {p}" for p in problems)
    return len(runs)


def build_report(space, official_dir: str | os.PathLike | None = None, precomputed_dir: str | os.PathLike | None = None) -> dict:
    """The ``report --json`` object (shared with the dashboard's overview)."""
    precomputed_dir = Path(precomputed_dir) if precomputed_dir is not None else default_root()
    notes: list[str] = []
    predictor = predictor_section(space, precomputed_dir, official_dir, notes)
    if predictor is not None:
        predictor["int8_drop"] = int8_drop_section(space, precomputed_dir, official_dir, notes)
    return {
        "space": space.name,
        "predictor": predictor,
        "devices": device_section(space, precomputed_dir, official_dir, notes),
        "supernet": supernet_section(space, precomputed_dir, notes),
        "runs": run_count(space, precomputed_dir, notes),
        "notes": notes,
    }


def run(args: argparse.Namespace) -> int:
    space = get_space(args.space)
    if args.official is not None and not Path(args.official).is_dir():
        raise FileNotFoundError(f"--official {args.official!r} is not a folder (expected one laid out like ofa-official/)")
    emit(build_report(space, args.official, args.precomputed), args.json)
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="what precomputed/ holds for a space and its quality figures")
    p.add_argument("--space", default="cifar10")
    p.add_argument("--official", help="folder laid out like ofa-official/ (adds OFA's note10 device and predictor)")
    p.add_argument("--precomputed", default=None, help="artifact root (default: OFA_DASH_PRECOMPUTED or the shipped precomputed/)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
