"""The on-disk device profile: a latency table plus the evidence for trusting it.

A profile is one JSON file per (space, device) under
``precomputed/<space>/devices/<name>.json``. Besides the per-layer table it
keeps the end-to-end measurements of random whole subnets, split into a
calibration set (used to fit the correction) and a validation set (used only
to report quality), so every latency a user sees can be traced back to how
well the table predicted real runs on that device.

The correction maps layer sums to whole-subnet latency, fitted on the
calibration subnets: layer sums miss what whole-network execution adds or saves
(one runtime call instead of many, cache reuse between layers, fusion). Its
forms (affine, per-stage, per-stage with a size term) and how one is chosen
live in :mod:`ofa_dash.hardware.correction`.

Loading validates everything (schema name and version, space, required
metadata, every entry a finite non-negative number, genomes inside the space,
stored quality figures consistent with the data) and raises a ``ValueError``
that names the file and the problem; nothing half-loaded escapes.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ofa_dash.files import atomic_write_bytes
from ofa_dash.hardware.correction import KINDS, Correction
from ofa_dash.hardware.latency import LatencyTable, keys_at
from ofa_dash.space import GENOME_LENGTH, SearchSpace

SCHEMA = "ofa-dash/device-profile"
SCHEMA_VERSION = 1
SPLITS = ("calibration", "validation", "extreme")
RUNTIMES = ("ort", "ort-int8", "torch", "cuda", "openvino")  # what the profiler can time in (ofa_dash.hardware.runtimes)
REQUIRED_META = ("device", "runtime", "runtime_version", "hardware", "threads", "batch_size", "date", "repeats", "warmup", "spread")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
RESERVED_NAMES = ("note10",)  # OFA's published tables, loaded from --official DIR


def check_device_name(name: str) -> str:
    """Device names become file names and appear in ``latency:DEVICE`` objectives, so keep them plain."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValueError(f"device name {name!r} must be 1-40 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
    return name


@dataclass(frozen=True)
class LayerTiming:
    """One table entry: the median over ``n`` timed runs and its spread (interquartile range)."""

    ms: float
    spread_ms: float
    n: int


@dataclass(frozen=True)
class SubnetMeasurement:
    """One whole subnet timed end to end in the profiled runtime: the ground truth."""

    genome: tuple[int, ...]
    measured_ms: float
    spread_ms: float
    n: int
    split: str  # calibration | validation | extreme (largest / smallest, for the range only)
    arch: str = ""


def estimate_quality(estimated_ms: np.ndarray, measured_ms: np.ndarray) -> dict:
    """Kendall tau, mean/max absolute percentage error (percent) and RMSE of an estimate against measurements."""
    from scipy.stats import kendalltau

    est = np.asarray(estimated_ms, dtype=np.float64)
    meas = np.asarray(measured_ms, dtype=np.float64)
    if len(est) == 0:
        return {"kendall_tau": None, "mape": None, "max_ape": None, "rmse_ms": None, "n_validation": 0}
    ape = np.abs(est - meas) / meas * 100.0
    tau = float(kendalltau(est, meas).statistic) if len(est) > 1 else None
    return {
        "kendall_tau": None if tau is None or math.isnan(tau) else tau,
        "mape": float(ape.mean()),
        "max_ape": float(ape.max()),
        "rmse_ms": float(np.sqrt(np.mean((est - meas) ** 2))),
        "n_validation": len(est),
    }


