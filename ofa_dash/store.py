"""The result catalogue on disk: search runs (Parquet + a JSON manifest) and measured results.

Layout under a root (``precomputed/`` by default)::

    <space>/runs/manifest.json               catalogue: schema + one entry per run
    <space>/runs/<run_id>/run.json           the run's entry (the manifest can be rebuilt from these)
    <space>/runs/<run_id>/solutions.parquet  final set + archive: set, arch_id, g00..g45 (int8), one column per objective
    <space>/runs/<run_id>/history.parquet    per generation: gen, n_evals, hv, hv_pop, archive_size, seconds
    <space>/runs/<run_id>/rescored.parquet   optional: the run's accuracy objective re-scored by a newer predictor
    <space>/runs/<run_id>/rescored.json      its provenance (predictor, time, checksum); the run's own files stay untouched
    <space>/measurements.jsonl               measured results (live validation), one JSON object a line

Why this shape: Parquet keeps a run small and typed; the manifest lets the
dashboard list runs without opening them; every file is written to a
temporary name and renamed into place (``os.replace`` is atomic), so a crash
or Ctrl-C leaves either the old state or the new one, never half a file.
Every read is validated (schema, types, sizes, SHA-256 of each data file):
a corrupted or foreign file yields a :class:`StoreError` naming the run and
the file, and the catalogue listing skips that run and reports it, so one
bad run never hides the others.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ofa_dash.files import atomic_write_bytes, atomic_write_json, locked, remove_stale_temporaries, sha256_bytes
from ofa_dash.space import GENOME_LENGTH, get_space
from ofa_dash.workspace import Workspace

SCHEMA = "ofa-dash-runs"
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
RUN_JSON = "run.json"
SOLUTIONS = "solutions.parquet"
HISTORY = "history.parquet"
RESCORED = "rescored.parquet"
RESCORED_JSON = "rescored.json"
RESCORE_SCHEMA = "ofa-dash-rescore"
GENE_COLUMNS = [f"g{i:02d}" for i in range(GENOME_LENGTH)]
HISTORY_COLUMNS = {"gen": "int32", "n_evals": "int64", "hv": "float64", "hv_pop": "float64", "archive_size": "int32", "seconds": "float32"}
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")
_ENTRY_TYPES: dict[str, type | tuple[type, ...]] = {
    "run_id": str,
    "space": str,
    "objectives": list,
    "units": list,
    "algorithm": str,
    "algorithm_params": dict,
    "seed": int,
    "pop_size": int,
    "n_gen": int,
    "ref_point": list,
    "hv": (int, float),
    "hv_final": (int, float),
    "n_evals": int,
    "seconds": (int, float),
    "front_size": int,
    "final_size": int,
    "created": str,
    "versions": dict,
    "files": dict,
}


class StoreError(ValueError):
    """A run or file in the store is missing, corrupted or foreign (the message says which)."""


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False, engine="pyarrow", compression="zstd")
    return buf.getvalue()


def _jsonable(obj):
    """Plain JSON types (numpy scalars and arrays converted; NaN/inf refused)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        value = float(obj)
        if not math.isfinite(value):
            raise ValueError(f"value {value} cannot be stored (not finite)")
        return value
    if isinstance(obj, np.bool_):
        return bool(obj)
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    return str(obj)


# --------------------------------------------------------------------------- stored run
@dataclass
class StoredRun:
    """A run read back from the store (validated)."""

    entry: dict
    solutions: pd.DataFrame
    history: pd.DataFrame

    @property
    def run_id(self) -> str:
        return self.entry["run_id"]

    @property
    def objectives(self) -> list[str]:
        return list(self.entry["objectives"])

    def frame(self, which: str = "archive") -> pd.DataFrame:
        """Rows of ``final`` or ``archive`` (arch_id, genes, objectives)."""
        if which not in ("final", "archive"):
            raise ValueError(f"which must be 'final' or 'archive', got {which!r}")
        return self.solutions[self.solutions["set"] == which].reset_index(drop=True)

    def genomes(self, which: str = "archive") -> np.ndarray:
        return self.frame(which)[GENE_COLUMNS].to_numpy(dtype=np.int64)

    def F(self, which: str = "archive") -> np.ndarray:
        return self.frame(which)[self.objectives].to_numpy(dtype=float)


