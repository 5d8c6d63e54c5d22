"""The dashboard's data layer: one table of subnets for a space and a choice of stored runs.

Every page reads subnets from here, so a figure on one page and a number in a
table on another always agree. One row per (run, subnet) with:

- ``run_id``, ``algorithm``, ``seed``, ``set`` (``final`` / ``archive``), ``id``, ``genome``
  (46 choice indices as a string of digits, decodable with :func:`genomes_of`);
- ``top1_pred`` and ``top1_pred_source``: the run's own ``error`` objective where it
  searched on one (the figure the search optimised), else the space's predictor;
- ``top1_pred_pm`` and ``top1_pred_level``: the predictor's calibrated interval
  (+- points at ``level`` % coverage, :mod:`ofa_dash.predictors.intervals`) where the
  prediction comes from the current predictor and it has one, else NaN (a run scored
  by another predictor, OFA's published predictor, a file fitted before intervals);
- ``latency:<device>`` for every device: the device table's estimate where the table
  loads, else the value the run stored (``device_sources`` says which);
- ``top1_original`` and ``fell_off`` for runs re-scored by a newer predictor (:mod:`ofa_dash.rescore`):
  the search's own figure (``top1_pred`` is then the re-scored one) and whether the subnet left its
  run's front under the new figures;
- ``macs`` and ``params`` (millions), ``peak_mem`` (MB): counted;
- ``top1_measured``, ``top5_measured``, ``measured_images``, ``measured_latency_ms``,
  ``measured_at`` where live validation has measured the subnet (on this supernet);
- ``top1_int8_pred`` / ``top1_int8_pred_source``: the predicted top-1 minus the int8 drop
  model (:mod:`ofa_dash.predictors.int8_drop`, fitted on this supernet's measured pairs;
  NaN without pairs), ``top1_int8_pred_pm`` / ``top1_int8_pred_level``: its interval,
  calibrated end to end on those pairs (NaN below 10 pairs), and ``top1_int8_measured`` / ``measured_int8_images`` where a live
  validation with ``--int8`` scored the subnet's int8 model.

On an int8 device axis (a profile named ``X-int8``, see :func:`int8_axes`) the views use
the int8 columns as ``top1`` (:func:`with_accuracy`): int8 latency is never paired with
the fp32 accuracy unless the page says the drop is unknown.

Pareto flags for any objective choice come from :func:`pareto_mask` (pymoo's
non-dominated sorting), constraints from :func:`apply_constraints`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from ofa_dash.hardware import count, load_devices
from ofa_dash.predictors import load_predictor
from ofa_dash.predictors.int8_drop import NO_MODEL, Int8DropModel, drop_model_from_measurements, int8_interval_from_records, int8_pairs
from ofa_dash.predictors.intervals import interval_of
from ofa_dash.space import GENOME_LENGTH, SearchSpace, get_space
from ofa_dash.store import GENE_COLUMNS, HISTORY, MANIFEST, RESCORED_JSON, RUN_JSON, SOLUTIONS, RunStore, StoreError
from ofa_dash.ui.int8_note import INT8_SUFFIX
from ofa_dash.workspace import Workspace

LATENCY_PREFIX = "latency:"
COUNTER_COLUMNS = {"macs": "MACs (M)", "params": "params (M)", "peak_mem": "peak memory (MB)"}


@dataclass
class DeviceInfo:
    """One latency column: where its numbers come from and how far to trust them."""

    name: str
    source: str
    estimated: bool  # True: a device table estimates every subnet; False: only values stored by runs
    quality: dict | None = None
    meta: dict = field(default_factory=dict)

    @property
    def column(self) -> str:
        return LATENCY_PREFIX + self.name


@dataclass
class Catalogue:
    """What :func:`build_catalogue` returns (picklable, so ``st.cache_data`` can keep it)."""

    space: str
    points: pd.DataFrame
    devices: dict[str, DeviceInfo]
    runs: list[dict]
    accuracy_source: str
    supernet_version: str | None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    accuracy_interval: dict | None = None  # the current predictor's calibrated interval (level, half_width, coverage), if any
    int8_drop: Int8DropModel = NO_MODEL  # fitted on this supernet's measured (fp32, int8) pairs; kind "none" without pairs
    int8_interval: dict | None = None  # the predicted int8 top-1's interval, calibrated end to end on those pairs (10 or more)

    @property
    def device_names(self) -> list[str]:
        return list(self.devices)


# --------------------------------------------------------------------------- fingerprints
def _stamp(path: Path) -> tuple:
    try:
        st = path.stat()
        return (str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        return (str(path), None, None)


def store_fingerprint(root: str | Path, space: str, official: str | Path | None = None) -> tuple:
    """File stamps (path, mtime, size) of everything a catalogue reads: a changed file gives a new cache key.

    Cheap (a handful of ``stat`` calls), so pages call it on every rerun and
    ``st.cache_data`` rebuilds only when a run, a measurement, a device profile,
    the predictor or the supernet manifest changed.
    """
    base = Workspace(Path(root)).space(space)
    paths = [base.runs / MANIFEST, base.measurements, base.predictor, base.train_manifest, base.supernet]
    if base.runs.is_dir():
        for run in sorted(p for p in base.runs.iterdir() if p.is_dir()):
            paths += [run / RUN_JSON, run / SOLUTIONS, run / HISTORY, run / RESCORED_JSON]
    if base.devices.is_dir():
        paths += sorted(base.devices.glob("*.json"))
    if official is not None:
        off = Path(official)
        paths += [off / "acc_predictor.pth", *sorted((off / "note10").glob("*.yaml"))]
    return tuple(_stamp(p) for p in paths)


# --------------------------------------------------------------------------- loading with explanations
def load_devices_safe(space: SearchSpace, official: str | Path | None, root: str | Path) -> tuple[dict, list[str]]:
    """Every device table that loads; a broken profile becomes a problem line, never an exception."""
    problems: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            devices = load_devices(space, official_dir=official, precomputed_dir=root, strict=False)
        except (OSError, ValueError) as exc:  # e.g. a damaged Note10 table
            devices = {}
            problems.append(str(exc))
    problems += [str(w.message) for w in caught if "device profile" in str(w.message)]
    return devices, problems


def load_predictor_safe(space: SearchSpace, official: str | Path | None, root: str | Path):
    """(predictor or None, why not): the space's fitted predictor, else OFA's published one."""
    try:
        return load_predictor(space, official_dir=official, precomputed_dir=root), None
    except (OSError, ValueError) as exc:
        return None, str(exc)


def current_supernet_version(root: str | Path, space: str) -> str | None:
    """The version training published (``train_manifest.json``); None where there is none."""
    return Workspace(Path(root)).space(space).supernet_version()


def describe_device(table) -> str:
    """One line saying what a device's latency is: runtime, hardware, and measured quality."""
    meta = getattr(table, "meta", {}) or {}
    what = meta.get("source") or ", ".join(str(meta[k]) for k in ("runtime", "hardware") if meta.get(k))
    quality = meta.get("quality") or {}
    if quality.get("kendall_tau") is not None and quality.get("mape") is not None:
        what += f"; on {quality.get('n_validation', '?')} held-out subnets Kendall tau {quality['kendall_tau']:.2f}, MAPE {quality['mape']:.1f} %"
    return f"estimated from the {table.name} table ({what})"


