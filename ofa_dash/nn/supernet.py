"""The elastic supernet: every subnet of a space shares its weights."""

from __future__ import annotations

import torch
from torch import nn

from ofa_dash.nn.elastic import ElasticMBConv
from ofa_dash.nn.static import StaticNet, first_block, head, stem
from ofa_dash.space import MAX_DEPTH, Arch, SearchSpace


class Supernet(nn.Module):
    """Weights of the largest network; :meth:`set_active` picks the subnet that ``forward`` runs."""

    def __init__(self, space: SearchSpace):
        super().__init__()
        self.space = space
        self.stem = stem(space)
        self.first = first_block(space)
        self.blocks = nn.ModuleList(ElasticMBConv(space, slot) for slot in space.slots)
        self.head = head(space)
        self.active: Arch = space.largest()
        self.set_active(self.active)

    def set_active(self, arch: Arch) -> None:
        self.space.validate(arch)
        for block, k, e in zip(self.blocks, arch.ks, arch.e, strict=True):
            block.active_kernel = k
            block.active_expand = e
        self.active = arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first(self.stem(x))
        for stage, depth in enumerate(self.active.d):
            for j in range(depth):
                x = self.blocks[stage * MAX_DEPTH + j](x)
        return self.head(x)

    @torch.no_grad()
    def extract(self, arch: Arch) -> StaticNet:
        """A plain :class:`StaticNet` holding a copy of the subnet's weights (in eval mode)."""
        net = StaticNet(self.space, arch)
        net.stem.load_state_dict(self.stem.state_dict())
        net.first.load_state_dict(self.first.state_dict())
        net.head.load_state_dict(self.head.state_dict())
        for dst, i in zip(net.blocks, arch.active_slots(), strict=True):
            dst.load_state_dict(self.blocks[i].to_static(arch.ks[i], arch.e[i]).state_dict())
        return net.eval()

    @torch.no_grad()
    def sort_channels(self) -> None:
        """Re-sort every block's middle channels by importance (start of expand phases)."""
        for block in self.blocks:
            block.sort_channels()
