"""OFA's published specialized subnets as architectures of a search space.

``specialized/<name>/`` in OFA's files holds the subnets the OFA authors
searched for a device or a FLOPs budget and then fine-tuned: ``net.config``
(the static network, layer by layer), ``run.config`` (its image size) and a
folder name that carries the budget and the published ImageNet top-1 after
fine-tuning, e.g. ``note10_lat-22ms_top1-76.6_finetune-25``. Read as an
:class:`~ofa_dash.space.Arch` of the space whose layout it matches (they come
from the width-1.0 space), such a subnet can be validated and exported from
the supernet like any searched one: its published top-1 belongs to OFA's
fine-tuned weights, not to the subnet as extracted, and is reported as such.

Only JSON is read; a folder whose files do not parse, or whose network is not
a subnet of the space, is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ofa_dash.space import MAX_DEPTH, N_STAGES, Arch, SearchSpace

_NAME = re.compile(r"^(?P<device>[A-Za-z0-9-]+?)_(?P<kind>lat|gpu64)-(?P<value>[\d.]+)ms_top1-(?P<top1>[\d.]+)_finetune-(?P<epochs>\d+)$")
_FLOPS = re.compile(r"^flops-(?P<value>[\d.]+)M_top1-(?P<top1>[\d.]+)_finetune-(?P<epochs>\d+)$")


def parse_specialized_name(name: str) -> dict | None:
    """Device, budget and published top-1 from a folder name; None for names of another shape."""
    m = _NAME.match(name)
    if m:
        return {
            "name": name,
            "device": m["device"].lower(),
            "metric": "latency_ms" if m["kind"] == "lat" else "gpu_batch64_ms",
            "value": float(m["value"]),
            "top1": float(m["top1"]),
            "finetune_epochs": int(m["epochs"]),
        }
    m = _FLOPS.match(name)
    if m:
        return {"name": name, "device": "flops", "metric": "mflops", "value": float(m["value"]), "top1": float(m["top1"]), "finetune_epochs": int(m["epochs"])}
    return None


def _conv(block: dict) -> dict:
    """A block's inverted-residual layer: ``mobile_inverted_conv`` in the published files, ``conv`` in later ``ofa`` releases."""
    conv = (block.get("mobile_inverted_conv") or block.get("conv")) if isinstance(block, dict) else None
    if not isinstance(conv, dict):
        raise ValueError("a block without its inverted-residual layer (mobile_inverted_conv or conv)")
    return conv


def arch_from_net_config(net_config: dict, image_size: int, space: SearchSpace) -> Arch:
    """The subnet of ``space`` that OFA's ``net.config`` describes; ``ValueError`` naming the first thing that does not fit.

    Layout (OFA's MobileNetV3): the stem convolution, one fixed first block,
    then the elastic blocks stage by stage, a stage's blocks sharing its
    output width; the last layers must match the space's head.
    """
    if not isinstance(net_config, dict) or not isinstance(net_config.get("blocks"), list):
        raise ValueError("not an OFA net.config (no list of blocks)")
    stem = net_config.get("first_conv") or {}
    if stem.get("out_channels") != space.stem_channels:
        raise ValueError(f"stem width {stem.get('out_channels')} is not {space.name}'s {space.stem_channels}")
    blocks = [_conv(b) for b in net_config["blocks"]]
    if not blocks or blocks[0].get("out_channels") != space.first_block_channels:
        raise ValueError(f"the first block's width is not {space.name}'s {space.first_block_channels}")
    ks: list[int] = []
    e: list[int] = []
    d: list[int] = []
    rest = blocks[1:]
    for s, stage in enumerate(space.stages):
        depth = 0
        while depth < len(rest) and rest[depth].get("out_channels") == stage.channels:
            depth += 1
        if depth == 0:
            raise ValueError(f"stage {s + 1} has no block of width {stage.channels}")
        if depth > MAX_DEPTH:
            raise ValueError(f"stage {s + 1} has {depth} blocks; at most {MAX_DEPTH}")
        run = rest[:depth]
        rest = rest[depth:]
        d.append(depth)
        ks += [int(b.get("kernel_size", -1)) for b in run] + [space.kernel_choices[0]] * (MAX_DEPTH - depth)
        e += [int(b.get("expand_ratio", -1)) for b in run] + [space.expand_choices[0]] * (MAX_DEPTH - depth)
    if rest:
        raise ValueError(f"{len(rest)} block(s) after the last stage (width {rest[0].get('out_channels')})")
    head = {
        "final expand width": ((net_config.get("final_expand_layer") or {}).get("out_channels"), space.final_expand),
        "feature width": ((net_config.get("feature_mix_layer") or {}).get("out_channels"), space.feature_dim),
        "classes": ((net_config.get("classifier") or {}).get("out_features"), space.n_classes),
    }
    for what, (got, want) in head.items():
        if got != want:
            raise ValueError(f"{what} {got} is not {space.name}'s {want}")
    assert len(d) == N_STAGES
    return space.validate(Arch(ks=ks, e=e, d=d, r=int(image_size)))


@dataclass(frozen=True)
class SpecializedSubnet:
    """One of OFA's specialized subnets, read as an architecture of a space."""

    name: str  # the folder name
    arch: Arch
    device: str  # note10, cpu, flops, ...
    metric: str  # latency_ms, gpu_batch64_ms or mflops
    budget: float  # in ``metric``'s unit
    top1_published: float  # ImageNet top-1 OFA published after fine-tuning
    finetune_epochs: int

    @property
    def label(self) -> str:
        unit = {"latency_ms": "ms", "gpu_batch64_ms": "ms (GPU, batch 64)", "mflops": "MFLOPs"}[self.metric]
        return f"{self.device} {self.budget:g} {unit}: OFA's top-1 {self.top1_published:.1f} % after {self.finetune_epochs} fine-tuning epochs"


def specialized_subnets(official: str | os.PathLike | None, space: SearchSpace) -> tuple[list[SpecializedSubnet], list[str]]:
    """The specialized subnets under ``official/specialized`` that are subnets of ``space``, and why the others are not."""
    if official is None:
        return [], []
    folder = Path(official) / "specialized"
    found: list[SpecializedSubnet] = []
    skipped: list[str] = []
    if not folder.is_dir():
        return found, skipped
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        info = parse_specialized_name(sub.name)
        if info is None:
            continue
        try:
            net_config = json.loads((sub / "net.config").read_text())
            image_size = int(json.loads((sub / "run.config").read_text())["image_size"])
            arch = arch_from_net_config(net_config, image_size, space)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            skipped.append(f"{sub.name}: {exc}")
            continue
        found.append(SpecializedSubnet(sub.name, arch, info["device"], info["metric"], info["value"], info["top1"], info["finetune_epochs"]))
    return found, skipped
