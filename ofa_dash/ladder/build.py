"""Export a ladder's rungs as verified fp32 ONNX into one folder with ``ladder.json`` and ``pick.py``, atomically.

The folder is built in a staging folder beside the destination and moved into
place only when every model verified (:func:`ofa_dash.export.export` checks
each: onnx.checker, metadata, ONNX Runtime against PyTorch).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ofa_dash import __version__
from ofa_dash.calibration import Calibration
from ofa_dash.calibration import resolve as resolve_calibration
from ofa_dash.data import Dataset
from ofa_dash.export import FORMATS, export
from ofa_dash.files import file_sha256, staged
from ofa_dash.ladder.rungs import LadderColumns
from ofa_dash.progress import Cancelled
from ofa_dash.space import SearchSpace
from ofa_dash.subnets import load_supernet, prepare

MANIFEST = "ladder.json"
PICKER = "pick.py"
LADDER_FORMAT = "ofa-dash-ladder"
LADDER_VERSION = 1
MODEL_FORMAT = "onnx"  # fp32: what every runtime reads; an int8 rung would need its own latency figures


def picker_source() -> str:
    """The ladder's ``pick.py``: :mod:`ofa_dash.ladder.pick` as is (standard library only)."""
    return (Path(__file__).parent / "pick.py").read_text()


def check_ladder_destination(out: str | os.PathLike, force: bool) -> Path:
    """The output folder, refused when it is a file, or a non-empty folder without ``force``; its parent must exist."""
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ValueError(f"--out {str(out)!r} exists and is not empty; pass --force to replace it")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"folder {str(out.parent)!r} for --out does not exist; create it first")
    return out


def _objectives(row: pd.Series, columns: LadderColumns, device: str, latency_source: str) -> dict:
    def number(column: str) -> float | None:
        value = row.get(column)
        return None if value is None or pd.isna(value) else float(value)

    return {
        "top1": {"value": number(columns.accuracy), "unit": "%", "source": str(row.get(columns.accuracy_source) or "unknown")},
        "latency_ms": {"value": number(columns.latency), "unit": "ms", "device": device, "source": latency_source},
        "macs": {"value": number("macs"), "unit": "M", "source": "counted"},
        "params": {"value": number("params"), "unit": "M", "source": "counted"},
    }


def build_ladder(
    space: SearchSpace,
    rungs: pd.DataFrame,
    columns: LadderColumns,
    device: str,
    latency_source: str,
    out: str | os.PathLike,
    data: Dataset | None = None,
    supernet: str | os.PathLike | None = None,
    force: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    calibration: Calibration | None = None,
) -> dict:
    """Export each row of ``rungs`` (from :func:`select_rungs`) as verified fp32 ONNX into the folder ``out``; returns the manifest.

    ``latency_source`` says what the latency figures are (e.g. "lookup-table estimate (note10): ...").
    BN statistics are re-estimated per subnet on ``data`` or, without it, on the
    space's shipped calibration sample (refused when there is neither), unless
    ``calibration`` names the images (e.g. the sample of another precomputed root).
    ``progress(done, total, subnet id)`` hears each model as it starts;
    ``cancel()`` returning True stops between models (nothing is left behind).
    """
    start = time.perf_counter()
    out = check_ladder_destination(out, force)
    calibration = calibration or resolve_calibration(space, data)
    loaded = load_supernet(space, supernet)
    spec = FORMATS[MODEL_FORMAT]
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".staging", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp's folder is private; the ladder is meant to be shared like any export
    try:
        models = []
        for i in range(len(rungs)):
            row = rungs.iloc[i]
            if cancel is not None and cancel():
                raise Cancelled("ladder cancelled")
            if progress is not None:
                progress(i, len(rungs), str(row["id"]))
            arch = space.arch_from_id(str(row["id"]))
            prepared = prepare(space, arch, loaded, data, calibration=calibration)
            name = f"{i + 1:02d}-" + spec.file_for(f"{space.name}-{arch.id}")
            result = export(prepared, MODEL_FORMAT, staging / name, data)
            models.append(
                {
                    "file": name,
                    "subnet_id": arch.id,
                    "arch": arch.to_dict(),
                    "objectives": _objectives(row, columns, device, latency_source),
                    "verification": {"parity": result["parity"], "opset": result["opset"], "bytes": result["bytes"], "sha256": file_sha256(staging / name)},
                }
            )
        if progress is not None:
            progress(len(rungs), len(rungs), "")
        manifest = {
            "format": LADDER_FORMAT,
            "version": LADDER_VERSION,
            "space": space.name,
            "device": device,
            "latency_source": latency_source,
            "supernet_version": loaded.version,
            "calibration": calibration.describe(),
            "model_format": spec.label,
            "created_by": f"ofa-dash {__version__}",
            "models": models,
            "seconds": round(time.perf_counter() - start, 1),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        (staging / PICKER).write_text(picker_source())
        _move_into_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _move_into_place(staging: Path, out: Path) -> None:
    """Rename the staged folder onto ``out``; an existing ``out`` (empty, or replaced with --force) is moved aside first."""
    aside = None
    if out.exists():
        aside = out.with_name(f".{out.name}.{os.getpid()}.replaced")
        os.replace(out, aside)
    try:
        os.replace(staging, out)
    except OSError:
        if aside is not None:
            os.replace(aside, out)
        raise
    if aside is not None:
        with contextlib.suppress(OSError):
            shutil.rmtree(aside)


def zip_ladder(folder: str | os.PathLike, out: str | os.PathLike, top: str = "ladder") -> Path:
    """The ladder folder as one zip (everything under ``top/``), staged beside ``out`` and checked before it lands.

    Models are stored (float weights barely compress), text is deflated.
    """
    folder, out = Path(folder), Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    members = sorted(p for p in folder.iterdir() if p.is_file())
    with staged(out) as tmp:
        with zipfile.ZipFile(tmp, "w") as zf:
            for path in members:
                zf.write(path, f"{top}/{path.name}", compress_type=zipfile.ZIP_STORED if path.suffix == ".onnx" else zipfile.ZIP_DEFLATED)
        with zipfile.ZipFile(tmp) as zf:
            bad = zf.testzip()
            if bad is not None or len(zf.namelist()) != len(members):
                raise OSError(f"the ladder zip did not read back intact ({bad or 'members missing'})")
    return out