# --------------------------------------------------------------------------- the store
class RunStore:
    """Search runs and measured results of every space under ``root`` (see the module docstring)."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Workspace.at(root).root

    def runs_dir(self, space: str) -> Path:
        return Workspace(self.root).space(space).runs

    # ------------------------------------------------------------------ writing
    def save(self, result) -> dict:
        """Write a :class:`~ofa_dash.search.run.RunResult`; returns its manifest entry.

        The run's folder is written first, then the manifest (under a lock, so
        concurrent saves do not lose entries). A manifest that cannot be read
        is kept aside as ``manifest.json.corrupt-<time>`` and rebuilt from the
        run folders, with a warning in ``entry["warnings"]``.
        """
        space = get_space(result.spec.space)
        run_id = result.run_id
        if not _RUN_ID.match(run_id):
            raise ValueError(f"run id {run_id!r} is not a safe file name")
        folder = self.runs_dir(space.name) / run_id
        remove_stale_temporaries(self.runs_dir(space.name))
        if folder.exists():
            raise StoreError(f"run {run_id!r} already exists in {folder}")
        names = list(result.spec.objectives)
        sol = _solutions_frame(space, names, result)
        hist = pd.DataFrame({k: np.asarray(result.history[k]).astype(t) for k, t in HISTORY_COLUMNS.items()})
        blobs = {SOLUTIONS: _parquet_bytes(sol), HISTORY: _parquet_bytes(hist)}
        entry = _jsonable(
            {
                "schema_version": SCHEMA_VERSION,
                "run_id": run_id,
                "space": space.name,
                "objectives": names,
                "units": list(result.units),
                "algorithm": result.spec.algorithm,
                "algorithm_params": result.algorithm_params,
                "seed": int(result.spec.seed),
                "pop_size": int(result.spec.pop_size),
                "n_gen": int(hist["gen"].iloc[-1]) if len(hist) else 0,
                "ref_point": list(result.ref_point),
                "ref_point_source": result.ref_point_source,
                "hv_every": int(result.spec.hv_interval()),
                "hv": float(result.hv),
                "hv_final": float(result.hv_final),
                "n_evals": int(result.n_evals),
                "seconds": float(result.seconds),
                "cpu_seconds": float(result.cpu_seconds),
                "front_size": len(result.archive_X),
                "final_size": len(result.final_X),
                "created": result.created,
                "cancelled": bool(result.cancelled),
                "versions": result.versions,
                "files": {name: {"sha256": sha256_bytes(b), "bytes": len(b)} for name, b in blobs.items()},
            }
        )
        for name, data in blobs.items():
            atomic_write_bytes(folder / name, data)
        atomic_write_json(folder / RUN_JSON, entry)
        warnings = self._add_to_manifest(space.name, entry)
        return {**entry, "warnings": warnings} if warnings else entry

    def _add_to_manifest(self, space: str, entry: dict) -> list[str]:
        runs_dir = self.runs_dir(space)
        warnings: list[str] = []
        with locked(runs_dir):
            path = runs_dir / MANIFEST
            try:
                manifest = self._read_manifest(space) if path.exists() else _empty_manifest(space)
            except StoreError as exc:
                aside = path.with_name(f"{MANIFEST}.corrupt-{datetime.now(UTC):%Y%m%dT%H%M%S}")
                os.replace(path, aside)
                manifest = _empty_manifest(space)
                manifest["runs"] = [e for e in self._scan_run_folders(space)[0] if e["run_id"] != entry["run_id"]]
                warnings.append(f"{exc}; kept it as {aside.name} and rebuilt the manifest from the run folders")
            manifest["runs"] = [e for e in manifest["runs"] if not (isinstance(e, dict) and e.get("run_id") == entry["run_id"])]
            manifest["runs"].append(entry)
            atomic_write_json(path, manifest)
        return warnings

    def rebuild_manifest(self, space: str) -> tuple[int, list[str]]:
        """Rewrite the manifest from the run folders' ``run.json`` (valid runs only); (count, problems)."""
        with locked(self.runs_dir(space)):
            entries, problems = self._scan_run_folders(space)
            manifest = _empty_manifest(space)
            manifest["runs"] = entries
            atomic_write_json(self.runs_dir(space) / MANIFEST, manifest)
        return len(entries), problems

    # ------------------------------------------------------------------ reading
    def _read_manifest(self, space: str) -> dict:
        path = self.runs_dir(space) / MANIFEST
        try:
            manifest = json.loads(path.read_text())
        except FileNotFoundError:
            raise StoreError(f"{path}: no run manifest") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StoreError(f"{path}: not a readable JSON manifest ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
            raise StoreError(f"{path}: not an ofa-dash run manifest (expected schema {SCHEMA!r})")
        version = manifest.get("schema_version")
        if version != SCHEMA_VERSION:
            raise StoreError(f"{path}: manifest schema_version {version!r}; this ofa-dash reads version {SCHEMA_VERSION}")
        if manifest.get("space") != space or not isinstance(manifest.get("runs"), list):
            raise StoreError(f"{path}: manifest is for space {manifest.get('space')!r} or has no run list (expected space {space!r})")
        return manifest

    def _scan_run_folders(self, space: str) -> tuple[list[dict], list[str]]:
        entries, problems = [], []
        runs_dir = self.runs_dir(space)
        if not runs_dir.is_dir():
            return entries, problems
        for folder in sorted(p for p in runs_dir.iterdir() if p.is_dir()):
            try:
                entry = json.loads((folder / RUN_JSON).read_text())
                self._check_entry(space, entry, folder.name)
                self._check_files(space, entry)
                entries.append(entry)
            except (OSError, ValueError) as exc:
                problems.append(f"run folder {folder.name}: {exc}")
        entries.sort(key=lambda e: e["created"])
        return entries, problems

    def _unlisted_folders(self, space: str, listed: set) -> list[str]:
        runs_dir = self.runs_dir(space)
        if not runs_dir.is_dir():
            return []
        unlisted = sorted(p.name for p in runs_dir.iterdir() if p.is_dir() and (p / RUN_JSON).is_file() and p.name not in listed)
        if not unlisted:
            return []
        return [
            f"run folder(s) {unlisted} are not in the manifest (a search stopped while saving?); `python -m ofa_dash store rebuild --space {space}` adds the valid ones"
        ]

    def list_runs(self, space: str) -> tuple[list[dict], list[str]]:
        """(valid manifest entries, problems): a bad run is reported and skipped, never raised.

        If the manifest itself is unreadable or foreign, the run folders are
        listed instead and the manifest problem is the first in the list.
        """
        get_space(space)
        runs_dir = self.runs_dir(space)
        if not (runs_dir / MANIFEST).exists():
            return [], self._unlisted_folders(space, set())
        try:
            manifest = self._read_manifest(space)
        except StoreError as exc:
            entries, problems = self._scan_run_folders(space)
            return entries, [f"{exc}; listed the run folders instead", *problems]
        runs, problems = [], []
        problems += self._unlisted_folders(space, {e.get("run_id") for e in manifest["runs"] if isinstance(e, dict)})
        for i, entry in enumerate(manifest["runs"]):
            try:
                self._check_entry(space, entry)
                self._check_files(space, entry)
                runs.append(entry)
            except (OSError, ValueError) as exc:
                rid = entry.get("run_id") if isinstance(entry, dict) else None
                problems.append(f"run {rid or f'#{i}'}: {exc}")
        return runs, problems

    def load(self, run_id: str, space: str | None = None) -> StoredRun:
        """One run, fully validated; :class:`StoreError` says what is wrong."""
        if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
            raise StoreError(f"{run_id!r} is not a run id")
        spaces = [space] if space else sorted(p.name for p in self.root.iterdir() if (p / "runs").is_dir()) if self.root.is_dir() else []
        for sp in spaces:
            folder = self.runs_dir(sp) / run_id
            if not folder.is_dir():
                continue
            entry = self._entry_for(sp, run_id)
            self._check_entry(sp, entry)
            blobs = self._check_files(sp, entry)
            sol = _read_parquet(blobs[SOLUTIONS], run_id, SOLUTIONS)
            hist = _read_parquet(blobs[HISTORY], run_id, HISTORY)
            _check_solutions(sp, entry, sol)
            missing = [c for c in HISTORY_COLUMNS if c not in hist.columns]
            if missing:
                raise StoreError(f"run {run_id}: {HISTORY} lacks column(s) {missing}")
            return StoredRun(entry, sol, hist)
        where = f"space {space!r}" if space else f"any space under {self.root}"
        raise StoreError(f"no run {run_id!r} in {where}")

    def _entry_for(self, space: str, run_id: str) -> dict:
        try:
            manifest = self._read_manifest(space)
            for entry in manifest["runs"]:
                if isinstance(entry, dict) and entry.get("run_id") == run_id:
                    return entry
        except StoreError:
            pass  # fall back to the run's own run.json
        path = self.runs_dir(space) / run_id / RUN_JSON
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"run {run_id}: not in the manifest and {RUN_JSON} is unreadable ({exc})") from None

    def _check_entry(self, space: str, entry, folder_name: str | None = None) -> None:
        if not isinstance(entry, dict):
            raise StoreError("manifest entry is not a JSON object")
        if entry.get("schema_version") != SCHEMA_VERSION:
            raise StoreError(f"entry schema_version {entry.get('schema_version')!r}; this ofa-dash reads version {SCHEMA_VERSION}")
        for key, kind in _ENTRY_TYPES.items():
            if key not in entry:
                raise StoreError(f"entry lacks {key!r}")
            value = entry[key]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise StoreError(f"entry field {key!r} has the wrong type ({type(value).__name__})")
        if not _RUN_ID.match(entry["run_id"]) or (folder_name is not None and entry["run_id"] != folder_name):
            raise StoreError(f"entry run_id {entry['run_id']!r} is not a safe name or does not match its folder")
        if entry["space"] != space:
            raise StoreError(f"entry is for space {entry['space']!r}, stored under {space!r}")
        if len(entry["ref_point"]) != len(entry["objectives"]) or not all(isinstance(v, int | float) for v in entry["ref_point"]):
            raise StoreError("reference point does not match the objectives")
        for name in (SOLUTIONS, HISTORY):
            info = entry["files"].get(name)
            if not isinstance(info, dict) or not isinstance(info.get("sha256"), str) or not isinstance(info.get("bytes"), int):
                raise StoreError(f"entry has no checksum for {name}")

    def _check_files(self, space: str, entry: dict) -> dict[str, bytes]:
        folder = self.runs_dir(space) / entry["run_id"]
        blobs = {}
        for name in (SOLUTIONS, HISTORY):
            path = folder / name
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise StoreError(f"{name} is missing or unreadable ({exc.strerror})") from None
            info = entry["files"][name]
            if len(data) != info["bytes"] or sha256_bytes(data) != info["sha256"]:
                raise StoreError(f"{name} is corrupted or was replaced (size/SHA-256 differ from the manifest)")
            blobs[name] = data
        return blobs

    # ------------------------------------------------------------------ re-scoring
    def save_rescore(self, space: str, run_id: str, error: np.ndarray, predictor: dict) -> dict:
        """Store the run's ``error`` objective re-scored by ``predictor`` (name, version, source) next to the run; returns its provenance.

        The run's own files (``solutions.parquet``, ``run.json``, the manifest entry)
        are never rewritten: the search's objectives stay its provenance. The sidecar
        holds, per solutions row, the original and the new error and ``on_front``
        (non-dominated within its set on the run's objectives with the new error);
        ``fell_off`` counts archive subnets that were on the run's front and are not
        any more. A later re-score replaces the sidecar (the original never changes).
        """
        run = self.load(run_id, space)
        if "error" not in run.objectives:
            raise StoreError(f"run {run_id}: has no error objective, so there is nothing a predictor could re-score")
        sol = run.solutions
        new = np.asarray(error, dtype=float).ravel()
        if len(new) != len(sol) or not np.all(np.isfinite(new)):
            raise ValueError(f"run {run_id}: {len(new)} re-scored errors for {len(sol)} solutions (or a non-finite one)")
        sets = sol["set"].astype(str).to_numpy()
        F = sol[run.objectives].to_numpy(dtype=float, copy=True)
        F[:, run.objectives.index("error")] = new
        on_front = np.zeros(len(sol), dtype=bool)
        for which in ("archive", "final"):
            rows = np.flatnonzero(sets == which)
            on_front[rows] = non_dominated(F[rows])
        df = pd.DataFrame({"set": sets, "arch_id": sol["arch_id"].astype(str).to_numpy(), "error_original": sol["error"].to_numpy(dtype=float)})
        df["error"] = new
        df["on_front"] = on_front
        blob = _parquet_bytes(df)
        archive = sets == "archive"
        meta = _jsonable(
            {
                "schema": RESCORE_SCHEMA,
                "schema_version": SCHEMA_VERSION,
                "run_id": run_id,
                "space": space,
                "predictor": predictor,
                "original_predictor": (run.entry.get("versions") or {}).get("predictor"),
                "rescored": datetime.now(UTC).isoformat(timespec="seconds"),
                "rows": len(df),
                "fell_off": int((archive & ~on_front).sum()),
                "max_change": float(np.max(np.abs(new - df["error_original"].to_numpy()))) if len(df) else 0.0,
                "file": {"sha256": sha256_bytes(blob), "bytes": len(blob)},
            }
        )
        folder = self.runs_dir(space) / run_id
        with locked(folder):
            atomic_write_bytes(folder / RESCORED, blob)
            atomic_write_json(folder / RESCORED_JSON, meta)
        return meta

    def rescore_info(self, space: str, run_id: str) -> dict | None:
        """The provenance of the run's re-scoring (``rescored.json``: predictor, time, fell_off), unchecked and cheap; None without one."""
        try:
            meta = json.loads((self.runs_dir(space) / run_id / RESCORED_JSON).read_text())
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) and meta.get("schema") == RESCORE_SCHEMA else None

    def rescored(self, space: str, run_id: str) -> pd.DataFrame | None:
        """The run's re-scored objective (``set, arch_id, error_original, error, on_front``; provenance in ``df.attrs["rescore"]``), or None.

        A sidecar whose checksum, rows or subnets disagree with the run raises :class:`StoreError`.
        """
        folder = self.runs_dir(space) / run_id
        meta_path = folder / RESCORED_JSON
        if not meta_path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            data = (folder / RESCORED).read_bytes()
        except (OSError, ValueError) as exc:
            raise StoreError(f"run {run_id}: its re-scoring is unreadable ({exc})") from None
        info = meta.get("file") if isinstance(meta, dict) else None
        if not isinstance(info, dict) or meta.get("schema") != RESCORE_SCHEMA or info.get("sha256") != sha256_bytes(data) or info.get("bytes") != len(data):
            raise StoreError(f"run {run_id}: {RESCORED} is corrupted or was replaced (checksum differs from {RESCORED_JSON})")
        df = _read_parquet(data, run_id, RESCORED)
        need = {"set", "arch_id", "error_original", "error", "on_front"}
        if not need <= set(df.columns) or len(df) != meta.get("rows") or not np.all(np.isfinite(df["error"].to_numpy(dtype=float))):
            raise StoreError(f"run {run_id}: {RESCORED} lacks columns or rows")
        df.attrs["rescore"] = meta
        return df

    # ------------------------------------------------------------------ measured results
    def record_measurement(self, space: str, record: dict) -> dict:
        """Append one measured result (keyed by ``arch`` id and ``supernet_version``) for ``space``.

        ``record`` holds JSON-able values (e.g. ``top1``, ``top5``, ``latency_ms``,
        ``n_images``, ``device``); ``recorded`` (UTC time) is added. The file is
        rewritten atomically under a lock.
        """
        sp = get_space(space)
        if not isinstance(record, dict):
            raise ValueError("a measurement is a dict of values")
        for key in ("arch", "supernet_version"):
            if not isinstance(record.get(key), str) or not record[key]:
                raise ValueError(f"a measurement needs {key!r} (a non-empty string)")
        sp.arch_from_id(record["arch"])  # a valid subnet id of this space
        row = _jsonable({**record, "space": sp.name, "recorded": datetime.now(UTC).isoformat(timespec="seconds")})
        path = Workspace(self.root).space(sp).measurements
        with locked(path.parent):
            old = path.read_bytes() if path.exists() else b""
            if old and not old.endswith(b"\n"):
                old += b"\n"
            atomic_write_bytes(path, old + (json.dumps(row) + "\n").encode())
        return row

    def measurements(self, space: str, supernet_version: str | None = None) -> pd.DataFrame:
        """Measured results of ``space`` (optionally one supernet version); bad lines are skipped
        and listed in ``df.attrs["problems"]``."""
        sp = get_space(space)
        path = Workspace(self.root).space(sp).measurements
        rows, problems = [], []
        if path.exists():
            for n, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    if not isinstance(row, dict) or not isinstance(row.get("arch"), str) or not isinstance(row.get("supernet_version"), str):
                        raise ValueError("not a measurement record")
                    rows.append(row)
                except ValueError as exc:
                    problems.append(f"{path.name} line {n}: {exc}")
        df = pd.DataFrame(rows, columns=None if rows else ["arch", "supernet_version", "recorded"])
        if supernet_version is not None and len(df):
            df = df[df["supernet_version"] == supernet_version].reset_index(drop=True)
        df.attrs["problems"] = problems
        return df

    def best_measurements(self, space: str, supernet_version: str | None = None) -> pd.DataFrame:
        """One record per measured subnet: the live validation on the most test images (the latest on ties)."""
        df = self.measurements(space, supernet_version)
        if not len(df) or "n_images" not in df:
            return df.iloc[0:0]
        df = df[df["n_images"].notna()].assign(_order=np.arange(int(df["n_images"].notna().sum())))
        return df.sort_values(["n_images", "_order"]).groupby("arch", sort=False).tail(1).drop(columns="_order").reset_index(drop=True)


