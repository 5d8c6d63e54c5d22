"""Export: ONNX parity (both spaces), int8, TorchScript/state-dict round trip, bundle + predict.py, atomicity, bad inputs."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from ofa_dash import export as ex
from ofa_dash.cli import main
from ofa_dash.data import to_tensor_batch
from ofa_dash.export import bundle as ex_bundle
from ofa_dash.export import int8 as ex_int8
from ofa_dash.export import onnx as ex_onnx
from ofa_dash.export import torchscript as ex_torchscript
from ofa_dash.nn import Supernet
from ofa_dash.runtime import ort
from ofa_dash.runtime.ort import TimingPolicy, ort_session
from ofa_dash.space import get_space
from ofa_dash.subnets import from_module, prepare

torch.set_num_threads(1)
CIFAR = get_space("cifar10")


@pytest.fixture(scope="module")
def prepared_r32(supernet_file, tiny_data):
    arch = CIFAR.sample(1, seed=3)[0]
    arch = type(arch)(ks=arch.ks, e=arch.e, d=arch.d, r=32)
    return prepare(CIFAR, arch, supernet_file, tiny_data)


@pytest.fixture(autouse=True)
def _quick_latency(monkeypatch):
    """Latency figures are checked for presence and source here, not value: time a few runs only."""
    monkeypatch.setattr(ort, "MODEL_TIMING", TimingPolicy(warmup=1, repeats=5, min_repeats=3, budget_s=0.01))


@pytest.fixture(scope="module")
def prepared_small(supernet_file, tiny_data):
    """The smallest subnet at 32x32: int8 calibration cost grows with the channel count, and these tests check files, not accuracy."""
    arch = CIFAR.smallest()
    return prepare(CIFAR, type(arch)(ks=arch.ks, e=arch.e, d=arch.d, r=32), supernet_file, tiny_data)


def _no_leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


# --------------------------------------------------------------------------- ONNX
@pytest.mark.parametrize(("space_name", "seeds", "n_inputs"), [("cifar10", (0, 1), 8), ("ofa-mbv3-w1.2", (0,), 2)])
def test_random_subnets_export_to_onnx_with_parity(space_name, seeds, n_inputs, tmp_path):
    space = get_space(space_name)
    torch.manual_seed(0)
    supernet = Supernet(space).eval()
    for seed in seeds:
        arch = space.sample(1, seed=seed)[0]
        prepared = from_module(space, arch, supernet.extract(arch))
        out = tmp_path / f"{space_name}-{seed}.onnx"
        result = ex.export_onnx(prepared, out, data=None, parity_images=n_inputs)
        parity = result["parity"]
        assert parity["max_abs_diff"] <= 1e-4 and parity["top1_agreement"] == 100.0 and parity["n_inputs"] == n_inputs
        model = onnx.load(str(out))
        assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
        inp = model.graph.input[0]
        assert inp.name == "image"
        dims = inp.type.tensor_type.shape.dim
        assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3, arch.r, arch.r]
        meta = {p.key: p.value for p in model.metadata_props}
        assert json.loads(meta["mean"]) == list(space.mean) and json.loads(meta["std"]) == list(space.std)
        assert int(meta["resolution"]) == arch.r and meta["arch_id"] == arch.id and json.loads(meta["arch"]) == arch.to_dict()
        assert meta["space"] == space_name and meta["supernet_version"] == "random-init" and "bilinear" in meta["resize"]
        assert len(json.loads(meta["class_names"])) == space.n_classes
        # the batch dimension is dynamic: three images in one call
        logits = ort_session(out).run(None, {"image": np.zeros((3, 3, arch.r, arch.r), np.float32)})[0]
        assert logits.shape == (3, space.n_classes)
        assert os.stat(out).st_mode & 0o044  # readable by others, like any exported file
    assert _no_leftovers(tmp_path) == []


def test_onnx_parity_uses_real_test_images_when_data_is_given(prepared_r32, tiny_data, tmp_path):
    result = ex.export_onnx(prepared_r32, tmp_path / "m.onnx", data=tiny_data)
    assert result["parity"]["n_inputs"] == len(tiny_data.test) and "test images" in result["parity"]["inputs"]
    meta = ex.read_metadata(tmp_path / "m.onnx")
    config = json.loads(meta["ofa_dash.config"])
    assert config["provenance"]["bn_recalibrated"] is True and config["provenance"]["supernet_version"] == "cifar10-test-random"
    assert config["provenance"]["calib_images"] > 0 and meta["data"] == tiny_data.source


def test_same_weights_as_validation_are_exported(prepared_r32, supernet_file, tiny_data):
    # preparing twice (the second time from the on-disk cache) gives bit-identical weights
    again = prepare(CIFAR, prepared_r32.arch, supernet_file, tiny_data)
    for (k, a), b in zip(prepared_r32.net.state_dict().items(), again.net.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


# --------------------------------------------------------------------------- int8
def test_int8_export_loads_runs_and_reports_accuracy_and_latency(prepared_small, tiny_data, tmp_path):
    out = tmp_path / "m8.onnx"
    result = ex.export_onnx_int8(prepared_small, out, data=tiny_data, eval_images=0, calib_images=32)
    session = ort_session(out)
    logits = session.run(None, {"image": np.zeros((2, 3, 32, 32), np.float32)})[0]
    assert logits.shape == (2, 10) and np.isfinite(logits).all()
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert "QuantizeLinear" in ops or "QLinearConv" in ops
    meta = ex.read_metadata(out)
    assert "quantization" in meta and meta["arch_id"] == prepared_small.arch.id and "mean" in meta
    acc = result["accuracy"]
    assert acc["fp32"]["n_images"] == acc["int8"]["n_images"] == len(tiny_data.test)
    assert acc["top1_drop"] == pytest.approx(acc["fp32"]["top1"] - acc["int8"]["top1"])
    lat = result["latency"]
    assert lat["fp32"]["median_ms"] > 0 and lat["int8"]["median_ms"] > 0 and lat["fp32"]["threads"] == 1 and lat["int8"]["batch_size"] == 1
    assert "training images" in result["quantization"]["calibration"]
    assert 0 <= result["agreement_with_fp32"]["top1_agreement"] <= 100


# --------------------------------------------------------------------------- TorchScript + state-dict
def test_torchscript_and_state_dict_round_trip(prepared_small, tmp_path):
    out = tmp_path / "net.pt"
    result = ex.export_torchscript(prepared_small, out, parity_images=8)
    paths = {k: Path(v) for k, v in result["paths"].items()}
    assert paths == {"torchscript": out, "state_dict": tmp_path / "net.state.pt", "config": tmp_path / "net.json"}
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        reference = prepared_small.net(x)
        for p in paths.values():
            rebuilt = ex.load_exported(p)
            assert rebuilt.arch == prepared_small.arch
            assert torch.equal(rebuilt(x), reference)
        assert torch.allclose(torch.jit.load(str(out))(x), reference, atol=1e-5)
    blob = torch.load(paths["state_dict"], weights_only=True)  # a plain state-dict file, no pickled code
    assert blob["format"] == "ofa-dash-subnet" and "stem.0.weight" in blob["state_dict"]
    config = json.loads(paths["config"].read_text())
    assert config["arch"] == prepared_small.arch.to_dict() and config["preprocessing"]["resolution"] == 32
    assert _no_leftovers(tmp_path) == []


def test_load_exported_rejects_foreign_files(tmp_path):
    bad = tmp_path / "x.pt"
    torch.save({"hello": torch.zeros(1)}, bad)
    with pytest.raises(ValueError, match="neither an ofa-dash state-dict file nor a TorchScript file"):
        ex.load_exported(bad)
    with pytest.raises(FileNotFoundError):
        ex.load_exported(tmp_path / "missing.pt")


# --------------------------------------------------------------------------- bundle
def test_bundle_contents_and_predict_script(prepared_small, tiny_data, tmp_path):
    predicted = {"arch": prepared_small.arch.id, "top1": 91.0, "latency_ms": {"note10": 12.5}, "source": "test predictor"}
    out = tmp_path / "bundle.zip"
    result = ex.export_bundle(prepared_small, out, data=tiny_data, predicted=predicted, eval_images=0, calib_images=32)
    assert result["parity"]["max_abs_diff"] <= 1e-4
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == sorted(ex.BUNDLE_FILES)
        zf.extractall(tmp_path / "b")
    b = tmp_path / "b"
    card = json.loads((b / "model_card.json").read_text())
    assert card["architecture"]["id"] == prepared_small.arch.id and card["cost"]["macs"] > 0 and card["cost"]["params"] > 0
    assert card["provenance"]["supernet_version"] == "cifar10-test-random" and card["provenance"]["data"] == tiny_data.source
    assert card["accuracy"]["predicted"] == {"top1": 91.0, "source": "test predictor"}
    assert {r["model"] for r in card["accuracy"]["measured"]} == {"fp32 ONNX", "int8 ONNX"}
    devices = {r["device"]: r for r in card["latency"]}
    # a lookup-table row names its table, never the accuracy predictor's source
    assert devices["note10"]["ms"] == 12.5 and devices["note10"]["source"] == "estimate: the note10 table"
    assert devices["note10"]["runtime"] == "lookup-table estimate (note10)" and "test predictor" not in devices["note10"]["source"]
    own = [r for r in card["latency"] if r["source"].endswith("by this export")]
    assert len(own) == 2 and all(r["source"].startswith("measured here (") and isinstance(r["busy"], bool) for r in own)
    assert card["parity"]["onnx_vs_pytorch"]["max_abs_diff"] <= 1e-4
    md = (b / "MODEL_CARD.md").read_text()
    for text in ("## Architecture", "## Accuracy", "## Latency", "cifar10-test-random", "Predicted top-1", "lookup-table estimate (note10)", "MACs"):
        assert text in md
    config = json.loads((b / "config.json").read_text())
    assert config["arch"] == prepared_small.arch.to_dict()

    # predict.py imports nothing beyond the standard library, onnxruntime, numpy and Pillow ...
    tree = ast.parse((b / "predict.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported - set(sys.stdlib_module_names) == {"onnxruntime", "numpy", "PIL"}
    # ... and, run in isolated mode (ofa_dash not importable), agrees with the model fed by ofa-dash's own preprocessing
    from PIL import Image

    images = tiny_data.test.images[[0, 7, 14]]
    paths = []
    for i, img in enumerate(images):
        paths.append(tmp_path / f"img{i}.png")
        Image.fromarray(img).save(paths[-1])
    r = subprocess.run([sys.executable, "-I", str(b / "predict.py"), *map(str, paths), "--json"], capture_output=True, text=True, cwd=b, timeout=120)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)["results"]
    x = to_tensor_batch(images, CIFAR.mean, CIFAR.std, 32).contiguous().numpy()
    want = ort_session(b / "model.onnx").run(None, {"image": x})[0]
    for res, logits in zip(got, want, strict=True):
        assert res["top"][0]["index"] == int(logits.argmax())
        assert np.abs(np.asarray(res["logits"]) - logits).max() < 1e-4
    assert got[0]["top"][0]["class"] in CIFAR.class_names


def test_predict_script_resizes_like_training(tmp_path):
    """A 40x40 image fed to a 24x24 model: Pillow bilinear in predict.py matches torch's antialiased bilinear."""
    sys.path.insert(0, str(Path(ex.__file__).parent))
    try:
        import bundle_predict
    finally:
        sys.path.pop(0)
    from PIL import Image

    img = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "x.png")
    pre = {"resolution": 24, "mean": np.asarray(CIFAR.mean, np.float32), "std": np.asarray(CIFAR.std, np.float32)}
    ours = bundle_predict.preprocess(tmp_path / "x.png", pre)
    training = to_tensor_batch(img[None], CIFAR.mean, CIFAR.std, 24).contiguous().numpy()
    assert ours.shape == training.shape == (1, 3, 24, 24)
    # Pillow resizes in fixed point and rounds to uint8: at most one grey level apart, divided by std
    assert np.abs(ours - training).max() <= 1.01 / 255 / min(CIFAR.std)


