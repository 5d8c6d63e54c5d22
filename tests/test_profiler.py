"""The profiler: layer modules per key, runtimes, the timing loop, and small end-to-end profile runs.

No timing asserts: figures on a shared 2-core machine are noise. These check
that the right things are timed and that the output is a complete, loadable
profile carrying its quality figures.
"""

import dataclasses
import json
import re
import time

import numpy as np
import onnx
import pytest
import torch

from ofa_dash import space as space_module
from ofa_dash.cli import main
from ofa_dash.hardware.anchored import Anchor
from ofa_dash.hardware.latency import keys_at
from ofa_dash.hardware.layers import block_module, distinct_layer_specs, layer_specs
from ofa_dash.hardware.profile_format import load_profile
from ofa_dash.hardware.profiler import ProfileConfig, _call_overhead, pooled_timing, profile_device, time_models
from ofa_dash.hardware.runtimes import Runtime, export_onnx, make_runtime, ort_runner, quantize_int8
from ofa_dash.nn.static import StaticNet
from ofa_dash.runtime.ort import TimingPolicy, measure, ort_session_options
from ofa_dash.space import StageSpec, get_space

CIFAR = get_space("cifar10")
OFA = get_space("ofa-mbv3-w1.2")
# A deliberately small space (never registered): the profiler only needs a SearchSpace object.
TINY = dataclasses.replace(
    CIFAR,
    name="tiny-test",
    stem_channels=8,
    first_block_channels=8,
    stages=(
        StageSpec(8, 2, "relu", False),
        StageSpec(16, 2, "relu", True),
        StageSpec(16, 2, "hswish", False),
        StageSpec(24, 1, "hswish", True),
        StageSpec(24, 2, "hswish", True),
    ),
    final_expand=32,
    feature_dim=32,
    resolutions=(24,),
)
FAST = TimingPolicy(warmup=1, repeats=3, min_repeats=1, budget_s=0.001)


def _output_shape(key: str) -> tuple[int, ...]:
    dims = re.search(r"-output:([0-9x]+)", key).group(1).split("x")
    return tuple(int(d) for d in dims)


@pytest.mark.parametrize("space", [CIFAR, OFA], ids=lambda s: s.name)
def test_layer_specs_cover_exactly_the_table_keys(space):
    for r in space.resolutions:
        assert [s.key for s in layer_specs(space, r)] == list(keys_at(space, r))
    assert len(distinct_layer_specs(space)) == {"cifar10": 255, "ofa-mbv3-w1.2": 450}[space.name]


def test_each_layer_module_produces_its_keys_output_shape():
    torch.manual_seed(0)
    with torch.inference_mode():
        for spec in distinct_layer_specs(CIFAR).values():
            y = spec.build().eval()(torch.randn(1, *spec.input_shape))
            want = _output_shape(spec.key)
            got = (y.shape[1],) if y.ndim == 2 else (y.shape[2], y.shape[3], y.shape[1])
            assert got == want, spec.key


def test_block_modules_match_the_static_subnet():
    arch = CIFAR.sample(1, seed=4)[0]
    net = StaticNet(CIFAR, arch)
    for block, i in zip(net.blocks, arch.active_slots(), strict=True):
        ref = block_module(CIFAR, i, arch.ks[i], arch.e[i])
        assert {k: v.shape for k, v in block.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}


def test_layer_chain_equals_the_whole_subnet():
    """Stem, first block, the active blocks and the four head parts, run in order, compute what StaticNet computes."""
    arch = CIFAR.sample(1, seed=2)[0]
    torch.manual_seed(0)
    net = StaticNet(CIFAR, arch).eval()
    specs = {s.key: s for s in layer_specs(CIFAR, arch.r)}
    head = [specs[k].build().eval() for k in list(specs)[2:6]]
    head[0].load_state_dict(net.head.final_expand.state_dict())
    head[2][0].load_state_dict(net.head.feature_mix.state_dict())
    head[3][1].load_state_dict(net.head.classifier.state_dict())
    x = torch.randn(2, 3, arch.r, arch.r)
    with torch.inference_mode():
        y = net.blocks(net.first(net.stem(x)))
        for part in head:
            y = part(y)
        torch.testing.assert_close(y, net(x))


def test_measure_respects_the_policy():
    calls = []
    t = measure(lambda: calls.append(1), TimingPolicy(warmup=3, repeats=50, min_repeats=10, budget_s=10))
    assert t.n == 50 and len(calls) == 53 and t.median_ms >= 0 and t.spread_ms >= 0
    t = measure(lambda: sum(range(20000)), TimingPolicy(warmup=1, repeats=1000, min_repeats=4, budget_s=1e-6))
    assert t.n == 4
    with pytest.raises(ValueError, match="timing policy"):
        TimingPolicy(repeats=0)


