"""The int8 drop model: how many top-1 points a subnet loses when quantized to int8, fitted on measured (fp32, int8) pairs.

Why: on an int8 device axis the front must pair int8 latency with int8
accuracy, not with the fp32 figure. Where a subnet's int8 model was measured
(live validation with ``--int8`` stores ``top1_int8`` next to ``top1`` in the
same record, on the same test images) that measurement is the answer; for every
other subnet the answer is the fp32 prediction minus this model's drop.

The model is deliberately small and robust (the pairs are few and a single bad
quantization can lose tens of points):

- no pairs: no model (``kind == "none"``); pages show the fp32 figure tagged
  "int8 drop unknown" instead of inventing a number;
- fewer than :data:`MIN_LINEAR_PAIRS` pairs: the median drop;
- otherwise a Theil-Sen line (the median of pairwise slopes) of the drop on the
  fp32 accuracy, kept only when its leave-one-out error beats the median's.

Its error is measured, never assumed: the leave-one-out mean absolute error of
the int8 accuracy it would have predicted for each pair (``loo_mae``, points).

The int8 figure a page shows for an unmeasured subnet stacks two models (the
accuracy predictor's fp32 figure, then this drop), so its interval is calibrated
end to end on the pairs themselves (:func:`calibrate_int8_interval`): each pair's
int8 top-1 is predicted as a page would predict it, from the predictor's fp32
prediction minus the drop model refitted *without* that pair, and the conformal
quantile of those residuals is the half-width (:mod:`ofa_dash.predictors.intervals`).
Below :data:`MIN_INTERVAL_PAIRS` pairs there is no interval, and the reason says how
many more pairs to measure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ofa_dash.predictors.intervals import DEFAULT_LEVEL, calibrate_interval

MIN_LINEAR_PAIRS = 8  # below this a slope from pairwise differences is noise; the median drop is steadier
MIN_INTERVAL_PAIRS = 10  # calibrate_interval's floor: fewer residuals cannot support an 80 % conformal quantile with folds to check it
INT8_INTERVAL_METHOD = (
    "leave-one-out conformal on the measured int8 pairs: |measured int8 top-1 - (the accuracy predictor's fp32 prediction "
    "- the drop model refitted without that pair)| quantile; coverage by cross-conformal folds"
)
INT8_KEYS = ("top1_int8", "top5_int8")  # what a live validation with int8 adds to its measurement record


@dataclass(frozen=True)
class Int8DropModel:
    """A fitted drop model; ``predict`` turns fp32 top-1 into int8 top-1 (both in %)."""

    kind: str  # "none", "median" or "linear"
    n_pairs: int
    median_drop: float | None  # points, over the pairs
    slope: float = 0.0  # drop = intercept + slope * fp32 (linear); 0 for the median model
    intercept: float = 0.0
    loo_mae: float | None = None  # leave-one-out mean absolute error of the int8 top-1, points (None below 2 pairs)
    median_loo_mae: float | None = None  # the median model's own leave-one-out error (what the line had to beat)

    @property
    def known(self) -> bool:
        return self.kind != "none"

    def drop(self, fp32) -> np.ndarray:
        """Predicted drop (points) at these fp32 accuracies; NaN without a model."""
        x = np.asarray(fp32, dtype=float)
        if not self.known:
            return np.full(x.shape, np.nan)
        return self.intercept + self.slope * x

    def predict(self, fp32) -> np.ndarray:
        """Predicted int8 top-1 (%) for fp32 top-1 (%); NaN without a model."""
        x = np.asarray(fp32, dtype=float)
        return x - self.drop(x)

    def label(self) -> str:
        """What the model is, for source tags: ``int8 drop model from 12 pairs (median drop 0.42 points, leave-one-out error 0.10 points)``."""
        if not self.known:
            return "int8 drop unknown: no measured int8 pairs (validate subnets with --int8 to add some)"
        how = "median drop" if self.kind == "median" else "a robust line of the drop on fp32 top-1; median drop"
        err = f", leave-one-out error {self.loo_mae:.2f} points" if self.loo_mae is not None else ""
        return f"int8 drop model from {self.n_pairs} pair{'s' if self.n_pairs != 1 else ''} ({how} {self.median_drop:.2f} points{err})"

    def to_dict(self) -> dict:
        """The ``report --json`` object (``predictor.int8_drop``)."""
        return {**asdict(self), "min_linear_pairs": MIN_LINEAR_PAIRS}


NO_MODEL = Int8DropModel("none", 0, None)


def _theil_sen(x: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    i, j = np.triu_indices(len(x), k=1)
    dx = x[j] - x[i]
    ok = dx != 0
    if not ok.any():
        return 0.0, float(np.median(d))
    slope = float(np.median((d[j] - d[i])[ok] / dx[ok]))
    return slope, float(np.median(d - slope * x))


def _loo_mae(x: np.ndarray, d: np.ndarray, linear: bool) -> float | None:
    n = len(x)
    if n < 2:
        return None
    errors = np.empty(n)
    for k in range(n):
        keep = np.arange(n) != k
        if linear:
            slope, intercept = _theil_sen(x[keep], d[keep])
            errors[k] = intercept + slope * x[k] - d[k]
        else:
            errors[k] = np.median(d[keep]) - d[k]
    return float(np.mean(np.abs(errors)))


def fit_int8_drop(fp32, int8) -> Int8DropModel:
    """Fit the drop model on measured pairs (top-1 % of the fp32 and the int8 model of the same subnets, same images)."""
    x = np.asarray(fp32, dtype=float).ravel()
    y = np.asarray(int8, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"{len(x)} fp32 accuracies against {len(y)} int8 accuracies: pairs must match")
    ok = np.isfinite(x) & np.isfinite(y)
    x, d = x[ok], (x - y)[ok]
    n = len(x)
    if n == 0:
        return NO_MODEL
    median = float(np.median(d))
    median_err = _loo_mae(x, d, linear=False)
    model = Int8DropModel("median", n, median, 0.0, median, median_err, median_err)
    if n >= MIN_LINEAR_PAIRS:
        line_err = _loo_mae(x, d, linear=True)
        if line_err is not None and median_err is not None and line_err < median_err:
            slope, intercept = _theil_sen(x, d)
            model = Int8DropModel("linear", n, median, slope, intercept, line_err, median_err)
    return model


def int8_pairs(measurements: pd.DataFrame) -> pd.DataFrame:
    """One measured (fp32, int8) pair per subnet from store measurement records: ``id``, ``top1``, ``top1_int8``, ``n_images``.

    Only records that hold both figures count (the int8 model scored on the same
    images as the fp32 one); per subnet the record on the most images wins, the
    latest on ties (the rule of ``RunStore.best_measurements``).
    """
    cols = ["id", "top1", "top1_int8", "top5_int8", "n_images"]
    need = {"arch", "top1", "top1_int8", "n_images"}
    if not len(measurements) or not need <= set(measurements.columns):
        return pd.DataFrame(columns=cols)
    df = measurements[pd.to_numeric(measurements["top1_int8"], errors="coerce").notna() & pd.to_numeric(measurements["top1"], errors="coerce").notna()]
    df = df[pd.to_numeric(df["n_images"], errors="coerce").notna()]
    if not len(df):
        return pd.DataFrame(columns=cols)
    df = df.assign(_order=np.arange(len(df))).sort_values(["n_images", "_order"]).groupby("arch", sort=False).tail(1)
    out = pd.DataFrame(
        {
            "id": df["arch"].astype(str),
            "top1": df["top1"].astype(float),
            "top1_int8": df["top1_int8"].astype(float),
            "top5_int8": pd.to_numeric(df["top5_int8"], errors="coerce") if "top5_int8" in df else np.nan,
            "n_images": df["n_images"].astype(int),
        }
    )
    return out.sort_values("id").reset_index(drop=True)


def drop_model_from_measurements(measurements: pd.DataFrame) -> Int8DropModel:
    """The drop model fitted on every measured pair of these records (see :func:`int8_pairs`)."""
    pairs = int8_pairs(measurements)
    return fit_int8_drop(pairs["top1"].to_numpy(dtype=float), pairs["top1_int8"].to_numpy(dtype=float))


def _too_few(n: int) -> str:
    return f"{n} measured int8 pair{'s' if n != 1 else ''}; a calibrated int8 interval needs {MIN_INTERVAL_PAIRS} (validate subnets with --int8)"


def loo_int8_predictions(predicted_fp32, fp32, int8) -> np.ndarray:
    """Each pair's int8 top-1 as a page would have predicted it without that pair: its fp32 prediction minus the drop model fitted on the others."""
    p, x, y = (np.asarray(a, dtype=float).ravel() for a in (predicted_fp32, fp32, int8))
    if not p.shape == x.shape == y.shape:
        raise ValueError(f"{len(p)} predictions, {len(x)} fp32 and {len(y)} int8 accuracies: pairs must match")
    out = np.empty(len(p))
    for k in range(len(p)):
        keep = np.arange(len(p)) != k
        out[k] = fit_int8_drop(x[keep], y[keep]).predict([p[k]])[0]
    return out


