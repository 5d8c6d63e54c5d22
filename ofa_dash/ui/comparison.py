"""Algorithm comparison from stored runs: HV against evaluations (mean and spread over seeds), final HV.

A comparison is fair only between runs that had the same chance: hypervolumes
are comparable within one objective set and one reference point, and a run of
50 x 60 evaluations is no sample of the same algorithm run for 100 x 1000. So
runs are grouped by objectives, reference point and budget (population x
generations) first (:func:`comparison_groups`), the page shows one group at a
time and says what it left to the other groups (:func:`left_out`). Within a
group, one run per (algorithm, seed) counts: a seed run again (same budget, same
objectives) repeats a sample rather than adding one, so the latest run of it
is kept and the older ones are named as left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class RunGroup:
    """Runs that can be compared: one objective set, one reference point, one budget."""

    objectives: tuple[str, ...]
    ref_point: tuple[float, ...]
    pop_size: int
    n_gen: int
    local_search: str = "none"  # the run's local-search mode (ofa_dash.search.local): evaluations per generation differ by orders
    runs: list[dict] = field(default_factory=list)  # one per (algorithm, seed): the latest
    repeats: list[dict] = field(default_factory=list)  # older runs of a seed that ``runs`` already holds

    @property
    def budget(self) -> str:
        return f"{self.pop_size} x {self.n_gen}" + (f" with {self.local_search} local search" if self.local_search != "none" else "")

    @property
    def label(self) -> str:
        """A readable key: objectives, budget and reference point."""
        ref = ", ".join(f"{v:g}" for v in self.ref_point)
        return f"{' + '.join(self.objectives)} · {self.budget} (population x generations) · reference point {ref}"

    @property
    def title(self) -> str:
        """A chart title short enough for one line: objectives and budget."""
        return f"{' + '.join(self.objectives)} · {self.budget}"

    @property
    def n_runs(self) -> int:
        return len(self.runs) + len(self.repeats)


def _group_fields(entry: dict) -> tuple:
    return (
        tuple(entry.get("objectives", [])),
        tuple(float(v) for v in entry.get("ref_point", [])),
        int(entry.get("pop_size", 0)),
        int(entry.get("n_gen", 0)),
        str((entry.get("algorithm_params") or {}).get("local_search", "none")),
    )


def group_key(entry: dict) -> str:
    """The label of the group a run belongs to."""
    return RunGroup(*_group_fields(entry)).label


def comparison_groups(entries: list[dict]) -> dict[str, RunGroup]:
    """Runs grouped by (objectives, reference point, population, generations), biggest group first.

    Within a group, a repeated (algorithm, seed) keeps its latest run (by ``created``)
    and the others go to ``repeats``.
    """
    groups: dict[tuple, RunGroup] = {}
    for e in entries:
        fields = _group_fields(e)
        groups.setdefault(fields, RunGroup(*fields)).runs.append(e)
    for g in groups.values():
        latest: dict[tuple, dict] = {}
        for e in sorted(g.runs, key=lambda e: str(e.get("created", ""))):
            key = (e["algorithm"], int(e["seed"]))
            if key in latest:
                g.repeats.append(latest[key])
            latest[key] = e
        g.runs = sorted(latest.values(), key=lambda e: (e["algorithm"], int(e["seed"])))
    ordered = sorted(groups.values(), key=lambda g: (-len(g.runs), g.label))
    return {g.label: g for g in ordered}


def left_out(group: RunGroup, groups: dict[str, RunGroup]) -> str:
    """What a comparison of ``group`` does not show, in words ("" when it shows every run)."""
    others = [g for g in groups.values() if g is not group]
    n_other = sum(g.n_runs for g in others)
    parts = []
    if n_other:
        same = sum(g.n_runs for g in others if g.objectives == group.objectives)
        budgets = sorted({g.budget for g in others if g.objectives == group.objectives})
        text = f"{n_other} run{'s' if n_other != 1 else ''} left to other groups"
        if same:
            text += f" ({same} with these objectives but another budget or reference point: {', '.join(budgets)})"
        parts.append(text)
    if group.repeats:
        seeds: dict[str, set[int]] = {}
        for e in group.repeats:
            seeds.setdefault(str(e["algorithm"]), set()).add(int(e["seed"]))
        named = "; ".join(f"{a} seed{'s' if len(s) > 1 else ''} {', '.join(map(str, sorted(s)))}" for a, s in sorted(seeds.items()))
        n = len(group.repeats)
        parts.append(f"{n} older run{'s' if n != 1 else ''} of a repeated seed left out ({named}; the latest run of each seed is kept)")
    return "; ".join(parts)


def hv_curves(histories: pd.DataFrame, points: int = 200) -> pd.DataFrame:
    """Per algorithm: mean and standard deviation of HV over its runs on a common evaluation grid.

    ``histories`` has columns ``algorithm``, ``run_id``, ``n_evals``, ``hv``. Each run's
    HV (a step function of evaluations) is carried forward onto the grid, which runs
    up to the shortest run of the algorithm so every point averages all seeds.
    """
    rows = []
    for algorithm, part in histories.groupby("algorithm", sort=True):
        runs = [r.sort_values("n_evals") for _, r in part.groupby("run_id")]
        end = min(float(r["n_evals"].max()) for r in runs)
        start = min(float(r["n_evals"].min()) for r in runs)
        grid = np.unique(np.linspace(start, end, points).round())
        values = []
        for r in runs:
            ev, hv = r["n_evals"].to_numpy(dtype=float), r["hv"].to_numpy(dtype=float)
            idx = np.searchsorted(ev, grid, side="right") - 1
            values.append(np.where(idx >= 0, hv[np.clip(idx, 0, None)], np.nan))
        v = np.vstack(values)
        rows.append(
            pd.DataFrame(
                {
                    "algorithm": algorithm,
                    "n_evals": grid,
                    "mean": np.nanmean(v, axis=0),
                    "std": np.nanstd(v, axis=0) if len(runs) > 1 else 0.0,
                    "n_runs": len(runs),
                }
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["algorithm", "n_evals", "mean", "std", "n_runs"])


def final_hv_table(entries: list[dict]) -> pd.DataFrame:
    """One row per algorithm: runs, seeds, HV mean / std / best of the archive, evaluations, seconds, front size.

    ``entries`` are the runs of one group (:attr:`RunGroup.runs`); ``seeds`` lists the
    distinct seeds, so a repeated seed shows once.
    """
    header = ["algorithm", "runs", "seeds", "HV mean", "HV std", "HV best", "evaluations", "seconds (mean)", "front size (mean)"]
    if not entries:
        return pd.DataFrame(columns=header)
    df = pd.DataFrame(
        {
            "algorithm": [e["algorithm"] for e in entries],
            "seed": [int(e["seed"]) for e in entries],
            "hv": [float(e["hv"]) for e in entries],
            "n_evals": [int(e["n_evals"]) for e in entries],
            "seconds": [float(e["seconds"]) for e in entries],
            "front_size": [int(e["front_size"]) for e in entries],
        }
    )
    out = df.groupby("algorithm").agg(
        runs=("hv", "size"),
        seeds=("seed", lambda s: ", ".join(map(str, sorted(set(s))))),
        hv_mean=("hv", "mean"),
        hv_std=("hv", lambda s: float(s.std(ddof=1)) if len(s) > 1 else 0.0),
        hv_best=("hv", "max"),
        evaluations=("n_evals", "median"),
        seconds=("seconds", "mean"),
        front=("front_size", "mean"),
    )
    out = out.sort_values("hv_mean", ascending=False).reset_index()
    out.columns = header
    out["evaluations"] = out["evaluations"].round().astype(int)
    return out.round(4)
