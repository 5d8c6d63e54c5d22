"""The Story page: training phases and curves, searches and the front, each linking on; spaces without training logs explained."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from ofa_dash.space import get_space
from ofa_dash.ui.story import front_story, headline_run, learning_curve, read_train_log, searches_table, training_story
from ofa_dash.workspace import Workspace
from tests.conftest import ROOT

TIMEOUT = 300
SHIPPED = ROOT / "precomputed"


@pytest.fixture
def shipped(monkeypatch, tmp_path):
    """The repository's precomputed root (read only: the Story page writes nothing)."""
    if not (SHIPPED / "cifar10" / "train_log.jsonl").is_file():
        pytest.fail(f"the shipped cifar10 folder has no training log at {SHIPPED}")
    monkeypatch.setenv("OFA_DASH_PRECOMPUTED", str(SHIPPED))
    monkeypatch.setenv("OFA_DASH_OFFICIAL", str(tmp_path / "no-official-files"))
    monkeypatch.setenv("OFA_DASH_DATA", str(tmp_path / "no-data"))
    return SHIPPED


def _story(space: str | None = None) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT).run()
    if space is not None:
        at.selectbox(key="sb_space").set_value(space).run()
    at.switch_page("pages/story.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _links(at: AppTest) -> list[str]:
    return [el.proto.label for el in at.get("page_link")]


def test_story_of_the_shipped_cifar10_folder(shipped):
    at = _story()
    assert at.title[0].value == "Story"
    headers = [h.value for h in at.header]
    assert headers == ["1 · A supernet, trained once", "2 · Searched once", "3 · The front, and a subnet picked from it"]
    metrics = {m.label: m.value for m in at.metric}
    manifest = json.loads((shipped / "cifar10" / "train_manifest.json").read_text())
    assert metrics["phases"] == str(len(manifest["phases_done"])) and int(metrics["epochs"]) > 0
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("holdout top-1" in spec for spec in charts) and any("predicted top-1" in spec for spec in charts)  # learning curves, front
    phases = next(df.value for df in at.dataframe if "phase" in df.value)
    assert phases["phase"].tolist()[: len(manifest["phases_done"])] == manifest["phases_done"]
    runs = next(df.value for df in at.dataframe if "HV mean" in df.value)
    stored = json.loads((shipped / "cifar10" / "runs" / "manifest.json").read_text())["runs"]
    assert sum(len(seeds.split(", ")) for seeds in runs["seeds"]) == len(stored)  # every stored run counted once
    links = _links(at)
    # each section links to the next step: the Search page, the Fronts page, then the knee's Subnet page
    assert [link.split(" on the ")[-1] for link in links] == ["Search page", "Fronts page", "Subnet page"]
    knee = next(el for el in at.get("page_link") if "Subnet page" in el.proto.label)
    assert knee.proto.page == "subnet" and "subnet=" in knee.proto.query_string
    assert any("subnets" in md.value and "no other subnet beats" in md.value for md in at.markdown)


def test_story_of_a_space_without_training_logs(shipped):
    at = _story("ofa-mbv3-w1.2")
    text = " ".join(i.value for i in at.info)
    assert "trained once by its authors" in text and "no training phases" in text
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert not any("holdout top-1" in spec for spec in charts) and "phases" not in {m.label for m in at.metric}  # no curves, no training figures
    assert any("predicted top-1" in spec for spec in charts)  # the front still is drawn
    assert any("no other subnet beats" in md.value for md in at.markdown)  # the searches and the front still tell their part


# --------------------------------------------------------------------------- the builders
def test_training_story_reads_the_log_and_skips_bad_lines(tmp_path):
    folder = Workspace(tmp_path).space(get_space("cifar10"))
    folder.path.mkdir(parents=True)
    lines = [
        {"phase": "full", "epoch": 1, "seconds": 60, "top1_largest": None, "top1_smallest": None},
        {"phase": "full", "epoch": 2, "seconds": 60, "top1_largest": 50.0, "top1_smallest": 49.0},
        {"phase": "kernel", "epoch": 1, "seconds": 120, "top1_largest": 55.0, "top1_smallest": 40.0, "top1_mid": 47.5},
    ]
    folder.train_log.write_text("\n".join(json.dumps(x) for x in lines[:2]) + "\n{broken\n" + json.dumps(lines[2]) + "\n")
    story = training_story(folder)
    assert story is not None and story.problems == ["train_log.jsonl line 3 is not JSON"]
    # no manifest (a run in progress): phases come from the log, in order, with its minutes and last figures
    assert story.phases["phase"].tolist() == ["full", "kernel"] and story.phases["epochs"].tolist() == [2, 1]
    assert story.phases["minutes"].tolist() == [2.0, 2.0] and story.phases["largest top-1 %"].tolist() == [50.0, 55.0]
    curve = story.curve
    assert set(curve["subnet"]) == {"largest subnet", "middle subnet", "smallest subnet"}
    assert curve["step"].min() == 2  # the first epoch has no holdout figure: left out, not drawn as zero
    assert len(curve[curve["step"] == 3]) == 3
    assert training_story(Workspace(tmp_path / "empty").space(get_space("cifar10"))) is None


def test_learning_curve_and_log_reader_on_empty_input(tmp_path):
    log, problems = read_train_log(tmp_path / "missing.jsonl")
    assert log.empty and problems == [] and learning_curve(log).empty


def test_headline_run_is_the_best_hv_of_the_largest_comparable_group():
    def run(i, hv, objectives=("error", "latency:cpu"), ref=(30.0, 1.0)):
        return {
            "run_id": f"r{i}",
            "algorithm": "nsga2",
            "seed": i,
            "objectives": list(objectives),
            "ref_point": list(ref),
            "hv": hv,
            "created": f"2026-0{i}",
            "pop_size": 100,
            "n_gen": 10,
        }

    runs = [run(1, 5.0), run(2, 7.0), run(3, 99.0, ("error", "params")), run(4, 6.0)]
    assert headline_run(runs)["run_id"] == "r2" and headline_run([]) is None
    # seeds of one algorithm and budget share a row; another budget is its own row, never averaged in
    same = [{**run(i, hv), "n_gen": 10} for i, hv in ((1, 5.0), (2, 7.0))] + [{**run(5, 1.0), "n_gen": 3}]
    table = searches_table([*same, {**run(3, 99.0, ("error", "params")), "n_gen": 30}])
    assert table["budget (population × generations)"].tolist() == ["100 × 10", "100 × 3", "100 × 30"]
    assert table["seeds"].tolist() == ["1, 2", "5", "3"] and table["HV mean"].tolist() == [6.0, 1.0, 99.0] and table["HV best"].iloc[0] == 7.0


def test_front_story_picks_the_runs_front_and_its_knee():
    import pandas as pd

    points = pd.DataFrame(
        {
            "run_id": ["a"] * 5 + ["b"],
            "id": ["s1", "s2", "s3", "s4", "s5", "t1"],
            "top1_pred": [60.0, 75.0, 78.0, 78.5, 70.0, 99.0],
            "top1_pred_source": ["p"] * 6,
            "latency:cpu": [0.1, 0.2, 0.5, 1.0, 0.6, 0.05],
        }
    )
    story = front_story(points, {"run_id": "a", "objectives": ["error", "latency:cpu"]}, ["cpu"])
    assert story is not None and story.columns == ["top1", "latency:cpu"]
    assert story.front["id"].tolist() == ["s1", "s2", "s3", "s4"]  # s5 is dominated; run b's point is not this run's
    assert story.knee in set(story.front["id"])
    assert front_story(points, {"run_id": "a", "objectives": ["error", "params"]}, []) is None
