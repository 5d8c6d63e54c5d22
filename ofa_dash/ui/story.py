"""The Story page's content: a supernet trained once, searched once, and a subnet picked afterwards.

A talk about the product follows these three steps, so the page tells them in
that order from what the space folder already holds: training's manifest and
per-epoch log (phases, minutes, holdout top-1 of the largest and smallest
subnets), the stored search runs (algorithms, budgets, hypervolumes), and the
front of the best run with its knee, each linking to the page that shows more.
Everything here is read from files; nothing is computed that a page could not
explain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ofa_dash.space import SearchSpace
from ofa_dash.ui.catalogue import LATENCY_PREFIX
from ofa_dash.ui.comparison import comparison_groups
from ofa_dash.ui.fronts import front_view
from ofa_dash.ui.search_view import label as objective_label
from ofa_dash.ui.theme import HIGHLIGHT, PALETTE, style
from ofa_dash.workspace import SpaceFolder

# The log's holdout accuracies, in the order the chart's legend lists them; a log may hold any of them.
CURVE_COLUMNS = {"top1_largest": "largest subnet", "top1_mid": "middle subnet", "top1_smallest": "smallest subnet"}


@dataclass
class TrainingStory:
    """What training left in the space folder, ready to show."""

    phases: pd.DataFrame  # one row per phase, in training order: phase, epochs, minutes, holdout top-1 at its end
    curve: pd.DataFrame  # long: step (epoch count over all phases), phase, epoch, subnet, top1
    minutes: float | None
    data: str | None
    hardware: str | None
    problems: list[str]  # unreadable log lines, skipped

    @property
    def epochs(self) -> int:
        return int(self.phases["epochs"].sum()) if len(self.phases) else 0


def read_train_log(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The per-epoch training log (``train_log.jsonl``) as a frame, in file order; bad lines are listed, not raised."""
    rows, problems = [], []
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return pd.DataFrame(), []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            problems.append(f"{path.name} line {number} is not JSON")
            continue
        if isinstance(row, dict) and isinstance(row.get("phase"), str):
            rows.append(row)
        else:
            problems.append(f"{path.name} line {number} has no phase")
    return pd.DataFrame(rows), problems


def learning_curve(log: pd.DataFrame) -> pd.DataFrame:
    """Holdout top-1 per epoch and subnet, over all phases in training order (epochs without a figure are left out)."""
    columns = [c for c in CURVE_COLUMNS if c in log]
    if not len(log) or not columns:
        return pd.DataFrame(columns=["step", "phase", "epoch", "subnet", "top1"])
    df = log.assign(step=np.arange(1, len(log) + 1))
    long = df.melt(id_vars=["step", "phase", "epoch"], value_vars=columns, var_name="subnet", value_name="top1")
    long["subnet"] = long["subnet"].map(CURVE_COLUMNS)
    long["top1"] = pd.to_numeric(long["top1"], errors="coerce")
    return long.dropna(subset=["top1"]).sort_values(["step", "subnet"]).reset_index(drop=True)


def training_story(folder: SpaceFolder) -> TrainingStory | None:
    """The training phases and learning curves of ``folder``; None where nothing was trained here (no manifest, no log)."""
    manifest = folder.read_train_manifest() or {}
    log, problems = read_train_log(folder.train_log)
    if not manifest and not len(log):
        return None
    published = manifest.get("phases") or {}
    order = list(manifest.get("phases_done") or published)
    for phase in log.get("phase", pd.Series(dtype=str)).tolist():
        if phase not in order:
            order.append(phase)
    rows = []
    for phase in order:
        info = published.get(phase) or {}
        epochs_logged = log[log["phase"] == phase] if len(log) else pd.DataFrame()
        seconds = float(epochs_logged["seconds"].sum()) if "seconds" in epochs_logged else np.nan
        rows.append(
            {
                "phase": phase,
                "epochs": int(info.get("epochs") or len(epochs_logged)),
                "minutes": float(info["minutes"]) if info.get("minutes") is not None else seconds / 60,
                "largest top-1 %": info.get("top1_largest_holdout", _last(epochs_logged, "top1_largest")),
                "smallest top-1 %": info.get("top1_smallest_holdout", _last(epochs_logged, "top1_smallest")),
                "finished": info.get("finished") or ("" if info else "in progress or not published"),
            }
        )
    phases = pd.DataFrame(rows, columns=["phase", "epochs", "minutes", "largest top-1 %", "smallest top-1 %", "finished"])
    hardware = next((p.get("hardware") for p in published.values() if p.get("hardware")), None)
    minutes = manifest.get("minutes")
    return TrainingStory(phases, learning_curve(log), float(minutes) if minutes is not None else None, manifest.get("data"), hardware, problems)