# --------------------------------------------------------------------------- atomicity
@pytest.mark.parametrize("fmt", ["onnx", "bundle", "torchscript"])
def test_failed_verification_leaves_no_file(fmt, prepared_small, tiny_data, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ex.ExportError("forced failure")

    if fmt == "onnx":
        monkeypatch.setattr(ex_onnx, "verify_onnx", broken)
    elif fmt == "bundle":
        monkeypatch.setattr(ex_bundle, "verify_bundle", broken)
    else:
        monkeypatch.setattr(ex_torchscript, "compare", broken)
    if fmt == "bundle":  # the failure comes after int8: skip quantization and timing, they are tested above
        monkeypatch.setattr(ex_int8, "quantize_onnx", lambda model, *a, **k: model)
        monkeypatch.setattr(ex_bundle, "int8_report", lambda *a, **k: {})
    out = tmp_path / ("m.onnx" if fmt == "onnx" else "b.zip" if fmt == "bundle" else "m.pt")
    with pytest.raises(ex.ExportError, match="forced failure"):
        ex.export(prepared_small, fmt, out, tiny_data)
    assert list(tmp_path.iterdir()) == []


def test_failed_export_keeps_the_previous_file(prepared_small, tmp_path, monkeypatch):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"previous")
    monkeypatch.setattr(ex_onnx, "verify_onnx", lambda *a, **k: (_ for _ in ()).throw(ex.ExportError("forced failure")))
    with pytest.raises(ex.ExportError):
        ex.export_onnx(prepared_small, out)
    assert out.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