def best_measurements(store: RunStore, space: str, supernet_version: str | None) -> pd.DataFrame:
    """One row per measured subnet: its live validation on the most images (latest on ties)."""
    df = store.best_measurements(space, supernet_version)
    cols = ["id", "top1_measured", "top5_measured", "measured_images", "measured_latency_ms", "measured_at", "measured_version"]
    if not len(df) or "top1" not in df:
        return pd.DataFrame(columns=cols)
    df = df[df["top1"].notna()]
    out = pd.DataFrame(
        {
            "id": df["arch"].astype(str),
            "top1_measured": df["top1"].astype(float),
            "top5_measured": df["top5"].astype(float) if "top5" in df else np.nan,
            "measured_images": df["n_images"].astype(int),
            "measured_latency_ms": df["latency_ms"].astype(float) if "latency_ms" in df else np.nan,
            "measured_at": df.get("measured_at", df.get("recorded", "")).astype(str),
            "measured_version": df["supernet_version"].astype(str),
        }
    )
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- the table
def genome_strings(genomes: np.ndarray) -> list[str]:
    """Genomes as strings of choice indices (every gene is a single digit: at most 8 choices)."""
    g = np.asarray(genomes, dtype=np.int64)
    return ["".join(map(str, row)) for row in g.tolist()]