class _FakeClockRuntime(Runtime):
    """A runtime whose clock only advances when a model runs, by that model's cost: timings are exact, nothing depends on load."""

    name = "fake"

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.rounds = rounds
        self.now = 0.0
        self.ran: list[int] = []

    def clock(self) -> float:
        return self.now

    def model(self, index: int, cost_s: float):
        def run() -> None:
            self.now += cost_s
            self.ran.append(index)

        return run


@pytest.mark.parametrize("rounds", [1, 4])
def test_time_models_pools_interleaved_rounds_on_the_runtime_clock(rounds):
    rt = _FakeClockRuntime(rounds)
    built = []
    costs = [0.001, 0.003, 0.002]

    def builder(i):
        return lambda: built.append(i) or rt.model(i, costs[i])

    done = []
    policy = TimingPolicy(warmup=2, repeats=40, min_repeats=8, budget_s=10.0)
    timings = time_models([builder(i) for i in range(3)], rt, policy, lambda: done.append(1))
    assert built == [0, 1, 2] and len(done) == 3  # each model prepared once, progress once per model
    assert [t.median_ms for t in timings] == pytest.approx([1.0, 3.0, 2.0]) and all(t.spread_ms == pytest.approx(0) for t in timings)
    assert all(t.n == 40 for t in timings)  # the repeats are split over the rounds, not multiplied
    # the first model's runs come in `rounds` separate stretches, alternating forward and reverse order
    stretches = [i for j, i in enumerate(rt.ran) if j == 0 or rt.ran[j - 1] != i]
    assert stretches == ([0, 1, 2] if rounds == 1 else [0, 1, 2, 1, 0, 1, 2, 1, 0])


def test_time_models_with_an_anchor_gives_each_model_in_anchor_runs():
    rt = _FakeClockRuntime(3)
    anchor = Anchor(rt.model(-1, 0.004), rt.clock)
    costs = [0.001, 0.008]
    timings = time_models(
        [lambda c=c, i=i: rt.model(i, c) for i, c in enumerate(costs)], rt, TimingPolicy(warmup=1, repeats=30, min_repeats=3, budget_s=10.0), anchor=anchor
    )
    assert [t.median_ms for t in timings] == pytest.approx([0.25, 2.0])
    assert anchor.reference_ms() == pytest.approx(4.0) and -1 in rt.ran  # the anchor ran between the models' bursts


def test_pooled_timing_is_the_median_and_iqr_of_every_run():
    t = pooled_timing([4.0, 1.0, 2.0, 3.0, 5.0])
    assert (t.median_ms, t.spread_ms, t.n) == (3.0, 2.0, 5)


def test_wall_clock_runtimes_say_so_in_the_profile():
    rt = make_runtime("torch")
    assert rt.rounds == 1 and rt.clock_name.startswith("wall")


@pytest.mark.parametrize("name", ["ort", "ort-int8", "openvino"])
def test_one_thread_cpu_runtimes_time_on_cpu_time_next_to_an_anchor(name):
    if name == "openvino":
        pytest.importorskip("openvino")
    rt = make_runtime(name)
    assert rt.anchored and rt.rounds > 1 and rt.clock_name.startswith("process CPU time")
    busy = time.process_time()
    while time.process_time() - busy < 0.02:  # the clock is the process's CPU time: it advances with work done here
        pass
    assert rt.clock() - busy >= 0.02
    # with more threads CPU time would add them up: the wall clock then
    assert make_runtime(name, threads=2).clock_name.startswith("wall")
    assert not make_runtime("torch").anchored


