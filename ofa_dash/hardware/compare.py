"""Comparing devices of one space: do they rank the same subnets as fast?

A latency table is mostly used to rank subnets (fronts, search objectives),
so what matters between two devices is rank agreement, not milliseconds: a
subnet that is in the fastest quarter on one device may be middling on
another (depthwise 7x7 kernels are cheap on one runtime and costly on
another). Given every device's latency estimate for the same subnets, this
module gives

- Kendall tau between each pair of devices (1: identical order);
- each subnet's rank percentile on each device (0 = the fastest, 100 = the
  slowest), so it can be put into "fast everywhere", "fast only on some
  devices" and "fast nowhere".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FAST_PERCENT = 25.0  # a subnet is "fast" on a device when it is in the fastest quarter there
FAST_EVERYWHERE = "fast everywhere"
FAST_NOWHERE = "fast nowhere"


@dataclass(frozen=True)
class DeviceComparison:
    """Latency estimates of the same subnets on several devices, and how far the devices agree on their order."""

    estimates: pd.DataFrame  # index: subnet id; one column of milliseconds per device
    percentiles: pd.DataFrame  # same shape: rank percentile per device (0 fastest, 100 slowest)
    tau: pd.DataFrame  # device x device Kendall tau
    fast_percent: float

    @property
    def devices(self) -> list[str]:
        return list(self.estimates.columns)

    def verdicts(self) -> pd.Series:
        """Per subnet: "fast everywhere", "fast only on a, b" or "fast nowhere" (fast: within the fastest ``fast_percent`` %)."""
        fast = self.percentiles <= self.fast_percent
        names = np.array(self.devices)

        def words(row: np.ndarray) -> str:
            if row.all():
                return FAST_EVERYWHERE
            if not row.any():
                return FAST_NOWHERE
            return "fast only on " + ", ".join(names[row])

        return pd.Series([words(r) for r in fast.to_numpy()], index=self.percentiles.index, name="verdict")

    def summary(self) -> pd.DataFrame:
        """How many subnets fall under each verdict (most first)."""
        counts = self.verdicts().value_counts()
        return pd.DataFrame({"verdict": counts.index, "subnets": counts.to_numpy()})

    def disagreements(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` subnets whose rank differs most between devices (largest percentile spread), then the fast-everywhere ones.

        Columns: id, one rank percentile per device, the spread, and the verdict.
        """
        table = self.percentiles.copy()
        table["spread"] = table.max(axis=1) - table.min(axis=1)
        table["verdict"] = self.verdicts()
        table = table.sort_values("spread", ascending=False, kind="stable")
        return table.head(n).reset_index(names="id")

    def pairs(self) -> pd.DataFrame:
        """One row per pair of devices with their Kendall tau (lowest first: the pairs that disagree most)."""
        rows = [{"device a": a, "device b": b, "kendall_tau": float(self.tau.loc[a, b])} for i, a in enumerate(self.devices) for b in self.devices[i + 1 :]]
        return pd.DataFrame(rows, columns=["device a", "device b", "kendall_tau"]).sort_values("kendall_tau", kind="stable").reset_index(drop=True)


def compare_devices(estimates: pd.DataFrame, fast_percent: float = FAST_PERCENT) -> DeviceComparison:
    """Compare devices on the subnets in ``estimates`` (index: subnet id, one column of ms per device, at least two).

    Rows with a missing or non-finite estimate on any device are left out, so
    every device is judged on the same subnets.
    """
    from scipy.stats import kendalltau

    if estimates.shape[1] < 2:
        raise ValueError(f"comparing devices needs at least two, got {list(estimates.columns)}")
    if not 0 < fast_percent < 100:
        raise ValueError(f"fast_percent must be between 0 and 100, got {fast_percent}")
    values = estimates.astype(float)
    values = values[np.isfinite(values.to_numpy()).all(axis=1)]
    values = values[~values.index.duplicated()]
    if len(values) < 2:
        raise ValueError(f"comparing devices needs at least two subnets estimated on every device, got {len(values)}")
    n = len(values)
    percentiles = (values.rank(method="average") - 1) / (n - 1) * 100.0
    devices = list(values.columns)
    tau = pd.DataFrame(1.0, index=devices, columns=devices)
    for i, a in enumerate(devices):
        for b in devices[i + 1 :]:
            t = kendalltau(values[a], values[b]).statistic
            tau.loc[a, b] = tau.loc[b, a] = float(t) if np.isfinite(t) else np.nan
    return DeviceComparison(values, percentiles, tau, fast_percent)
