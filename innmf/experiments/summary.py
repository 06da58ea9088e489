"""Tidy per-trial rows to a summary (mean, std, trials per experiment, method, N, metric).

The results store writes this summary next to the rows (``summary.csv``) and
``innmf reproduce --json`` prints it; :mod:`innmf.report.stats` adds the paired
statistics on top of the same checked table.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("trial", "method", "n_fft", "metric", "value")
SUMMARY_KEYS = ("experiment", "method", "n_fft", "metric", "mean", "std", "trials")

def infer_experiment(metric: str) -> str:
    """Experiment a metric belongs to: ``kl`` → "reconstruction", others → "separation"."""
    return "reconstruction" if metric == "kl" else "separation"


def _check_table(df: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"Result table lacks column(s) {missing}; expected a tidy table with "
            f"columns {list(REQUIRED_COLUMNS)} (one row per trial x method x n_fft x metric)."
        )
    if df.empty:
        raise ValueError("Result table is empty; run an experiment first.")
    values = pd.to_numeric(df["value"], errors="coerce")
    bad = ~np.isfinite(values.to_numpy(dtype=float))
    if bad.any():
        rows = df.loc[bad, ["trial", "method", "n_fft", "metric"]].head(5).to_dict("records")
        raise ValueError(f"{int(bad.sum())} result value(s) are NaN or infinite, e.g. {rows}.")
    out = df.copy()
    out["value"] = values.astype(float)
    if "experiment" not in out.columns:
        out["experiment"] = out["metric"].map(infer_experiment)
    keys = ["experiment", "trial", "method", "n_fft", "metric"]
    dup = out.duplicated(keys, keep=False)
    if dup.any():
        rows = out.loc[dup, keys].head(5).to_dict("records")
        raise ValueError(f"Result table has {int(dup.sum())} duplicated rows for the same {keys}, e.g. {rows}.")
    return out


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation (ddof=1) and trial count per experiment/method/n_fft/metric.

    Args:
        df: tidy results; without an ``experiment`` column it is inferred from the
            metric (``kl`` → "reconstruction", else "separation").

    Returns:
        DataFrame with columns experiment, method, n_fft, metric, mean, std, trials
        (std is NaN for a single trial).
    """
    table = _check_table(df)
    grouped = table.groupby(["experiment", "method", "n_fft", "metric"], sort=True)["value"]
    out = grouped.agg(mean="mean", std=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else math.nan,
                      trials="count").reset_index()
    return out[list(SUMMARY_KEYS)]


def summary_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """:func:`summary_table` as JSON-ready dictionaries for ``innmf reproduce --json``.

    Each dictionary has exactly the keys experiment, method, n_fft, metric, mean,
    std, trials, with plain Python types; ``std`` is ``None`` for a single trial
    (JSON has no NaN).
    """
    rows = []
    for rec in summary_table(df).to_dict("records"):
        std = float(rec["std"])
        rows.append({
            "experiment": str(rec["experiment"]),
            "method": str(rec["method"]),
            "n_fft": int(rec["n_fft"]),
            "metric": str(rec["metric"]),
            "mean": float(rec["mean"]),
            "std": None if math.isnan(std) else std,
            "trials": int(rec["trials"]),
        })
    return rows
