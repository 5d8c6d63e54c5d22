"""The dashboard in real Chromium (Debian's package driven by Playwright): brush, open, validate, download.

Runs ``streamlit run app.py`` in a subprocess on a synthetic precomputed root
built in a temporary folder (untrained cifar10 supernet, synthetic device
tables and predictor, three tiny stored runs, a ten-class image folder), so
it needs neither ``precomputed/`` nor ``../shared``. With
``OFA_DASH_SCREENSHOTS=1`` it also writes the README's screenshots to
``docs/screenshots/`` from the shipped results of both spaces (when present).
"""

from __future__ import annotations

import os
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from browser_helpers import BROWSER, build_and_download

from ofa_dash.testing import browser as bh
from ofa_dash.ui.catalogue import build_catalogue, with_accuracy
from ofa_dash.ui.config import REPO

pytestmark = BROWSER
SHOTS = os.environ.get("OFA_DASH_SCREENSHOTS") == "1"
SHOT_DIR = REPO / "docs" / "screenshots"


def _shot(page, name: str) -> None:
    if SHOTS:
        SHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOT_DIR / f"{name}.png"))


def test_brush_open_validate_and_download_onnx(browser, demo_app, tmp_path):
    base, root = demo_app
    page = browser.new_page(viewport=bh.VIEWPORT, accept_downloads=True)
    page.goto(base)
    bh.wait_ready(page, "Fronts")
    page.wait_for_selector("[data-testid='stPlotlyChart'] .js-plotly-plot", timeout=120_000)
    _shot(page, "demo-fronts")

    # box-select the left part of the front; the table lists exactly the subnets inside the box
    xr, yr = bh.box_select(page, 0.05, 0.55)
    page.get_by_text(re.compile(r"Selected subnets \(\d+\)")).wait_for(timeout=60_000)
    bh.wait_ready(page, "Fronts")
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download selection (CSV)").click()
    csv = tmp_path / "selection.csv"
    dl.value.save_as(csv)
    table = pd.read_csv(csv, dtype={"id": str})
    points = with_accuracy(build_catalogue(root, "cifar10", sets=("archive",)).points)
    inside = points[points["latency:demo-cpu"].between(*xr) & points["top1"].between(*yr)]
    assert len(table) > 1
    assert table["id"].is_unique and set(table["id"]) == set(inside["id"])
    assert table["runs"].sum() == len(inside)  # every run's copy is accounted for
    count = int(re.search(r"\((\d+)\)", page.get_by_text(re.compile(r"Selected subnets \(\d+\)")).inner_text())[1])
    assert count == len(table)

    # open one subnet: a small box around a single point selects exactly one subnet
    page.goto(base)
    bh.wait_ready(page, "Fronts")
    page.locator("[data-testid='stPlotlyChart']").first.scroll_into_view_if_needed()
    target = bh.isolated_point(page)
    assert target is not None
    bh.box_around(page, target["x"], target["y"])
    bh.wait_ready(page, "Subnet")
    subnet = re.search(r"subnet=([0-9a-z]+)", page.url)[1]
    assert subnet in set(points["id"])

    # quick live validation
    page.get_by_role("button", name="Validate now").click()
    page.get_by_text("Recorded: the measured figures").wait_for(timeout=300_000)
    # the page reruns once the job finishes: wait for the metrics of that rerun rather than reading mid-redraw
    page.get_by_test_id("stMetricLabel").filter(has_text="latency here").first.wait_for(timeout=60_000)
    bh.wait_ready(page, "Subnet")
    labels = page.get_by_test_id("stMetricLabel").all_inner_texts()
    assert "measured top-1" in labels and "latency here" in labels
    if SHOTS:
        page.set_viewport_size({"width": 1500, "height": 2300})
        page.wait_for_timeout(2000)
        _shot(page, "demo-subnet-validated")

    # build the ONNX file in the background (its steps are shown), then download it and run it
    model = build_and_download(page, "ONNX (fp32)", tmp_path / "model.onnx")
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    logits = session.run(None, {inp.name: np.random.default_rng(0).random(shape, dtype=np.float32)})[0]
    assert logits.shape == (1, 10) and np.isfinite(logits).all()
    page.close()


