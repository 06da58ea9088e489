"""Small tables of per-trial results for the experiment chapters.

The published table format (mean and std per window size and method) and paired
differences between the methods on the same trials, which the published code could
not report because its comparison was unpaired (book/paper_setup.md §5). Any number
of methods: besides NMF and iN-NMF the runner adds the ``NMF-interp`` baseline
(:mod:`innmf.experiments.baselines`), and :func:`paired_comparisons` sets every pair
of :data:`COMPARISONS` side by side.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from innmf.paper.metrics import SEPARATION_METRICS

_NEEDED = {"trial", "method", "n_fft", "value"}

COMPARISONS: tuple[tuple[str, str], ...] = (
    ("iN-NMF", "NMF"),
    ("NMF-interp", "NMF"),
    ("iN-NMF", "NMF-interp"),
)
"""(method, baseline) pairs of the chapters: each against retrained NMF, and iN-NMF
against the interpolated NMF dictionary (what its window-size claim is judged on)."""


def _check(df: pd.DataFrame) -> None:
    missing = _NEEDED - set(df.columns)
    if missing:
        raise ValueError(
            f"Results lack columns {sorted(missing)}; pass the per-trial rows of "
            "run_experiments or load_results."
        )
    if df.empty:
        raise ValueError("No result rows to tabulate (wrong metric, or no finished trials).")
    if df["metric"].nunique() > 1:
        raise ValueError(f"Tabulate one metric at a time, got {sorted(df['metric'].unique())}.")


def mean_std_table(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and std (ddof=1) over trials, rows = n_fft, columns = (method, statistic).

    Args:
        df: per-trial rows of a single metric.

    Returns:
        A table with columns ``(method, "mean" | "std")`` and a ``trials`` count.
    """
    _check(df)
    table = df.groupby(["n_fft", "method"])["value"].agg(["mean", "std"]).unstack("method")
    table = table.swaplevel(axis=1).sort_index(axis=1)
    table[("trials", "")] = df.groupby("n_fft")["trial"].nunique()
    return table


def paired_differences(
    df: pd.DataFrame, relative: bool = False, method: str = "iN-NMF", baseline: str = "NMF"
) -> pd.DataFrame:
    """Per-trial difference ``method − baseline`` (or relative to baseline), summarised per N.

    Args:
        df: per-trial rows of a single metric, both methods on the same trials.
        relative: divide the difference by the baseline's value.
        method: the method compared.
        baseline: the method compared against.

    Returns:
        Rows per n_fft with ``mean``, ``std`` and ``trials`` of the paired difference.

    Raises:
        ValueError: a trial lacks one of the methods (unpaired data).
    """
    _check(df)
    wide = df.pivot_table(index=["n_fft", "trial"], columns="method", values="value", aggfunc="first")
    for name in (method, baseline):
        if name not in wide.columns:
            raise ValueError(f"No rows for method {name!r}; found {list(wide.columns)}.")
    unpaired = wide[[method, baseline]].isna().any(axis=1)
    if unpaired.any():
        raise ValueError(
            f"{int(unpaired.sum())} (n_fft, trial) pairs lack one of {method!r}, {baseline!r}; "
            "paired differences need both methods on every trial."
        )
    diff = wide[method] - wide[baseline]
    if relative:
        diff = diff / wide[baseline]
    return diff.groupby(level="n_fft").agg(["mean", "std", "count"]).rename(columns={"count": "trials"})


def kl_table(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and std of KL per window size (rows) and method (columns), as the paper's table."""
    return mean_std_table(df[df["metric"] == "kl"])


def kl_gap(df: pd.DataFrame, method: str = "iN-NMF", baseline: str = "NMF") -> pd.DataFrame:
    """Paired relative KL gap (method − baseline) / baseline per trial, summarised per N.

    Returns:
        One row per N: ``mean``, ``std``, ``trials`` of the relative gap (0.08 means
        the method's KL is 8 % above the baseline's on the same trials).
    """
    return paired_differences(df[df["metric"] == "kl"], relative=True, method=method, baseline=baseline)


def separation_table(df: pd.DataFrame, metrics: Sequence[str] = SEPARATION_METRICS) -> pd.DataFrame:
    """Mean and std per window size (rows) and metric x method (columns)."""
    parts = {m: mean_std_table(df[df["metric"] == m]) for m in metrics if (df["metric"] == m).any()}
    if not parts:
        raise ValueError(f"No rows for metrics {list(metrics)}; is this a separation result?")
    return pd.concat(parts, axis=1, names=["metric"])


def separation_gain(
    df: pd.DataFrame, metric: str = "sdr", method: str = "iN-NMF", baseline: str = "NMF"
) -> pd.DataFrame:
    """Paired difference method − baseline of one metric per trial, summarised per N."""
    return paired_differences(df[df["metric"] == metric], relative=False, method=method, baseline=baseline)


def paired_comparisons(
    df: pd.DataFrame,
    metric: str,
    relative: bool = False,
    pairs: Sequence[tuple[str, str]] = COMPARISONS,
) -> pd.DataFrame:
    """:func:`paired_differences` of one metric for several (method, baseline) pairs.

    Chapters "Reconstruction across window sizes" (KL, ``relative=True``: excess KL)
    and "Separating two speakers" (SDR and the other metrics).

    Args:
        df: per-trial rows (any metrics; ``metric`` is selected).
        metric: the metric compared, e.g. ``"kl"`` or ``"sdr"``.
        relative: divide each difference by the baseline's value.
        pairs: (method, baseline) pairs; pairs whose methods are absent are skipped.

    Returns:
        Rows per n_fft, columns ``(f"{method} − {baseline}", "mean" | "std" | "trials")``.

    Raises:
        ValueError: no pair has both its methods in ``df``.
    """
    rows = df[df["metric"] == metric]
    present = set(rows["method"])
    parts = {f"{m} − {b}": paired_differences(rows, relative=relative, method=m, baseline=b)
             for m, b in pairs if m in present and b in present}
    if not parts:
        raise ValueError(f"No pair of {list(pairs)} has both methods among {sorted(present)} for {metric!r}.")
    return pd.concat(parts, axis=1, names=["comparison"])