@dataclass
class DeviceProfile:
    """Everything one profiling run produced for one space on one device."""

    space: str
    name: str
    meta: dict
    entries: dict[int, dict[str, LayerTiming]]
    measurements: list[SubnetMeasurement]
    correction: Correction
    quality: dict = field(default_factory=dict)
    _table: LatencyTable | None = field(default=None, init=False, repr=False, compare=False)

    # ----------------------------------------------------------- derived views
    def entries_ms(self) -> dict[int, dict[str, float]]:
        return {r: {k: t.ms for k, t in table.items()} for r, table in self.entries.items()}

    def table(self, space: SearchSpace) -> LatencyTable:
        """The compiled, calibrated table (raises ``MissingLayerError`` naming the first missing key)."""
        if space.name != self.space:
            raise ValueError(f"device profile {self.name!r} is for space {self.space!r}, not {space.name!r}")
        if self._table is None or self._table.space != space:  # compiling is the costly part; entries do not change
            self._table = LatencyTable(space, self.name, self.entries_ms())
        self._table.meta = {**self.meta, "quality": self.quality, "correction": _correction_dict(self.correction), "range_ms": self.range_ms()}
        self._table.set_layer_costs(*self.correction.layer_costs(self._table))
        return self._table

    def split(self, name: str) -> list[SubnetMeasurement]:
        return [m for m in self.measurements if m.split == name]

    def range_ms(self) -> list[float] | None:
        """Fastest and slowest measured subnet (the extremes are measured for exactly this)."""
        if not self.measurements:
            return None
        values = [m.measured_ms for m in self.measurements]
        return [min(values), max(values)]

    def evaluate(self, space: SearchSpace, table: LatencyTable | None = None) -> dict:
        """Quality of the corrected estimate on the validation subnets, plus the uncorrected layer sum's for comparison."""
        table = table or self.table(space)
        val = self.split("validation")
        if not val:
            return estimate_quality(np.array([]), np.array([]))
        genomes = np.array([m.genome for m in val], dtype=np.int64)
        measured = np.array([m.measured_ms for m in val])
        raw = table.layer_sum(genomes)
        quality = estimate_quality(table.estimate(genomes), measured)
        uncorrected = estimate_quality(raw, measured)
        quality["uncorrected"] = {k: uncorrected[k] for k in ("kendall_tau", "mape")}
        return quality

    # ----------------------------------------------------------- serialisation
    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "space": self.space,
            "name": self.name,
            "meta": self.meta,
            "correction": _correction_dict(self.correction),
            "quality": self.quality,
            "entries": {
                str(r): {k: {"ms": t.ms, "spread_ms": t.spread_ms, "n": t.n} for k, t in sorted(table.items())} for r, table in sorted(self.entries.items())
            },
            "measurements": [
                {"arch": m.arch, "split": m.split, "measured_ms": m.measured_ms, "spread_ms": m.spread_ms, "n": m.n, "genome": list(m.genome)}
                for m in self.measurements
            ],
        }

    @classmethod
    def from_dict(cls, data: object, space: SearchSpace, source: str = "profile") -> DeviceProfile:
        """Parse and validate; every problem is a ``ValueError`` naming ``source``."""
        return _parse(data, space, source)


def _correction_dict(c: Correction) -> dict:
    return c.to_dict()


# ----------------------------------------------------------------- save / load
def save_profile(profile: DeviceProfile, path: str | os.PathLike) -> Path:
    """Write atomically (temp file and rename): a reader never sees half a profile."""
    path = Path(path)
    atomic_write_bytes(path, json.dumps(profile.to_dict(), indent=1, allow_nan=False).encode())
    return path


