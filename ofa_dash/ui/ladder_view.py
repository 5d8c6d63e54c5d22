"""The deployment ladder as the CLI and the Fronts page see it: the front it is drawn from, and its build as a job.

The CLI takes the ladder's rungs from the front the Fronts page draws by default
(:func:`ladder_front`: :func:`ofa_dash.ui.fronts.front_view` on predicted top-1
against one device's latency); the page passes the front it drew (with its
constraints), so the models a user downloads are points they saw on the chart.
The build itself (:func:`ofa_dash.ladder.build.build_ladder`) loads torch; it is
imported where a job runs, never when a page opens.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ofa_dash.files import sha256_bytes
from ofa_dash.hardware.latency import estimate_label
from ofa_dash.ladder.rungs import LadderColumns
from ofa_dash.progress import Cancelled
from ofa_dash.space import SearchSpace
from ofa_dash.ui.catalogue import LATENCY_PREFIX, Catalogue, DeviceInfo
from ofa_dash.ui.config import Settings
from ofa_dash.ui.fronts import front_view
from ofa_dash.ui.jobs import Job, calibration_key, run_at_background_priority, shared_dataset

MAX_RUNGS = 8  # the control's upper bound: each rung is one export (seconds to a minute on a busy machine)
LADDER_STAGE = "exporting models"


def ladder_front(cat: Catalogue, device: str) -> pd.DataFrame:
    """The distinct subnets on the Pareto front of predicted top-1 against latency on ``device`` (the Fronts page's 2D front)."""
    column = LATENCY_PREFIX + device
    if column not in cat.points:
        raise ValueError(f"no latency on device {device!r} in the chosen runs; devices here: {cat.device_names}")
    view = front_view(cat.points, ["top1", column], knees=False)
    return view.front.drop_duplicates("id").reset_index(drop=True)


def latency_source(info: DeviceInfo | None, device: str) -> str:
    """What a ladder's latency figures on ``device`` are: a lookup-table estimate (named, with the table's quality), or values the runs stored."""
    if info is None:
        return f"values stored by the runs for {device}"
    return f"{estimate_label(device)}: {info.source}" if info.estimated else info.source


def device_source(cat: Catalogue, device: str) -> str:
    """:func:`latency_source` of the catalogue's ``device``."""
    return latency_source(cat.devices.get(device), device)


def ladder_key(space: str, device: str, ids: list[str], calibration: str | None, supernet: Path) -> str:
    """A short name for one ladder: its space, device, subnets, calibration images and supernet file (path and stamp)."""
    st = supernet.stat()
    payload = json.dumps([space, device, ids, calibration, str(supernet.resolve()), st.st_mtime_ns, st.st_size])
    return f"{space}-{device}-k{len(ids)}-{sha256_bytes(payload.encode())[:12]}"


def ladder_zip_path(cache_root: Path, key: str) -> Path:
    return cache_root / "ladders" / f"{key}.zip"


def ladder_work(settings: Settings, space: SearchSpace, rungs: pd.DataFrame, device: str, source: str) -> Callable[[Job], dict]:
    """The body of a ladder job: export every rung into a staging folder, then zip it into the cache (reused next time)."""

    def work(job: Job) -> dict:
        # deferred: torch, ONNX and the dataset load only when a job runs
        from ofa_dash.calibration import resolve
        from ofa_dash.data import default_cache_dir
        from ofa_dash.ladder.build import build_ladder, zip_ladder

        ids = [str(i) for i in rungs["id"]]
        job.update(LADDER_STAGE, 0, len(ids), message="loading the supernet and the calibration images")
        supernet = settings.supernet_path(space)
        out = ladder_zip_path(default_cache_dir(), ladder_key(space.name, device, ids, calibration_key(settings, space), supernet))
        if out.is_file():
            job.update("done", len(ids), len(ids))
            return {"path": str(out), "ids": ids, "reused": True}
        data = shared_dataset(settings.data_for(space), space=space) if settings.data_for(space) is not None else None
        calibration = resolve(space, data, settings.precomputed)

        def progress(done: int, total: int, arch_id: str) -> None:
            if job.cancelled:
                raise Cancelled("ladder cancelled")
            job.update(LADDER_STAGE, done, total, message=arch_id)

        def build() -> None:
            with tempfile.TemporaryDirectory(prefix="ofa-dash-ladder-") as work_dir:
                folder = Path(work_dir) / "ladder"
                build_ladder(
                    space,
                    rungs,
                    LadderColumns(LATENCY_PREFIX + device),
                    device,
                    source,
                    folder,
                    data,
                    supernet,
                    progress=progress,
                    cancel=job.cancel.is_set,
                    calibration=calibration,
                )
                zip_ladder(folder, out, top=f"{space.name}-{device}-ladder")

        run_at_background_priority(build)
        job.update("done", len(ids), len(ids))
        return {"path": str(out), "ids": ids, "reused": False}

    return work


def cached_ladder(settings: Settings, space: SearchSpace, device: str, ids: list[str]) -> Path | None:
    """The zip of this very ladder if an earlier job built it (same subnets, device, calibration and supernet); else None."""
    # deferred: pages import this module; the data module loads torch
    from ofa_dash.data import default_cache_dir

    supernet = settings.supernet_path(space)
    key = calibration_key(settings, space)
    if key is None or not supernet.is_file():
        return None
    out = ladder_zip_path(default_cache_dir(), ladder_key(space.name, device, ids, key, supernet))
    return out if out.is_file() else None


def ladder_job_key(space: SearchSpace, device: str) -> str:
    """The session-state key under which a session keeps its ladder job for one space and device."""
    return f"ladder_job_{space.name}_{device}"
