"""How many subnets a view shows, counted one way on every caption and heading.

The catalogue has one row per (run, subnet): the same subnet found by five
runs is five rows. Counting rows in one place and ids in another made the 2D
caption, the 3D caption and the 3D table heading disagree, so every count a
page shows is a count of *distinct subnets* (ids), made here. How often the
chosen runs found them is a separate figure (``found``), named as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class SubnetCounts:
    """Distinct subnets shown, how many of them are on the Pareto front, and how many the constraints hide."""

    subnets: int
    on_front: int
    found: int  # rows: one per run that found a subnet
    hidden: int = 0

    def phrase(self, front: str = "Pareto front", runs: int | None = None) -> str:
        """``"4352 subnets (2223 on the Pareto front) from 20 runs"``, plus what the constraints hide."""
        text = f"{self.subnets} subnet{'s' if self.subnets != 1 else ''} ({self.on_front} on the {front})"
        if runs is not None:
            text += f" from {runs} run{'s' if runs != 1 else ''}"
        return text + (f"; {self.hidden} hidden by constraints" if self.hidden else "")


def distinct_ids(rows: pd.DataFrame) -> int:
    """How many different subnets ``rows`` hold (the one definition of "N subnets")."""
    return int(rows["id"].nunique()) if len(rows) and "id" in rows else 0


def count_subnets(shown: pd.DataFrame, pareto: str = "pareto", before: pd.DataFrame | None = None) -> SubnetCounts:
    """Counts of a view: distinct ids in ``shown``, distinct ids flagged ``pareto``, and (given the rows
    ``before`` the constraints) the distinct subnets the constraints removed entirely."""
    on_front = distinct_ids(shown[shown[pareto].astype(bool)]) if pareto in shown and len(shown) else 0
    hidden = 0
    if before is not None and len(before):
        kept = set(shown["id"]) if len(shown) else set()
        hidden = len(set(before["id"]) - kept)
    return SubnetCounts(distinct_ids(shown), on_front, len(shown), hidden)
