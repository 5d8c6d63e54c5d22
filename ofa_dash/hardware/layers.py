"""What the profiler times for each layer key: a small module and its input shape.

Every key of :func:`ofa_dash.hardware.latency.keys_at` gets one
:class:`LayerSpec`, built from the same blocks as :class:`ofa_dash.nn.static.StaticNet`
(stem, first block, MBConv per slot choice, and the four head parts), so a
table entry times exactly the computation that the deployed subnet runs for
that layer. A key fully determines its module, so identical keys at different
resolutions (the 1x1 head layers, the late stages of close resolutions) are
timed once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ofa_dash.hardware.latency import first_block_key, head_keys, slot_key, stem_key
from ofa_dash.nn.static import ConvBNAct, MBConv, activation, first_block, stem
from ofa_dash.space import N_SLOTS, SearchSpace


@dataclass(frozen=True, eq=False)
class LayerSpec:
    """One distinct layer: its table key, its input shape (C, H, W) and a builder of a fresh module."""

    key: str
    input_shape: tuple[int, int, int]
    build: Callable[[], nn.Module]
    kind: str  # stem | first_block | block | head


class GlobalAvgPool(nn.Module):
    """The head's pooling step on its own (``Head`` does ``x.mean((2, 3), keepdim=True)``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3), keepdim=True)


def block_module(space: SearchSpace, slot_index: int, k: int, e: int) -> MBConv:
    """The MBConv that ``StaticNet`` builds for slot ``slot_index`` with kernel ``k`` and expand ratio ``e``."""
    slot = space.slots[slot_index]
    mid = space.mid_channels(slot.in_channels, e)
    return MBConv(slot.in_channels, mid, slot.out_channels, k, slot.stride, slot.act, space.se_channels(mid) if slot.se else None)


def head_modules(space: SearchSpace) -> list[Callable[[], nn.Module]]:
    """Builders of the head's parts in ``head_keys`` order: Conv_1, AvgPool2D, Conv_2 (+ activation), Logits."""
    last, fe, fd = space.stages[-1].channels, space.final_expand, space.feature_dim
    return [
        lambda: ConvBNAct(last, fe, 1, act=space.head_act),
        GlobalAvgPool,
        lambda: nn.Sequential(nn.Conv2d(fe, fd, 1, bias=False), activation(space.head_act)),
        lambda: nn.Sequential(nn.Flatten(1), nn.Linear(fd, space.n_classes)),
    ]


def layer_specs(space: SearchSpace, r: int) -> list[LayerSpec]:
    """One spec per distinct key at resolution ``r`` (same keys and order as ``keys_at``)."""
    s = space.stem_size(r)
    h = space.final_size(r)
    last, fe, fd = space.stages[-1].channels, space.final_expand, space.feature_dim
    specs = {
        stem_key(space, r): LayerSpec(stem_key(space, r), (3, r, r), lambda: stem(space), "stem"),
        first_block_key(space, r): LayerSpec(first_block_key(space, r), (space.stem_channels, s, s), lambda: first_block(space), "first_block"),
    }
    head_shapes = [(last, h, h), (fe, h, h), (fe, 1, 1), (fd, 1, 1)]
    for key, build, shape in zip(head_keys(space, r), head_modules(space), head_shapes, strict=True):
        specs[key] = LayerSpec(key, shape, build, "head")
    sizes = space.slot_sizes(r)
    for i in range(N_SLOTS):
        f = sizes[i][0]
        cin = space.slots[i].in_channels
        for k in space.kernel_choices:
            for e in space.expand_choices:
                key = slot_key(space, r, i, k, e)
                if key not in specs:
                    specs[key] = LayerSpec(key, (cin, f, f), _block_builder(space, i, k, e), "block")
    return list(specs.values())


def _block_builder(space: SearchSpace, i: int, k: int, e: int) -> Callable[[], nn.Module]:
    return lambda: block_module(space, i, k, e)


def distinct_layer_specs(space: SearchSpace) -> dict[str, LayerSpec]:
    """Every distinct key over all resolutions of the space (what one profile run times)."""
    out: dict[str, LayerSpec] = {}
    for r in space.resolutions:
        for spec in layer_specs(space, r):
            out.setdefault(spec.key, spec)
    return out