def test_onnx_export_matches_torch():
    torch.manual_seed(0)
    block = block_module(CIFAR, 4, 5, 6).eval()
    x = np.random.default_rng(0).standard_normal((1, 24, 16, 16), dtype=np.float32)
    import onnxruntime as ort

    sess = ort.InferenceSession(export_onnx(block, x.shape), ort_session_options(), providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        ref = block(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(sess.run(None, {"x": x})[0], ref, rtol=1e-4, atol=1e-4)


def test_int8_quantization_produces_integer_ops_that_run():
    torch.manual_seed(0)
    shape = (1, 24, 16, 16)
    model = quantize_int8(export_onnx(block_module(CIFAR, 4, 5, 6), shape), shape)
    graph = onnx.load_from_string(model).graph
    assert any(init.data_type == onnx.TensorProto.INT8 for init in graph.initializer)  # int8 weights
    assert "QuantizeLinear" in {n.op_type for n in graph.node}
    ort_runner(model, shape)()
    with pytest.raises(ValueError, match="int8 format"):
        quantize_int8(model, shape, quant_format="FP8")


def test_int8_runtime_times_a_whole_subnet_and_describes_itself():
    rt = make_runtime("ort-int8")
    arch = TINY.smallest()
    with rt.active():
        t = measure(rt.prepare(StaticNet(TINY, arch), (1, 3, arch.r, arch.r)), FAST)
        overhead = _call_overhead(rt, FAST)  # the null module stays fp32 (nothing to quantize)
    assert t.median_ms > 0 and overhead.median_ms > 0
    meta = rt.describe()
    assert meta["precision"].startswith("int8") and "QDQ" in meta["quantization"] and "per-channel" in meta["quantization"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_runtime_without_gpu_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        make_runtime("cuda")
    assert main(["profile", "--space", "cifar10", "--runtime", "cuda", "--name", "gpu", "--out", str(tmp_path / "g.json")]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "g.json").exists()


def test_config_checks():
    with pytest.raises(ValueError, match="reserved"):
        ProfileConfig(runtime="ort", name="note10")
    with pytest.raises(ValueError, match="n-calibration"):
        ProfileConfig(runtime="ort", name="x", n_calibration=1)
    with pytest.raises(ValueError, match="unknown runtime"):
        make_runtime("tflite")
    cfg = ProfileConfig(runtime="ort", name="x").with_repeats(7)
    assert cfg.layer_policy.repeats == cfg.subnet_policy.repeats == 7 and cfg.layer_policy.min_repeats <= 7


def test_tiny_profile_is_complete_and_carries_quality():
    cfg = ProfileConfig(runtime="torch", name="tiny-torch", n_calibration=3, n_validation=4, layer_policy=FAST, subnet_policy=FAST)
    profile = profile_device(TINY, cfg, show_progress=False)
    assert set(profile.entries[24]) == set(keys_at(TINY, 24))
    assert all(t.ms >= 0 and t.n >= 1 for t in profile.entries[24].values())
    assert [m.split for m in profile.measurements].count("validation") == 4
    assert [m.split for m in profile.measurements].count("extreme") == 2
    q = profile.quality
    assert q["n_validation"] == 4 and q["mape"] >= 0 and -1 <= q["kendall_tau"] <= 1
    assert profile.correction.kind == "affine" and "3 calibration" in profile.correction.fitted_on
    assert profile.meta["runtime_version"] and profile.meta["threads"] == 1 and profile.meta["batch_size"] == 1
    lo, hi = profile.range_ms()
    assert 0 < lo <= hi
    est = profile.table(TINY).estimate(TINY.sample_genomes(5))
    assert np.all(np.isfinite(est))


def test_profile_cli_writes_a_loadable_profile(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(space_module.SPACES, TINY.name, TINY)  # the CLI resolves --space by name
    out = tmp_path / "cpu.json"
    args = ["profile", "--space", TINY.name, "--runtime", "ort", "--name", "cpu-test", "--repeats", "2"]
    args += ["--n-calibration", "2", "--n-validation", "3", "--out", str(out), "--quiet", "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["path"] == str(out) and result["n_validation"] == 3 and "only 3 validation" in result["note"]
    assert result["n_layers"] == len(keys_at(TINY, 24))
    profile = load_profile(out, TINY)
    assert profile.quality["mape"] == pytest.approx(result["mape"])
    assert profile.meta["precision"] == "fp32" and profile.meta["runtime"].startswith("ONNX Runtime")
    # a second run without --force changes nothing
    before = out.read_text()
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err and out.read_text() == before


def test_timing_models_carry_normal_finite_activations():
    """Random-weight timing models do not slow down on denormals (WebAssembly cannot flush them, OpenVINO's CPU plugin
    does not by default): every intermediate value of the smallest and largest subnet and of every 7th layer of one
    resolution is finite and either zero or a normal float32, with PyTorch's flushing off (its default)."""
    tiny = np.finfo(np.float32).tiny
    bad: list[str] = []

    def check(name):
        def hook(module, inputs, output):
            a = output.detach().numpy()
            if not np.isfinite(a).all() or ((np.abs(a) < tiny) & (a != 0)).any():
                bad.append(f"{name}: {type(module).__name__}")

        return hook

    torch.set_flush_denormal(False)
    modules = [(f"{CIFAR.name} r={a.r}", StaticNet(CIFAR, a), (1, 3, a.r, a.r)) for a in (CIFAR.smallest(), CIFAR.largest())]
    modules += [(f"{OFA.name} r={OFA.smallest().r}", StaticNet(OFA, OFA.smallest()), (1, 3, OFA.smallest().r, OFA.smallest().r))]
    modules += [(s.key, s.build(), (1, *s.input_shape)) for s in layer_specs(CIFAR, 32)[::7]]
    with torch.no_grad():
        for i, (name, module, shape) in enumerate(modules):
            torch.manual_seed(i)
            for m in module.modules():
                if not list(m.children()):
                    m.register_forward_hook(check(name))
            module.eval()(torch.randn(*shape))
    assert not bad, bad[:5]