def genomes_of(strings) -> np.ndarray:
    """The inverse of :func:`genome_strings`: an (n, 46) int64 array."""
    if len(strings) == 0:
        return np.zeros((0, GENOME_LENGTH), dtype=np.int64)
    return np.array([[int(c) for c in s] for s in strings], dtype=np.int64)


def build_catalogue(
    root: str | Path,
    space: str,
    run_ids: list[str] | None = None,
    official: str | Path | None = None,
    sets: tuple[str, ...] = ("archive", "final"),
    devices: dict | None = None,
    predictor=None,
) -> Catalogue:
    """The subnet table of ``space`` for the chosen runs (all valid runs when ``run_ids`` is None).

    ``devices`` / ``predictor`` may be passed in (already loaded, e.g. kept by
    ``st.cache_resource``); otherwise they are loaded here. Nothing raises for
    missing or broken inputs: a corrupted run, a broken profile or a missing
    predictor becomes a line in ``problems`` / ``notes``.
    """
    sp = get_space(space)
    store = RunStore(root)
    entries, problems = store.list_runs(sp.name)
    problems = list(problems)
    notes: list[str] = []
    wanted = [e for e in entries if run_ids is None or e["run_id"] in run_ids]
    if run_ids is not None:
        known = {e["run_id"] for e in entries}
        problems += [f"run {r}: not in the catalogue (deleted or corrupted)" for r in run_ids if r not in known]

    if devices is None:
        devices, dev_problems = load_devices_safe(sp, official, root)
        problems += dev_problems
    frames: list[pd.DataFrame] = []
    loaded_entries: list[dict] = []
    stored_latency: set[str] = set()
    pred_sources: dict[str, str] = {}
    pred_versions: dict[str, tuple] = {}
    for entry in wanted:
        try:
            run = store.load(entry["run_id"], sp.name)
        except (StoreError, OSError) as exc:
            problems.append(f"run {entry['run_id']}: {exc}")
            continue
        sol = run.solutions
        sol = sol[sol["set"].astype(str).isin(sets)]
        if not len(sol):
            continue
        df = pd.DataFrame(
            {
                "run_id": run.run_id,
                "algorithm": entry["algorithm"],
                "seed": int(entry["seed"]),
                "set": sol["set"].astype(str).to_numpy(),
                "id": sol["arch_id"].astype(str).to_numpy(),
                "genome": genome_strings(sol[GENE_COLUMNS].to_numpy(dtype=np.int64)),
            }
        )
        if "error" in run.objectives:
            df["top1_pred"] = 100.0 - sol["error"].to_numpy(dtype=float)
            pinfo = (entry.get("versions") or {}).get("predictor") or {}
            df["top1_pred_source"] = f"predicted: {pinfo.get('source') or pinfo.get('name') or 'the run’s predictor'} (run objective)"
            rescore = _rescored(store, sp.name, run, sol.index.to_numpy(), problems)
            if rescore is not None:  # the newer predictor's figures; the search's own stay as top1_original
                error, fell_off, meta = rescore
                df["top1_original"] = df["top1_pred"]
                df["top1_pred"] = 100.0 - error
                df["fell_off"] = fell_off
                pinfo = meta.get("predictor") or {}
                df["top1_pred_source"] = (
                    f"predicted: {pinfo.get('source') or pinfo.get('name') or 'a newer predictor'} "
                    f"(run objective re-scored {str(meta.get('rescored', ''))[:10]}; the search's own figure is kept as top1_original)"
                )
            pred_sources[run.run_id] = df["top1_pred_source"].iloc[0]
            pred_versions[run.run_id] = (pinfo.get("name"), pinfo.get("version"))
        for name in run.objectives:
            if name.startswith(LATENCY_PREFIX):
                df["stored:" + name] = sol[name].to_numpy(dtype=float)
                stored_latency.add(name[len(LATENCY_PREFIX) :])
        frames.append(df)
        loaded_entries.append(entry)

    supernet_version = current_supernet_version(root, sp.name)
    if not frames:
        points = pd.DataFrame(columns=["run_id", "algorithm", "seed", "set", "id", "genome", "top1_pred", "top1_pred_source", "macs", "params", "peak_mem"])
        return Catalogue(sp.name, points, _device_infos(devices, stored_latency), loaded_entries, "none", supernet_version, problems, notes)

    points = pd.concat(frames, ignore_index=True)
    # a subnet in both sets of a run is one row, labelled final
    points["_final"] = points["set"] == "final"
    points = points.sort_values("_final", ascending=False, kind="stable").drop_duplicates(["run_id", "id"]).drop(columns="_final")
    points = points.sort_values(["run_id", "id"], kind="stable").reset_index(drop=True)

    unique = points.drop_duplicates("genome")
    G = genomes_of(unique["genome"].tolist())
    by_genome = pd.Index(unique["genome"])
    pos = by_genome.get_indexer(points["genome"])

    # accuracy: the run's objective, else the predictor
    if "top1_pred" not in points:
        points["top1_pred"] = np.nan
        points["top1_pred_source"] = None
    missing = points["top1_pred"].isna().to_numpy()
    accuracy_source = "; ".join(sorted(set(pred_sources.values())))
    why = None
    if predictor is None:
        predictor, why = load_predictor_safe(sp, official, root)
    if missing.any():
        if predictor is not None:
            values = np.asarray(predictor.predict(G), dtype=float)
            points.loc[missing, "top1_pred"] = values[pos[missing]]
            src = f"predicted: {getattr(predictor, 'source', 'predictor')}"
            points.loc[missing, "top1_pred_source"] = src
            accuracy_source = "; ".join(s for s in (accuracy_source, src) if s)
        else:
            notes.append(f"No accuracy predictor, so runs without an error objective have no predicted top-1: {why}")
    interval = interval_of(getattr(predictor, "meta", None))
    points["top1_pred_pm"] = np.nan
    points["top1_pred_level"] = np.nan
    current = (getattr(predictor, "name", None), getattr(predictor, "version", None))
    # rows whose fp32 figure is the current predictor's: only they carry its calibrated intervals
    same = missing | points["run_id"].map(lambda r: pred_versions.get(r) == current).to_numpy(dtype=bool)
    if interval is not None:
        points.loc[same, "top1_pred_pm"] = float(interval["half_width"])
        points.loc[same, "top1_pred_level"] = float(interval["level"])

    # counters
    counts = count(sp, G)
    points["macs"] = (counts["macs"] * 1e-6)[pos]
    points["params"] = (counts["params"] * 1e-6)[pos]
    points["peak_mem"] = (counts["peak_mem"] * 1e-6)[pos]

    # latency per device: the table where it loads, else the runs' stored values
    infos = _device_infos(devices, stored_latency)
    for name, info in infos.items():
        col = info.column
        if info.estimated:
            try:
                points[col] = np.asarray(devices[name].estimate(G), dtype=float)[pos]
            except (KeyError, ValueError) as exc:
                problems.append(f"device {name}: cannot estimate ({exc})")
                points[col] = points.get("stored:" + col, np.nan)
                info.estimated, info.source = False, "values stored by the runs (the table failed to estimate)"
        else:
            points[col] = points.get("stored:" + col, np.nan)
    points = points.drop(columns=[c for c in points.columns if c.startswith("stored:")])

    # measured results (this supernet's only)
    measured = best_measurements(store, sp.name, supernet_version)
    points = points.merge(measured, on="id", how="left")

    # int8: measured pairs of this supernet, the drop model fitted on them, and the int8 top-1 it predicts
    records = store.measurements(sp.name, supernet_version)
    pairs = int8_pairs(records)
    drop = drop_model_from_measurements(records)
    points["top1_int8_pred"] = drop.predict(points["top1_pred"].to_numpy(dtype=float))
    points["top1_int8_pred_source"] = f"predicted int8: the top-1 prediction minus the {drop.label()}" if drop.known else None
    int8_interval = int8_interval_from_records(sp, predictor, records)[0] if drop.known else None
    points["top1_int8_pred_pm"] = np.nan
    points["top1_int8_pred_level"] = np.nan
    if int8_interval is not None:
        points.loc[same, "top1_int8_pred_pm"] = float(int8_interval["half_width"])
        points.loc[same, "top1_int8_pred_level"] = float(int8_interval["level"])
    int8_measured = pairs[["id", "top1_int8", "n_images"]].rename(columns={"top1_int8": "top1_int8_measured", "n_images": "measured_int8_images"})
    points = points.merge(int8_measured, on="id", how="left")
    return Catalogue(sp.name, points, infos, loaded_entries, accuracy_source or "none", supernet_version, problems, notes, interval, drop, int8_interval)