# --------------------------------------------------------------------------- helpers
def non_dominated(F: np.ndarray) -> np.ndarray:
    """True for the rows of a minimisation matrix no other row dominates (equal rows keep each other)."""
    F = np.asarray(F, dtype=float)
    keep = np.ones(len(F), dtype=bool)
    for start in range(0, len(F), 256):  # blocks: an archive of thousands stays a few MB of comparisons
        block = F[start : start + 256]
        le = (F[None, :, :] <= block[:, None, :]).all(axis=2)
        lt = (F[None, :, :] < block[:, None, :]).any(axis=2)
        keep[start : start + 256] = ~(le & lt).any(axis=1)
    return keep


def _empty_manifest(space: str) -> dict:
    return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "space": space, "runs": []}


def _solutions_frame(space, names: list[str], result) -> pd.DataFrame:
    parts = []
    for which, X, F in (("final", result.final_X, result.final_F), ("archive", result.archive_X, result.archive_F)):
        X = space.canonical(np.asarray(X).reshape(-1, GENOME_LENGTH)) if len(X) else np.zeros((0, GENOME_LENGTH), dtype=np.int64)
        F = np.asarray(F, dtype=float).reshape(len(X), len(names))
        df = pd.DataFrame(X.astype(np.int8), columns=GENE_COLUMNS)
        df.insert(0, "arch_id", [a.id for a in space.decode(X)] if len(X) else pd.Series([], dtype=str))
        df.insert(0, "set", which)
        for j, name in enumerate(names):
            df[name] = F[:, j]
        parts.append(df)
    out = pd.concat(parts, ignore_index=True)
    out["set"] = out["set"].astype("category")
    return out


