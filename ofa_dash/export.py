"""Export a subnet: ONNX, int8 ONNX, TorchScript + state-dict, and a deployable zip bundle.

Every format is written to a temporary file in the destination folder,
verified there (loaded back and run against the PyTorch subnet), and only
then moved into place with ``os.replace``: a failed export leaves nothing at
the destination. What a user needs to run the model without ofa-dash (input
name and shape, resolution, resize method, mean/std, class names) travels
inside the ONNX file's ``metadata_props``, together with the architecture
and the supernet version it came from.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from ofa_dash.data import Dataset, to_tensor_batch
from ofa_dash.evaluate import balanced_subset, calibration_indices, evaluate_model
from ofa_dash.nn import StaticNet
from ofa_dash.runtime.onnx import INPUT_NAME, OPSET, OUTPUT_NAME, _with_metadata, onnx_bytes, read_metadata
from ofa_dash.runtime.ort import OrtClassifier, measure_latency, ort_session
from ofa_dash.runtime.quantize import DEFAULT_INT8, Int8Settings, quantize_onnx
from ofa_dash.space import Arch, SearchSpace, get_space
from ofa_dash.subnets import PreparedSubnet

FORMATS = ("onnx", "onnx-int8", "torchscript", "bundle")
CONFIG_FORMAT = "ofa-dash-subnet"
CONFIG_VERSION = 1
PARITY_IMAGES = 256
PARITY_MACS_BUDGET = 12e9
PARITY_ATOL = 1e-4
INT8_CALIB_IMAGES = 128  # MinMax ranges widen with more images (outliers): 128 kept accuracy best, see docs/notes/export.md
EVAL_IMAGES = 2000  # test images for the accuracies an export reports (0: the whole test split)
RESIZE = "bilinear, antialiased when shrinking (PIL Image.BILINEAR; torch interpolate antialias=True), straight to resolution x resolution"


class ExportError(ValueError):
    """An export failed its verification; nothing was written to the destination."""


# --------------------------------------------------------------------------- description
def preprocessing(space: SearchSpace, arch: Arch) -> dict:
    """Everything needed to feed the model exactly as in training and validation."""
    return {
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "input_shape": ["batch", 3, arch.r, arch.r],
        "layout": "NCHW",
        "dtype": "float32",
        "color": "RGB",
        "resolution": arch.r,
        "resize": RESIZE,
        "scale": "pixel / 255",
        "mean": list(space.mean),
        "std": list(space.std),
        "normalize": "(pixel / 255 - mean) / std, per channel",
        "output": "logits (apply softmax for probabilities)",
        "class_names": list(space.class_names) if space.class_names else [str(i) for i in range(space.n_classes)],
    }


def model_config(prepared: PreparedSubnet) -> dict:
    """The JSON config from which :func:`load_exported` (or a user) rebuilds the network."""
    import ofa_dash

    return {
        "format": CONFIG_FORMAT,
        "version": CONFIG_VERSION,
        "space": prepared.space.name,
        "arch_id": prepared.arch.id,
        "arch": prepared.arch.to_dict(),
        "n_classes": prepared.space.n_classes,
        "preprocessing": preprocessing(prepared.space, prepared.arch),
        "provenance": prepared.provenance.to_dict(),
        "ofa_dash_version": ofa_dash.__version__,
    }


def _metadata(config: dict, extra: dict | None = None) -> dict[str, str]:
    pre = config["preprocessing"]
    prov = config["provenance"]
    meta = {
        "ofa_dash.config": json.dumps(config, separators=(",", ":")),
        "input_name": pre["input_name"],
        "input_shape": json.dumps(pre["input_shape"]),
        "resolution": str(pre["resolution"]),
        "resize": pre["resize"],
        "mean": json.dumps(pre["mean"]),
        "std": json.dumps(pre["std"]),
        "class_names": json.dumps(pre["class_names"]),
        "space": config["space"],
        "arch_id": config["arch_id"],
        "arch": json.dumps(config["arch"], separators=(",", ":")),
        "supernet_version": prov["supernet_version"],
        "bn_recalibrated": str(prov["bn_recalibrated"]).lower(),
        "data": prov["data"] or "",
    }
    meta.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in (extra or {}).items()})
    return meta


# --------------------------------------------------------------------------- ONNX
def build_onnx(prepared: PreparedSubnet) -> bytes:
    config = model_config(prepared)
    doc = f"ofa-dash subnet {prepared.arch.id} of space {prepared.space.name} (supernet {prepared.provenance.supernet_version}); see metadata_props"
    return _with_metadata(onnx_bytes(prepared.net, prepared.arch.r), _metadata(config), doc)


def parity_count(prepared: PreparedSubnet) -> int:
    """How many inputs the parity check uses: 256, fewer for costly subnets (PyTorch runs them all).

    A budget of ~12 GMACs keeps the check around a second: 256 images for every
    ``cifar10`` subnet, 16 for the largest ``ofa-mbv3-w1.2`` one at 224 px.
    """
    from ofa_dash.hardware import count

    macs = float(count(prepared.space, prepared.space.encode(prepared.arch))["macs"][0])
    return int(np.clip(PARITY_MACS_BUDGET / max(macs, 1.0), 16, PARITY_IMAGES))


def parity_inputs(prepared: PreparedSubnet, data: Dataset | None, n: int | None = None, seed: int = 0) -> tuple[torch.Tensor, str]:
    """Real test images (a fixed class-balanced subset) when data is at hand, else seeded random inputs."""
    n = n or parity_count(prepared)
    space, r = prepared.space, prepared.arch.r
    if data is not None:
        idx = balanced_subset(data.test.labels, n)
        return to_tensor_batch(data.test.images[idx], space.mean, space.std, r).contiguous(), f"{len(idx)} test images ({data.source})"
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, r, r, generator=g), f"{n} random normal inputs (no dataset given)"


@torch.no_grad()
def torch_logits(net: torch.nn.Module, x: torch.Tensor, batch_size: int = 64) -> np.ndarray:
    net = net.eval()
    return torch.cat([net(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]).numpy()


def ort_logits(session, x: torch.Tensor | np.ndarray, batch_size: int = 64) -> np.ndarray:
    name = session.get_inputs()[0].name
    x = np.ascontiguousarray(x.numpy() if isinstance(x, torch.Tensor) else x, dtype=np.float32)
    return np.concatenate([session.run(None, {name: x[i : i + batch_size]})[0] for i in range(0, len(x), batch_size)])


def compare(reference: np.ndarray, other: np.ndarray, inputs: str) -> dict:
    """Max/mean absolute difference of two logit arrays and how often their top-1 agrees."""
    diff = np.abs(reference.astype(np.float64) - other.astype(np.float64))
    agree = reference.argmax(1) == other.argmax(1)
    return {
        "n_inputs": len(reference),
        "inputs": inputs,
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "max_abs_reference": float(np.abs(reference).max()),  # the logits' scale, to read the difference against
        "top1_agreement": float(100.0 * agree.mean()),
        "top1_disagreements": int((~agree).sum()),
    }


def verify_onnx(path: Path, prepared: PreparedSubnet, x: torch.Tensor, inputs: str, reference: np.ndarray | None = None) -> tuple[dict, object]:
    """onnx.checker, metadata round trip, and ORT-vs-PyTorch parity (<= 1e-4, identical top-1) of the file at ``path``.

    Returns the parity figures and the ONNX Runtime session (reused for accuracy and latency).
    """
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as exc:
        raise ExportError(f"the exported ONNX model fails onnx.checker: {exc}") from None
    meta = read_metadata(path)
    if meta.get("arch_id") != prepared.arch.id or json.loads(meta.get("ofa_dash.config", "{}")).get("arch") != prepared.arch.to_dict():
        raise ExportError("the exported ONNX model's metadata does not describe the subnet that was exported")
    session = ort_session(path, threads=torch.get_num_threads())
    reference = torch_logits(prepared.net, x) if reference is None else reference
    parity = compare(reference, ort_logits(session, x), inputs)
    parity.update({"reference": "PyTorch (the extracted subnet, fp32)", "tolerance": PARITY_ATOL})
    if parity["max_abs_diff"] > PARITY_ATOL or parity["top1_disagreements"]:
        raise ExportError(
            f"ONNX Runtime and PyTorch disagree on {inputs}: max |diff| = {parity['max_abs_diff']:.2e} (allowed {PARITY_ATOL:.0e}), "
            f"{parity['top1_disagreements']} different top-1 predictions"
        )
    return parity, session


# --------------------------------------------------------------------------- atomic writes
def check_destination(out: str | os.PathLike) -> Path:
    """The output path, after checking that it can be written (before any expensive work)."""
    out = Path(out).expanduser()
    if out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a folder; give a file path")
    parent = out.parent
    if parent.exists() and not parent.is_dir():
        raise ValueError(f"{str(parent)!r} in --out is a file, not a folder")
    if not parent.is_dir():
        raise FileNotFoundError(f"folder {str(parent)!r} for --out does not exist; create it first")
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{out.name}.", suffix=".probe")
    except OSError as exc:
        raise ValueError(f"cannot write to folder {str(parent)!r}: {exc.strerror or exc}") from None
    os.close(fd)
    os.remove(probe)
    return out


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A temporary path next to ``out``; moved onto ``out`` when the block succeeds, removed otherwise."""
    out = check_destination(out)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; an export gets the usual mode
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# --------------------------------------------------------------------------- formats
def export_onnx(prepared: PreparedSubnet, out: str | os.PathLike, data: Dataset | None = None, parity_images: int | None = None) -> dict:
    """fp32 ONNX with preprocessing in its metadata, checked and parity-tested before it lands at ``out``."""
    start = time.perf_counter()
    out = check_destination(out)
    x, inputs = parity_inputs(prepared, data, parity_images)
    model = build_onnx(prepared)
    with staged(out) as tmp:
        tmp.write_bytes(model)
        parity, _ = verify_onnx(tmp, prepared, x, inputs)
    return {"format": "onnx", "path": str(out), "bytes": len(model), "opset": OPSET, "parity": parity, "seconds": time.perf_counter() - start}


