"""The TorchScript format: a traced TorchScript file, a plain state-dict and a JSON config, each verified against the subnet."""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from ofa_dash.data import Dataset
from ofa_dash.export.common import CONFIG_FORMAT, CONFIG_VERSION, ExportError, check_destination, model_config, staged
from ofa_dash.export.loading import _jit_load, load_exported, read_export_config
from ofa_dash.export.parity import compare, parity_count, parity_inputs, torch_logits
from ofa_dash.subnets import PreparedSubnet


def torchscript_paths(out: Path) -> dict[str, Path]:
    """The three files of the ``torchscript`` format: TorchScript, plain state-dict, JSON config."""
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return {"torchscript": out, "state_dict": out.with_name(f"{stem}.state.pt"), "config": out.with_name(f"{stem}.json")}


def export_torchscript(
    prepared: PreparedSubnet, out: str | os.PathLike, parity_images: int | None = None, data: Dataset | None = None, step: Callable[[str], None] | None = None
) -> dict:
    """TorchScript (traced), plus a state-dict and a JSON config that :func:`load_exported` rebuilds from.

    ``step("verify")`` is called as the files are loaded back and compared.

    The config rides inside both the TorchScript file (``extra_files``) and the
    state-dict file, so either one alone is enough to rebuild the model.
    """
    start = time.perf_counter()
    out = check_destination(out)
    paths = torchscript_paths(out)
    for p in paths.values():
        check_destination(p)
    config = model_config(prepared)
    config["files"] = {k: p.name for k, p in paths.items()}
    config_text = json.dumps(config, indent=2)
    net = prepared.net.eval().to(memory_format=torch.contiguous_format)
    x, inputs = parity_inputs(prepared, data, parity_images or min(32, parity_count(prepared)))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TorchScript is deprecated in torch 2.13 (see _jit_load)
        traced = torch.jit.trace(net, x[:2], check_trace=False)
        torch.jit.save(traced, buf := io.BytesIO(), _extra_files={"ofa_dash_config.json": config_text})
    state = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    reference = torch_logits(net, x)
    with contextlib.ExitStack() as stack:
        tmps = {k: stack.enter_context(staged(p)) for k, p in paths.items()}
        tmps["torchscript"].write_bytes(buf.getvalue())
        torch.save({"format": CONFIG_FORMAT, "version": CONFIG_VERSION, "config": config_text, "state_dict": state}, tmps["state_dict"])
        tmps["config"].write_text(config_text)
        if step is not None:
            step("verify")
        checks = {
            "torchscript": compare(reference, torch_logits(_jit_load(tmps["torchscript"]), x), inputs),
            "state_dict": compare(reference, torch_logits(load_exported(tmps["state_dict"]), x), inputs),
        }
        for name, check in checks.items():
            if check["max_abs_diff"] > 1e-5 or check["top1_disagreements"]:
                raise ExportError(f"the {name} file does not reproduce the subnet: max |diff| = {check['max_abs_diff']:.2e}")
        if read_export_config(tmps["torchscript"])["arch"] != prepared.arch.to_dict():
            raise ExportError("the TorchScript file's config does not describe the exported subnet")
    return {"format": "torchscript", "paths": {k: str(p) for k, p in paths.items()}, "parity": checks, "seconds": time.perf_counter() - start}
