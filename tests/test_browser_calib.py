"""A fresh clone without the dataset, in real Chromium: the Subnet page downloads an int8 model calibrated on the shipped sample.

The server runs on a synthetic precomputed root (as ``tests/test_browser.py``)
with a calibration sample and no dataset at all: the download must work, carry
its calibration and its measured comparison with fp32, and the page must then
say how int8 compares next to the int8 button.
"""

from __future__ import annotations

import json
import shutil

import pytest
from browser_helpers import BROWSER, build_and_download

from ofa_dash.calibration import shipped_sample_path, write_sample
from ofa_dash.data import load_dataset
from ofa_dash.runtime.onnx import read_metadata
from ofa_dash.testing import browser as bh

pytestmark = BROWSER
SUBNET = "0000000000000000"


@pytest.fixture(scope="module")
def fresh_clone_app(demo, tmp_path_factory):
    work = tmp_path_factory.mktemp("browser-calib")
    root = shutil.copytree(demo[0], work / "precomputed")
    sample = write_sample(load_dataset(demo[1]), shipped_sample_path("cifar10", root))
    env = {"OFA_DASH_PRECOMPUTED": str(root), "OFA_DASH_DATA": str(work / "no-dataset"), "OFA_DASH_OFFICIAL": str(work / "no-official-files")}
    with bh.streamlit_server(env, log=work / "streamlit.log") as base:
        yield base, sample


def test_int8_download_without_dataset_is_calibrated_and_states_its_speed(fresh_clone_app, tmp_path):
    from playwright.sync_api import sync_playwright

    base, sample = fresh_clone_app
    with sync_playwright() as p:
        browser = bh.launch(p)
        page = browser.new_page(viewport=bh.VIEWPORT, accept_downloads=True)
        page.goto(f"{base}/subnet?subnet={SUBNET}")
        bh.wait_ready(page, "Subnet")
        page.get_by_text("shipped calibration sample").first.wait_for(timeout=60_000)
        model = build_and_download(page, "int8 ONNX", tmp_path / "model-int8.onnx")  # built and verified in the background
        meta = read_metadata(model)
        prov = json.loads(meta["ofa_dash.config"])["provenance"]
        assert prov["bn_recalibrated"] is True and prov["calibration_fingerprint"] == sample.fingerprint
        verdict = json.loads(meta["int8_vs_fp32"])
        assert verdict["fp32_ms"] > 0 and verdict["int8_ms"] > 0 and "BN calibration images" in verdict["drop_measured_on"]
        # a rerun finds the cached file: the note beside the int8 button is the export's measurement
        page.reload()
        bh.wait_ready(page, "Subnet")
        page.get_by_text("measured by the export").first.wait_for(timeout=60_000)
        browser.close()