# --------------------------------------------------------------------------- CLI and bad inputs
def _cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_export_onnx_json(supernet_file, tiny_folder, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    code, stdout, err = _cli(
        capsys,
        "export",
        "--space",
        "cifar10",
        "--arch",
        "smallest",
        "--format",
        "onnx",
        "--out",
        str(out),
        "--supernet",
        str(supernet_file),
        "--data",
        str(tiny_folder),
        "--json",
    )
    assert code == 0, err
    result = json.loads(stdout)
    assert result["arch"] == CIFAR.smallest().id and result["path"] == str(out) and result["parity"]["max_abs_diff"] <= 1e-4
    assert result["provenance"]["bn_recalibrated"] is True and out.is_file()


@pytest.mark.parametrize(
    ("arch", "out", "fmt", "message"),
    [
        ("zzzzzzzzzzzzzzzzz", "m.onnx", "onnx", "not a subnet id"),
        ('{"ks":[7],"e":[6],"d":[4],"r":32}', "m.onnx", "onnx", "ks must have 20 values"),
        (json.dumps({**get_space("cifar10").largest().to_dict(), "r": 224}), "m.onnx", "onnx", "not a resolution of space"),
        ("largest", "missing-folder/m.onnx", "onnx", "does not exist"),
        ("largest", "a-file/m.onnx", "onnx", "is a file, not a folder"),
        ("largest", ".", "onnx", "is a folder"),
        ("largest", "m.onnx", "tflite", "unknown export format"),
    ],
)
def test_cli_export_bad_inputs_give_clear_errors_and_write_nothing(arch, out, fmt, message, supernet_file, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, err = _cli(capsys, "export", "--space", "cifar10", "--arch", arch, "--format", fmt, "--out", out, "--supernet", str(supernet_file))
    assert code == 2 and err.startswith("error: ") and message in err and stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_cli_export_space_without_weights(tmp_path, capsys):
    code, _, err = _cli(capsys, "export", "--space", "ofa-mbv3-w1.2", "--arch", "largest", "--format", "onnx", "--out", str(tmp_path / "m.onnx"))
    assert code == 2 and "has no supernet weights" in err and "--supernet" in err
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- the format registry
def test_format_registry_is_the_single_source():
    """Every format has a label, file name and MIME type; the CLI, the cache and the dashboard read the same registry."""
    from ofa_dash.cli import build_parser
    from ofa_dash.commands import export as export_command
    from ofa_dash.ui import jobs

    assert list(ex.FORMATS) == ["onnx", "onnx-int8", "torchscript", "bundle", "openvino"]
    for name, spec in ex.FORMATS.items():
        assert spec.name == name and spec.label and spec.mime and callable(spec.builder)
        assert "{stem}" in spec.file_name and spec.file_for("s-a") != spec.file_name
        assert jobs.export_path(Path("/c"), "s", "a", "0" * 64, name).name == spec.file_for("s-a")
    # the CLI's --format choices are the registry's names, in its order (listed in --format's help, checked in run())
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["export"]
    fmt = next(a for a in sub._actions if a.dest == "format")
    assert fmt.help == export_command.format_help() == "onnx, onnx-int8, torchscript, bundle or openvino"
    assert fmt.help.replace(" or ", ", ").split(", ") == list(ex.FORMATS)
    assert export_command.FORMATS is ex.FORMATS


def test_cli_export_never_overwrites_without_force_and_never_writes_into_precomputed(supernet_file, tmp_path, capsys, monkeypatch):
    from ofa_dash.files import file_sha256

    root = tmp_path / "precomputed"
    (root / "cifar10").mkdir(parents=True)
    shipped = root / "cifar10" / "supernet.pt"
    shipped.write_bytes(supernet_file.read_bytes())
    monkeypatch.setenv("OFA_DASH_PRECOMPUTED", str(root))
    before = file_sha256(shipped)
    # this root ships no calibration sample: --no-calibration lets the last export write (calibration is tested in test_calibration.py)
    args = ["export", "--space", "cifar10", "--arch", "smallest", "--format", "onnx", "--supernet", str(supernet_file), "--no-calibration"]
    code, _, err = _cli(capsys, *args, "--out", str(shipped))
    assert code == 2 and "inside the precomputed root" in err and file_sha256(shipped) == before
    code, _, err = _cli(capsys, *args, "--out", str(shipped), "--force")  # --force does not open the precomputed root either
    assert code == 2 and "inside the precomputed root" in err and file_sha256(shipped) == before
    existing = tmp_path / "m.onnx"
    existing.write_bytes(b"previous")
    code, _, err = _cli(capsys, *args, "--out", str(existing))
    assert code == 2 and "already exists; pass --force" in err and existing.read_bytes() == b"previous"
    code, _, err = _cli(capsys, *args, "--out", str(existing), "--force")
    assert code == 0, err
    assert existing.read_bytes() != b"previous"
