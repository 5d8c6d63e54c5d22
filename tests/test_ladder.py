"""The deployment ladder: rung selection, the stand-alone picker, and the CLI on the synthetic demo root."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import onnx
import pandas as pd
import pytest

from ofa_dash.cli import main
from ofa_dash.files import file_sha256
from ofa_dash.ladder.build import MANIFEST, PICKER, picker_source, zip_ladder
from ofa_dash.ladder.rungs import LadderColumns, select_rungs
from ofa_dash.testing.demo import ensure_demo
from ofa_dash.ui.catalogue import build_catalogue
from ofa_dash.ui.ladder_view import ladder_front

DEVICE = "demo-cpu"
COLUMNS = LadderColumns("latency:" + DEVICE)


# --------------------------------------------------------------------------- rungs
def _front(latencies: list[float], accuracies: list[float], ids: list[str] | None = None) -> pd.DataFrame:
    ids = ids or [f"s{i}" for i in range(len(latencies))]
    return pd.DataFrame({"id": ids, "top1": accuracies, COLUMNS.latency: latencies, "top1_source": "predicted: test"})


def test_rungs_span_the_latency_range_fastest_first():
    front = _front([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], [50, 60, 65, 70, 72, 74, 75])
    rungs = select_rungs(front, COLUMNS, 3)
    assert list(rungs["id"]) == ["s0", "s3", "s6"]  # the ends and the member nearest the middle target (4.0)


def test_rungs_prefer_the_more_accurate_on_equal_distance_and_never_repeat():
    # target 2.0 lies between s1 (1.5) and s2 (2.5): the more accurate wins
    front = _front([1.0, 1.5, 2.5, 3.0], [50, 61, 66, 70])
    assert list(select_rungs(front, COLUMNS, 3)["id"]) == ["s0", "s2", "s3"]
    # rows repeated across runs count once; k = every distinct member takes each exactly once
    doubled = pd.concat([front, front], ignore_index=True)
    rungs = select_rungs(doubled, COLUMNS, 4)
    assert list(rungs["id"]) == ["s0", "s1", "s2", "s3"]


def test_rungs_refuse_more_models_than_the_front_holds():
    with pytest.raises(ValueError, match="holds 2 distinct"):
        select_rungs(_front([1.0, 2.0], [50, 60]), COLUMNS, 3)
    with pytest.raises(ValueError, match="at least one"):
        select_rungs(_front([1.0, 2.0], [50, 60]), COLUMNS, 0)


# --------------------------------------------------------------------------- the picker, run with nothing but the standard library
def _model(file: str, latency: float, top1: float) -> dict:
    return {"file": file, "objectives": {"top1": {"value": top1, "source": "test"}, "latency_ms": {"value": latency, "device": DEVICE}}}


@pytest.fixture
def picker_folder(tmp_path) -> Path:
    folder = tmp_path / "ladder"
    folder.mkdir()
    models = [_model("a.onnx", 0.2, 55.0), _model("b.onnx", 0.5, 80.0), _model("c.onnx", 0.9, 90.0)]
    (folder / MANIFEST).write_text(json.dumps({"device": DEVICE, "models": models}))
    (folder / PICKER).write_text(picker_source())
    return folder


def _pick(folder: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    # -I: no PYTHONPATH, no current folder, no user site; -S: no site-packages at all, so only the standard library exists
    return subprocess.run([sys.executable, "-I", "-S", str(folder / PICKER), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("budget", "expected"),
    [("0.2", "a.onnx"), ("0.35", "a.onnx"), ("0.5", "b.onnx"), ("0.89", "b.onnx"), ("0.9", "c.onnx"), ("100", "c.onnx")],
)
def test_picker_chooses_the_most_accurate_model_within_the_budget(picker_folder, tmp_path, budget, expected):
    out = _pick(picker_folder, budget, cwd=tmp_path)  # run from another folder: the manifest is found beside pick.py
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == picker_folder / expected


def test_picker_below_the_fastest_model_says_so(picker_folder, tmp_path):
    out = _pick(picker_folder, "0.1", cwd=tmp_path)
    assert out.returncode == 1 and not out.stdout
    assert "no model fits 0.1 ms" in out.stderr and "0.200 ms" in out.stderr


def test_picker_as_a_library_returns_none_below_the_fastest(picker_folder, tmp_path):
    code = "import json, pick; print(json.dumps([pick.pick(0.1), pick.pick(0.6)]))"
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(picker_folder)!r}); {code}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [None, str(picker_folder / "b.onnx")]


# --------------------------------------------------------------------------- the CLI on the demo root
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return ensure_demo(tmp_path_factory.getbasetemp() / "ofa-dash-demo")


@pytest.fixture(scope="module")
def built(demo, tmp_path_factory):
    """One ladder of K = 3 from the demo's stored runs (the expensive part, shared by the checks below)."""
    root, data = demo
    out = tmp_path_factory.mktemp("ladder") / "out"
    stdout = io.StringIO()
    args = [
        "ladder",
        "--device",
        DEVICE,
        "--k",
        "3",
        "--out",
        str(out),
        "--store",
        str(root),
        "--data",
        str(data),
        "--supernet",
        str(root / "cifar10" / "supernet.pt"),
        "--json",
    ]
    with contextlib.redirect_stdout(stdout):
        code = main(args)
    assert code == 0
    return out, json.loads(stdout.getvalue()), root


