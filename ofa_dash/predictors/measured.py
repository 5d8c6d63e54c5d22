"""The measured-subnet dataset: true holdout top-1 of many subnets, the accuracy predictor's training data.

The file (Parquet, one row per subnet, ``precomputed/<space>/measured.parquet``)
is written by :mod:`ofa_dash.measure` and read here by whoever needs the rows
(fitting the predictor, the dashboard's predictor page).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ofa_dash.files import atomic_write_bytes
from ofa_dash.space import GENOME_LENGTH, SearchSpace

MEASURED_FILE = "measured.parquet"
MEASURED_COLUMNS = (
    "id",
    "genome",
    "arch",
    "space",
    "top1_holdout",
    "top5_holdout",
    "n_holdout",
    "n_calib",
    "macs",
    "params",
    "peak_mem",
    "supernet_version",
    "seed",
    "seconds",
    "engine",
    "measured_at",
)


def read_measured(path: str | os.PathLike, space: SearchSpace | None = None) -> pd.DataFrame:
    """The measured-subnet table, checked: required columns, one space, 46-gene genomes."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"measured-subnet file {str(path)!r} not found; create it with `python -m ofa_dash measure`")
    try:
        df = pq.read_table(path).to_pandas()
    except Exception as exc:
        raise ValueError(f"{path} is not a readable Parquet file ({type(exc).__name__}: {exc})") from None
    missing = [c for c in ("id", "genome", "top1_holdout", "supernet_version", "space") if c not in df.columns]
    if missing:
        raise ValueError(f"{path} is not a measured-subnet table: missing column(s) {missing}")
    if space is not None and len(df) and set(df["space"]) != {space.name}:
        raise ValueError(f"{path} holds subnets of space(s) {sorted(set(df['space']))}, not {space.name!r}")
    if len(df) and any(len(g) != GENOME_LENGTH for g in df["genome"]):
        raise ValueError(f"{path}: every genome must have {GENOME_LENGTH} genes")
    return df


def genome_matrix(df: pd.DataFrame) -> np.ndarray:
    """(n, 46) int64 genome array of a measured table."""
    if not len(df):
        return np.zeros((0, GENOME_LENGTH), dtype=np.int64)
    return np.stack([np.asarray(g, dtype=np.int64) for g in df["genome"]])


def write_measured(df: pd.DataFrame, path: Path) -> None:
    """Atomic rewrite (temp file in the same folder, then rename)."""
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False), buf)
    atomic_write_bytes(path, buf.getvalue())