def _read_parquet(data: bytes, run_id: str, name: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(data), engine="pyarrow")
    except Exception as exc:  # pyarrow raises several types for garbage
        raise StoreError(f"run {run_id}: {name} is not a readable Parquet file ({type(exc).__name__}: {exc})") from None


def _check_solutions(space: str, entry: dict, sol: pd.DataFrame) -> None:
    rid = entry["run_id"]
    need = ["set", "arch_id", *GENE_COLUMNS, *entry["objectives"]]
    missing = [c for c in need if c not in sol.columns]
    if missing:
        raise StoreError(f"run {rid}: {SOLUTIONS} lacks column(s) {missing[:5]}{'...' if len(missing) > 5 else ''}")
    sets = sol["set"].astype(str)
    if (sets == "archive").sum() != entry["front_size"] or (sets == "final").sum() != entry["final_size"]:
        raise StoreError(f"run {rid}: {SOLUTIONS} row counts differ from the manifest")
    try:
        get_space(space).check_genome(sol[GENE_COLUMNS].to_numpy(dtype=np.int64))
    except ValueError as exc:
        raise StoreError(f"run {rid}: {SOLUTIONS} holds a genome outside the space ({exc})") from None
    F = sol[entry["objectives"]].to_numpy(dtype=float)
    if not np.all(np.isfinite(F)):
        raise StoreError(f"run {rid}: {SOLUTIONS} holds non-finite objective values")