def test_cli_writes_three_verified_models_a_manifest_and_the_picker(built):
    out, printed, _ = built
    manifest = json.loads((out / MANIFEST).read_text())
    assert printed["models"] == manifest["models"]
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, PICKER, *(m["file"] for m in manifest["models"])])
    assert (out / PICKER).read_text() == picker_source()
    assert len(manifest["models"]) == 3 and len({m["subnet_id"] for m in manifest["models"]}) == 3
    for m in manifest["models"]:
        path = out / m["file"]
        onnx.checker.check_model(str(path))
        meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        assert meta["arch_id"] == m["subnet_id"] and json.loads(meta["arch"]) == m["arch"]
        parity = m["verification"]["parity"]
        assert parity["max_abs_diff"] <= parity["tolerance"] and parity["top1_disagreements"] == 0
        assert m["verification"]["sha256"] == file_sha256(path)
        assert m["objectives"]["latency_ms"]["source"].startswith(f"lookup-table estimate ({DEVICE}): estimated from the {DEVICE} table")
        assert m["objectives"]["top1"]["source"].startswith("predicted")
        assert m["objectives"]["macs"]["value"] > 0 and m["objectives"]["params"]["value"] > 0
    assert manifest["device"] == DEVICE and "demo-cpu table" in manifest["latency_source"]


def test_cli_ladder_latencies_increase_and_every_model_is_on_the_front(built):
    out, _, root = built
    models = json.loads((out / MANIFEST).read_text())["models"]
    latencies = [m["objectives"]["latency_ms"]["value"] for m in models]
    assert latencies == sorted(latencies) and len(set(latencies)) == 3
    front = ladder_front(build_catalogue(root, "cifar10", sets=("archive",)), DEVICE).set_index("id")
    for m in models:
        assert m["subnet_id"] in front.index
        assert m["objectives"]["top1"]["value"] == pytest.approx(front.loc[m["subnet_id"], "top1"])
        assert m["objectives"]["latency_ms"]["value"] == pytest.approx(front.loc[m["subnet_id"], COLUMNS.latency])
    # the front's extremes are the ladder's ends
    assert latencies[0] == pytest.approx(front[COLUMNS.latency].min()) and latencies[-1] == pytest.approx(front[COLUMNS.latency].max())


def test_cli_ladder_picker_runs_without_the_project(built, tmp_path):
    out, _, _ = built
    models = json.loads((out / MANIFEST).read_text())["models"]
    middle = models[1]["objectives"]["latency_ms"]["value"]
    result = _pick(out, str(middle), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == out / models[1]["file"]


def test_cli_refuses_an_existing_non_empty_folder(demo, tmp_path, capsys):
    root, data = demo
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code = main(["ladder", "--device", DEVICE, "--k", "2", "--out", str(out), "--store", str(root), "--data", str(data)])
    assert code == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name != "taken"]  # no staging folder left behind


def test_ladder_zip_holds_the_folder_under_one_top_folder(built, tmp_path):
    out, _, _ = built
    archive = zip_ladder(out, tmp_path / "ladder.zip", top="cifar10-demo-cpu-ladder")
    with zipfile.ZipFile(archive) as zf:
        assert zf.testzip() is None
        assert sorted(zf.namelist()) == sorted(f"cifar10-demo-cpu-ladder/{p.name}" for p in out.iterdir())
    extracted = tmp_path / "x"
    shutil.unpack_archive(archive, extracted)
    assert (extracted / "cifar10-demo-cpu-ladder" / MANIFEST).read_bytes() == (out / MANIFEST).read_bytes()


def test_cli_never_writes_inside_the_precomputed_root(demo, capsys):
    root, data = demo
    code = main(["ladder", "--device", DEVICE, "--k", "2", "--out", str(root / "ladder"), "--store", str(root), "--data", str(data)])
    assert code == 2
    assert "inside the precomputed root" in capsys.readouterr().err
    assert not (root / "ladder").exists()


def test_spread_along_front_picks_select_rungs_choice_from_a_stored_run(demo):
    from ofa_dash.ladder.rungs import spread_along_front
    from ofa_dash.space import get_space
    from ofa_dash.store import RunStore

    store = RunStore(demo[0])
    entry = next(e for e in store.list_runs("cifar10")[0] if "error" in e["objectives"] and len(e["objectives"]) == 2)
    run = store.load(entry["run_id"], "cifar10")
    latency = next(o for o in run.objectives if o != "error")
    ids = spread_along_front(run, get_space("cifar10"), latency, 3)
    F = run.F("archive")
    lat = dict(zip([a.id for a in get_space("cifar10").decode(run.genomes("archive"))], F[:, run.objectives.index(latency)], strict=True))
    assert len(set(ids)) == 3 and [lat[i] for i in ids] == sorted(lat[i] for i in ids)
    assert lat[ids[0]] == min(lat.values()) and lat[ids[-1]] == max(lat.values())  # the ends of the front are rungs