def _rescored(store: RunStore, space: str, run, rows, problems: list[str]) -> tuple[np.ndarray, np.ndarray, dict] | None:
    """(new error, fell off the run's front, provenance) of ``run``'s solutions ``rows`` where a re-scoring is stored; a broken one is a problem line."""
    try:
        df = store.rescored(space, run.run_id)
    except StoreError as exc:
        problems.append(f"run {run.run_id}: {exc}; showing its original objectives")
        return None
    if df is None:
        return None
    if len(df) != len(run.solutions) or not (df["arch_id"].to_numpy() == run.solutions["arch_id"].astype(str).to_numpy()).all():
        problems.append(f"run {run.run_id}: its re-scoring lists other subnets than the run; showing its original objectives")
        return None
    return df["error"].to_numpy(dtype=float)[rows], ~df["on_front"].to_numpy(dtype=bool)[rows], df.attrs["rescore"]


def _device_infos(devices: dict, stored: set[str]) -> dict[str, DeviceInfo]:
    infos = {name: DeviceInfo(name, describe_device(t), True, getattr(t, "quality", None), dict(getattr(t, "meta", {}) or {})) for name, t in devices.items()}
    for name in sorted(stored - set(devices)):
        infos[name] = DeviceInfo(name, f"values stored by the runs (the {name} table is not loaded here)", False)
    return infos