def int8_calibration(prepared: PreparedSubnet, data: Dataset | None, n_images: int = INT8_CALIB_IMAGES, batch_size: int = 64) -> tuple[list[np.ndarray], str]:
    """Training images for activation ranges (a seeded sample of the calibration split), else random inputs."""
    space, r = prepared.space, prepared.arch.r
    if data is not None:
        calib, _ = data.split_holdout()
        idx = calibration_indices(len(calib), n_images, seed=1)
        x = to_tensor_batch(calib.images[idx], space.mean, space.std, r).contiguous().numpy()
        desc = f"{len(idx)} training images ({data.source})"
    else:
        x = np.random.default_rng(0).standard_normal((min(n_images, 64), 3, r, r)).astype(np.float32)
        desc = f"{len(x)} random normal inputs (no dataset given: accuracy of this int8 model is unknown)"
    return [x[i : i + batch_size] for i in range(0, len(x), batch_size)], desc


def accuracy_on_test(model, prepared: PreparedSubnet, data: Dataset, n_images: int = EVAL_IMAGES) -> dict:
    """Top-1/top-5 of an ONNX model (bytes, path or session) on the test split (or a fixed class-balanced subset of it)."""
    test = data.test
    if n_images and n_images < len(test):
        test = test.subset(balanced_subset(test.labels, n_images))
        images = f"fixed class-balanced subset of {len(test)} of {len(data.test)} test images"
    else:
        images = f"all {len(test)} test images"
    res = evaluate_model(OrtClassifier(model), prepared.space, prepared.arch.r, test, prepared.space.n_classes, 64)
    return {"top1": float(res.top1), "top5": float(res.top5), "n_images": res.n_images, "images": images, "data": data.source}


