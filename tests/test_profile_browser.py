"""The browser as a timing source, without a browser: the answer's checks, the shared builder, the model files.

The end-to-end run in Chromium is tests/test_browser_profile.py.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
import pytest

from ofa_dash.hardware.browser import (
    QUICK_POLICY,
    BrowserSettings,
    make_manifest,
    profile_from_result,
    project_seconds,
    timings_from_result,
    write_plan_models,
)
from ofa_dash.hardware.latency import LatencyTable
from ofa_dash.hardware.profile_build import ProfilePlan, plan_profile
from ofa_dash.hardware.profile_format import load_profile
from ofa_dash.space import get_space
from ofa_dash.testing.demo import _work_entries
from ofa_dash.ui.browser_profile import browser_settings, quality_note, save_browser_profile

CIFAR = get_space("cifar10")
OVERHEAD_MS = 0.03


@pytest.fixture(scope="module")
def plan() -> ProfilePlan:
    return plan_profile(CIFAR, 6, 8, seed=3)


def _manifest_models(plan: ProfilePlan) -> dict:
    return {
        "overhead": {"file": "null.onnx", "shape": [1, 1, 1, 1]},
        "layers": [{"key": k, "file": f"l{i}.onnx", "shape": [1, *s.input_shape]} for i, (k, s) in enumerate(plan.layers.items())],
        "subnets": [
            {"arch": p.arch, "split": p.split, "genome": list(p.genome), "file": f"s{i}.onnx", "shape": [1, 3, p.resolution, p.resolution]}
            for i, p in enumerate(plan.subnets)
        ],
    }


def _manifest(plan: ProfilePlan, settings: BrowserSettings | None = None) -> dict:
    return make_manifest(CIFAR, settings or BrowserSettings("b", 6, 8, seed=3), _manifest_models(plan))


def _answer(manifest: dict, seed: int = 0) -> dict:
    """What profiler.js would post for a device whose whole-subnet time is 1.3 x the layer sum + 0.2 ms (2 % noise)."""
    work = {k: t.ms for e in _work_entries(CIFAR, 1.0).values() for k, t in e.items()}
    table = LatencyTable(CIFAR, "truth", {r: {k: t.ms for k, t in e.items()} for r, e in _work_entries(CIFAR, 1.0).items()})
    rng = np.random.default_rng(seed)
    genomes = np.array([s["genome"] for s in manifest["subnets"]])
    measured = (table.layer_sum(genomes) * 1.3 + 0.2) * (1 + 0.02 * rng.standard_normal(len(genomes)))
    return {
        "plan_id": manifest["plan_id"],
        "runtime_version": "1.31.1",
        "user_agent": "Mozilla/5.0 (test) HeadlessChrome/1.0",
        "platform": "Linux",
        "hardware_concurrency": 8,
        "cross_origin_isolated": False,
        "seconds": 12.5,
        "phase_seconds": {"overhead": 0.5, "layers": 10.0, "subnets": 2.0},
        "overhead": {"median_ms": OVERHEAD_MS, "spread_ms": 0.001, "n": 400},
        "layers": {e["key"]: {"median_ms": work[e["key"]] + OVERHEAD_MS, "spread_ms": 0.001, "n": 200} for e in manifest["layers"]},
        "subnets": [{"arch": s["arch"], "median_ms": float(m), "spread_ms": 0.01, "n": 90} for s, m in zip(manifest["subnets"], measured, strict=True)],
    }


def test_an_answer_becomes_a_profile_through_the_shared_builder(plan, tmp_path):
    manifest = _manifest(plan)
    profile = profile_from_result(CIFAR, "my-phone", manifest, _answer(manifest))
    # the overhead is subtracted from every layer entry, exactly as for profiles timed here
    key, spec_ms = next(iter(profile.entries[32].items()))
    work = {k: t.ms for e in _work_entries(CIFAR, 1.0).values() for k, t in e.items()}
    assert math.isclose(spec_ms.ms, work[key], rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(profile.correction.scale, 1.3, rel_tol=0.1)
    q = profile.quality
    assert q["n_validation"] == 8 and q["kendall_tau"] > 0.8 and q["mape"] < 5
    assert profile.meta["runtime_name"] == "wasm" and profile.meta["n_subnets"] == {"calibration": 6, "validation": 8, "extreme": 2}
    assert profile.meta["machine"]["logical_cores"] == 8 and "HeadlessChrome" in profile.meta["machine"]["user_agent"]
    assert profile.meta["call_overhead_ms"] == OVERHEAD_MS
    path = save_browser_profile(CIFAR, tmp_path, "my-phone", manifest, _answer(manifest), may_replace=False).path
    loaded = load_profile(path, CIFAR)  # the file passes every check a shipped profile passes
    assert loaded.quality["kendall_tau"] == pytest.approx(q["kendall_tau"])


@pytest.mark.parametrize(
    "spoil, words",
    [
        (lambda a: a.update(plan_id="other"), "another plan"),
        (lambda a: a["layers"].pop(next(iter(a["layers"]))), "missing"),
        (lambda a: a["layers"].update({"made-up": {"median_ms": 1.0, "spread_ms": 0.0, "n": 1}}), "unknown"),
        (lambda a: a["overhead"].update(median_ms=float("nan")), "finite"),
        (lambda a: a["subnets"][0].update(median_ms=0), "> 0"),
        (lambda a: a["subnets"][1].update(arch="someone-else"), "is not subnet"),
        (lambda a: a["subnets"].pop(), "list of"),
        (lambda a: a["layers"][next(iter(a["layers"]))].update(n="many"), "positive integer"),
        (lambda a: a.update(error="WebAssembly is disabled"), "could not finish"),
    ],
)
def test_a_bad_answer_is_refused_and_nothing_is_written(plan, tmp_path, spoil, words):
    manifest = _manifest(plan)
    answer = _answer(manifest)
    spoil(answer)
    with pytest.raises(ValueError, match=words):
        save_browser_profile(CIFAR, tmp_path, "my-phone", manifest, answer, may_replace=False)
    assert not list(tmp_path.rglob("*.json"))


def test_not_an_object_and_an_existing_device_are_refused(plan, tmp_path):
    manifest = _manifest(plan)
    with pytest.raises(ValueError, match="not an object"):
        timings_from_result(manifest, ["a", "list"])
    save_browser_profile(CIFAR, tmp_path, "phone", manifest, _answer(manifest), may_replace=False)
    with pytest.raises(ValueError, match="already exists"):
        save_browser_profile(CIFAR, tmp_path, "phone", manifest, _answer(manifest, seed=1), may_replace=False)
    save_browser_profile(CIFAR, tmp_path, "phone", manifest, _answer(manifest, seed=1), may_replace=True)


@pytest.mark.parametrize("name, words", [("", "name the device"), ("note10", "reserved"), ("My Phone", "must be 1-40 characters")])
def test_device_names_are_checked(name, words):
    with pytest.raises(ValueError, match=words):
        browser_settings(name, 40, 60, quick=False)


def test_settings_choose_the_policy_and_the_plan_id_follows_them(plan):
    quick = browser_settings("x", 6, 8, quick=True)
    assert quick.layer_policy == QUICK_POLICY
    assert (
        _manifest(plan, BrowserSettings("x", 6, 8, seed=3))["plan_id"] != _manifest(plan, BrowserSettings("x", 6, 8, 3, QUICK_POLICY, QUICK_POLICY))["plan_id"]
    )


def test_projection_scales_the_trial_per_model():
    manifest = {"layers": [{}] * 10, "subnets": [{}] * 2}
    trial = {"phase_seconds": {"overhead": 1.0, "layers": 5.0, "subnets": 4.0}}
    assert project_seconds(trial, manifest, 100, 20) == pytest.approx(1.0 + 0.5 * 100 + 2.0 * 20)
    assert project_seconds(trial, manifest, 100, 20, {"layers": 1.0, "subnets": 2.0}) == pytest.approx(91.0 + 0.1 * 100 + 1.0 * 20)


def test_model_files_are_named_by_content_and_reused(tmp_path):
    full = plan_profile(CIFAR, 2, 2, seed=0)
    small = ProfilePlan(full.space, dict(list(full.layers.items())[:2]), full.subnets[:1], full.seed)
    models = write_plan_models(CIFAR, small, tmp_path)
    files = sorted(p.name for p in tmp_path.glob("*.onnx"))
    planned = {models["overhead"]["file"], *(e["file"] for e in models["layers"]), models["subnets"][0]["file"], models["anchor"]["file"]}
    assert len(planned) == 5 and files == sorted(planned)
    smallest = CIFAR.smallest()
    assert models["anchor"]["arch"] == smallest.id and models["anchor"]["shape"] == [1, 3, smallest.r, smallest.r]
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.onnx")}
    assert write_plan_models(CIFAR, small, tmp_path) == models
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.onnx")} == stamps
    graph = onnx.load(tmp_path / models["subnets"][0]["file"]).graph
    assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == models["subnets"][0]["shape"]


def test_a_profile_below_the_bar_says_so_and_why():
    assert quality_note({"kendall_tau": 0.9, "mape": 4.0}, quick=False) is None
    assert "quick check" in quality_note({"kendall_tau": 0.9, "mape": 40.0}, quick=True)
    assert "busy" in quality_note({"kendall_tau": 0.5, "mape": 4.0}, quick=False)
    assert quality_note({"kendall_tau": None, "mape": None}, quick=False) is not None


def test_webgpu_is_a_separate_device_with_its_gpu_recorded(plan):
    manifest = _manifest(plan, BrowserSettings("b-gpu", 6, 8, seed=3, backend="webgpu"))
    assert manifest["plan_id"] != _manifest(plan)["plan_id"]
    answer = {**_answer(manifest), "backend": "webgpu", "gpu": "apple metal-3 Apple M2"}
    profile = profile_from_result(CIFAR, "b-gpu", manifest, answer)
    assert profile.meta["runtime"] == "onnxruntime-web (WebGPU)" and profile.meta["runtime_name"] == "webgpu"
    assert "GPU: apple metal-3 Apple M2" in profile.meta["hardware"] and profile.meta["machine"]["gpu"] == "apple metal-3 Apple M2"
    with pytest.raises(ValueError, match="another plan"):
        timings_from_result(manifest, {**answer, "backend": "wasm"})
    with pytest.raises(ValueError, match="unknown browser backend"):
        BrowserSettings("x", backend="webgl")


def test_the_clock_the_browser_timed_on_is_recorded(plan):
    manifest = _manifest(plan)
    wall = profile_from_result(CIFAR, "b", manifest, _answer(manifest))
    assert wall.meta["clock"].startswith("performance.now()")
    cpu = profile_from_result(CIFAR, "b", manifest, {**_answer(manifest), "clock": "cpu"})
    assert "CPU time of the browser renderer's main thread" in cpu.meta["clock"]
    # anything else a visitor posts reads as the wall clock
    assert profile_from_result(CIFAR, "b", manifest, {**_answer(manifest), "clock": "sundial"}).meta["clock"] == wall.meta["clock"]


def test_an_anchored_answer_is_recorded_and_a_bogus_anchor_is_not(plan):
    anchor = {"arch": CIFAR.smallest().id, "file": "anchor.onnx", "shape": [1, 3, 24, 24]}
    manifest = make_manifest(CIFAR, BrowserSettings("b", 6, 8, seed=3), {**_manifest_models(plan), "anchor": anchor})
    assert manifest["anchor"] == anchor and manifest["plan_id"] != _manifest(plan)["plan_id"]
    told = {"arch": anchor["arch"], "reference_ms": 0.31, "rounds": 540, "runs_per_round": 70}
    profile = profile_from_result(CIFAR, "b", manifest, {**_answer(manifest), "anchor": told})
    assert profile.meta["anchor"]["arch"] == anchor["arch"] and profile.meta["anchor"]["reference_ms"] == 0.31
    assert "relative to the anchor" in profile.meta["statistic"]
    for bogus in ({**told, "arch": "zz"}, {**told, "reference_ms": -1.0}, {**told, "rounds": True}, "yes", None):
        meta = profile_from_result(CIFAR, "b", manifest, {**_answer(manifest), "anchor": bogus}).meta
        assert meta["anchor"] is None and "relative to the anchor" not in meta["statistic"], bogus
    # a plan without an anchor ignores one in the answer; WebGPU plans are never anchored
    assert profile_from_result(CIFAR, "b", _manifest(plan), {**_answer(_manifest(plan)), "anchor": told}).meta["anchor"] is None
    gpu = make_manifest(CIFAR, BrowserSettings("g", 6, 8, seed=3, backend="webgpu"), {**_manifest_models(plan), "anchor": anchor})
    assert "anchor" not in gpu


def _fake_process(proc, pid: int, parent: int, cmdline: bytes, resident_pages: int, cpu_ns: int) -> None:
    d = proc / str(pid)
    (d / "task" / str(pid)).mkdir(parents=True, exist_ok=True)
    (d / "stat").write_text(f"{pid} (chromium) S {parent} 1 1 0 -1")
    (d / "cmdline").write_bytes(cmdline)
    (d / "statm").write_text(f"100000 {resident_pages} 10 1 0 5 0")
    (d / "task" / str(pid) / "schedstat").write_text(f"{cpu_ns} 0 1")


def test_the_cpu_clock_follows_the_renderer_whose_memory_grew(tmp_path):
    import os

    from ofa_dash.hardware.browser_headless import RendererCpuClock

    me = os.getpid()
    proc = tmp_path
    _fake_process(proc, me, 1, b"python", 10, 0)
    _fake_process(proc, 500, me, b"node\0driver", 10, 0)
    _fake_process(proc, 501, 500, b"/usr/lib/chromium/chromium\0--headless", 10, 0)
    _fake_process(proc, 502, 501, b"/usr/lib/chromium/chromium --type=renderer --busy-one", 1000, 7_000_000)
    _fake_process(proc, 503, 501, b"/usr/lib/chromium/chromium --type=renderer --the-page", 1000, 3_000_000)
    _fake_process(proc, 900, 1, b"/usr/lib/chromium/chromium --type=renderer --someone-elses", 1000, 9_000_000)
    clock = RendererCpuClock(proc)
    assert RendererCpuClock.available(proc) and clock.renderers() == [502, 503]  # not another browser's renderer
    assert clock() == 0  # the first read only notes the renderers
    pages = 256 * 1024 * 1024 // os.sysconf("SC_PAGE_SIZE")
    _fake_process(proc, 503, 501, b"/usr/lib/chromium/chromium --type=renderer --the-page", 1000 + pages, 3_500_000)
    _fake_process(proc, 502, 501, b"/usr/lib/chromium/chromium --type=renderer --busy-one", 1200, 9_000_000)
    assert clock() == 3_500_000 and clock.pid == 503
    (proc / "503" / "task" / "503" / "schedstat").write_text("4500000 0 2")
    assert clock() == 4_500_000