# --------------------------------------------------------------------------- views
INT8_UNKNOWN = "fp32, int8 drop unknown: no measured int8 pairs (validate subnets with --int8), so this is the fp32 figure"


def int8_axes(columns: list[str]) -> bool:
    """True when every latency column among ``columns`` is an int8 device (``latency:X-int8``) and there is one.

    On such a front the accuracy is the int8 model's (:func:`with_accuracy` with ``int8=True``);
    a front mixing fp32 and int8 latency axes keeps the fp32 accuracy.
    """
    latency = [c for c in columns if c.startswith(LATENCY_PREFIX)]
    return bool(latency) and all(c.endswith(INT8_SUFFIX) for c in latency)


def with_accuracy(points: pd.DataFrame, prefer_measured: bool = False, int8: bool = False) -> pd.DataFrame:
    """Add ``top1``, ``top1_source`` and ``top1_pm`` / ``top1_level``: the prediction with its interval, or the live measurement where asked and present.

    ``int8``: the int8 model's accuracy instead (an int8 latency axis): the measured int8 top-1
    wherever a live validation scored the int8 model (``prefer_measured`` or not: the drop model
    is a coarse correction, a measurement of the int8 model is what it approximates), else the
    fp32 prediction minus the int8 drop model, with the int8 interval calibrated on measured
    pairs where there are enough (never the fp32 predictor's interval); without a drop model the fp32 prediction stays, tagged
    "fp32, int8 drop unknown" (never an invented number).
    """
    if int8:
        return _with_int8_accuracy(points)
    df = points.copy()
    df["top1"] = df["top1_pred"].astype(float)
    df["top1_source"] = df["top1_pred_source"].fillna("none").astype(str)
    df["top1_pm"] = df["top1_pred_pm"].astype(float) if "top1_pred_pm" in df else np.nan
    df["top1_level"] = df["top1_pred_level"].astype(float) if "top1_pred_level" in df else np.nan
    if prefer_measured and "top1_measured" in df:
        has = df["top1_measured"].notna()
        df.loc[has, "top1"] = df.loc[has, "top1_measured"].astype(float)
        df.loc[has, ["top1_pm", "top1_level"]] = np.nan  # a measurement, not the predictor's figure
        df.loc[has, "top1_source"] = "measured: live validation on " + df.loc[has, "measured_images"].astype(int).astype(str) + " test images"
    return df


