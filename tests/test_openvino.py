"""OpenVINO as a runtime and as an export format: IR parity on both kinds of space, a small profile, and the error without the package.

No timing asserts (a shared 2-core machine); these check that the IR holds
the subnet (OpenVINO's logits against PyTorch's), that its metadata describes
it, and that a profile timed with OpenVINO is complete and loads.
"""

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ofa_dash import space as space_module
from ofa_dash.cli import main
from ofa_dash.export import FORMATS, ExportError, export, page_formats
from ofa_dash.export.openvino import openvino_paths, verify_ir
from ofa_dash.export.parity import PARITY_ATOL
from ofa_dash.hardware.latency import keys_at
from ofa_dash.hardware.layers import layer_specs
from ofa_dash.hardware.profile_format import RUNTIMES, load_profile
from ofa_dash.hardware.runtimes import RUNTIME_FACTORIES, export_onnx, make_runtime
from ofa_dash.nn import Supernet
from ofa_dash.nn.static import StaticNet
from ofa_dash.runtime import ov
from ofa_dash.runtime.ort import TimingPolicy, measure
from ofa_dash.space import StageSpec, get_space
from ofa_dash.subnets import LoadedSupernet, prepare

pytest.importorskip("openvino")

AVX512 = "avx512f" in Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else False

CIFAR = get_space("cifar10")
W10 = get_space("ofa-mbv3-w1.0")
TINY = dataclasses.replace(  # a few layers: the profiler only needs a SearchSpace object (never registered)
    CIFAR,
    name="tiny-ov",
    stem_channels=8,
    first_block_channels=8,
    stages=(
        StageSpec(8, 2, "relu", False),
        StageSpec(16, 2, "relu", True),
        StageSpec(16, 1, "hswish", False),
        StageSpec(24, 1, "hswish", True),
        StageSpec(24, 1, "hswish", True),
    ),
    final_expand=32,
    feature_dim=32,
    resolutions=(24,),
)


def _random_supernet(space, seed: int = 0) -> LoadedSupernet:
    torch.manual_seed(seed)
    return LoadedSupernet(Supernet(space).eval(), {"supernet_version": f"{space.name}-random-test"}, Path("random.pt"), "0" * 64)


def _prepared(space, arch, loaded):
    """The subnet with BN statistics re-estimated on random inputs: untrained weights with default statistics give constant logits, which would make parity trivial."""
    prepared = prepare(space, arch, loaded, use_cache=False)
    net = prepared.net
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    net.train()
    with torch.no_grad():
        net(torch.randn(32, 3, arch.r, arch.r, generator=torch.Generator().manual_seed(1)))
    net.eval()
    return prepared


@pytest.fixture(scope="module")
def cifar_supernet():
    return _random_supernet(CIFAR)


@pytest.fixture(scope="module")
def w10_supernet():
    return _random_supernet(W10)


def _check_ir(prepared, tmp_path: Path) -> dict:
    out = tmp_path / f"{prepared.arch.id}.xml"
    result = export(prepared, "openvino", out)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, out.with_suffix(".bin").name])  # nothing else left behind
    parity = result["parity"]
    assert parity["max_abs_diff"] <= PARITY_ATOL and parity["top1_disagreements"] == 0
    assert parity["max_abs_reference"] > 100 * PARITY_ATOL  # the logits vary: the comparison is not of constants
    meta = ov.read_ir_metadata(out)
    assert meta["arch_id"] == prepared.arch.id and meta["format"] == "openvino" and meta["openvino_version"] == ov.openvino_version()
    assert json.loads(meta["ofa_dash.config"])["arch"] == prepared.arch.to_dict()
    assert json.loads(meta["mean"]) == list(prepared.space.mean)
    # the files alone reproduce the network on fresh inputs
    x = torch.randn(3, 3, prepared.arch.r, prepared.arch.r)
    with torch.no_grad():
        want = prepared.net(x).numpy()
    got = ov.logits(ov.compile_model(out), x.numpy())
    assert abs(got - want).max() <= PARITY_ATOL
    return result