def build_int8(
    prepared: PreparedSubnet,
    fp32: bytes,
    data: Dataset | None,
    settings: Int8Settings = DEFAULT_INT8,
    calib_images: int = INT8_CALIB_IMAGES,
) -> tuple[bytes, str]:
    batches, calib_desc = int8_calibration(prepared, data, calib_images)
    model = quantize_onnx(fp32, batches, settings)
    quant = {"method": settings.describe(), "settings": settings.to_dict(), "calibration": calib_desc}
    meta = {**read_metadata(fp32), "quantization": json.dumps(quant)}
    doc = f"int8 (static quantization) of ofa-dash subnet {prepared.arch.id}; see metadata_props"
    return _with_metadata(model, meta, doc), calib_desc


def verify_int8(path: Path, fp32_session, x: torch.Tensor, inputs: str) -> tuple[dict, object]:
    """The int8 file passes the checker, runs, and mostly agrees with fp32 (reported, not required to match).

    Returns the agreement figures and the int8 session.
    """
    import onnx

    try:
        onnx.checker.check_model(str(path))
    except Exception as exc:
        raise ExportError(f"the int8 ONNX model fails onnx.checker: {exc}") from None
    session = ort_session(path, threads=torch.get_num_threads())
    logits = ort_logits(session, x)
    if not np.isfinite(logits).all():
        raise ExportError("the int8 ONNX model produced non-finite outputs")
    agreement = compare(ort_logits(fp32_session, x), logits, inputs)
    agreement["reference"] = "the fp32 ONNX model"
    return agreement, session


