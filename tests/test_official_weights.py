"""OFA's published checkpoints as the official spaces' weights: found in an OFA files folder, fetched by ``download-official --weights``.

Where the weights of a space are is decided in one place (``subnets.resolve_supernet_path``
over ``workspace.supernet_candidates``): ``--supernet FILE``, then ``<official>/<published
name>`` (``--official DIR``, else ``OFA_DASH_OFFICIAL``), then ``precomputed/<space>/supernet.pt``.
The checkpoints here are stand-ins in OFA's published layout (``{"state_dict": ...}`` under
OFA's tensor names, see ``checkpoints.ofa_published_state``), built from the project's
supernet with seeded weights: ``test_ofa_published`` checks that layout against OFA's own network.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path

import pytest
import torch

from ofa_dash.checkpoints import ofa_published_state, save_weights
from ofa_dash.cli import main
from ofa_dash.files import file_sha256
from ofa_dash.nn import Supernet
from ofa_dash.space import PUBLISHED_WEIGHTS, get_space
from ofa_dash.subnets import finetuned_folder, load_supernet, resolve_supernet_path
from ofa_dash.ui.config import missing_supernet_message, resolve_settings
from ofa_dash.workspace import ENV_OFFICIAL, ENV_PRECOMPUTED, Workspace

W10 = get_space("ofa-mbv3-w1.0")
W12 = get_space("ofa-mbv3-w1.2")
CIFAR = get_space("cifar10")
NAME = "ofa_mbv3_d234_e346_k357_w1.0"


def _published(space, path: Path, seed: int = 3) -> Path:
    """A checkpoint of ``space`` in OFA's published layout (seeded random weights)."""
    torch.manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": ofa_published_state(Supernet(space))}, path)
    return path


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> Path:
    """A folder laid out like OFA's server: ``ofa_nets/<name>`` (w1.0 good, w1.2 truncated)."""
    root = tmp_path_factory.mktemp("mirror")
    good = _published(W10, root / "ofa_nets" / NAME)
    w12 = _published(W12, root / "ofa_nets" / W12.published_weights)
    w12.write_bytes(w12.read_bytes()[: w12.stat().st_size // 2])  # a damaged file, served with a matching Content-Length
    assert good.is_file()
    return root


@pytest.fixture(scope="module")
def server(mirror):
    """A local HTTP server serving ``mirror`` (the machine is offline): its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # no request lines on stderr, where the command's error goes
            pass

    handler = functools.partial(Quiet, directory=str(mirror))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def places(tmp_path, monkeypatch, mirror):
    """An empty precomputed root and an OFA files folder holding the w1.0 checkpoint; OFA_DASH_OFFICIAL unset."""
    pre = tmp_path / "precomputed"
    pre.mkdir()
    official = tmp_path / "official"
    official.mkdir()
    (official / NAME).write_bytes((mirror / "ofa_nets" / NAME).read_bytes())
    monkeypatch.setenv(ENV_PRECOMPUTED, str(pre))
    monkeypatch.delenv(ENV_OFFICIAL, raising=False)
    return pre, official


def test_space_spec_names_the_published_checkpoints():
    assert W10.published_weights == NAME and W12.published_weights == "ofa_mbv3_d234_e346_k357_w1.2"
    assert CIFAR.published_weights is None and get_space("cifar10-v2").published_weights is None
    assert {NAME: W10, W12.published_weights: W12} == PUBLISHED_WEIGHTS


def test_resolution_order(places, tmp_path, monkeypatch):
    pre, official = places
    shipped = Workspace(pre).space(W10).supernet
    shipped.parent.mkdir(parents=True)
    save_weights(Supernet(W10), shipped, {"supernet_version": "w10-here"})
    explicit = _published(W10, tmp_path / "elsewhere" / "mine.pth")
    env_dir = tmp_path / "env-official"
    _published(W10, env_dir / NAME)

    assert resolve_supernet_path(W10, explicit, official) == explicit  # an explicit file first
    assert resolve_supernet_path(W10, None, official) == official / NAME  # then --official DIR
    assert resolve_supernet_path(W10, None) == shipped  # nothing set: the precomputed folder
    monkeypatch.setenv(ENV_OFFICIAL, str(env_dir))
    assert resolve_supernet_path(W10, None) == env_dir / NAME  # then OFA_DASH_OFFICIAL
    assert resolve_supernet_path(W10, None, official) == official / NAME  # --official wins over the variable
    (env_dir / NAME).unlink()
    assert resolve_supernet_path(W10, None) == shipped  # not in the folder: the precomputed one
    # a space trained here never looks in OFA's folder
    (official / "supernet.pt").write_bytes(shipped.read_bytes())
    with pytest.raises(FileNotFoundError) as info:
        resolve_supernet_path(CIFAR, None, official)
    assert str(official) not in str(info.value) and "python -m ofa_dash train" in str(info.value)


def test_missing_weights_name_every_place_and_the_fetch_command(places, tmp_path, monkeypatch):
    pre, official = places
    with pytest.raises(FileNotFoundError) as info:
        resolve_supernet_path(W12, None, official)
    message = str(info.value)
    assert "\n" not in message
    for part in (
        str(official / W12.published_weights),
        str(Workspace(pre).space(W12).supernet),
        f"python -m ofa_dash download-official DIR --weights {W12.published_weights}",
        "--official DIR",
    ):
        assert part in message
    monkeypatch.setenv(ENV_OFFICIAL, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=rf"{tmp_path / 'nowhere' / W12.published_weights}"):
        resolve_supernet_path(W12, None)
    monkeypatch.delenv(ENV_OFFICIAL)
    with pytest.raises(FileNotFoundError, match=rf"no --official DIR given and {ENV_OFFICIAL} is not set"):
        resolve_supernet_path(W12, None)


def test_dashboard_settings_use_the_same_order(places):
    pre, official = places
    settings = resolve_settings(official=str(official), environ={ENV_PRECOMPUTED: str(pre)})
    assert settings.supernet_path(W10) == official.resolve() / NAME and settings.has_supernet(W10)
    assert settings.supernet_path("ofa-mbv3-w1.0") == official.resolve() / NAME
    assert not settings.has_supernet(W12)
    message = missing_supernet_message(settings, W12)
    assert f"download-official DIR --weights {W12.published_weights}" in message and W12.published_weights in message
    assert load_supernet(W10, settings.supernet_path(W10)).version == f"ofa-published-{file_sha256(official / NAME)[:12]}"


def test_fine_tuned_weights_of_a_published_checkpoint_live_in_the_workspace(places):
    pre, official = places
    loaded = load_supernet(W10, None, official)
    assert loaded.path == (official / NAME).resolve()
    assert finetuned_folder(loaded).path == Workspace(pre).space(W10).path  # not inside OFA's (maybe shared) folder


# --------------------------------------------------------------------------- the commands
def test_export_takes_the_checkpoint_from_official_dir(places, tmp_path, capsys):
    _, official = places
    out = tmp_path / "w10.onnx"
    argv = ["export", "--space", "ofa-mbv3-w1.0", "--arch", "smallest", "--format", "onnx", "--out", str(out), "--no-calibration", "--threads", "1"]
    assert main([*argv, "--official", str(official), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["provenance"]["supernet_path"] == str((official / NAME).resolve())
    assert result["provenance"]["supernet_version"] == f"ofa-published-{file_sha256(official / NAME)[:12]}"
    assert out.is_file()
    # without --official (and no OFA_DASH_OFFICIAL) there are no weights: said first, nothing written
    out.unlink()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"download-official DIR --weights {NAME}" in err and not out.exists()


def test_validate_and_measure_take_the_checkpoint_from_official_dir(places, tmp_path, monkeypatch, capsys):
    """Validation needs ImageNet images for this space; what is checked is which file reaches it."""
    import ofa_dash.measure
    import ofa_dash.validation

    _, official = places
    seen = {}

    def stop(name):
        def fake(*args, **kwargs):
            seen[name] = Path(kwargs.get("supernet_path") or args[0].supernet_path)
            raise ValueError("stopped by the test")

        return fake

    monkeypatch.setattr(ofa_dash.validation, "validate_subnet", stop("validate"))
    monkeypatch.setattr(ofa_dash.measure, "run_measurement", stop("measure"))
    assert main(["validate", "--space", "ofa-mbv3-w1.0", "--arch", "largest", "--data", str(tmp_path), "--official", str(official)]) == 2
    monkeypatch.setenv(ENV_OFFICIAL, str(official))
    assert main(["measure", "--space", "ofa-mbv3-w1.0", "--n", "1", "--data", str(tmp_path), "--out", str(tmp_path / "m.parquet")]) == 2
    assert seen == {"validate": official / NAME, "measure": official / NAME}
    monkeypatch.delenv(ENV_OFFICIAL)
    assert main(["finetune", "--space", "ofa-mbv3-w1.2", "--arch", "largest", "--epochs", "1", "--official", str(official)]) == 2
    assert f"--weights {W12.published_weights}" in capsys.readouterr().err


# --------------------------------------------------------------------------- download-official --weights
def test_download_weights_from_a_mirror(server, mirror, tmp_path, capsys):
    dest = tmp_path / "ofa"
    assert main(["download-official", str(dest), "--weights", NAME, "--base-url", server, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["files"] == {NAME: "downloaded"}
    assert (dest / NAME).read_bytes() == (mirror / "ofa_nets" / NAME).read_bytes()
    assert sorted(p.name for p in dest.iterdir()) == [NAME]  # no temporaries, no predictor files
    assert resolve_supernet_path(W10, None, dest) == dest / NAME
    stamp = (dest / NAME).stat().st_mtime_ns
    assert main(["download-official", str(dest), "--weights", NAME, "--base-url", server, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["files"] == {NAME: "present"}  # a valid copy is kept
    assert (dest / NAME).stat().st_mtime_ns == stamp


def test_damaged_download_leaves_nothing(server, tmp_path, capsys):
    dest = tmp_path / "ofa"
    assert main(["download-official", str(dest), "--weights", W12.published_weights, "--base-url", server]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    err = next(line for line in lines if line.startswith("error: "))
    assert err == lines[-1] and "damaged" in err and W12.published_weights in err and "nothing was kept" in err
    assert not dest.exists()  # the folder it made is removed again


def test_failed_refetch_keeps_the_valid_copy(server, mirror, tmp_path, capsys):
    dest = tmp_path / "ofa"
    good = _published(W12, dest / W12.published_weights)
    before = good.read_bytes()
    assert main(["download-official", str(dest), "--weights", "all", "--base-url", server, "--force", "--json"]) == 2
    assert "damaged" in capsys.readouterr().err
    assert good.read_bytes() == before  # the mirror's damaged copy never replaced it
    assert (dest / NAME).read_bytes() == (mirror / "ofa_nets" / NAME).read_bytes()  # fetched before the failure, kept (a rerun resumes)
    assert sorted(p.name for p in dest.iterdir()) == sorted([NAME, W12.published_weights])


def test_a_checkpoint_of_the_other_width_is_refused(mirror, tmp_path, capsys):
    wrong = tmp_path / "wrong-mirror"
    (wrong / "ofa_nets").mkdir(parents=True)
    (wrong / "ofa_nets" / W12.published_weights).write_bytes((mirror / "ofa_nets" / NAME).read_bytes())
    dest = tmp_path / "ofa"
    assert main(["download-official", str(dest), "--weights", W12.published_weights, "--base-url", wrong.as_uri() + "/"]) == 2
    err = capsys.readouterr().err
    assert "does not match space 'ofa-mbv3-w1.2'" in err and "it fits space 'ofa-mbv3-w1.0'" in err
    assert not dest.exists()


def test_unreachable_mirror_changes_nothing(tmp_path, capsys):
    dest = tmp_path / "ofa"
    assert main(["download-official", str(dest), "--weights", NAME, "--base-url", "http://127.0.0.1:9/"]) == 2
    err = capsys.readouterr().err
    assert f"could not download http://127.0.0.1:9/ofa_nets/{NAME}" in err and "by hand" in err
    assert not dest.exists()


def test_short_download_leaves_nothing(mirror, tmp_path, capsys):
    """A server that announces more bytes than it sends (a dropped connection): nothing is kept, a rerun starts again."""
    body = (mirror / "ofa_nets" / NAME).read_bytes()

    class Short(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 3])
            self.close_connection = True

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Short)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        dest = tmp_path / "ofa"
        assert main(["download-official", str(dest), "--weights", NAME, "--base-url", f"http://127.0.0.1:{httpd.server_address[1]}/"]) == 2
    finally:
        httpd.shutdown()
        httpd.server_close()
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: could not download") and "nothing was kept" in err
    assert not dest.exists()


# --------------------------------------------------------------------------- the dashboard
def test_subnet_page_finds_the_checkpoint_in_the_official_folder(env, tmp_path, monkeypatch, mirror):
    """The Subnet page of ofa-mbv3-w1.0: without the checkpoint it says where it looked and how to fetch it; with it in OFA_DASH_OFFICIAL
    and an ImageNet-style folder in OFA_DASH_IMAGENET, validation and export are offered (without the folder, the page says so)."""
    from ofa_dash.testing.imagenet import make_imagenet_folder
    from tests.apptest_helpers import _ok, _page

    monkeypatch.delenv("OFA_DASH_IMAGENET", raising=False)

    def subnet_page():
        at = _page("subnet")
        at.query_params.update({"space": W10.name, "subnet": W10.smallest().id})
        at.run()
        _ok(at)
        return " ".join(i.value for i in at.info), [b.label for b in at.button]

    text, buttons = subnet_page()  # env points OFA_DASH_OFFICIAL at a folder that does not exist
    assert "supernet weights" in text and "Build ONNX (fp32)" not in buttons and f"download-official DIR --weights {NAME}" in text
    official = tmp_path / "official"
    official.mkdir()
    (official / NAME).write_bytes((mirror / "ofa_nets" / NAME).read_bytes())
    monkeypatch.setenv(ENV_OFFICIAL, str(official))
    text, buttons = subnet_page()
    assert "supernet weights" not in text and "Build ONNX (fp32)" not in buttons and "Validate now" not in buttons
    assert "needs an ImageNet-style image folder" in text and "OFA_DASH_IMAGENET" in text
    monkeypatch.setenv("OFA_DASH_IMAGENET", str(make_imagenet_folder(tmp_path / "imagenet", filled=1, per_class_train=1, per_class_val=1)))
    text, buttons = subnet_page()
    assert "ImageNet-style" not in text and "Build ONNX (fp32)" in buttons and "Validate now" in buttons