@pytest.mark.parametrize("seed", [3, 7])
def test_ir_parity_on_random_cifar10_subnets(cifar_supernet, tmp_path, seed):
    arch = CIFAR.sample(1, seed=seed)[0]
    result = _check_ir(_prepared(CIFAR, arch, cifar_supernet), tmp_path)
    assert result["format"] == "openvino" and result["parity"]["n_inputs"] == 256


@pytest.mark.parametrize("seed", [2, 5])
def test_ir_parity_on_random_ofa_mbv3_w10_subnets(w10_supernet, tmp_path, seed):
    arch = W10.sample(1, seed=seed)[0]
    result = _check_ir(_prepared(W10, arch, w10_supernet), tmp_path)
    assert set(result["paths"]) == {"xml", "bin"} and result["bytes"]["bin"] > 1e6  # fp32 weights of an ImageNet subnet


def test_ir_of_another_subnet_fails_verification(cifar_supernet, tmp_path):
    a, b = CIFAR.sample(2, seed=11)
    first = _prepared(CIFAR, a, cifar_supernet)
    export(first, "openvino", tmp_path / "a.xml")
    with pytest.raises(ExportError, match="does not describe"):
        verify_ir(tmp_path / "a.xml", _prepared(CIFAR, b, cifar_supernet), torch.randn(2, 3, b.r, b.r), "2 random inputs")


def test_export_registry_and_help_list_openvino(capsys):
    assert FORMATS["openvino"].outputs(Path("m.xml")) == [Path("m.xml"), Path("m.bin")]
    assert "openvino" not in page_formats()  # two files: the Subnet page offers one-file downloads
    with pytest.raises(ValueError, match=r"ending in \.xml"):
        openvino_paths("model.onnx")
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "openvino" in capsys.readouterr().out


def test_export_cli_refuses_an_existing_bin_without_force(tmp_path, capsys):
    (tmp_path / "m.bin").write_bytes(b"keep")
    assert main(["export", "--arch", "0000000000000000", "--format", "openvino", "--out", str(tmp_path / "m.xml")]) == 2
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "m.bin").read_bytes() == b"keep" and not (tmp_path / "m.xml").exists()


# --------------------------------------------------------------------------- runtime and profile
def test_runtime_registry_names_every_profile_runtime():
    assert tuple(RUNTIME_FACTORIES) == RUNTIMES


def test_openvino_runtime_times_a_whole_subnet_and_describes_itself():
    rt = make_runtime("openvino")
    arch = TINY.smallest()
    with rt.active():
        t = measure(rt.prepare(StaticNet(TINY, arch), (1, 3, arch.r, arch.r)), TimingPolicy(warmup=1, repeats=3, min_repeats=3, budget_s=0.001))
    assert t.n == 3 and t.median_ms > 0
    d = rt.describe()
    assert d["runtime"].startswith("OpenVINO") and d["runtime_version"] == ov.openvino_version() and "INFERENCE_NUM_THREADS=1" in d["session"]


def _executed_reorders(model) -> list[str]:
    """Names of the Reorder nodes the CPU plugin ran in one inference of ``model`` (its per-node performance counters)."""
    openvino = ov.import_openvino()
    compiled = openvino.Core().compile_model(model, ov.DEVICE, {**ov.compile_config(1), "PERF_COUNT": True})
    request = compiled.create_infer_request()
    request.infer({0: np.random.default_rng(0).standard_normal(tuple(compiled.input(0).shape), dtype=np.float32)})
    return [p.node_name for p in request.get_profiling_info() if p.node_type == "Reorder" and p.status == p.Status.EXECUTED]


def _layer_model(spec):
    torch.manual_seed(0)
    return ov.read_onnx(export_onnx(spec.build(), (1, *spec.input_shape)))


@pytest.mark.parametrize("kind", ["stem", "first_block", "block", "head"])
def test_channels_last_boundaries_compute_the_same_layer(kind):
    spec = next(s for s in layer_specs(CIFAR, 32) if s.kind == kind)
    plain = ov.compile_model(_layer_model(spec))
    inner = ov.compile_model(ov.channels_last_boundaries(_layer_model(spec), input_inside=kind != "stem"))
    x = np.random.default_rng(1).standard_normal((1, *spec.input_shape)).astype(np.float32)
    x_inner = x if kind == "stem" else x.transpose(0, 2, 3, 1)
    assert tuple(inner.input(0).shape) == x_inner.shape
    y, y_inner = ov.logits(plain, x), ov.logits(inner, x_inner)
    np.testing.assert_allclose(y_inner, y.transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not AVX512, reason="the CPU plugin runs channels-last (acdb) only where it picks its AVX-512 kernels; elsewhere its blocked layout differs")