def _with_int8_accuracy(points: pd.DataFrame) -> pd.DataFrame:
    # whole columns at once (numpy), not .loc per mask: the Fronts page redraws 10,000-row catalogues with this
    df = with_accuracy(points)
    n = len(df)
    top1 = df["top1"].to_numpy(dtype=float, copy=True)
    source = df["top1_source"].to_numpy(dtype=object, copy=True)
    pm, level = df["top1_pm"].to_numpy(dtype=float, copy=True), df["top1_level"].to_numpy(dtype=float, copy=True)
    pred = df["top1_int8_pred"].to_numpy(dtype=float) if "top1_int8_pred" in df else np.full(n, np.nan)
    has = ~np.isnan(pred)
    # the fp32 interval is not calibrated for the int8 figure; the int8 one (from measured pairs) is, where there is one
    top1[has] = pred[has]
    pm[has] = df["top1_int8_pred_pm"].to_numpy(dtype=float)[has] if "top1_int8_pred_pm" in df else np.nan
    level[has] = df["top1_int8_pred_level"].to_numpy(dtype=float)[has] if "top1_int8_pred_level" in df else np.nan
    if has.any():
        source[has] = df["top1_int8_pred_source"].to_numpy(dtype=object)[has]
    source[~has & df["top1_pred"].notna().to_numpy()] = INT8_UNKNOWN
    # always: the drop model is a coarse correction, a measured int8 model beats it (unlike the fp32 toggle)
    measured = df["top1_int8_measured"].to_numpy(dtype=float) if "top1_int8_measured" in df else np.full(n, np.nan)
    has = ~np.isnan(measured)
    if has.any():
        images = df["measured_int8_images"].to_numpy()[has].astype(int)
        top1[has], pm[has], level[has] = measured[has], np.nan, np.nan
        source[has] = [f"measured int8: live validation of the int8 model on {k} test images" for k in images]
    return df.assign(top1=top1, top1_source=source, top1_pm=pm, top1_level=level)


