"""Comparing subnets side by side: the pure tables (architecture diff, objectives, latency parts, per-class, int8) and the page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from apptest_helpers import _ok, _page

from ofa_dash.hardware import load_devices
from ofa_dash.space import MAX_DEPTH, get_space
from ofa_dash.ui import state
from ofa_dash.ui.catalogue import build_catalogue
from ofa_dash.ui.compare_view import arch_diff, compared_ids, int8_against_fp32_estimates, latency_breakdown, objectives_side_by_side, per_class_accuracy
from ofa_dash.ui.subnet_view import objectives_table

CIFAR = get_space("cifar10")


@pytest.fixture(scope="module")
def two(demo):
    archs = CIFAR.decode(CIFAR.sample_genomes(2, seed=4))
    return {a.id: a for a in archs}


def test_compared_ids_keep_well_formed_distinct_ids_up_to_four():
    assert compared_ids("0000000000000000, 03UJVV2ZX9R7LDHU,0000000000000000,<b>") == ["0000000000000000", "03ujvv2zx9r7ldhu"]
    assert len(compared_ids([f"{i:016d}" for i in range(9)])) == state.MAX_COMPARED
    assert compared_ids(None) == [] and compared_ids(["../etc", "a b"]) == []


def test_arch_diff_has_a_row_per_slot_and_marks_what_differs():
    large, small = CIFAR.largest(), CIFAR.smallest()
    diff = arch_diff(CIFAR, {"L": large, "S": small})
    assert len(diff) == 1 + len(CIFAR.stages) * (1 + MAX_DEPTH)
    row = diff.set_index("part")
    assert row.loc["resolution", "L"] == f"{large.r} px" and row.loc["stage 1 depth", "S"] == str(small.d[0])
    assert row.loc["stage 1 block 4", "S"] == "" and row.loc["stage 1 block 4", "L"] == f"k{large.ks[3]} e{large.e[3]}"
    assert diff["differs"].all()  # largest and smallest differ everywhere
    same = arch_diff(CIFAR, {"a": large, "b": large})
    assert not same["differs"].any()


def test_latency_parts_add_up_to_the_estimate_on_the_front(demo, two):
    devices = load_devices(CIFAR, precomputed_dir=demo[0])
    for name, table in devices.items():
        parts = latency_breakdown(table, two)
        for sid, arch in two.items():
            mine = parts[parts["subnet"] == sid]
            assert mine["part"].tolist()[:2] == ["stem, first block and head", "stage 1"]
            assert mine["ms"].sum() == pytest.approx(float(table.estimate(CIFAR.encode(arch))[0]), rel=1e-9), name


def test_objectives_side_by_side_tags_sources_and_keeps_units(demo, two):
    devices = load_devices(CIFAR, precomputed_dir=demo[0])
    measured = {"top1": 81.234, "top5": 99.0, "n_images": 1000, "subset": "test", "supernet_version": "v"}
    first, second = list(two.values())
    tables = {first.id: objectives_table(CIFAR, first, None, devices, measured=measured), second.id: objectives_table(CIFAR, second, None, devices)}
    side = objectives_side_by_side(tables).set_index("quantity")
    assert side.loc["top-1 (measured) (%)", first.id] == "81.23 (measured)" and side.loc["top-1 (measured) (%)", second.id] == ""
    assert side.loc["MACs (M)", first.id].replace(".", "").isdigit()
    latency_rows = [q for q in side.index if q.endswith("(ms)")]
    assert latency_rows and all(side.loc[q, second.id] for q in latency_rows)


def test_per_class_accuracy_sorts_by_spread_and_skips_unvalidated():
    measured = {"a": {"per_class": {"cat": 80.0, "dog": 90.0}}, "b": {"per_class": {"cat": 60.0, "dog": 89.5}}, "c": None}
    table = per_class_accuracy(measured)
    assert list(table.columns) == ["class", "a", "b", "spread"]
    assert table["class"].tolist() == ["cat", "dog"] and table["spread"].tolist() == [20.0, 0.5]
    assert list(per_class_accuracy({"c": None}).columns) == ["class"]


def test_int8_pairs_need_a_twin_table(demo, two):
    devices = load_devices(CIFAR, precomputed_dir=demo[0])
    assert len(int8_against_fp32_estimates(devices, CIFAR, two)) == 0  # the demo has no int8 twins
    name, table = next(iter(devices.items()))
    twin = {name: table, f"{name}-int8": table}
    pairs = int8_against_fp32_estimates(twin, CIFAR, two)
    assert len(pairs) == len(two) and np.allclose(pairs["int8 / fp32"], 1.0)


def test_the_compare_page_from_a_link(env):
    cat = build_catalogue(env, "cifar10", sets=("archive",))
    ids = pd.unique(cat.points["id"])[:3].tolist()
    at = _page("compare")
    at.query_params["space"] = "cifar10"
    at.query_params["compare"] = ",".join(ids)
    at.run()
    _ok(at)
    assert at.title[0].value == "Compare"
    headings = [s.value for s in at.subheader]
    assert headings == ["Objectives", "Architecture", "Where the time goes", "Measure them", "Per-class accuracy"]
    objectives = at.dataframe[0].value
    assert list(objectives.columns) == ["quantity", *ids]
    assert any("Validate on the Subnet page" in i.value for i in at.info)  # nothing validated in a fresh demo copy
    at.button(key=f"cmp_drop_{ids[0]}").click().run()
    _ok(at)
    assert list(at.dataframe[0].value.columns) == ["quantity", *ids[1:]]


def test_fewer_than_two_subnets_say_how_to_add_them(env):
    at = _page("compare")
    at.run()
    _ok(at)
    assert any("Add to comparison" in i.value for i in at.info)
    at.text_input(key="cmp_input_").set_value("largest, smallest").run()
    _ok(at)
    assert list(at.dataframe[0].value.columns) == ["quantity", CIFAR.largest().id, CIFAR.smallest().id]


def test_the_subnet_page_adds_to_the_comparison(env):
    at = _page("subnet")
    at.query_params.update({"space": "cifar10", "subnet": CIFAR.largest().id, "compare": CIFAR.smallest().id})
    at.run()
    _ok(at)
    at.button(key="sn_compare_add").click().run()
    _ok(at)
    assert at.session_state["view"].compare == [CIFAR.smallest().id, CIFAR.largest().id]
    assert at.query_params["compare"] in ([f"{CIFAR.smallest().id},{CIFAR.largest().id}"], f"{CIFAR.smallest().id},{CIFAR.largest().id}")
    assert any("added to the comparison" in i.value for i in at.info)  # the page file ran on its own: no navigation to switch with


def test_validate_all_measures_each_subnet_in_turn_and_fills_the_per_class_table(env):
    import time

    from ofa_dash.ui.jobs import get_job

    cat = build_catalogue(env, "cifar10", sets=("archive",))
    ids = pd.unique(cat.points["id"])[:2].tolist()
    at = _page("compare")
    at.query_params.update({"space": "cifar10", "compare": ",".join(ids)})
    at.run()
    _ok(at)
    at.button(key="cmp_val_go").click().run()
    _ok(at)
    job = get_job(at.session_state["cmp_val_job"])
    stages = set()
    end = time.monotonic() + 240
    while job.running and time.monotonic() < end:
        stages.add(job.stage.split(":")[0])
        time.sleep(0.2)
    assert not job.running and job.error is None, job.error
    assert job.result["validated"] == ids and job.result["asked"] == 2
    assert {"subnet 1 of 2 (" + ids[0] + ")", "subnet 2 of 2 (" + ids[1] + ")"} & stages  # progress names the subnet
    at.run()
    _ok(at)
    per_class = next(df.value for df in at.dataframe if "class" in df.value.columns)
    assert list(per_class.columns) == ["class", *ids, "spread"]
