"""AppTest for the decision state: the front on an int8 device axis shows int8 accuracy."""

from __future__ import annotations

import pytest
from apptest_helpers import _app, _ok, _page

from ofa_dash.hardware.devices import profile_path
from ofa_dash.hardware.profile_format import save_profile
from ofa_dash.space import get_space
from ofa_dash.store import RunStore
from ofa_dash.testing.demo import DEMO_VERSION, demo_profile
from ofa_dash.ui.catalogue import build_catalogue

CIFAR = get_space("cifar10")


def test_the_front_on_an_int8_axis_shows_int8_accuracy(env):
    save_profile(demo_profile(CIFAR, "demo-cpu-int8", 0.6, seed=7), profile_path(CIFAR, "demo-cpu-int8", env))
    ids = build_catalogue(env, "cifar10", sets=("archive",)).points["id"].drop_duplicates().tolist()[:3]
    store = RunStore(env)
    for i, (sid, drop) in enumerate(zip(ids, [2.0, 2.5, 3.0], strict=True)):
        store.record_measurement("cifar10", {"arch": sid, "supernet_version": DEMO_VERSION, "top1": 60.0 + i, "top1_int8": 60.0 + i - drop, "n_images": 50})
    cat = build_catalogue(env, "cifar10", sets=("archive",))
    at = _app()
    at.query_params["device"] = "demo-cpu-int8"
    at.run()
    _ok(at)
    picks = next(df.value for df in at.dataframe if "Decision aid" in df.value)
    assert list(picks.columns[1:4]) == ["Top-1 (%)", "Source", "Latency demo-cpu-int8 (ms)"]
    first = cat.points.drop_duplicates("id").set_index("id")
    expected = [
        (first.loc[sid, "top1_int8_measured"], "measured int8") if sid in ids else (first.loc[sid, "top1_pred"] - 2.5, "predicted int8")
        for sid in picks["Subnet id"]
    ]
    assert picks["Top-1 (%)"].tolist() == pytest.approx([round(v, 2) for v, _ in expected], abs=0.006)
    assert picks["Source"].tolist() == [tag for _, tag in expected] and "predicted int8" in picks["Source"].tolist()
    assert any("int8 drop model from 3 pairs" in c.value for c in at.caption)


def test_the_rescore_button_rescores_and_the_front_marks_who_fell_off(env):
    from test_rescore import refit

    from ofa_dash.store import RESCORED_JSON

    refit(env)
    at = _page("fronts").run()
    _ok(at)
    button = at.button(key="fr_rescore")
    assert not button.disabled and any("stored run(s) were scored by another predictor" in c.value for c in at.caption)
    button.click().run()
    _ok(at)
    assert not at.error, [e.value for e in at.error]
    runs = RunStore(env).list_runs("cifar10")[0]
    assert all((env / "cifar10" / "runs" / e["run_id"] / RESCORED_JSON).is_file() for e in runs)
    assert any(s.value.startswith(f"Re-scored {len(runs)} run(s);") for s in at.success)
    assert at.button(key="fr_rescore").disabled  # nothing stale any more
    spec = at.get("plotly_chart")[0].proto.spec
    assert "fell off the front after re-scoring" in spec


def test_a_pasted_link_with_a_brush_restores_the_selected_table(env):
    from ofa_dash.ui.brush import Brush
    from ofa_dash.ui.fronts import front_view

    cat = build_catalogue(env, "cifar10", sets=("archive",))
    df = front_view(cat.points, ["top1", "latency:demo-cpu"]).df
    x0, x1 = df["latency:demo-cpu"].quantile([0.2, 0.6]).tolist()
    y0, y1 = df["top1"].quantile([0.3, 1.0]).tolist()
    link = Brush("box", "latency:demo-cpu", "top1", (x0, x1), (y0, y1)).to_query()
    inside = Brush.from_query(link).ids_inside(df)
    assert 1 < len(inside) < df["id"].nunique()
    at = _app()
    at.query_params["brush"] = link
    at.run()
    _ok(at)
    assert any(s.value == f"Selected subnets ({len(inside)})" for s in at.subheader)
    table = next(d.value for d in at.dataframe if "Found by" in d.value)
    assert sorted(table["Subnet id"]) == sorted(inside)
    assert at.query_params["brush"] in (link, [link])
    # a box drawn in this session replaces the link's, in the URL too
    one = df.iloc[0]
    region = {"kind": "box", "x": [one["latency:demo-cpu"] - 1e-9, one["latency:demo-cpu"] + 1e-9], "y": [one["top1"] - 1e-6, one["top1"] + 1e-6]}
    ids = Brush.from_region(region, "latency:demo-cpu", "top1").ids_inside(df)
    at.session_state["front2d-click"] = {"selected": ids + [i for i in inside[:1] if i not in ids], "region": region}
    at.run()
    _ok(at)
    new = at.query_params["brush"]
    assert (new[0] if isinstance(new, list) else new) == Brush.from_region(region, "latency:demo-cpu", "top1").to_query()