def load_profile(path: str | os.PathLike, space: SearchSpace) -> DeviceProfile:
    """Read and validate a profile for ``space`` (``FileNotFoundError`` / ``ValueError`` otherwise)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"device profile {str(path)!r} not found")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON (corrupted or truncated?): {exc}") from None
    return _parse(data, space, str(path))


# ----------------------------------------------------------------- validation
def _parse(data: object, space: SearchSpace, src: str) -> DeviceProfile:
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f'{src} is not an ofa-dash device profile (expected "schema": {SCHEMA!r})')
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(f"{src} has device-profile schema version {version!r}; this ofa-dash reads version {SCHEMA_VERSION} (re-run `profile` to rebuild it)")
    if data.get("space") != space.name:
        raise ValueError(f"{src} is a profile for space {data.get('space')!r}, not {space.name!r}")
    name = data.get("name")
    try:
        check_device_name(name)
    except ValueError as exc:
        raise ValueError(f"{src}: {exc}") from None
    meta = _field(data, "meta", dict, src)
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ValueError(f"{src}: metadata lacks {missing} (required: {list(REQUIRED_META)})")
    entries = _parse_entries(_field(data, "entries", dict, src), space, src)
    measurements = _parse_measurements(_field(data, "measurements", list, src), space, src)
    correction = _parse_correction(_field(data, "correction", dict, src), src)
    quality = _field(data, "quality", dict, src)
    profile = DeviceProfile(space.name, name, meta, entries, measurements, correction, quality)
    table = profile.table(space)  # MissingLayerError names the missing key
    _check_quality(profile, space, table, src)
    return profile


def _field(data: dict, key: str, kind: type, src: str):
    value = data.get(key)
    if not isinstance(value, kind):
        raise ValueError(f"{src}: field {key!r} must be a JSON {'object' if kind is dict else 'array'}, got {type(value).__name__}")
    return value


def _number(value: object, what: str, src: str, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < minimum:
        raise ValueError(f"{src}: {what} must be a finite number >= {minimum}, got {value!r}")
    return float(value)


def _parse_entries(raw: dict, space: SearchSpace, src: str) -> dict[int, dict[str, LayerTiming]]:
    entries: dict[int, dict[str, LayerTiming]] = {}
    for r_text, table in raw.items():
        try:
            r = int(r_text)
        except ValueError:
            raise ValueError(f"{src}: entries are keyed by resolution, got {r_text!r}") from None
        if r not in space.resolutions:
            raise ValueError(f"{src}: resolution {r} is not in space {space.name!r} (allowed {list(space.resolutions)})")
        if not isinstance(table, dict):
            raise ValueError(f"{src}: entries[{r_text!r}] must be an object of layer key -> timing")
        parsed = {}
        for key, t in table.items():
            if not isinstance(t, dict):
                raise ValueError(f"{src}: entry {key!r} at resolution {r} must be an object with ms, spread_ms, n")
            parsed[key] = LayerTiming(
                ms=_number(t.get("ms"), f"entry {key!r} at resolution {r}: ms", src),
                spread_ms=_number(t.get("spread_ms"), f"entry {key!r} at resolution {r}: spread_ms", src),
                n=int(_number(t.get("n"), f"entry {key!r} at resolution {r}: n", src, 1)),
            )
        entries[r] = parsed
    absent = [r for r in space.resolutions if r not in entries]
    if absent:
        # name a concrete key, as a missing entry would
        r = absent[0]
        raise ValueError(f"{src}: no entries at resolution {r}; first missing layer key: {keys_at(space, r)[0]!r}")
    return entries


def _parse_measurements(raw: list, space: SearchSpace, src: str) -> list[SubnetMeasurement]:
    out = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            raise ValueError(f"{src}: measurements[{i}] must be an object")
        split = m.get("split")
        if split not in SPLITS:
            raise ValueError(f"{src}: measurements[{i}].split is {split!r}; allowed {list(SPLITS)}")
        genome = m.get("genome")
        if not isinstance(genome, list) or len(genome) != GENOME_LENGTH or not all(isinstance(v, int) and not isinstance(v, bool) for v in genome):
            raise ValueError(f"{src}: measurements[{i}].genome must be a list of {GENOME_LENGTH} integers")
        try:
            space.check_genome(np.array(genome))
        except ValueError as exc:
            raise ValueError(f"{src}: measurements[{i}]: {exc}") from None
        out.append(
            SubnetMeasurement(
                genome=tuple(genome),
                measured_ms=_number(m.get("measured_ms"), f"measurements[{i}].measured_ms", src, 1e-9),
                spread_ms=_number(m.get("spread_ms"), f"measurements[{i}].spread_ms", src),
                n=int(_number(m.get("n"), f"measurements[{i}].n", src, 1)),
                split=split,
                arch=str(m.get("arch", "")),
            )
        )
    return out


def _parse_correction(raw: dict, src: str) -> Correction:
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ValueError(f"{src}: correction kind {kind!r} is not supported (this ofa-dash knows {', '.join(map(repr, KINDS))})")
    numbers = {"scale": raw.get("scale"), "offset_ms": raw.get("offset_ms")}
    if kind == "per-stage+size":
        numbers.update(ms_per_mparam=raw.get("ms_per_mparam"), ms_per_mmac=raw.get("ms_per_mmac"))
    parts = raw.get("part_scales", []) if kind != "affine" else []
    if not isinstance(parts, list):
        raise ValueError(f"{src}: correction.part_scales must be a list of numbers, got {parts!r}")
    for what, v in [*numbers.items(), *((f"part_scales[{i}]", p) for i, p in enumerate(parts))]:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValueError(f"{src}: correction.{what} must be a finite number, got {v!r}")
    try:
        return Correction(
            **{k: float(v) for k, v in numbers.items()}, kind=kind, part_scales=tuple(float(p) for p in parts), fitted_on=str(raw.get("fitted_on", ""))
        )
    except ValueError as exc:
        raise ValueError(f"{src}: {exc}") from None


def _check_quality(profile: DeviceProfile, space: SearchSpace, table: LatencyTable, src: str) -> None:
    """Stored figures must be what the stored table and measurements give (catches hand edits and stale files)."""
    for key in ("kendall_tau", "mape", "n_validation"):
        if key not in profile.quality:
            raise ValueError(f"{src}: quality lacks {key!r}")
    fresh = profile.evaluate(space, table)
    for key in ("kendall_tau", "mape", "n_validation"):
        a, b = profile.quality[key], fresh[key]
        if (a is None) != (b is None) or (a is not None and not math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)):
            raise ValueError(f"{src}: stored quality {key}={a!r} does not match its own table and measurements ({b!r}); the file was edited or is stale")