def _last(df: pd.DataFrame, column: str) -> float | None:
    if not len(df) or column not in df:
        return None
    values = pd.to_numeric(df[column], errors="coerce").dropna()
    return float(values.iloc[-1]) if len(values) else None


def no_training_text(space: SearchSpace) -> str:
    """Why a space has no training section (OFA's published space), in a sentence or two."""
    if not space.trained_here:
        return (
            f"{space.name} uses {space.weights}: its supernet was trained once by its authors, not on this machine, "
            "so there are no training phases or learning curves to show here. The story starts with the searches."
        )
    return (
        f"No training log for {space.name} in its folder yet: `python -m ofa_dash train --space {space.name} --data DIR` "
        "writes the phases and per-epoch figures that this section shows."
    )


def learning_curve_figure(curve: pd.DataFrame, height: int = 380) -> go.Figure:
    """Holdout top-1 of the largest and smallest subnets per epoch, phases marked where they begin."""
    fig = go.Figure()
    for i, (name, part) in enumerate((n, curve[curve["subnet"] == n]) for n in CURVE_COLUMNS.values()):
        if not len(part):
            continue
        fig.add_trace(
            go.Scatter(
                x=part["step"],
                y=part["top1"],
                mode="lines+markers",
                name=name,
                line={"color": PALETTE[i % len(PALETTE)]},
                customdata=part[["phase", "epoch"]].to_numpy(),
                hovertemplate="%{customdata[0]} epoch %{customdata[1]}<br>holdout top-1 %{y:.1f} %<extra>" + name + "</extra>",
            )
        )
    starts = curve.drop_duplicates("phase", keep="first") if len(curve) else curve
    for i, (_, row) in enumerate(starts.iterrows()):
        fig.add_vline(x=row["step"] - 0.5, line={"width": 1, "dash": "dot", "color": "#888"})
        # short phases sit close together: their names alternate between the top and the bottom of the chart
        top = i % 2 == 0
        fig.add_annotation(
            x=row["step"] - 0.5,
            y=1.0 if top else 0.0,
            yref="paper",
            text=str(row["phase"]),
            textangle=-90,
            xanchor="left",
            yanchor="top" if top else "bottom",
            showarrow=False,
            font={"size": 13, "color": "#444"},
        )
    style(fig, height)
    fig.update_layout(xaxis_title="epoch (all phases, in training order)", yaxis_title="holdout top-1 (%)")
    return fig


