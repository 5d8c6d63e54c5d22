"""MACs, parameters and peak activation memory, computed analytically and vectorised.

Every slot's cost depends only on (resolution, kernel, expand) and whether the
slot is active, so each space gets small per-slot tables once; counting a
population is then a gather and a masked sum (no Python loop per arch).

Conventions: MACs count convolutions and the linear layer (what
``torch.utils.flop_counter`` counts, halved), not BN, activations, pooling or
additions. ``peak_mem`` is the largest set of activations alive at once for
batch 1 in fp32 bytes, under a simple schedule: a block keeps its input alive
while it has a skip connection, and each layer holds its input and output.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ofa_dash.space import N_SLOTS, SearchSpace

BYTES_PER_VALUE = 4


@dataclass(frozen=True)
class CounterTables:
    # per resolution index, slot, kernel index, expand index
    slot_macs: np.ndarray  # (R, 20, K, E)
    slot_params: np.ndarray  # (20, K, E)
    slot_mem: np.ndarray  # (R, 20, E) peak live values inside the block
    fixed_macs: np.ndarray  # (R,) stem + first block + head
    fixed_params: int
    fixed_mem: np.ndarray  # (R,) peak live values outside the elastic blocks


def _block_counts(space: SearchSpace, cin: int, cout: int, stride_in: int, stride_out: int, k: int, e: int, se: bool, residual: bool):
    mid = space.mid_channels(cin, e)
    f, g = stride_in, stride_out  # spatial sizes in and out
    se_mid = space.se_channels(mid) if se else 0
    macs = f * f * cin * mid + g * g * mid * k * k + 2 * mid * se_mid + g * g * mid * cout
    params = cin * mid + 2 * mid + mid * k * k + 2 * mid + mid * cout + 2 * cout
    if se:
        params += 2 * mid * se_mid + se_mid + mid
    keep = f * f * cin if residual else 0
    mem = max(f * f * cin + f * f * mid, keep + f * f * mid + g * g * mid, keep + g * g * mid + g * g * cout)
    return macs, params, mem


@lru_cache(maxsize=8)
def counter_tables(space: SearchSpace) -> CounterTables:
    K, E, R = len(space.kernel_choices), len(space.expand_choices), len(space.resolutions)
    slot_macs = np.zeros((R, N_SLOTS, K, E), dtype=np.int64)
    slot_params = np.zeros((N_SLOTS, K, E), dtype=np.int64)
    slot_mem = np.zeros((R, N_SLOTS, E), dtype=np.int64)
    fixed_macs = np.zeros(R, dtype=np.int64)
    fixed_mem = np.zeros(R, dtype=np.int64)
    stem_c, fb_c = space.stem_channels, space.first_block_channels
    last_c = space.stages[-1].channels
    fe, fd, nc = space.final_expand, space.feature_dim, space.n_classes
    fixed_params = (
        27 * stem_c
        + 2 * stem_c  # stem conv + BN
        + stem_c * 9
        + 2 * stem_c
        + stem_c * fb_c
        + 2 * fb_c  # first block (depthwise + project)
        + last_c * fe
        + 2 * fe
        + fe * fd
        + fd * nc
        + nc  # head
    )
    for ri, r in enumerate(space.resolutions):
        sizes = space.slot_sizes(r)
        s = space.stem_size(r)
        h = space.final_size(r)
        fixed_macs[ri] = s * s * 3 * stem_c * 9 + s * s * stem_c * 9 + s * s * stem_c * fb_c + h * h * last_c * fe + fe * fd + fd * nc
        fb_keep = s * s * stem_c if stem_c == fb_c else 0
        fixed_mem[ri] = max(
            r * r * 3 + s * s * stem_c,
            2 * s * s * stem_c + fb_keep,
            s * s * stem_c + s * s * fb_c + fb_keep,
            h * h * last_c + h * h * fe,
        )
        for slot, (f, g) in zip(space.slots, sizes, strict=True):
            for ki, k in enumerate(space.kernel_choices):
                for ei, e in enumerate(space.expand_choices):
                    macs, params, mem = _block_counts(space, slot.in_channels, slot.out_channels, f, g, k, e, slot.se, slot.residual)
                    slot_macs[ri, slot.index, ki, ei] = macs
                    slot_params[slot.index, ki, ei] = params
                    slot_mem[ri, slot.index, ei] = mem
    return CounterTables(slot_macs, slot_params, slot_mem, fixed_macs, fixed_params, fixed_mem)


def count(space: SearchSpace, genome: np.ndarray) -> dict[str, np.ndarray]:
    """``macs``, ``params`` and ``peak_mem`` (bytes) for every row of a genome array."""
    g = space.check_genome(genome)
    t = counter_tables(space)
    kidx, eidx = g[:, :N_SLOTS], g[:, N_SLOTS : 2 * N_SLOTS]
    ridx = g[:, -1]
    v = space.values(g)
    active = v["active"]
    slots = np.arange(N_SLOTS)[None, :]
    macs = (t.slot_macs[ridx[:, None], slots, kidx, eidx] * active).sum(1) + t.fixed_macs[ridx]
    params = (t.slot_params[slots, kidx, eidx] * active).sum(1) + t.fixed_params
    mem = np.maximum((t.slot_mem[ridx[:, None], slots, eidx] * active).max(1), t.fixed_mem[ridx])
    return {"macs": macs, "params": params, "peak_mem": mem * BYTES_PER_VALUE}