def int8_report(
    prepared: PreparedSubnet, fp32: bytes, int8: bytes, data: Dataset | None, eval_images: int = EVAL_IMAGES, sessions: tuple | None = None
) -> dict:
    """Accuracy (when data is at hand) and 1-thread batch-1 latency of the int8 model next to fp32.

    ``sessions``: (fp32, int8) sessions already open, reused for accuracy, and
    for latency too when they run on one thread (session start-up is ~0.5 s each).
    """
    s32, s8 = sessions or (fp32, int8)
    report: dict = {}
    if data is not None:
        acc32 = accuracy_on_test(s32, prepared, data, eval_images)
        acc8 = accuracy_on_test(s8, prepared, data, eval_images)
        report["accuracy"] = {"fp32": acc32, "int8": acc8, "top1_drop": acc32["top1"] - acc8["top1"]}
    lat32 = measure_latency(s32 if _threads(s32) == 1 else fp32, threads=1).to_dict()
    lat8 = measure_latency(s8 if _threads(s8) == 1 else int8, threads=1).to_dict()
    report["latency"] = {"fp32": lat32, "int8": lat8, "speedup": lat32["median_ms"] / lat8["median_ms"]}
    return report


def _threads(model) -> int | None:
    return int(model.get_session_options().intra_op_num_threads) if hasattr(model, "get_session_options") else None


def export_onnx_int8(
    prepared: PreparedSubnet,
    out: str | os.PathLike,
    data: Dataset | None = None,
    settings: Int8Settings = DEFAULT_INT8,
    calib_images: int = INT8_CALIB_IMAGES,
    eval_images: int = EVAL_IMAGES,
    parity_images: int | None = None,
) -> dict:
    """Statically quantized int8 ONNX, calibrated on training images; accuracy and latency reported next to fp32."""
    start = time.perf_counter()
    out = check_destination(out)
    x, inputs = parity_inputs(prepared, data, parity_images)
    fp32 = build_onnx(prepared)
    int8, calib_desc = build_int8(prepared, fp32, data, settings, calib_images)
    with staged(out) as tmp:
        tmp.write_bytes(int8)
        fp32_session = ort_session(fp32, threads=torch.get_num_threads())
        agreement, int8_session = verify_int8(tmp, fp32_session, x, inputs)
        report = int8_report(prepared, fp32, int8, data, eval_images, (fp32_session, int8_session))
    return {
        "format": "onnx-int8",
        "path": str(out),
        "bytes": len(int8),
        "quantization": {"method": settings.describe(), "calibration": calib_desc},
        "agreement_with_fp32": agreement,
        **report,
        "seconds": time.perf_counter() - start,
    }