def calibrate_int8_interval(predicted_fp32, fp32, int8, level: float = DEFAULT_LEVEL) -> tuple[dict | None, str | None]:
    """(interval, why not): the end-to-end interval of the predicted int8 top-1, calibrated on measured pairs (module docstring).

    ``predicted_fp32`` is the accuracy predictor's figure for each pair's subnet, ``fp32``
    and ``int8`` the measured top-1 of its two models. The interval dict has the keys of the
    fp32 predictor's (``level``, ``half_width``, ``coverage``, ``n_calibration``, ...).
    """
    p, x, y = (np.asarray(a, dtype=float).ravel() for a in (predicted_fp32, fp32, int8))
    ok = np.isfinite(p) & np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < MIN_INTERVAL_PAIRS:
        return None, _too_few(n)
    predicted = loo_int8_predictions(p[ok], x[ok], y[ok])
    return {**calibrate_interval(predicted, y[ok], level), "method": INT8_INTERVAL_METHOD}, None


def int8_interval_from_records(space, predictor, measurements: pd.DataFrame, level: float = DEFAULT_LEVEL) -> tuple[dict | None, str | None]:
    """:func:`calibrate_int8_interval` on every measured pair of these records, with ``predictor``'s fp32 prediction of each pair's subnet."""
    if predictor is None:
        return None, "no accuracy predictor, so no predicted int8 figure to put an interval on"
    pairs = int8_pairs(measurements)
    genomes, keep = [], []
    for i, sid in enumerate(pairs["id"]):
        try:
            genomes.append(space.encode(space.arch_from_id(sid))[0])
            keep.append(i)
        except ValueError:  # a record of another space's id or a damaged line: not a pair of this space
            continue
    if len(keep) < MIN_INTERVAL_PAIRS:
        return None, _too_few(len(keep))
    pairs = pairs.iloc[keep]
    predicted = np.asarray(predictor.predict(np.stack(genomes)), dtype=float)
    return calibrate_int8_interval(predicted, pairs["top1"].to_numpy(dtype=float), pairs["top1_int8"].to_numpy(dtype=float), level)
