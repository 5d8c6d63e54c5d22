"""Readable subnet tables, one definition of subnet counts, short hovers and fair algorithm comparisons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ofa_dash.ui import figures
from ofa_dash.ui.catalogue import selection_table
from ofa_dash.ui.comparison import comparison_groups, final_hv_table, left_out
from ofa_dash.ui.counts import count_subnets, distinct_ids
from ofa_dash.ui.fronts import distinct_subnets, front_view
from ofa_dash.ui.tables import decimals_for, display_table, round_significant, source_tag, source_tags

PREDICTED = "predicted: ofa-dash mlp fitted on 1200 measured subnets (holdout top-1, Kendall tau 0.81) (run objective)"


def _rows() -> pd.DataFrame:
    """Four catalogue rows of three subnets (``b`` found by two runs), one of them measured."""
    return pd.DataFrame(
        {
            "run_id": ["r1", "r1", "r2", "r2"],
            "algorithm": ["nsga2", "nsga2", "spea2", "spea2"],
            "seed": [1, 1, 2, 2],
            "id": ["a", "b", "b", "c"],
            "top1": [71.23456, 80.0049, 80.0049, 90.5],
            "top1_source": [PREDICTED, PREDICTED, PREDICTED, "measured: live validation on 500 test images"],
            "latency:cpu-ort": [0.447123, 34.71, 34.71, 1234.5],
            "latency:note10": [15.51, 21.0, 21.0, 9.87654],
            "macs": [218.3749, 5.3, 5.3, 1000.0],
            "params": [2.345, 1.0, 1.0, 3.0],
            "peak_mem": [0.7512, 0.5, 0.5, 1.25],
            "top1_measured": [np.nan, np.nan, np.nan, 90.5],
            "top5_measured": [np.nan, np.nan, np.nan, 99.0],
            "measured_images": [np.nan, np.nan, np.nan, 500.0],
            "measured_latency_ms": [np.nan, np.nan, np.nan, 3.1148],
        }
    )


def _catalogue_rows() -> pd.DataFrame:
    """The same rows as the catalogue holds them (before :func:`with_accuracy` picks predicted or measured)."""
    return _rows().rename(columns={"top1": "top1_pred", "top1_source": "top1_pred_source"})


# --------------------------------------------------------------------------- the display table
def test_display_table_headers_with_units_and_the_id_not_first():
    shown = display_table(distinct_subnets(_rows()), ["cpu-ort"], {"cpu-ort": "estimated from the cpu-ort table"})
    assert list(shown.frame.columns) == [
        "Top-1 (%)",
        "Source",
        "Latency cpu-ort (ms)",
        "MACs (M)",
        "Parameters (M)",
        "Peak activation memory (MB)",
        "Measured top-1 (%)",
        "Measured top-5 (%)",
        "Test images",
        "Latency measured here (ms)",
        "Subnet id",
        "Found by",
        "Runs",
    ]
    assert "latency:note10" not in shown.frame and "Latency note10 (ms)" not in shown.frame  # only the devices asked for


def test_display_table_sorts_by_accuracy_and_keeps_each_rows_id():
    shown = display_table(distinct_subnets(_rows()), ["cpu-ort"])
    assert shown.frame["Top-1 (%)"].tolist() == [90.5, 80.0, 71.23]
    assert shown.ids == ["c", "b", "a"] and shown.frame["Subnet id"].tolist() == shown.ids
    assert shown.id_at(2) == "a"
    assert shown.id_at(len(shown.frame)) is None  # a selection left over from a larger table opens nothing
    assert shown.frame["Found by"].tolist() == ["spea2 s2", "nsga2 s1, spea2 s2", "nsga2 s1"]


def test_display_table_limit_keeps_the_most_accurate_and_says_how_many_there_were():
    shown = display_table(distinct_subnets(_rows()), ["cpu-ort"], limit=2)
    assert shown.ids == ["c", "b"] and shown.frame["Top-1 (%)"].tolist() == [90.5, 80.0]
    assert shown.total == 3 and shown.cut
    whole = display_table(distinct_subnets(_rows()), ["cpu-ort"], limit=3)
    assert whole.total == 3 and not whole.cut and whole.ids == ["c", "b", "a"]
    assert not display_table(distinct_subnets(_rows()), ["cpu-ort"]).cut


def test_display_table_rounds_two_decimals_and_milliseconds_to_three_significant_digits():
    f = display_table(_rows(), ["cpu-ort", "note10"]).frame
    assert f["Latency cpu-ort (ms)"].tolist() == [1230.0, 34.7, 34.7, 0.447]
    assert f["Latency note10 (ms)"].tolist() == [9.88, 21.0, 21.0, 15.5]
    assert f["MACs (M)"].tolist() == [1000.0, 5.3, 5.3, 218.37]
    assert f["Peak activation memory (MB)"].tolist() == [1.25, 0.5, 0.5, 0.75]
    assert f["Latency measured here (ms)"].iloc[0] == 3.11


def test_display_table_tags_the_source_and_puts_the_sentence_in_the_tooltip():
    shown = display_table(_rows(), ["cpu-ort"])
    assert shown.frame["Source"].tolist() == ["measured", "predicted", "predicted", "predicted"]
    assert not shown.frame.astype(str).apply(lambda c: c.str.contains("mlp fitted")).any().any()  # the sentence is on no row
    tip = shown.specs["Source"].help
    assert PREDICTED in tip and "measured: live validation" in tip and tip.count(PREDICTED) == 1
    config = shown.column_config()
    assert set(config) == set(shown.frame.columns)
    assert config["Top-1 (%)"]["help"] == shown.specs["Top-1 (%)"].help and config["Top-1 (%)"]["type_config"]["format"] == "%.2f"
    assert config["Latency cpu-ort (ms)"]["type_config"]["format"] == "%.1f"  # fixed decimals for its median (34.7 ms)


def test_display_table_leaves_missing_measurements_blank_and_drops_empty_columns():
    shown = display_table(_rows(), ["cpu-ort"])
    images = shown.frame["Test images"]
    assert str(images.dtype) == "Int64" and images.iloc[0] == 500 and images.iloc[1:].isna().all()
    measured = shown.frame["Measured top-1 (%)"]
    assert measured.iloc[1:].isna().all() and measured.dtype.kind == "f"  # a real missing number (a blank cell), never the text "None"
    unmeasured = display_table(_rows().iloc[:3], ["cpu-ort"]).frame
    assert not [c for c in unmeasured.columns if c.startswith("Measured") or c in ("Test images", "Latency measured here (ms)")]


def test_display_table_keeps_an_ordered_table_in_its_order():
    picks = _rows().iloc[[0, 3]].reset_index(drop=True)
    picks.insert(0, "decision aid", ["knee (high trade-off)", "pseudo-weights 0.50/0.50"])
    shown = display_table(picks, ["cpu-ort"], sort=False)
    assert shown.frame.columns[0] == "Decision aid" and shown.ids == ["a", "c"]
    assert shown.frame["Run"].tolist() == ["r1", "r2"]


def test_the_csv_keeps_the_raw_columns():
    rows = distinct_subnets(_rows())
    display_table(rows, ["cpu-ort"])
    raw = selection_table(rows, ["cpu-ort"])
    assert list(raw.columns[:4]) == ["id", "top1", "top1_source", "latency:cpu-ort"] and {"found_by", "runs"} <= set(raw.columns)
    assert raw["top1_source"].iloc[0] == PREDICTED  # the full sentence, for scripts


def test_milliseconds_print_with_the_decimals_of_their_typical_value():
    assert [decimals_for(v) for v in ([0.173, 0.2, 0.45], [15.5, 21.0, 34.7], [1230.0, 2000.0], [np.nan], [0.0021])] == [3, 1, 0, 2, 5]
    shown = display_table(_rows().iloc[:2], ["note10"])
    assert shown.specs["Latency note10 (ms)"].format == "%.1f"  # 15.5 and 21.0, not 21


def test_round_significant_and_source_tag():
    assert round_significant([0.44712, 34.71, 1234.5, 0.0, np.nan]).tolist()[:4] == [0.447, 34.7, 1230.0, 0.0]
    assert np.isnan(round_significant([np.nan])[0])
    assert source_tag(PREDICTED) == "predicted" and source_tag("measured: on 500 images") == "measured"
    assert source_tag("none") == "" and source_tag(None) == ""
    assert source_tags(pd.Series([PREDICTED, None, "measured: x", PREDICTED])).tolist() == ["predicted", "", "measured", "predicted"]


# --------------------------------------------------------------------------- one definition of the counts
def test_counts_are_distinct_subnets_everywhere():
    rows = _rows().assign(pareto=[False, True, True, True])
    c = count_subnets(rows)
    assert (c.subnets, c.on_front, c.found) == (3, 2, 4)
    assert c.phrase(runs=2) == "3 subnets (2 on the Pareto front) from 2 runs"
    hidden = count_subnets(rows.iloc[:2], before=rows)
    assert hidden.hidden == 1 and hidden.phrase("3D Pareto front").endswith("; 1 hidden by constraints")  # "b" is still shown by one copy
    assert distinct_ids(rows) == 3 and distinct_ids(rows.iloc[0:0]) == 0


def test_front_view_counts_agree_with_its_table():
    view = front_view(_catalogue_rows(), ["top1", "latency:cpu-ort", "macs"], weights=[0.5, 0.25, 0.25])
    assert view.counts.subnets == view.df["id"].nunique() == 3
    assert view.counts.on_front == view.df.loc[view.df["pareto"], "id"].nunique()
    assert view.picks.columns[0] == "decision aid" and "id" in view.picks


# --------------------------------------------------------------------------- short hover
def test_hover_is_short_and_names_the_source_tag_only():
    view = front_view(_catalogue_rows().iloc[:3], ["top1", "latency:cpu-ort"], knees=False)
    fig = figures.front_2d(view.df, "latency:cpu-ort", ["cpu-ort", "note10"])
    traces = [t for t in fig.data if t.customdata is not None]
    assert traces
    for t in traces:
        template = t.hovertemplate
        assert template.startswith("<b>%{customdata[0]}</b>")
        assert "(predicted)" in template and "mlp fitted" not in template
        assert "latency on cpu-ort %{x:.3r} ms" in template and "note10" not in template and "MACs" in template
        assert template.count("<br>") == 3  # id, top-1, the axis latency, MACs
    assert fig.layout.margin.t >= figures.HOVER_HEADROOM
    one = figures.front_2d(view.df.iloc[[0]], "latency:cpu-ort", ["cpu-ort"])  # one point: MACs is the same for the whole trace
    assert "MACs 218 M" in next(t for t in one.data if t.customdata is not None).hovertemplate


# --------------------------------------------------------------------------- fair comparisons
def _entry(algorithm: str, seed: int, pop: int = 100, gens: int = 1000, created: str = "2026-11-28T04:32", hv: float = 1.0, objectives=("error", "latency:a")):
    return {
        "run_id": f"{algorithm}-s{seed}-{pop}x{gens}-{created}",
        "algorithm": algorithm,
        "seed": seed,
        "pop_size": pop,
        "n_gen": gens,
        "n_evals": pop * gens,
        "objectives": list(objectives),
        "ref_point": [25.0, 1.0],
        "hv": hv,
        "seconds": 10.0,
        "front_size": 20,
        "created": created,
    }


def test_comparison_groups_keep_budgets_apart_and_say_what_they_left_out():
    seeds = [_entry("nsga2", s) for s in (1, 2, 3)] + [_entry("spea2", s) for s in (1, 2, 3)]
    user = _entry("nsga2", 1, pop=50, gens=60, created="2026-12-01T10:00")
    other = _entry("nsga2", 1, objectives=("error", "params"))
    groups = comparison_groups([*seeds, user, other])
    assert len(groups) == 3
    main = next(iter(groups.values()))  # the biggest first
    assert (main.pop_size, main.n_gen) == (100, 1000) and len(main.runs) == 6 and user not in main.runs
    assert "100 x 1000" in main.label and "error + latency:a" in main.label and main.title == "error + latency:a · 100 x 1000"
    note = left_out(main, groups)
    assert note.startswith("2 runs left to other groups") and "1 with these objectives but another budget or reference point: 50 x 60" in note
    table = final_hv_table(main.runs).set_index("algorithm")
    assert table.loc["nsga2", "runs"] == 3 and table.loc["nsga2", "seeds"] == "1, 2, 3" and table.loc["nsga2", "evaluations"] == 100000


def test_a_repeated_seed_counts_once_and_is_named():
    older = _entry("nsga2", 1, created="2026-11-27T23:01", hv=0.5)
    newer = _entry("nsga2", 1, created="2026-11-27T23:18", hv=0.7)
    group = next(iter(comparison_groups([older, _entry("nsga2", 2), newer]).values()))
    assert group.runs == [newer, _entry("nsga2", 2)] and group.repeats == [older] and group.n_runs == 3
    assert left_out(group, {group.label: group}) == "1 older run of a repeated seed left out (nsga2 seed 1; the latest run of each seed is kept)"
    twice = next(iter(comparison_groups([older, newer, _entry("nsga2", 2, created="a"), _entry("nsga2", 2, created="b")]).values()))
    assert left_out(twice, {twice.label: twice}).startswith("2 older runs of a repeated seed left out (nsga2 seeds 1, 2;")
    table = final_hv_table(group.runs)
    assert table["runs"].tolist() == [2] and table["seeds"].tolist() == ["1, 2"]


@pytest.mark.parametrize("entries", [[], [_entry("nsga2", 1)]])
def test_final_hv_table_has_the_seeds_column(entries):
    assert "seeds" in final_hv_table(entries).columns
