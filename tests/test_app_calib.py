"""The Subnet page without a dataset: downloads are offered when the space ships a calibration sample, explained when it does not."""

from __future__ import annotations

import pytest
from apptest_helpers import _ok, _page
from streamlit.testing.v1 import AppTest

from ofa_dash.calibration import shipped_sample_path, write_sample
from ofa_dash.data import load_dataset
from ofa_dash.export import FORMATS

SUBNET = "0000000000000000"


@pytest.fixture
def no_data(env, tmp_path, monkeypatch):
    """A private copy of the demo root, no dataset, no OFA files."""
    monkeypatch.setenv("OFA_DASH_DATA", str(tmp_path / "no-data"))
    return env


def _subnet_page() -> AppTest:
    at = _page("subnet")
    at.query_params["subnet"] = SUBNET
    at.run()
    _ok(at)
    return at


def _download_labels(at: AppTest) -> list[str]:
    """The export offers: a "Build <format>" button per format not built yet, a download button per built one."""
    return [b.label for b in at.get("download_button")] + [b.label.removeprefix("Build ") for b in at.button if b.label.startswith("Build ")]


def test_without_dataset_the_shipped_sample_makes_downloads_available(no_data, demo):
    write_sample(load_dataset(demo[1]), shipped_sample_path("cifar10", no_data))
    at = _subnet_page()
    assert _download_labels(at) == [spec.label for spec in FORMATS.values() if spec.on_page]  # the two-file OpenVINO IR is CLI-only
    assert any("shipped calibration sample" in c.value for c in at.caption)
    assert not [b for b in at.button if b.label == "Validate now"]  # validation still needs the test images


def test_without_dataset_or_sample_downloads_are_explained(no_data):
    at = _subnet_page()
    assert _download_labels(at) == []
    assert any("Exports need the supernet and calibration images" in c.value for c in at.caption)
