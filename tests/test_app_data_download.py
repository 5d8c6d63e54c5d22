"""The Subnet page's CIFAR-10 download button (single-user mode) against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import pytest
from apptest_helpers import _ok, _page
from streamlit.testing.v1 import AppTest
from test_download_data import SHA256, server  # noqa: F401 - the archive server fixture, shared with the CLI's tests

from ofa_dash.data import CIFAR10_ARCHIVE
from ofa_dash.ui import jobs
from ofa_dash.ui.data_download import JOB_KEY

SUBNET = "0000000000000000"


@pytest.fixture
def no_data(env, tmp_path, monkeypatch, server):  # noqa: F811 - the fixture imported above
    """The demo root without a dataset; the server's mirror set to the local archive server."""
    dest = tmp_path / "cifar10-here"
    monkeypatch.setenv("OFA_DASH_DATA", str(dest))
    monkeypatch.setenv("OFA_DASH_CIFAR10_URL", f"{server}/good.tar.gz")
    monkeypatch.setenv("OFA_DASH_CIFAR10_CHECKSUM", SHA256)
    return dest


def _subnet_page() -> AppTest:
    at = _page("subnet")
    at.query_params["subnet"] = SUBNET
    at.run()
    _ok(at)
    return at


def _download_button(at: AppTest):
    return next((b for b in at.button if b.label.startswith("Download CIFAR-10")), None)


def _finish(at: AppTest) -> jobs.Job:
    job = jobs.get_job(at.session_state[JOB_KEY])
    job.thread.join(timeout=60)
    assert not job.running
    at.run()
    _ok(at)
    return job


def test_single_user_mode_downloads_and_then_validates(no_data, monkeypatch):
    monkeypatch.setenv("OFA_DASH_LOCAL", "1")
    at = _subnet_page()
    assert not [b for b in at.button if b.label == "Validate now"]
    button = _download_button(at)
    assert button is not None and "cifar10-here" in button.label
    button.click().run()
    _ok(at)
    job = _finish(at)
    assert job.error is None and (no_data / CIFAR10_ARCHIVE).is_file()
    at.run()  # the page reads the downloaded dataset now
    _ok(at)
    assert [b for b in at.button if b.label == "Validate now"] and _download_button(at) is None


def test_a_damaged_download_says_so_and_keeps_nothing(no_data, monkeypatch, server):  # noqa: F811
    monkeypatch.setenv("OFA_DASH_LOCAL", "1")
    monkeypatch.setenv("OFA_DASH_CIFAR10_URL", f"{server}/corrupt.tar.gz")
    at = _subnet_page()
    _download_button(at).click().run()
    job = _finish(at)
    assert job.error and "failed its sha256 check" in job.error
    assert any("Download failed" in e.value for e in at.error), ([e.value for e in at.error], [w.value for w in at.warning], [i.value for i in at.info])
    assert not no_data.exists() or not any(no_data.iterdir())
    assert _download_button(at) is not None  # a second try is offered


def test_shared_mode_shows_the_command_but_no_button(no_data, monkeypatch):
    monkeypatch.delenv("OFA_DASH_LOCAL", raising=False)
    at = _subnet_page()
    assert _download_button(at) is None
    assert any("download-data cifar10" in i.value for i in at.info)


def test_the_downloaded_folder_is_read_when_nothing_else_is_set(tmp_path, monkeypatch):
    from ofa_dash.ui import config

    monkeypatch.setattr(config, "DEFAULT_DATA", tmp_path / "no-shared-datasets")
    monkeypatch.setattr(config, "DOWNLOAD_DATA_DIR", tmp_path / "data" / "cifar10")
    assert (
        config.resolve_settings(environ={}).data is None and config.data_download_target(config.resolve_settings(environ={})) == tmp_path / "data" / "cifar10"
    )
    (tmp_path / "data" / "cifar10").mkdir(parents=True)
    assert config.resolve_settings(environ={}).data == (tmp_path / "data" / "cifar10").resolve()
    assert config.resolve_settings(environ={"OFA_DASH_DATA": str(tmp_path / "elsewhere")}).data is None  # what the server was told wins
