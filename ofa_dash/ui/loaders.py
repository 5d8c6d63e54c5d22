"""Cached loading for the pages: every cache key holds the stamps of the files it read.

``st.cache_data`` / ``st.cache_resource`` are shared by all browser sessions
of one server, so the catalogue is built once per change on disk, not once
per session or per rerun; a new run, a live measurement or a new device
profile changes a file stamp and hence the key, which is how they "join"
without a restart.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ofa_dash.hardware import device_names as table_names
from ofa_dash.space import get_space
from ofa_dash.specialized import specialized_subnets
from ofa_dash.store import RunStore
from ofa_dash.ui.catalogue import (
    LATENCY_PREFIX,
    Catalogue,
    build_catalogue,
    load_devices_safe,
    load_predictor_safe,
    store_fingerprint,
)
from ofa_dash.ui.config import Settings
from ofa_dash.ui.search_view import run_histories


def _s(path: Path | None) -> str | None:
    return None if path is None else str(path)


@st.cache_data(show_spinner=False, max_entries=32)
def _list_runs(root: str, space: str, stamp: tuple) -> tuple[list[dict], list[str]]:
    return RunStore(root).list_runs(space)


def list_runs(settings: Settings, space: str) -> tuple[list[dict], list[str]]:
    """Valid runs and problem lines (corrupted runs are skipped, never raised)."""
    return _list_runs(str(settings.precomputed), space, store_fingerprint(settings.precomputed, space))


def device_names(settings: Settings, space: str, runs: list[dict]) -> list[str]:
    """Devices with a table here, plus devices whose latency only runs recorded (e.g. note10 without OFA's files)."""
    names = list(table_names(get_space(space), settings.official, settings.precomputed))
    for entry in runs:
        for obj in entry.get("objectives", []):
            if obj.startswith(LATENCY_PREFIX) and obj[len(LATENCY_PREFIX) :] not in names:
                names.append(obj[len(LATENCY_PREFIX) :])
    return names


@st.cache_resource(show_spinner=False, max_entries=8)
def _devices(space: str, official: str | None, root: str, stamp: tuple):
    return load_devices_safe(get_space(space), official, root)


def devices(settings: Settings, space: str) -> tuple[dict, list[str]]:
    """Loaded latency tables (shared, read-only) and problem lines."""
    return _devices(space, _s(settings.official), str(settings.precomputed), store_fingerprint(settings.precomputed, space, settings.official))


@st.cache_resource(show_spinner=False, max_entries=8)
def _predictor(space: str, official: str | None, root: str, stamp: tuple):
    return load_predictor_safe(get_space(space), official, root)


def predictor(settings: Settings, space: str):
    """(predictor or None, why not)."""
    return _predictor(space, _s(settings.official), str(settings.precomputed), store_fingerprint(settings.precomputed, space, settings.official))


@st.cache_data(show_spinner="Loading the catalogue…", max_entries=32)
def _catalogue(root: str, space: str, run_ids: tuple[str, ...] | None, official: str | None, sets: tuple[str, ...], stamp: tuple) -> Catalogue:
    settings_like = Settings(Path(root), Path(official) if official else None, None, official or "", "")
    devs, problems = devices(settings_like, space)
    pred, _ = predictor(settings_like, space)
    cat = build_catalogue(root, space, list(run_ids) if run_ids is not None else None, official, sets, devices=devs, predictor=pred)
    cat.problems = problems + cat.problems
    return cat


def catalogue(settings: Settings, space: str, run_ids: list[str] | None, sets: tuple[str, ...] = ("archive", "final")) -> Catalogue:
    """The subnet table for the chosen runs, rebuilt only when a file it reads changes."""
    return _catalogue(
        str(settings.precomputed),
        space,
        tuple(run_ids) if run_ids is not None else None,
        _s(settings.official),
        tuple(sets),
        store_fingerprint(settings.precomputed, space, settings.official),
    )


@st.cache_data(show_spinner=False, max_entries=16)
def _histories(root: str, space: str, run_ids: tuple[str, ...], stamp: tuple):
    entries, _ = _list_runs(root, space, stamp)
    return run_histories(root, space, [e for e in entries if e["run_id"] in run_ids])


def histories(settings: Settings, space: str, entries: list[dict]):
    """(tidy HV histories of ``entries``, problems), cached on the store's file stamps."""
    return _histories(str(settings.precomputed), space, tuple(e["run_id"] for e in entries), store_fingerprint(settings.precomputed, space))


@st.cache_data(show_spinner=False, max_entries=8)
def _specialized(official: str, space: str, stamp: float) -> list:
    return specialized_subnets(official, get_space(space))[0]


def specialized(settings: Settings, space: str) -> list:
    """OFA's published specialized subnets that are subnets of ``space`` (empty without OFA's files)."""
    if settings.official is None:
        return []
    folder = Path(settings.official) / "specialized"
    return _specialized(str(settings.official), space, folder.stat().st_mtime if folder.is_dir() else 0.0)
