"""Hardware cost: analytic counters and per-device latency lookup tables.

The profiler (``ofa_dash.hardware.profiler``) is not imported here: it needs
torch and ONNX Runtime, which estimating from a table does not.
"""

from ofa_dash.hardware.counters import count
from ofa_dash.hardware.devices import device_names, get_device, load_devices
from ofa_dash.hardware.latency import LatencyTable, MissingLayerError, load_note10

__all__ = ["LatencyTable", "MissingLayerError", "count", "device_names", "get_device", "load_devices", "load_note10"]
