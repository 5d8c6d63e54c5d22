"""From timings to a device profile, whatever did the timing.

A profile is built in the same way whether the timings come from a runtime on
this machine (:mod:`ofa_dash.hardware.profiler`) or from a visitor's browser
(:mod:`ofa_dash.hardware.browser`), so their quality figures mean the same:

1. :func:`plan_profile` decides what is timed: every distinct layer key of the
   space and the same seeded random subnets (calibration, validation) plus the
   smallest and largest one;
2. a timing source hands back :class:`ProfileTimings` (a median, spread and run
   count per layer key, the per-call overhead of its runtime measured on a null
   module, and the whole subnets timed end to end);
3. :func:`build_profile` subtracts the overhead from every layer entry (a sum
   of entries should not count one runtime call per layer), lays the entries
   out per resolution, fits the correction on the calibration subnets
   (:mod:`ofa_dash.hardware.correction`: its form chosen by cross-validation) and measures Kendall tau and MAPE on the validation subnets, which
   the fit never saw (:func:`refit_correction`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ofa_dash.hardware.correction import Correction, fit_correction
from ofa_dash.hardware.layers import LayerSpec, distinct_layer_specs, layer_specs
from ofa_dash.hardware.profile_format import SCHEMA_VERSION, DeviceProfile, LayerTiming, SubnetMeasurement
from ofa_dash.runtime.ort import Timing
from ofa_dash.space import SearchSpace

SPLIT_ORDER = ("calibration", "validation", "extreme")


@dataclass(frozen=True)
class PlannedSubnet:
    """One whole subnet to time end to end, and which split its measurement belongs to."""

    genome: tuple[int, ...]
    split: str
    arch: str
    resolution: int


@dataclass(frozen=True)
class ProfilePlan:
    """What one profile run times: the distinct layers and the subnets, in timing order."""

    space: str
    layers: dict[str, LayerSpec]
    subnets: list[PlannedSubnet]
    seed: int

    def counts(self) -> dict[str, int]:
        return {s: sum(p.split == s for p in self.subnets) for s in SPLIT_ORDER}


def plan_profile(space: SearchSpace, n_calibration: int, n_validation: int, seed: int = 0) -> ProfilePlan:
    """Every distinct layer of ``space``, ``n_calibration + n_validation`` seeded random subnets, then the smallest and largest."""
    genomes = space.sample_genomes(n_calibration + n_validation, seed=seed)
    splits = ["calibration"] * n_calibration + ["validation"] * n_validation
    extremes = space.encode([space.smallest(), space.largest()])
    subnets = []
    for genome, split in [*zip(genomes, splits, strict=True), *((g, "extreme") for g in extremes)]:
        arch = space.decode(genome)[0]
        subnets.append(PlannedSubnet(tuple(int(v) for v in genome), split, arch.id, arch.r))
    return ProfilePlan(space.name, distinct_layer_specs(space), subnets, seed)


@dataclass(frozen=True)
class ProfileTimings:
    """What a timing source hands back for a plan (milliseconds; ``overhead`` is one runtime call on a null module)."""

    layers: dict[str, Timing]
    overhead: Timing
    subnets: list[SubnetMeasurement]


def build_profile(space: SearchSpace, name: str, timings: ProfileTimings, meta: dict) -> DeviceProfile:
    """The fitted, validated profile of ``timings``; ``meta`` is the source's description (runtime, machine, policy...).

    Adds to ``meta`` what every profile states about its timings: spread, call
    overhead, counts and the schema version.
    """
    missing = [spec.key for r in space.resolutions for spec in layer_specs(space, r) if spec.key not in timings.layers]
    if missing:
        raise ValueError(f"timings lack {len(missing)} layer(s) of space {space.name!r}, first {missing[0]!r}")
    overhead_ms = timings.overhead.median_ms
    entries = {
        r: {
            spec.key: LayerTiming(max(timings.layers[spec.key].median_ms - overhead_ms, 0.0), timings.layers[spec.key].spread_ms, timings.layers[spec.key].n)
            for spec in layer_specs(space, r)
        }
        for r in space.resolutions
    }
    full_meta = {**meta, **timing_meta(timings)}
    profile = DeviceProfile(space.name, name, full_meta, entries, list(timings.subnets), Correction())
    return refit_correction(profile, space)


def timing_meta(timings: ProfileTimings) -> dict:
    """Spread, overhead and counts of ``timings``: the part of a profile's metadata every source shares."""
    rel_layers = np.array([t.spread_ms / t.median_ms for t in timings.layers.values() if t.median_ms > 0])
    rel_subnets = np.array([m.spread_ms / m.measured_ms for m in timings.subnets])
    return {
        "spread": {
            "layers_median_relative_iqr": float(np.median(rel_layers)) if len(rel_layers) else None,
            "layers_p90_relative_iqr": float(np.percentile(rel_layers, 90)) if len(rel_layers) else None,
            "subnets_median_relative_iqr": float(np.median(rel_subnets)) if len(rel_subnets) else None,
            "subnets_max_relative_iqr": float(np.max(rel_subnets)) if len(rel_subnets) else None,
        },
        "call_overhead_ms": timings.overhead.median_ms,
        "call_overhead_note": "median time of a null module (ReLU on one value) in the same runtime; subtracted from every layer entry, not from subnets",
        "n_layers_timed": len(timings.layers),
        "n_subnets": {s: sum(m.split == s for m in timings.subnets) for s in SPLIT_ORDER},
        "schema_version": SCHEMA_VERSION,
    }


def refit_correction(profile: DeviceProfile, space: SearchSpace) -> DeviceProfile:
    """``profile`` with its correction fitted again on its own calibration subnets, and its quality re-measured.

    Uses only what the profile stores (layer table and subnet timings), so a
    better fitting method reaches existing profiles without timing anything.
    """
    calib = profile.split("calibration")
    genomes = np.array([m.genome for m in calib], dtype=np.int64)
    fitted = replace(profile, correction=fit_correction(profile.table(space), genomes, [m.measured_ms for m in calib]))
    fitted.quality = fitted.evaluate(space)
    return fitted