@pytest.mark.skipif(not SHOTS, reason="screenshots only when OFA_DASH_SCREENSHOTS=1 (they rewrite tracked files)")
def test_screenshots_of_the_shipped_results(browser, tmp_path):
    """README screenshots from the shipped results: the cifar10 flagship (with a real quick validation) and OFA's space.

    The precomputed root is copied first, so the validation is recorded in the copy, not in the repository.
    """
    official = REPO.parent / "shared" / "ofa-official"
    data = REPO.parent / "shared" / "datasets" / "cifar10-jpeg"
    needed = [REPO / "precomputed" / s / "runs" / "manifest.json" for s in ("cifar10", "ofa-mbv3-w1.2")]
    if not (official.is_dir() and data.is_dir() and all(p.is_file() for p in needed)):
        pytest.skip("needs the shipped runs of both spaces, ../shared/ofa-official and ../shared/datasets/cifar10-jpeg")
    root = shutil.copytree(REPO / "precomputed", tmp_path / "precomputed")
    env = {"OFA_DASH_PRECOMPUTED": str(root), "OFA_DASH_OFFICIAL": str(official), "OFA_DASH_DATA": str(data)}
    with bh.streamlit_server(env, log=tmp_path / "streamlit.log") as base:
        # what a projector shows: 1280x720, as the page opens and in presentation mode
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        for name, query in (("fronts-720", "space=cifar10&device=cpu-ort"), ("fronts-720-present", "space=cifar10&device=cpu-ort&present=1")):
            page.goto(base + "/?" + query)
            bh.wait_ready(page, "Fronts")
            page.wait_for_selector("[data-testid='stPlotlyChart'] .js-plotly-plot", timeout=120_000)
            page.wait_for_timeout(1500)
            _shot(page, name)
        page.goto(base + "/story?space=cifar10")
        bh.wait_ready(page, "Story")
        page.wait_for_timeout(2500)
        if SHOTS:
            page.screenshot(path=str(SHOT_DIR / "story.png"), full_page=True)
        page.close()

        page = browser.new_page(viewport={"width": 1500, "height": 1900})
        for name, query in (("fronts", "space=cifar10&device=cpu-ort"), ("fronts-ofa", "space=ofa-mbv3-w1.2&device=note10")):
            page.goto(base + "/?" + query)
            bh.wait_ready(page, "Fronts")
            page.wait_for_selector("[data-testid='stPlotlyChart'] .js-plotly-plot", timeout=120_000)
            bh.box_select(page, 0.12, 0.42)
            page.get_by_text(re.compile(r"Selected subnets \(\d+\)")).wait_for(timeout=60_000)
            bh.wait_ready(page, "Fronts")
            page.wait_for_timeout(1500)
            _shot(page, name)

        first = build_catalogue(root, "cifar10", sets=("archive",)).points
        mid = first.sort_values("top1_pred").iloc[len(first) // 2]["id"]
        page.goto(base + f"/subnet?space=cifar10&device=cpu-ort&subnet={mid}")
        bh.wait_ready(page, "Subnet")
        page.get_by_role("button", name="Validate now").click()
        page.get_by_text("Recorded: the measured figures").wait_for(timeout=300_000)
        page.set_viewport_size({"width": 1500, "height": 2300})
        page.wait_for_timeout(2000)
        _shot(page, "subnet")

        page.set_viewport_size({"width": 1500, "height": 1900})
        page.goto(base + "/search?space=ofa-mbv3-w1.2&device=note10")
        bh.wait_ready(page, "Search")
        page.get_by_role("tab", name="Compare algorithms").click()
        page.wait_for_selector("[data-testid='stPlotlyChart'] .js-plotly-plot", timeout=120_000)
        page.wait_for_timeout(1500)
        _shot(page, "search")
        page.goto(base + "/devices?space=cifar10")
        bh.wait_ready(page, "Devices & predictors")
        page.wait_for_timeout(1500)
        _shot(page, "devices")
        page.close()
    assert all((SHOT_DIR / f"{n}.png").is_file() for n in ("fronts-720", "fronts-720-present", "story", "fronts", "fronts-ofa", "subnet", "search", "devices"))
