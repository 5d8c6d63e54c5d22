"""The export formats, in one registry: what each is called, builds, writes and is served as.

The CLI (``export --format``), the dashboard's download buttons and the file
cache all read :data:`FORMATS`; :func:`export` dispatches through it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ofa_dash.data import Dataset
from ofa_dash.export.bundle import export_bundle
from ofa_dash.export.common import EVAL_IMAGES
from ofa_dash.export.int8 import export_onnx_int8
from ofa_dash.export.onnx import export_onnx
from ofa_dash.export.openvino import export_openvino, openvino_paths
from ofa_dash.export.torchscript import export_torchscript, torchscript_paths
from ofa_dash.runtime.ov import openvino_version
from ofa_dash.subnets import PreparedSubnet


def _single(out: Path) -> list[Path]:
    return [out]


@dataclass(frozen=True)
class ExportFormat:
    """One export format: ``builder(prepared, out, data=..., **options)`` writes and verifies it."""

    name: str  # what --format and the cache call it
    label: str  # the dashboard's download button
    builder: Callable[..., dict]
    file_name: str  # file name pattern, ``{stem}`` replaced by ``<space>-<arch id>``
    mime: str  # the download's MIME type
    options: tuple[str, ...] = ()  # which of export()'s keyword arguments (predicted, measured, eval_images) the builder takes; every builder takes step
    outputs: Callable[[Path], list[Path]] = _single  # every file the builder writes for ``--out`` (refused when one exists, unless --force)
    preflight: Callable[[], object] | None = None  # raises a one-line error when the format cannot be built here (a missing package)
    on_page: bool = True  # offered as a download on the Subnet page (a one-file format; the IR is two files)

    def check_available(self) -> None:
        """Fail now, before minutes of preparation, when this format's runtime is missing."""
        if self.preflight is not None:
            self.preflight()

    def file_for(self, stem: str) -> str:
        return self.file_name.format(stem=stem)


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("onnx", "ONNX (fp32)", export_onnx, "{stem}.onnx", "application/octet-stream"),
        ExportFormat("onnx-int8", "int8 ONNX", export_onnx_int8, "{stem}-int8.onnx", "application/octet-stream", ("eval_images",)),
        ExportFormat(
            "torchscript",
            "TorchScript",
            export_torchscript,
            "{stem}.torchscript.pt",
            "application/octet-stream",
            outputs=lambda out: list(torchscript_paths(out).values()),
        ),
        ExportFormat("bundle", "bundle (zip)", export_bundle, "{stem}-bundle.zip", "application/zip", ("predicted", "measured", "eval_images")),
        ExportFormat(
            "openvino",
            "OpenVINO IR",
            export_openvino,
            "{stem}.xml",
            "application/xml",
            outputs=lambda out: list(openvino_paths(out).values()),
            preflight=openvino_version,
            on_page=False,
        ),
    )
}


def page_formats() -> dict[str, ExportFormat]:
    """The formats the Subnet page offers as downloads (one file each)."""
    return {name: f for name, f in FORMATS.items() if f.on_page}


def export(
    prepared: PreparedSubnet,
    fmt: str,
    out: str | os.PathLike,
    data: Dataset | None = None,
    predicted: dict | None = None,
    measured: dict | None = None,
    eval_images: int = EVAL_IMAGES,
    step: Callable[[str], None] | None = None,
) -> dict:
    """Export ``prepared`` in format ``fmt`` (one of :data:`FORMATS`) to ``out``; returns what was verified and measured.

    ``step(name)`` hears ``"export"`` as the build starts and ``"verify"`` as its checks start (a job's progress).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {list(FORMATS)}")
    spec = FORMATS[fmt]
    spec.check_available()
    given = {"predicted": predicted, "measured": measured, "eval_images": eval_images}
    if step is not None:
        step("export")
    result = spec.builder(prepared, out, data=data, step=step, **{k: given[k] for k in spec.options})
    return {"arch": prepared.arch.id, "space": prepared.space.name, "provenance": prepared.provenance.to_dict(), **result}
