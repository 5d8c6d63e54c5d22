"""The elastic inverted-bottleneck block of the supernet.

One block holds the weights of its largest form (kernel 7, largest expand
ratio). A smaller kernel is the centre of the 7x7 kernel passed through
learned transform matrices (7->5, then 5->3; identity at init) so that shared
weights can serve several kernel sizes; a smaller expand ratio uses the first
middle channels, which :meth:`ElasticMBConv.sort_channels` keeps ordered by
importance.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from ofa_dash.nn.static import MBConv
from ofa_dash.space import SearchSpace, SlotSpec


def _act(x: torch.Tensor, name: str) -> torch.Tensor:
    return F.relu(x) if name == "relu" else F.hardswish(x)


def _bn(x: torch.Tensor, bn: nn.BatchNorm2d, channels: int) -> torch.Tensor:
    """Batch norm over the first ``channels`` channels (sliced stats update in place)."""
    rm, rv = bn.running_mean[:channels], bn.running_var[:channels]
    return F.batch_norm(x, rm, rv, bn.weight[:channels], bn.bias[:channels], bn.training, bn.momentum, bn.eps)


class ElasticMBConv(nn.Module):
    def __init__(self, space: SearchSpace, slot: SlotSpec):
        super().__init__()
        self.slot = slot
        self.space = space
        cin, cout = slot.in_channels, slot.out_channels
        self.max_mid = space.mid_channels(cin, space.max_expand)
        self.max_kernel = max(space.kernel_choices)
        mid = self.max_mid
        self.expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(mid)
        self.dw_conv = nn.Conv2d(mid, mid, self.max_kernel, slot.stride, self.max_kernel // 2, groups=mid, bias=False)
        self.dw_bn = nn.BatchNorm2d(mid)
        # kernel transform matrices, e.g. "7to5" (25x25) and "5to3" (9x9)
        ks = sorted(space.kernel_choices, reverse=True)
        self.transforms = nn.ParameterDict({f"{a}to{b}": nn.Parameter(torch.eye(b * b)) for a, b in itertools.pairwise(ks)})
        if slot.se:
            se_mid = space.se_channels(mid)
            self.se_reduce = nn.Conv2d(mid, se_mid, 1, bias=True)
            self.se_expand = nn.Conv2d(se_mid, mid, 1, bias=True)
        self.project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self.project_bn = nn.BatchNorm2d(cout)
        self.active_kernel = self.max_kernel
        self.active_expand = space.max_expand

    # ------------------------------------------------------------ elasticity
    @property
    def active_mid(self) -> int:
        return self.space.mid_channels(self.slot.in_channels, self.active_expand)

    def kernel_weight(self, kernel: int, channels: int) -> torch.Tensor:
        """Depthwise weight of size ``kernel`` for the first ``channels`` channels."""
        w = self.dw_conv.weight[:channels]
        desc = sorted(self.space.kernel_choices, reverse=True)
        for big, small in itertools.pairwise(desc):
            if big <= kernel:
                break
            start = (big - small) // 2
            w = w[:, :, start : start + small, start : start + small]
            w = F.linear(w.reshape(channels, small * small), self.transforms[f"{big}to{small}"])
            w = w.reshape(channels, 1, small, small)
        return w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mid = self.active_mid
        k = self.active_kernel
        act = self.slot.act
        y = F.conv2d(x, self.expand_conv.weight[:mid])
        y = _act(_bn(y, self.expand_bn, mid), act)
        y = F.conv2d(y, self.kernel_weight(k, mid), None, self.slot.stride, k // 2, 1, mid)
        y = _act(_bn(y, self.dw_bn, mid), act)
        if self.slot.se:
            se_mid = self.space.se_channels(mid)
            s = y.mean((2, 3), keepdim=True)
            s = F.relu(F.conv2d(s, self.se_reduce.weight[:se_mid, :mid], self.se_reduce.bias[:se_mid]))
            s = F.conv2d(s, self.se_expand.weight[:mid, :se_mid], self.se_expand.bias[:mid])
            y = y * F.hardsigmoid(s)
        y = F.conv2d(y, self.project_conv.weight[:, :mid])
        y = _bn(y, self.project_bn, self.slot.out_channels)
        return x + y if self.slot.residual else y

    # ---------------------------------------------------------- extraction
    @torch.no_grad()
    def to_static(self, kernel: int, expand: int) -> MBConv:
        slot = self.slot
        mid = self.space.mid_channels(slot.in_channels, expand)
        se_mid = self.space.se_channels(mid) if slot.se else None
        block = MBConv(slot.in_channels, mid, slot.out_channels, kernel, slot.stride, slot.act, se_mid)
        block.expand[0].weight.copy_(self.expand_conv.weight[:mid])
        _copy_bn(block.expand[1], self.expand_bn, mid)
        block.depthwise[0].weight.copy_(self.kernel_weight(kernel, mid))
        _copy_bn(block.depthwise[1], self.dw_bn, mid)
        if se_mid:
            block.se.reduce.weight.copy_(self.se_reduce.weight[:se_mid, :mid])
            block.se.reduce.bias.copy_(self.se_reduce.bias[:se_mid])
            block.se.expand.weight.copy_(self.se_expand.weight[:mid, :se_mid])
            block.se.expand.bias.copy_(self.se_expand.bias[:mid])
        block.project[0].weight.copy_(self.project_conv.weight[:, :mid])
        _copy_bn(block.project[1], self.project_bn, slot.out_channels)
        return block

    # ------------------------------------------------------ channel sorting
    @torch.no_grad()
    def sort_channels(self) -> None:
        """Reorder middle channels (and SE channels) by importance, largest first.

        Importance is the L1 norm of the weights that read a channel; the
        permutation is applied to every tensor indexed by that channel, so the
        full network computes exactly the same function afterwards.
        """
        order = torch.argsort(self.project_conv.weight.abs().sum(dim=(0, 2, 3)), descending=True)
        self.expand_conv.weight.copy_(self.expand_conv.weight[order])
        _permute_bn(self.expand_bn, order)
        self.dw_conv.weight.copy_(self.dw_conv.weight[order])
        _permute_bn(self.dw_bn, order)
        self.project_conv.weight.copy_(self.project_conv.weight[:, order])
        if self.slot.se:
            self.se_reduce.weight.copy_(self.se_reduce.weight[:, order])
            self.se_expand.weight.copy_(self.se_expand.weight[order])
            self.se_expand.bias.copy_(self.se_expand.bias[order])
            se_order = torch.argsort(self.se_expand.weight.abs().sum(dim=(0, 2, 3)), descending=True)
            self.se_reduce.weight.copy_(self.se_reduce.weight[se_order])
            self.se_reduce.bias.copy_(self.se_reduce.bias[se_order])
            self.se_expand.weight.copy_(self.se_expand.weight[:, se_order])


def _copy_bn(dst: nn.BatchNorm2d, src: nn.BatchNorm2d, channels: int) -> None:
    dst.weight.copy_(src.weight[:channels])
    dst.bias.copy_(src.bias[:channels])
    dst.running_mean.copy_(src.running_mean[:channels])
    dst.running_var.copy_(src.running_var[:channels])
    dst.eps = src.eps
    dst.momentum = src.momentum


def _permute_bn(bn: nn.BatchNorm2d, order: torch.Tensor) -> None:
    for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
        t.copy_(t[order])
