"""Algorithm comparison from stored runs: HV against evaluations (mean and spread over seeds), final HV.

Hypervolumes are comparable only between runs of one objective set with one
reference point, so runs are grouped by both first (:func:`comparison_groups`),
and the page shows one group at a time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def group_key(entry: dict) -> str:
    """A readable key: the objectives and the reference point."""
    ref = ", ".join(f"{v:g}" for v in entry.get("ref_point", []))
    return f"{' + '.join(entry.get('objectives', []))}  (reference point {ref})"


def comparison_groups(entries: list[dict]) -> dict[str, list[dict]]:
    """Runs grouped by (objectives, reference point), biggest group first."""
    groups: dict[str, list[dict]] = {}
    for e in entries:
        groups.setdefault(group_key(e), []).append(e)
    return dict(sorted(groups.items(), key=lambda kv: -len(kv[1])))


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
    """One row per algorithm: runs, HV mean / std / best of the archive, evaluations, seconds, front size."""
    if not entries:
        return pd.DataFrame(columns=["algorithm", "runs", "HV mean", "HV std", "HV best", "evaluations", "seconds (mean)", "front size (mean)"])
    df = pd.DataFrame(
        {
            "algorithm": [e["algorithm"] for e in entries],
            "hv": [float(e["hv"]) for e in entries],
            "n_evals": [int(e["n_evals"]) for e in entries],
            "seconds": [float(e["seconds"]) for e in entries],
            "front_size": [int(e["front_size"]) for e in entries],
        }
    )
    out = df.groupby("algorithm").agg(
        runs=("hv", "size"),
        hv_mean=("hv", "mean"),
        hv_std=("hv", lambda s: float(s.std(ddof=1)) if len(s) > 1 else 0.0),
        hv_best=("hv", "max"),
        evaluations=("n_evals", "median"),
        seconds=("seconds", "mean"),
        front=("front_size", "mean"),
    )
    out = out.sort_values("hv_mean", ascending=False).reset_index()
    out.columns = ["algorithm", "runs", "HV mean", "HV std", "HV best", "evaluations", "seconds (mean)", "front size (mean)"]
    return out.round(4)
