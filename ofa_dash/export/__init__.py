"""Export a subnet: ONNX, int8 ONNX, TorchScript + state-dict, a deployable zip bundle, and an OpenVINO IR.

Every format is written to a temporary file in the destination folder,
verified there (loaded back and run against the PyTorch subnet), and only
then moved into place with ``os.replace``: a failed export leaves nothing at
the destination. What a user needs to run the model without ofa-dash travels
inside the ONNX file's ``metadata_props``.

One module per job: :mod:`.formats` (the registry and :func:`export`),
:mod:`.common` (errors, config, atomic writes), :mod:`.parity` (checks against
PyTorch), :mod:`.onnx`, :mod:`.int8`, :mod:`.torchscript`, :mod:`.bundle`,
:mod:`.openvino` (formats), :mod:`.model_card`, :mod:`.loading` (reading exports back), and
``bundle_predict.py``, the bundle's stand-alone ``predict.py``.
"""

from ofa_dash.export.bundle import BUNDLE_FILES, export_bundle, predict_script
from ofa_dash.export.common import CONFIG_FORMAT, CONFIG_VERSION, EVAL_IMAGES, ExportError, check_destination, model_config, preprocessing, staged
from ofa_dash.export.formats import FORMATS, ExportFormat, export, page_formats
from ofa_dash.export.int8 import INT8_CALIB_IMAGES, accuracy_on_test, export_onnx_int8
from ofa_dash.export.loading import load_exported, read_export_config
from ofa_dash.export.onnx import export_onnx
from ofa_dash.export.openvino import export_openvino, openvino_paths
from ofa_dash.export.torchscript import export_torchscript, torchscript_paths
from ofa_dash.runtime.onnx import read_metadata

__all__ = [
    "BUNDLE_FILES",
    "CONFIG_FORMAT",
    "CONFIG_VERSION",
    "EVAL_IMAGES",
    "FORMATS",
    "INT8_CALIB_IMAGES",
    "ExportError",
    "ExportFormat",
    "accuracy_on_test",
    "check_destination",
    "export",
    "export_bundle",
    "export_onnx",
    "export_onnx_int8",
    "export_openvino",
    "export_torchscript",
    "load_exported",
    "model_config",
    "openvino_paths",
    "page_formats",
    "predict_script",
    "preprocessing",
    "read_export_config",
    "read_metadata",
    "staged",
    "torchscript_paths",
]
