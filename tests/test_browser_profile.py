"""Profile a browser, end to end in real Chromium: the page times cifar10's layers and a few subnets with onnxruntime-web
(served by the dashboard), the server builds the profile through the shared builder, and the new device is in
``report --json`` with its held-out tau and MAPE, and in the Fronts page's sidebar without a restart.

Quick timing (a few runs per model) and 4 + 6 subnets keep it short; the figures are not judged here, the flow is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

from browser_helpers import BROWSER

from ofa_dash.cli import main
from ofa_dash.hardware.profile_format import load_profile
from ofa_dash.space import get_space
from ofa_dash.testing import browser as bh
from tests.conftest import ROOT

pytestmark = BROWSER
NAME = "test-chromium"


def test_the_browser_profile_is_built_saved_and_reported(browser, demo_app, monkeypatch, capsys):
    page = browser.new_page(viewport=bh.VIEWPORT)
    page.goto(f"{demo_app.base}/browser_profile?space=cifar10")
    bh.wait_ready(page, "Profile a browser")
    page.get_by_label("device name", exact=True).fill(NAME)
    page.get_by_text("how much to measure").click()
    page.get_by_label("calibration subnets", exact=True).fill("4")
    page.get_by_label("validation subnets", exact=True).fill("6")
    page.get_by_text("quick check").click()
    page.get_by_role("button", name="Start").click()
    frame = page.frame_locator("iframe[title*='browser_profiler']")
    frame.get_by_test_id("browser-profile-status").get_by_text("Timed").wait_for(timeout=300_000)  # the browser is timing
    # the dashboard itself serves onnxruntime-web, its .wasm as application/wasm (streaming instantiation)
    wasm = f"{demo_app.base}/component/ofa_dash.ui.browser_profile.browser_profiler/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm"
    with urllib.request.urlopen(wasm) as response:
        assert response.headers["Content-Type"] == "application/wasm"
    page.get_by_text(f"Saved device {NAME}").wait_for(timeout=300_000)

    monkeypatch.setenv("OFA_DASH_PRECOMPUTED", str(demo_app.root))
    capsys.readouterr()
    assert main(["report", "--space", "cifar10", "--json"]) == 0  # `python -m ofa_dash report --json`, in this process
    device = json.loads(capsys.readouterr().out)["devices"][NAME]
    assert device["n_validation"] == 6
    assert -1.0 <= device["kendall_tau"] <= 1.0
    assert device["mape"] > 0
    assert "onnxruntime-web" in device["runtime"]
    assert device["machine"]["logical_cores"] and "HeadlessChrome" in device["machine"]["user_agent"]
    # every model was timed next to the anchor subnet (web/profiler.js), and the profile says so
    saved = load_profile(demo_app.root / "cifar10" / "devices" / f"{NAME}.json", get_space("cifar10"))
    assert saved.meta["anchor"]["arch"] == get_space("cifar10").smallest().id and saved.meta["anchor"]["reference_ms"] > 0
    assert saved.meta["anchor"]["rounds"] > len(saved.measurements)  # at least one anchor round per model round

    # the Fronts page lists the new device without a restart
    page.get_by_role("link", name="See it on the Fronts page").click()
    bh.wait_ready(page, "Fronts")
    page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").first.click()
    page.get_by_role("option", name=NAME).wait_for(timeout=60_000)
    page.close()


def test_the_headless_command_projects_a_full_run_from_a_trial(tmp_path):
    env = {**os.environ, "OFA_DASH_PRECOMPUTED": str(tmp_path / "precomputed"), "OFA_DASH_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "ofa_dash", "profile-browser", "--space", "cifar10", "--trial", "3", "--quick", "--json", "--quiet"]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    trial = json.loads(out.stdout)
    assert trial["trial_layers"] == 3 and trial["layers_in_space"] == 255 and trial["subnets_in_full_run"] == 102
    assert trial["projected_full_minutes"] > 0 and trial["runtime_version"] == "1.31.1"
    assert not (tmp_path / "precomputed").exists()  # a trial saves nothing


def test_the_headless_command_refuses_a_reserved_name_before_timing(tmp_path):
    env = {**os.environ, "OFA_DASH_PRECOMPUTED": str(tmp_path / "precomputed"), "OFA_DASH_CACHE": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-m", "ofa_dash", "profile-browser", "--name", "note10"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 2 and "reserved" in out.stderr
    assert not (tmp_path / "cache").exists()


def test_webgpu_runs_the_same_profiler_on_chromiums_software_gpu(browser, tmp_path):
    """WebGPU is a separate backend of the same profiler: on this GPU-less machine Chromium offers SwiftShader, which is
    enough to check that onnxruntime-web's WebGPU build loads and times a model (a subnet there takes seconds, so only a layer)."""
    from ofa_dash.hardware.browser import QUICK_POLICY, BrowserSettings, make_manifest, timings_from_result, write_plan_models
    from ofa_dash.hardware.browser_headless import run_headless
    from ofa_dash.hardware.profile_build import ProfilePlan, plan_profile

    space = get_space("cifar10")
    full = plan_profile(space, 2, 2)
    plan = ProfilePlan(full.space, dict(list(full.layers.items())[:1]), [], full.seed)
    manifest = make_manifest(space, BrowserSettings("gpu", 2, 2, 0, QUICK_POLICY, QUICK_POLICY, "webgpu"), write_plan_models(space, plan, tmp_path))
    answer = run_headless(manifest, tmp_path, browser_type=browser.browser_type)  # the module's Playwright, another Chromium with WebGPU on
    assert answer["backend"] == "webgpu" and "swiftshader" in answer["gpu"].lower()
    timings = timings_from_result(manifest, answer)
    assert len(timings.layers) == 1 and timings.overhead.n >= 3