# --------------------------------------------------------------------------- TorchScript + state-dict
def torchscript_paths(out: Path) -> dict[str, Path]:
    """The three files of the ``torchscript`` format: TorchScript, plain state-dict, JSON config."""
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return {"torchscript": out, "state_dict": out.with_name(f"{stem}.state.pt"), "config": out.with_name(f"{stem}.json")}


def export_torchscript(prepared: PreparedSubnet, out: str | os.PathLike, parity_images: int | None = None, data: Dataset | None = None) -> dict:
    """TorchScript (traced), plus a state-dict and a JSON config that :func:`load_exported` rebuilds from.

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


def read_export_config(path: str | os.PathLike) -> dict:
    """The JSON config of an exported TorchScript file, state-dict file or config file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"exported model {str(path)!r} not found")
    if path.suffix == ".json":
        try:
            config = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not a JSON config: {exc}") from None
    else:
        config = _config_from_torch_file(path)
    if not isinstance(config, dict) or config.get("format") != CONFIG_FORMAT:
        raise ValueError(f"{path} is not an ofa-dash exported subnet (missing format tag {CONFIG_FORMAT!r})")
    return config


def _config_from_torch_file(path: Path) -> dict:
    blob = _load_state_file(path)
    if blob is not None:
        return json.loads(blob["config"])
    extra = {"ofa_dash_config.json": ""}
    try:
        _jit_load(path, extra)
    except Exception as exc:
        raise ValueError(f"{path} is neither an ofa-dash state-dict file nor a TorchScript file ({type(exc).__name__})") from None
    if not extra["ofa_dash_config.json"]:
        raise ValueError(f"{path} is a TorchScript file without an ofa-dash config")
    return json.loads(extra["ofa_dash_config.json"])


def _is_torchscript(path: Path) -> bool:
    """TorchScript archives are zips with a ``code/`` folder; ``torch.save`` files have none."""
    try:
        with zipfile.ZipFile(path) as zf:
            return any("/code/" in n or n.endswith("constants.pkl") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _jit_load(path: Path, extra_files: dict | None = None):
    # torch 2.13 deprecates TorchScript in favour of torch.export; the format still loads and runs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(path), map_location="cpu", _extra_files=extra_files if extra_files is not None else {})


def _load_state_file(path: Path) -> dict | None:
    if _is_torchscript(path):
        return None
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # not a plain torch.save file (e.g. TorchScript): the caller tries that next
        return None
    return blob if isinstance(blob, dict) and blob.get("format") == CONFIG_FORMAT else None


def load_exported(path: str | os.PathLike) -> StaticNet:
    """Rebuild the :class:`StaticNet` from an exported state-dict file, TorchScript file, or JSON config."""
    path = Path(path)
    config = read_export_config(path)
    space = get_space(config["space"])
    arch = space.validate(Arch.from_dict(config["arch"]))
    if path.suffix == ".json":
        path = path.with_name(config.get("files", {}).get("state_dict", ""))
        if not path.is_file():
            raise FileNotFoundError(f"state-dict file {str(path)!r} named by the config not found")
    blob = _load_state_file(path)
    state = blob["state_dict"] if blob is not None else _jit_load(path).state_dict()
    net = StaticNet(space, arch)
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"{path} does not match subnet {arch.id} of space {space.name!r}: {str(exc).splitlines()[0]}") from None
    return net.eval()


# --------------------------------------------------------------------------- bundle
BUNDLE_FILES = ("model.onnx", "model-int8.onnx", "config.json", "MODEL_CARD.md", "model_card.json", "predict.py")


