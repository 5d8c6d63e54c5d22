"""The devices a space can be estimated on: shipped profiles plus OFA's Note10 tables.

Shipped profiles live in ``precomputed/<space>/devices/<name>.json``; OFA's
published Note10 tables join as device ``note10`` when an ``--official DIR``
holding ``note10/<r>_lookup_table.yaml`` for every resolution of the space is
given. Every consumer (``predict``, ``search``, the dashboard) asks here, so a
new profile file is a new device everywhere.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ofa_dash.hardware.latency import NOTE10_DIR, LatencyTable, load_note10
from ofa_dash.hardware.profile_format import load_profile
from ofa_dash.space import SearchSpace
from ofa_dash.workspace import Workspace


def profile_dir(space: SearchSpace, precomputed_dir: str | os.PathLike | None = None) -> Path:
    """``<root>/<space>/devices`` (``precomputed_dir`` is the root; None: the default one)."""
    return Workspace.at(precomputed_dir).space(space).devices


def profile_path(space: SearchSpace, name: str, precomputed_dir: str | os.PathLike | None = None) -> Path:
    """Where ``profile`` stores device ``name`` by default."""
    return Workspace.at(precomputed_dir).space(space).profile(name)


def missing_official_tables(space: SearchSpace, official_dir: str | os.PathLike | None) -> str | None:
    """Why an ``--official DIR`` given for a space that uses OFA's tables yields no ``note10`` device (None: it does, or none was asked for)."""
    if official_dir is None or not space.needs_official_files or _has_note10(space, official_dir):
        return None
    folder = Path(official_dir) / NOTE10_DIR
    missing = [f"{r}_lookup_table.yaml" for r in space.resolutions if not (folder / f"{r}_lookup_table.yaml").is_file()]
    return f"{folder} lacks {missing}, so the note10 device is left out; `python -m ofa_dash download-official {official_dir}` fetches them"


def _has_note10(space: SearchSpace, official_dir: str | os.PathLike | None) -> bool:
    # the tables hold w1.2's layers: a space of the same resolutions but other widths finds its files yet none of its layers
    if official_dir is None or not space.needs_official_files:
        return False
    folder = Path(official_dir) / NOTE10_DIR
    return all((folder / f"{r}_lookup_table.yaml").is_file() for r in space.resolutions)


def device_names(space: SearchSpace, official_dir: str | os.PathLike | None = None, precomputed_dir: str | os.PathLike | None = None) -> list[str]:
    """Names of the devices available for ``space`` (cheap: no file is parsed)."""
    names = sorted(p.stem for p in profile_dir(space, precomputed_dir).glob("*.json")) if profile_dir(space, precomputed_dir).is_dir() else []
    if _has_note10(space, official_dir):
        names = ["note10", *[n for n in names if n != "note10"]]
    return names


def load_devices(
    space: SearchSpace,
    official_dir: str | os.PathLike | None = None,
    precomputed_dir: str | os.PathLike | None = None,
    strict: bool = True,
) -> dict[str, LatencyTable]:
    """Every device of ``space``: each shipped profile, plus ``note10`` when ``official_dir`` has its tables.

    A broken profile raises a ``ValueError`` naming the file (``strict``), or
    is skipped with a warning (``strict=False``, for a dashboard that should
    still show the other devices).
    """
    devices: dict[str, LatencyTable] = {}
    if _has_note10(space, official_dir):
        devices["note10"] = load_note10(space, official_dir)
    for name in device_names(space, None, precomputed_dir):
        if name in devices:
            continue
        try:
            devices[name] = _load_shipped(space, name, precomputed_dir)
        except (ValueError, FileNotFoundError) as exc:
            if strict:
                raise
            warnings.warn(f"skipping device profile: {exc}", stacklevel=2)
    return devices


def get_device(
    space: SearchSpace,
    name: str,
    official_dir: str | os.PathLike | None = None,
    precomputed_dir: str | os.PathLike | None = None,
) -> LatencyTable:
    """One device's table; an unknown name raises a ``ValueError`` listing the available ones."""
    available = device_names(space, official_dir, precomputed_dir)
    if name not in available:
        hint = " (OFA's note10 tables join with --official DIR, for spaces whose resolutions they cover)" if name == "note10" and official_dir is None else ""
        raise ValueError(f"unknown device {name!r} for space {space.name!r}; available devices: {available}{hint}")
    if name == "note10" and _has_note10(space, official_dir):
        return load_note10(space, official_dir)
    return _load_shipped(space, name, precomputed_dir)


def _load_shipped(space: SearchSpace, name: str, precomputed_dir: str | os.PathLike) -> LatencyTable:
    path = profile_path(space, name, precomputed_dir)
    profile = load_profile(path, space)
    if profile.name != name:
        raise ValueError(f"{path} holds device {profile.name!r}; the file name must be {profile.name}.json")
    return profile.table(space)
