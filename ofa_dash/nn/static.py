"""Plain, static networks built from (space, arch): what a user deploys.

Nothing elastic lives here, so these modules export to ONNX and TorchScript
as they are, and the same builder rebuilds an exported state-dict from its
JSON config.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ofa_dash.space import Arch, SearchSpace


def activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "hswish":
        return nn.Hardswish(inplace=True)
    raise ValueError(f"unknown activation {name!r}; allowed: ['relu', 'hswish']")


class ConvBNAct(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, act: str | None = "relu", groups: int = 1):
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if act is not None:
            layers.append(activation(act))
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, mid: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, mid, 1, bias=True)
        self.expand = nn.Conv2d(mid, channels, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        s = F.relu(self.reduce(s))
        return x * F.hardsigmoid(self.expand(s))


class MBConv(nn.Module):
    """Inverted bottleneck: 1x1 expand -> depthwise kxk -> (SE) -> 1x1 project (+ skip)."""

    def __init__(self, cin: int, mid: int, cout: int, kernel: int, stride: int, act: str, se_mid: int | None):
        super().__init__()
        self.expand = ConvBNAct(cin, mid, 1, act=act) if mid != cin else None
        self.depthwise = ConvBNAct(mid, mid, kernel, stride, act=act, groups=mid)
        self.se = SqueezeExcite(mid, se_mid) if se_mid else None
        self.project = ConvBNAct(mid, cout, 1, act=None)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.depthwise(y)
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return x + y if self.residual else y


class Head(nn.Module):
    def __init__(self, cin: int, final_expand: int, feature_dim: int, n_classes: int, act: str, dropout: float):
        super().__init__()
        self.final_expand = ConvBNAct(cin, final_expand, 1, act=act)
        self.feature_mix = nn.Conv2d(final_expand, feature_dim, 1, bias=False)
        self.act = activation(act)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(feature_dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.final_expand(x)
        x = x.mean((2, 3), keepdim=True)
        x = self.act(self.feature_mix(x))
        x = torch.flatten(x, 1)
        return self.classifier(self.dropout(x))


def first_block(space: SearchSpace) -> MBConv:
    return MBConv(space.stem_channels, space.stem_channels, space.first_block_channels, 3, 1, space.first_block_act, None)


def stem(space: SearchSpace) -> ConvBNAct:
    return ConvBNAct(3, space.stem_channels, 3, space.stem_stride, act=space.stem_act)


def head(space: SearchSpace) -> Head:
    return Head(space.stages[-1].channels, space.final_expand, space.feature_dim, space.n_classes, space.head_act, space.dropout)


class StaticNet(nn.Module):
    """The subnet ``arch`` of ``space`` as ordinary modules (random init until weights are loaded)."""

    def __init__(self, space: SearchSpace, arch: Arch):
        super().__init__()
        space.validate(arch)
        self.space_name = space.name
        self.arch = arch
        self.resolution = arch.r
        self.stem = stem(space)
        self.first = first_block(space)
        blocks = []
        for i in arch.active_slots():
            slot = space.slots[i]
            mid = space.mid_channels(slot.in_channels, arch.e[i])
            blocks.append(MBConv(slot.in_channels, mid, slot.out_channels, arch.ks[i], slot.stride, slot.act, space.se_channels(mid) if slot.se else None))
        self.blocks = nn.Sequential(*blocks)
        self.head = head(space)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.first(self.stem(x))))