def export_bundle(
    prepared: PreparedSubnet,
    out: str | os.PathLike,
    data: Dataset | None = None,
    predicted: dict | None = None,
    measured: dict | None = None,
    settings: Int8Settings = DEFAULT_INT8,
    calib_images: int = INT8_CALIB_IMAGES,
    eval_images: int = EVAL_IMAGES,
    parity_images: int | None = None,
) -> dict:
    """A zip with fp32 and int8 ONNX, config, model card (Markdown + JSON) and a stand-alone ``predict.py``.

    ``predicted``: the ``predict`` command's JSON (``top1``, ``latency_ms`` per
    device, optional ``source``/``sources``) for the card. ``measured``: a
    stored live-validation record of this subnet, shown next to the export's
    own figures.
    """
    from ofa_dash import model_card

    start = time.perf_counter()
    out = check_destination(out)
    x, inputs = parity_inputs(prepared, data, parity_images)
    fp32 = build_onnx(prepared)
    int8, calib_desc = build_int8(prepared, fp32, data, settings, calib_images)
    config = model_config(prepared)
    config["files"] = {"fp32": "model.onnx", "int8": "model-int8.onnx"}
    with tempfile.TemporaryDirectory(prefix="ofa-dash-bundle-") as work:
        work = Path(work)
        (work / "model.onnx").write_bytes(fp32)
        (work / "model-int8.onnx").write_bytes(int8)
        parity, fp32_session = verify_onnx(work / "model.onnx", prepared, x, inputs)
        agreement, int8_session = verify_int8(work / "model-int8.onnx", fp32_session, x, inputs)
        report = int8_report(prepared, fp32, int8, data, eval_images, (fp32_session, int8_session))
        card = model_card.build(
            prepared,
            config,
            parity=parity,
            int8_agreement=agreement,
            report=report,
            quantization={"method": settings.describe(), "calibration": calib_desc},
            predicted=predicted,
            measured=measured,
        )
        files = {
            "model.onnx": fp32,
            "model-int8.onnx": int8,
            "config.json": json.dumps(config, indent=2).encode(),
            "MODEL_CARD.md": model_card.render_markdown(card).encode(),
            "model_card.json": json.dumps(card, indent=2).encode(),
            "predict.py": predict_script().encode(),
        }
        with staged(out) as tmp:
            with zipfile.ZipFile(tmp, "w") as zf:
                for name, payload in files.items():
                    # float weights barely compress (~7 %) and deflating them cost 15 s: store models, deflate text
                    zf.writestr(name, payload, compress_type=zipfile.ZIP_STORED if name.endswith(".onnx") else zipfile.ZIP_DEFLATED)
            verify_bundle(tmp, files)
    return {
        "format": "bundle",
        "path": str(out),
        "bytes": out.stat().st_size,
        "files": list(files),
        "parity": parity,
        "int8_agreement_with_fp32": agreement,
        **report,
        "seconds": time.perf_counter() - start,
    }


def verify_bundle(path: Path, expected: dict[str, bytes]) -> None:
    """The zip reads back intact (CRCs) and byte for byte what was verified before zipping."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise ExportError(f"bundle member {bad} is corrupt")
            names = set(zf.namelist())
            if names != set(expected):
                raise ExportError(f"bundle holds {sorted(names)}, expected {sorted(expected)}")
            for name, payload in expected.items():
                if zf.read(name) != payload:
                    raise ExportError(f"bundle member {name} does not match what was written")
    except zipfile.BadZipFile as exc:
        raise ExportError(f"the bundle is not a readable zip file: {exc}") from None


def predict_script() -> str:
    """Source of the bundle's stand-alone inference script (needs only onnxruntime, numpy and Pillow)."""
    return (Path(__file__).parent / "bundle_predict.py").read_text()


# --------------------------------------------------------------------------- one call for the CLI and the dashboard
def export(
    prepared: PreparedSubnet,
    fmt: str,
    out: str | os.PathLike,
    data: Dataset | None = None,
    predicted: dict | None = None,
    measured: dict | None = None,
    eval_images: int = EVAL_IMAGES,
) -> dict:
    """Export ``prepared`` in format ``fmt`` (one of :data:`FORMATS`) to ``out``; returns what was verified and measured."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {list(FORMATS)}")
    if fmt == "onnx":
        result = export_onnx(prepared, out, data)
    elif fmt == "onnx-int8":
        result = export_onnx_int8(prepared, out, data, eval_images=eval_images)
    elif fmt == "torchscript":
        result = export_torchscript(prepared, out, data=data)
    else:
        result = export_bundle(prepared, out, data, predicted=predicted, measured=measured, eval_images=eval_images)
    return {"arch": prepared.arch.id, "space": prepared.space.name, "provenance": prepared.provenance.to_dict(), **result}
