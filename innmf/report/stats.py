"""Paired statistics and summary rows for tidy result tables.

The published comparison is unpaired (book/paper_setup.md §5): classic NMF and iN-NMF
saw different signals. Our runners evaluate both methods on the *same* trials, so
the right comparison is per-trial differences: their mean, a t-interval and a
Wilcoxon signed-rank test. Input tables are tidy, one row per
trial x method x n_fft x metric, with columns ``trial``, ``method``, ``n_fft``,
``metric``, ``value`` (and optionally ``experiment``).

Used by ``innmf reproduce`` and the chapters "Reconstruction across window sizes",
"Separating two speakers" and "A paired look at the comparison".
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from innmf.experiments.summary import REQUIRED_COLUMNS, SUMMARY_KEYS, _check_table, infer_experiment, summary_rows, summary_table  # noqa: F401 - the summary is part of this module's API

MIN_WILCOXON_PAIRS = 6


def _wilcoxon(diff: np.ndarray) -> tuple[float, str]:
    if len(diff) < MIN_WILCOXON_PAIRS:
        return math.nan, f"n={len(diff)} < {MIN_WILCOXON_PAIRS}: too few pairs for a signed-rank test"
    if np.all(diff == 0):
        return math.nan, "all paired differences are zero"
    return float(sps.wilcoxon(diff).pvalue), ""


def _pair_group(
    group: pd.DataFrame, baseline: str, treatment: str, label: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, int]:
    wide = group.pivot(index="trial", columns="method", values="value")
    for m in (baseline, treatment):
        if m not in wide.columns:
            wide[m] = np.nan
    complete = wide[[baseline, treatment]].dropna()
    dropped = len(wide) - len(complete)
    if dropped:
        warnings.warn(
            f"{label}: dropped {dropped} trial(s) present for only one of {baseline!r}/{treatment!r}.",
            stacklevel=3,
        )
    complete = complete.sort_index()
    return complete[baseline].to_numpy(), complete[treatment].to_numpy(), dropped


def paired_summary(
    df: pd.DataFrame,
    metric: str | None = None,
    baseline: str = "NMF",
    treatment: str = "iN-NMF",
    confidence: float = 0.95,
    n_boot: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """Paired comparison of two methods per experiment x n_fft x metric.

    Rows are paired by ``trial`` id (never by row order). Trials present for only one
    method are dropped with a warning and counted in ``n_dropped``.

    Args:
        df: tidy results (columns trial, method, n_fft, metric, value[, experiment]).
        metric: keep only this metric (default: all).
        baseline: the reference method ("NMF").
        treatment: the method compared with it ("iN-NMF").
        confidence: level of the confidence intervals.
        n_boot: if positive, also a percentile bootstrap CI of the mean difference
            with this many resamples (columns ``boot_low``, ``boot_high``).
        seed: seed of the bootstrap.

    Returns:
        One row per (experiment, n_fft, metric) with ``n`` (pairs), ``n_dropped``,
        ``mean_baseline``, ``mean_treatment``, ``std_baseline``, ``std_treatment``,
        ``mean_diff`` (treatment − baseline), ``std_diff``, ``ci_low``, ``ci_high``
        (t-interval), ``p_wilcoxon``, ``ratio`` (mean_treatment / mean_baseline) and
        ``note`` (why a value is NaN, empty otherwise). Standard deviations use ddof=1.

    Raises:
        ValueError: malformed table, unknown metric, or a method missing entirely.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}.")
    table = _check_table(df)
    if metric is not None:
        if metric not in set(table["metric"]):
            raise ValueError(f"Metric {metric!r} not in the table; it has {sorted(set(table['metric']))}.")
        table = table[table["metric"] == metric]
    for m in (baseline, treatment):
        if m not in set(table["method"]):
            raise ValueError(f"Method {m!r} not in the table; it has {sorted(set(table['method']))}.")
    rows = []
    for (experiment, n_fft, met), group in table.groupby(["experiment", "n_fft", "metric"], sort=True):
        label = {"experiment": experiment, "n_fft": n_fft, "metric": met}
        base, treat, dropped = _pair_group(group, baseline, treatment, label)
        n = len(base)
        diff = treat - base
        notes = []
        row: dict[str, Any] = {**label, "n": n, "n_dropped": dropped}
        row["mean_baseline"] = float(np.mean(base)) if n else math.nan
        row["mean_treatment"] = float(np.mean(treat)) if n else math.nan
        row["std_baseline"] = float(np.std(base, ddof=1)) if n > 1 else math.nan
        row["std_treatment"] = float(np.std(treat, ddof=1)) if n > 1 else math.nan
        row["mean_diff"] = float(np.mean(diff)) if n else math.nan
        row["std_diff"] = float(np.std(diff, ddof=1)) if n > 1 else math.nan
        if n > 1:
            half = sps.t.ppf(0.5 + confidence / 2, n - 1) * row["std_diff"] / math.sqrt(n)
            row["ci_low"], row["ci_high"] = row["mean_diff"] - half, row["mean_diff"] + half
        else:
            row["ci_low"] = row["ci_high"] = math.nan
            notes.append(f"n={n}: no confidence interval")
        if n_boot > 0:
            if n > 1 and np.ptp(diff) > 0:
                res = sps.bootstrap(
                    (diff,), np.mean, n_resamples=n_boot, confidence_level=confidence,
                    method="percentile", rng=np.random.default_rng(seed),
                )
                row["boot_low"] = float(res.confidence_interval.low)
                row["boot_high"] = float(res.confidence_interval.high)
            else:
                row["boot_low"] = row["boot_high"] = math.nan
                notes.append("no bootstrap: fewer than 2 distinct differences")
        p, note = _wilcoxon(diff)
        row["p_wilcoxon"] = p
        if note:
            notes.append(note)
        if n and row["mean_baseline"] != 0:
            row["ratio"] = row["mean_treatment"] / row["mean_baseline"]
        else:
            row["ratio"] = math.nan
            notes.append("no ratio: baseline mean is zero or no pairs")
        row["note"] = "; ".join(notes)
        rows.append(row)
    return pd.DataFrame(rows)