# --------------------------------------------------------------------------- searches
def searches_table(runs: list[dict]) -> pd.DataFrame:
    """One row per algorithm within each group of comparable runs (same objectives, reference point and budget).

    Seeds of one algorithm are one row (HV mean and best over them); the groups
    come from :func:`comparison_groups`, so a run with another budget (population
    x generations) is in another group and never averaged into the seeds of a large one.
    """
    columns = ["objectives", "algorithm", "budget (population × generations)", "seeds", "evaluations per run", "HV mean", "HV best", "front size (median)"]
    rows = []
    for key, group in comparison_groups(runs).items():
        budgets: dict[tuple, list[dict]] = {}
        for e in group.runs:
            budgets.setdefault((e.get("algorithm"), e.get("pop_size"), e.get("n_gen")), []).append(e)
        part = []
        for (algorithm, pop, gens), members in budgets.items():
            hv = [float(e["hv"]) for e in members if e.get("hv") is not None]
            part.append(
                {
                    "objectives": ", ".join(objective_label(o) for o in members[0].get("objectives", [])),
                    "algorithm": algorithm,
                    "budget (population × generations)": f"{pop} × {gens}",
                    "seeds": ", ".join(str(s) for s in sorted({e.get("seed") for e in members}, key=str)),
                    "evaluations per run": int(np.median([e["n_evals"] for e in members if e.get("n_evals") is not None] or [0])),
                    "HV mean": round(float(np.mean(hv)), 4) if hv else None,
                    "HV best": round(max(hv), 4) if hv else None,
                    "front size (median)": int(np.median([e["front_size"] for e in members if e.get("front_size") is not None] or [0])),
                    "_group": key,
                }
            )
        rows += sorted(part, key=lambda r: -(r["HV mean"] if r["HV mean"] is not None else -np.inf))
    return pd.DataFrame(rows, columns=[*columns, "_group"]).drop(columns="_group")


def headline_run(runs: list[dict]) -> dict | None:
    """The run the story shows the front of: the best HV in the largest group of comparable runs."""
    if not runs:
        return None
    group = next(iter(comparison_groups(runs).values()))
    return max(group.runs, key=lambda e: float(e.get("hv") or -np.inf))


# --------------------------------------------------------------------------- the front
@dataclass
class FrontStory:
    """The headline run's front on accuracy and its latency objective, and the knee a talk would open."""

    run: dict
    columns: list[str]  # ["top1", "latency:<device>"]
    front: pd.DataFrame
    knee: str | None  # the subnet id of the front's (middle) knee


def front_story(points: pd.DataFrame, run: dict, devices: list[str]) -> FrontStory | None:
    """The front of ``run`` (its archive) on top-1 and its first latency objective (else the first device)."""
    lat = next((o for o in run.get("objectives", []) if o.startswith(LATENCY_PREFIX)), None)
    if lat is None and devices:
        lat = LATENCY_PREFIX + devices[0]
    part = points[points["run_id"] == run["run_id"]] if len(points) else points
    if lat is None or not len(part) or lat not in part:
        return None
    columns = ["top1", lat]
    view = front_view(part, columns)
    front = view.front.drop_duplicates("id").sort_values(lat).reset_index(drop=True)
    knees = view.marks.get("knee") or []
    knee = str(view.df.iloc[knees[len(knees) // 2]]["id"]) if knees else None
    return FrontStory(run, columns, front, knee)


def front_figure(story: FrontStory, height: int = 420) -> go.Figure:
    """The headline run's front as a step line of predicted top-1 against the latency estimate, its knee marked."""
    acc, lat = story.columns
    front = story.front.sort_values(lat)
    fig = go.Figure(
        go.Scatter(
            x=front[lat],
            y=front[acc],
            mode="lines+markers",
            line={"shape": "hv", "color": PALETTE[0]},
            name="front",
            customdata=front[["id"]].to_numpy(),
            hovertemplate="%{customdata[0]}<br>%{y:.1f} %, %{x:.3g} ms<extra></extra>",
        )
    )
    if story.knee is not None and (front["id"] == story.knee).any():
        k = front[front["id"] == story.knee].iloc[0]
        fig.add_trace(
            go.Scatter(
                x=[k[lat]],
                y=[k[acc]],
                mode="markers+text",
                marker={"symbol": "diamond", "size": 16, "color": HIGHLIGHT},
                text=["knee"],
                textposition="bottom right",
                name="knee",
                hoverinfo="skip",
            )
        )
    style(fig, height)
    fig.update_layout(xaxis_title=f"latency on {lat.removeprefix(LATENCY_PREFIX)}, lookup-table estimate (ms)", yaxis_title="predicted top-1 (%)")
    return fig
