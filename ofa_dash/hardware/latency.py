"""Latency lookup tables: layer keys derived from the space, and a vectorised estimate.

A table maps a layer key (OFA's naming, e.g.
``expanded_conv-input:10x10x136-output:10x10x136-expand:408-kernel:3-stride:1-idskip:1-se:1-hs:1``)
to milliseconds. The same key scheme serves OFA's published Note10 tables and
the tables this project profiles, so one loader and one estimator serve all
devices. On load, a table is compiled into dense arrays (resolution x slot x
kernel x expand), and estimating a population is one gather and a masked sum.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ofa_dash.space import MAX_DEPTH, N_SLOTS, N_STAGES, SearchSpace


class MissingLayerError(KeyError, ValueError):
    """A table lacks the entry for a layer the space needs.

    Also a ``ValueError`` so the CLI reports it as bad input (one ``error:``
    line) rather than a crash.
    """

    def __str__(self) -> str:
        return str(self.args[0])


# --------------------------------------------------------------------------- keys
def stem_key(space: SearchSpace, r: int) -> str:
    s = space.stem_size(r)
    return f"Conv-input:{r}x{r}x3-output:{s}x{s}x{space.stem_channels}"


def block_key(f: int, g: int, cin: int, cout: int, mid: int, k: int, stride: int, residual: bool, se: bool, act: str) -> str:
    return (
        f"expanded_conv-input:{f}x{f}x{cin}-output:{g}x{g}x{cout}-expand:{mid}-kernel:{k}-stride:{stride}"
        f"-idskip:{int(residual)}-se:{int(se)}-hs:{int(act == 'hswish')}"
    )


def first_block_key(space: SearchSpace, r: int) -> str:
    s = space.stem_size(r)
    c, fb = space.stem_channels, space.first_block_channels
    return block_key(s, s, c, fb, c, 3, 1, c == fb, False, space.first_block_act)


def head_keys(space: SearchSpace, r: int) -> list[str]:
    h = space.final_size(r)
    last, fe, fd = space.stages[-1].channels, space.final_expand, space.feature_dim
    return [
        f"Conv_1-input:{h}x{h}x{last}-output:{h}x{h}x{fe}",
        f"AvgPool2D-input:{h}x{h}x{fe}-output:1x1x{fe}",
        f"Conv_2-input:1x1x{fe}-output:1x1x{fd}",
        f"Logits-input:1x1x{fd}-output:{space.n_classes}",
    ]


def fixed_keys(space: SearchSpace, r: int) -> list[str]:
    """Keys of the layers every subnet at resolution ``r`` runs (stem, first block, head)."""
    return [stem_key(space, r), first_block_key(space, r), *head_keys(space, r)]


def slot_key(space: SearchSpace, r: int, slot_index: int, k: int, e: int) -> str:
    slot = space.slots[slot_index]
    f, g = space.slot_sizes(r)[slot_index]
    mid = space.mid_channels(slot.in_channels, e)
    return block_key(f, g, slot.in_channels, slot.out_channels, mid, k, slot.stride, slot.residual, slot.se, slot.act)


@lru_cache(maxsize=32)
def keys_at(space: SearchSpace, r: int) -> tuple[str, ...]:
    """Every distinct layer key at resolution ``r`` (what a profiler must time there).

    Tables are kept per resolution because some keys (the 1x1 head layers)
    read the same at every resolution while their measured times differ.
    """
    keys: dict[str, None] = dict.fromkeys(fixed_keys(space, r))
    for i in range(N_SLOTS):
        for k in space.kernel_choices:
            for e in space.expand_choices:
                keys[slot_key(space, r, i, k, e)] = None
    return tuple(keys)


def estimate_label(table: str) -> str:
    """What a table latency is, for labels: "lookup-table estimate (<table>)".

    A sum of per-layer times from a device's table is an estimate for that
    device, not a measurement here; every page and the model card say so in
    these words, so the two are never read as the same kind of figure.
    """
    return f"lookup-table estimate ({table})"


# --------------------------------------------------------------------------- table
@dataclass
class LatencyTable:
    """One device's table for one space, compiled for vectorised estimates.

    Two sets of per-layer numbers: the table entries as timed (``slot_ms``,
    ``fixed_ms``: :meth:`layer_sum`), and the corrected costs an estimate adds
    up (``cost_slot_ms``, ``cost_fixed_ms`` and ``offset_ms``: :meth:`estimate`).
    Layer sums miss what running the whole graph changes (fusion, one call instead
    of one per layer, caches), so a profile fits a correction on whole-subnet
    measurements (:mod:`ofa_dash.hardware.correction`) and hands the table its
    per-layer costs with :meth:`set_layer_costs`. ``calibration`` is the plain
    affine case ``(scale, offset_ms)`` a table starts with (OFA's published tables: none).
    """

    space: SearchSpace
    name: str
    entries: dict[int, dict[str, float]]  # resolution -> layer key -> ms
    meta: dict = field(default_factory=dict)
    calibration: tuple[float, float] = (1.0, 0.0)
    slot_ms: np.ndarray = field(init=False, repr=False)
    fixed_ms: np.ndarray = field(init=False, repr=False)
    cost_slot_ms: np.ndarray = field(init=False, repr=False)
    cost_fixed_ms: np.ndarray = field(init=False, repr=False)
    offset_ms: float = field(init=False, repr=False, default=0.0)
    _flat_ms: np.ndarray = field(init=False, repr=False)
    _flat_cost: np.ndarray = field(init=False, repr=False)
    _slot_base: np.ndarray = field(init=False, repr=False)
    _depth_mask: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        K, E, R = len(self.space.kernel_choices), len(self.space.expand_choices), len(self.space.resolutions)
        self.slot_ms = np.zeros((R, N_SLOTS, K, E))
        self.fixed_ms = np.zeros(R)
        for ri, r in enumerate(self.space.resolutions):
            self.fixed_ms[ri] = sum(self._get(r, key) for key in fixed_keys(self.space, r))
            for i in range(N_SLOTS):
                for ki, k in enumerate(self.space.kernel_choices):
                    for ei, e in enumerate(self.space.expand_choices):
                        self.slot_ms[ri, i, ki, ei] = self._get(r, slot_key(self.space, r, i, k, e))
        # The hot path gathers from one flat array with a computed index, and
        # looks up which slots are active per (stage, depth index) from a tiny
        # table; both are much cheaper than 4-axis fancy indexing.
        self._flat_ms = self.slot_ms.ravel()
        self._slot_base = (np.arange(R)[:, None] * N_SLOTS + np.arange(N_SLOTS)[None, :]) * (K * E)  # flat offset of (r, slot, 0, 0)
        depths = np.asarray(self.space.depth_choices)
        self._depth_mask = (np.arange(MAX_DEPTH)[None, :] < depths[:, None]).astype(np.float64)  # (D, 4)
        scale, offset = self.calibration
        self.set_layer_costs(self.slot_ms * scale, self.fixed_ms * scale, offset)

    def set_layer_costs(self, slot_ms: np.ndarray, fixed_ms: np.ndarray, offset_ms: float) -> None:
        """The corrected per-layer costs :meth:`estimate` adds up: slots (R, 20, K, E), fixed layers (R,), one offset."""
        slot_ms, fixed_ms = np.asarray(slot_ms, dtype=np.float64), np.asarray(fixed_ms, dtype=np.float64)
        if slot_ms.shape != self.slot_ms.shape or fixed_ms.shape != self.fixed_ms.shape:
            raise ValueError(
                f"layer costs of shapes {slot_ms.shape} and {fixed_ms.shape} do not fit table {self.name!r} ({self.slot_ms.shape}, {self.fixed_ms.shape})"
            )
        self.cost_slot_ms, self.cost_fixed_ms, self.offset_ms = slot_ms, fixed_ms, float(offset_ms)
        self._flat_cost = np.ascontiguousarray(slot_ms).ravel()

    def ms(self, r: int, key: str) -> float:
        """One layer's table entry at resolution ``r`` (before the fitted correction); ``MissingLayerError`` naming it when absent."""
        return self._get(r, key)

    def _get(self, r: int, key: str) -> float:
        try:
            return float(self.entries[r][key])
        except KeyError:
            raise MissingLayerError(f"device {self.name!r} has no latency entry for layer {key!r} at resolution {r} (space {self.space.name!r})") from None

    @property
    def quality(self) -> dict | None:
        """Measured quality of the estimate (``kendall_tau``, ``mape``, ``n_validation``), when the device has any."""
        return self.meta.get("quality")

    def layer_sum(self, genomes: np.ndarray) -> np.ndarray:
        """Sum of table entries (ms) as timed, before the correction."""
        return self._sum(genomes, self._flat_ms, self.fixed_ms)

    def stage_sums(self, genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(fixed layers' entries (n,), each stage's active entries summed (n, stages)): the parts a correction is fitted on."""
        g = self.space.check_genome(genomes)
        k, e, r = g[:, :N_SLOTS], g[:, N_SLOTS : 2 * N_SLOTS], g[:, -1]
        per_slot = self.slot_ms[r[:, None], np.arange(N_SLOTS)[None, :], k, e]
        per_slot *= self._depth_mask[g[:, 2 * N_SLOTS : 2 * N_SLOTS + N_STAGES]].reshape(len(g), N_SLOTS)
        return self.fixed_ms[r], per_slot.reshape(len(g), N_STAGES, MAX_DEPTH).sum(axis=2)

    def _sum(self, genomes: np.ndarray, flat: np.ndarray, fixed: np.ndarray) -> np.ndarray:
        """Per block of rows: one flat index (resolution, slot, kernel, expand),
        one gather, one masked sum. Blocks of ``_CHUNK`` rows keep every
        temporary in cache and reuse its buffer, which halves the time for
        large populations (100,000 genomes: ~10 ms of CPU).
        """
        g = self.space.check_genome(genomes)
        n = len(g)
        E = self.slot_ms.shape[3]
        out = np.empty(n)
        rows = min(n, _CHUNK)
        idx, ms, active = np.empty((rows, N_SLOTS), np.int64), np.empty((rows, N_SLOTS)), np.empty((rows, N_STAGES, MAX_DEPTH))
        for start in range(0, n, _CHUNK):
            block = g[start : start + _CHUNK]
            m = len(block)
            i = idx[:m]
            np.multiply(block[:, :N_SLOTS], E, out=i)
            i += block[:, N_SLOTS : 2 * N_SLOTS]
            i += self._slot_base[block[:, -1]]
            np.take(flat, i, out=ms[:m])
            np.take(self._depth_mask, block[:, 2 * N_SLOTS : 2 * N_SLOTS + N_STAGES], axis=0, out=active[:m])
            out[start : start + m] = np.einsum("ij,ij->i", ms[:m], active[:m].reshape(m, N_SLOTS))
        out += fixed[g[:, -1]]
        return out

    def estimate(self, genomes: np.ndarray) -> np.ndarray:
        """Estimated end-to-end latency in ms for every genome row: the corrected layer costs summed, plus the offset."""
        return self._sum(genomes, self._flat_cost, self.cost_fixed_ms) + self.offset_ms


_CHUNK = 4096


# --------------------------------------------------------------------------- OFA's Note10 tables
NOTE10_DIR = "note10"


def load_note10(space: SearchSpace, official_dir: str | os.PathLike) -> LatencyTable:
    """OFA's published Samsung Note10 tables (``note10/{r}_lookup_table.yaml``) as device ``note10``."""
    import yaml

    folder = Path(official_dir) / NOTE10_DIR
    entries: dict[int, dict[str, float]] = {}
    for r in space.resolutions:
        path = folder / f"{r}_lookup_table.yaml"
        if not path.is_file():
            raise FileNotFoundError(
                f"Note10 table {str(path)!r} not found; --official DIR must hold note10/<r>_lookup_table.yaml for r in {list(space.resolutions)}"
            )
        try:
            data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            entries[r] = {k: float(v["mean"]) for k, v in data.items()}
        except Exception as exc:
            raise ValueError(f"{path} is not an OFA latency table ({type(exc).__name__}: {exc})") from None
    meta = {
        "device": "note10",
        "runtime": "TFLite (published by the OFA authors)",
        "hardware": "Samsung Galaxy Note10",
        "batch_size": 1,
        "source": "OFA's published Note10 lookup tables",
    }
    return LatencyTable(space, "note10", entries, meta)