def test_validating_from_the_compare_page_with_int8_adds_pairs_to_the_drop_model(env):
    import time

    from apptest_helpers import _page

    from ofa_dash.ui.jobs import get_job

    save_profile(demo_profile(CIFAR, "demo-cpu-int8", 0.6, seed=7), profile_path(CIFAR, "demo-cpu-int8", env))
    ids = build_catalogue(env, "cifar10", sets=("archive",)).points["id"].drop_duplicates().tolist()[:2]
    at = _page("compare")
    at.query_params.update({"space": "cifar10", "compare": ",".join(ids)})
    at.run()
    _ok(at)
    at.checkbox(key="cmp_val_int8").check().run()
    at.button(key="cmp_val_go").click().run()
    _ok(at)
    job = get_job(at.session_state["cmp_val_job"])
    end = time.monotonic() + 240
    while job.running and time.monotonic() < end:
        time.sleep(0.2)
    assert not job.running and job.error is None, job.error
    assert all(r["top1_int8"] is not None for r in job.result["results"])
    cat = build_catalogue(env, "cifar10", sets=("archive",))
    assert cat.int8_drop.n_pairs == 2 and cat.points.loc[cat.points["id"].isin(ids), "top1_int8_measured"].notna().all()


def test_a_pasted_link_with_parallel_ranges_restores_the_selected_table(env):
    from ofa_dash.ui.catalogue import column_label
    from ofa_dash.ui.parcoords import parcoords_rows, rows_in_ranges

    cat = build_catalogue(env, "cifar10", sets=("archive",))
    axes = ["top1", "latency:demo-cpu", "latency:demo-gpu", "macs", "params", "peak_mem"]
    lines, _ = parcoords_rows(cat.points, axes)
    lo, hi = lines["top1"].quantile([0.4, 1.0]).tolist()
    link = f"top1={lo:.6g}~{hi:.6g}"
    inside = rows_in_ranges(lines, {"top1": [(float(f"{lo:.6g}"), float(f"{hi:.6g}"))]})
    assert 0 < len(inside) < len(lines)
    at = _app()
    at.query_params["pcbrush"] = link
    at.session_state["fr_mode"] = "Parallel"
    at.run()
    _ok(at)
    assert any(s.value == f"Selected subnets ({len(inside)})" for s in at.subheader)
    assert at.query_params["pcbrush"] in (link, [link])
    assert '"constraintrange"' in at.get("plotly_chart")[0].proto.spec  # the link's range is drawn on its axis
    # a brush in this session replaces the link's ranges, in the URL too
    at.session_state["frontpc-ranges"] = {"ranges": [{"label": column_label("macs"), "range": [0, 1e9]}, {"label": column_label("top1"), "range": None}]}
    at.run()
    _ok(at)
    new = at.query_params["pcbrush"]
    assert (new[0] if isinstance(new, list) else new) == "macs=0~1e+09"
    assert any(s.value == f"Selected subnets ({len(lines)})" for s in at.subheader)


def _validated_twice(env) -> list[str]:
    ids = [a.id for a in CIFAR.sample(2, seed=11)]
    for sid in ids:
        RunStore(env).record_measurement("cifar10", {"arch": sid, "supernet_version": DEMO_VERSION, "top1": 55.0, "n_images": 50})
    return ids


def test_a_shared_server_shows_the_refit_commands_not_a_button(env):
    ids = _validated_twice(env)
    at = _page("fronts").run()
    _ok(at)
    assert any("2 validated subnet(s) are not in the predictor's data" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == "fr_rescore_refit_go"]
    assert any(f"--arch {','.join(ids)}" in c.value and "fit-predictor --space cifar10 --rescore" in c.value for c in at.code)


def test_local_mode_refits_from_the_page_and_the_fronts_are_rescored(env, monkeypatch):
    from ofa_dash.predictors.fit import FitConfig
    from ofa_dash.predictors.measured import read_measured
    from ofa_dash.ui import jobs

    monkeypatch.setenv("OFA_DASH_LOCAL", "1")
    monkeypatch.setattr("ofa_dash.refit.default_fit_config", lambda: FitConfig(candidates=("ridge",), folds=2))  # the fit's speed is not under test here
    ids = _validated_twice(env)
    at = _page("fronts").run()
    _ok(at)
    at.button(key="fr_rescore_refit_go").click().run()
    _ok(at)
    job = jobs.get_job(at.session_state["fr_rescore_refit_job"])
    job.thread.join(timeout=240)
    assert job.error is None and job.result is not None
    assert set(ids) <= set(read_measured(env / "cifar10" / "measured.parquet", CIFAR)["id"])
    at.run()
    _ok(at)
    assert any(s.value.startswith("Added 2 subnet(s)") and "re-scored" in s.value for s in at.success), [s.value for s in at.success]
    assert at.button(key="fr_rescore").disabled  # every run now scored by the refitted predictor
    assert not any("validated subnet(s) are not in the predictor's data" in c.value for c in at.caption)
