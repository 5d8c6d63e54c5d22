"""Running exported graphs: the ONNX exporter, ONNX Runtime sessions and timing, int8 quantization, thread limits.

- :mod:`ofa_dash.runtime.onnx`: the one ONNX exporter (``onnx_bytes``, ``export_module``), ``OPSET``, metadata helpers.
- :mod:`ofa_dash.runtime.ort`: ONNX Runtime session options and sessions, the timing loop and whole-model
  latency, the CPU's name, thread limits (``auto_threads``, ``torch_threads``), ``OrtClassifier``.
- :mod:`ofa_dash.runtime.quantize`: static int8 quantization (``quantize_onnx``, ``Int8Settings``).

Export, live validation, measurement and the device profiler all build on these modules;
this package imports only lower layers (``space``, ``nn``, ``data``, ``progress``), never those.
"""