def test_layers_with_channels_last_boundaries_run_no_reorder():
    """The cause of the misranked OpenVINO tables, and its fix: a layer alone pays reorders into and out of the plugin's layout; with NHWC boundaries it pays none."""
    for spec in [s for s in layer_specs(CIFAR, 32) if s.kind in ("first_block", "block")][:4]:
        assert _executed_reorders(_layer_model(spec)), spec.key
        assert _executed_reorders(ov.channels_last_boundaries(_layer_model(spec))) == [], spec.key


def test_openvino_layers_are_timed_with_channels_last_boundaries_on_cpu_time():
    rt = make_runtime("openvino")
    spec = next(s for s in layer_specs(TINY, 24) if s.kind == "block")
    with rt.active():
        run = rt.prepare_layer(spec, (1, *spec.input_shape))
        t = measure(run, TimingPolicy(warmup=1, repeats=3, min_repeats=3, budget_s=0.001), rt.clock)
    assert t.n == 3 and t.median_ms > 0
    assert rt.rounds > 1 and rt.clock_name.startswith("process CPU time")
    assert make_runtime("openvino", threads=2).clock_name.startswith("wall")  # CPU time would add up the threads


def test_profile_cli_with_openvino_writes_a_loadable_profile(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(space_module.SPACES, TINY.name, TINY)  # the CLI resolves --space by name
    root = tmp_path / "precomputed"
    out = root / TINY.name / "devices" / "cpu-openvino.json"
    out.parent.mkdir(parents=True)
    args = ["profile", "--space", TINY.name, "--runtime", "openvino", "--name", "cpu-openvino", "--repeats", "2"]
    args += ["--n-calibration", "3", "--n-validation", "3", "--out", str(out), "--quiet", "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["runtime"] == "openvino" and result["n_layers"] == len(keys_at(TINY, 24))
    profile = load_profile(out, TINY)
    assert set(profile.entries[24]) == set(keys_at(TINY, 24))
    assert profile.quality["n_validation"] == 3 and profile.quality["mape"] == pytest.approx(result["mape"])
    machine = profile.meta["machine"]
    assert machine["runtime"].startswith("OpenVINO") and machine["runtime_version"] == ov.openvino_version() and machine["threads"] == 1
    assert machine["logical_cores"] >= 1 and machine["cpu_model"]
    assert profile.meta["clock"].startswith("process CPU time") and profile.meta["rounds"] == make_runtime("openvino").rounds
    assert "NHWC" in profile.meta["layer_boundaries"] and "L2 evicted" in profile.meta["layer_caches"]
    assert profile.meta["anchor"]["arch"] == TINY.smallest().id and profile.meta["anchor"]["reference_ms"] > 0 and profile.meta["anchor"]["runs"] > 0
    # report --json lists the device with its quality figures and machine
    assert main(["report", "--space", TINY.name, "--precomputed", str(root), "--json"]) == 0
    device = json.loads(capsys.readouterr().out)["devices"]["cpu-openvino"]
    assert device["n_validation"] == 3 and device["mape"] == pytest.approx(result["mape"]) and device["kendall_tau"] == profile.quality["kendall_tau"]
    assert device["machine"]["runtime_version"] == ov.openvino_version()


# --------------------------------------------------------------------------- without the package
def test_without_openvino_both_commands_say_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` now raises ImportError
    with pytest.raises(ValueError, match=r"pip install openvino=="):
        make_runtime("openvino")
    assert main(["profile", "--space", "cifar10", "--runtime", "openvino", "--name", "ov", "--out", str(tmp_path / "ov.json")]) == 2
    err = capsys.readouterr().err
    assert "pip install openvino==" in err and len(err.strip().splitlines()) == 1
    assert main(["export", "--arch", "0000000000000000", "--format", "openvino", "--out", str(tmp_path / "m.xml")]) == 2
    err = capsys.readouterr().err
    assert "pip install openvino==" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