def objective_matrix(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Minimisation matrix for Pareto sorting: accuracy columns (``top1*``) are negated."""
    cols = [(-df[c] if c.startswith("top1") else df[c]).to_numpy(dtype=float) for c in columns]
    return np.column_stack(cols) if cols else np.zeros((len(df), 0))


def pareto_mask(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """True for the rows no other row dominates on ``columns`` (accuracy maximised, costs minimised).

    Rows with a missing value in any column are never on the front.
    """
    mask = np.zeros(len(df), dtype=bool)
    if not len(df) or not columns:
        return mask
    F = objective_matrix(df, columns)
    ok = np.isfinite(F).all(axis=1)
    if ok.sum() == 0:
        return mask
    idx = np.flatnonzero(ok)
    front = NonDominatedSorting().do(F[ok], only_non_dominated_front=True)
    mask[idx[np.asarray(front, dtype=int)]] = True
    return mask


@dataclass
class Constraints:
    """Limits a user sets with sliders; None means no limit."""

    max_latency: dict[str, float] = field(default_factory=dict)  # column -> ms
    min_top1: float | None = None
    max_macs: float | None = None
    max_params: float | None = None

    def active(self) -> bool:
        return bool(self.max_latency) or any(v is not None for v in (self.min_top1, self.max_macs, self.max_params))

    def to_query(self) -> str:
        """The limits as a link carries them: ``latency:cpu-ort<=0.3,top1>=78,macs<=50`` (empty without limits)."""
        parts = [f"{col}<={v:g}" for col, v in sorted(self.max_latency.items()) if v is not None]
        parts += [f"top1>={self.min_top1:g}"] if self.min_top1 is not None else []
        parts += [f"{name}<={v:g}" for name, v in (("macs", self.max_macs), ("params", self.max_params)) if v is not None]
        return ",".join(parts)

    @classmethod
    def from_query(cls, text: object) -> Constraints:
        """Limits from a link (see :meth:`to_query`); items of another shape are ignored, never evaluated."""
        out = cls()
        for item in str(text or "").split(",")[:32]:
            m = _LIMIT.match(item.strip())
            if not m:
                continue
            name, op, value = m["name"], m["op"], float(m["value"])
            if name.startswith(LATENCY_PREFIX) and op == "<=":
                out.max_latency[name] = value
            elif name == "top1" and op == ">=":
                out.min_top1 = value
            elif name in ("macs", "params") and op == "<=":
                setattr(out, f"max_{name}", value)
        return out


_LIMIT = re.compile(r"^(?P<name>latency:[A-Za-z0-9._-]{1,64}|top1|macs|params)(?P<op><=|>=)(?P<value>\d{1,9}(?:\.\d{1,9})?)$")


def apply_constraints(df: pd.DataFrame, c: Constraints, top1_column: str = "top1") -> pd.DataFrame:
    """Rows that meet every limit (a missing value never meets a limit)."""
    keep = np.ones(len(df), dtype=bool)
    for col, limit in c.max_latency.items():
        if col in df and limit is not None:
            keep &= (df[col] <= limit).to_numpy()
    if c.min_top1 is not None and top1_column in df:
        keep &= (df[top1_column] >= c.min_top1).to_numpy()
    if c.max_macs is not None:
        keep &= (df["macs"] <= c.max_macs).to_numpy()
    if c.max_params is not None:
        keep &= (df["params"] <= c.max_params).to_numpy()
    return df[keep]


def column_label(column: str) -> str:
    """Axis and table label of a catalogue column."""
    if column.startswith(LATENCY_PREFIX):
        return f"latency on {column[len(LATENCY_PREFIX) :]} (ms)"
    return {"top1": "top-1 (%)", "top1_pred": "predicted top-1 (%)", "top1_measured": "measured top-1 (%)", **COUNTER_COLUMNS}.get(column, column)


def joined_per_id(ids: pd.Series, values: pd.Series) -> pd.Series:
    """For each subnet id, its distinct ``values`` sorted and joined by ", " (e.g. the seeds or runs that found it)."""
    pairs = pd.DataFrame({"id": np.asarray(ids), "v": np.asarray(values)}).drop_duplicates().sort_values(["id", "v"])
    # a plain loop over the sorted pairs: pandas' per-group Python aggregation took ~20 % of a brush's server time
    joined: dict = {}
    for key, value in zip(pairs["id"].tolist(), pairs["v"].astype(str).tolist(), strict=True):
        joined.setdefault(key, []).append(value)
    return pd.Series({key: ", ".join(vs) for key, vs in joined.items()}, dtype=object).rename_axis("id").rename("v")


def selection_table(df: pd.DataFrame, devices: list[str]) -> pd.DataFrame:
    """The raw catalogue columns of a table of subnets: the CSV download (scripts read these names).

    Pages show subnets through :func:`ofa_dash.ui.tables.display_table` (headers with units, rounding, source tags).
    """
    cols = ["id", "top1", "top1_source", *[LATENCY_PREFIX + d for d in devices if LATENCY_PREFIX + d in df], "macs", "params", "peak_mem"]
    cols += [c for c in ("top1_pm", "top1_level", "distinguishable") if c in df and df[c].notna().any()]
    cols += [c for c in ("top1_measured", "top5_measured", "measured_images", "measured_latency_ms") if c in df]
    cols += ["found_by", "runs"] if "found_by" in df else ["algorithm", "seed", "run_id", "set"]
    out = df[[c for c in cols if c in df]].copy()
    for c in out.columns:
        if out[c].dtype.kind == "f":
            out[c] = out[c].round(3)
    return out.reset_index(drop=True)
