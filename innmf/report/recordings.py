"""Two recordings of the same trials, compared: what moved per method, and how far the paired means moved.

A change that only reorders floating-point operations (a faster kernel, another
thread count) leaves NMF's numbers almost unchanged but moves iN-NMF's per trial,
because Rprop follows the signs of the gradients. Whether that matters is read on the
paired means: a shift is measured in widths of the earlier recording's speaker-level
95 % interval, so "0.2" means a fifth of the interval. Used for the history in
``results/paper-embedded/README.md`` and by the chapter "Reproducing at scale".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from innmf.report.stats import paired_summary

_KEYS = ["experiment", "method", "n_fft", "metric"]


def _paired(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    for name, df in (("old", old), ("new", new)):
        missing = {"trial", "trial_key", *_KEYS, "value"} - set(df.columns)
        if missing:
            raise ValueError(f"the {name} recording lacks the columns {sorted(missing)}.")
    merged = old.merge(new, on=["trial", *_KEYS], suffixes=("_old", "_new"))
    if merged.empty:
        raise ValueError("the two recordings share no trial x method x N x metric; compare recordings of one protocol.")
    other = merged[merged["trial_key_old"] != merged["trial_key_new"]]
    if not other.empty:
        raise ValueError(f"trials {sorted(set(other['trial']))[:5]} hold other audio in the two recordings; "
                         "only recordings of the same trials compare.")
    return merged


def method_changes(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Per method and metric: how many trial values are identical, and the median and largest change.

    Args:
        old, new: tidy per-trial rows of two recordings (``load_results``).

    Returns:
        One row per (experiment, method, metric) with ``pairs`` (trial x N values in
        both), ``identical`` (share bit-identical), ``median_change`` and
        ``max_change`` (absolute).
    """
    merged = _paired(old, new)
    merged["change"] = (merged["value_new"] - merged["value_old"]).abs()
    out = merged.groupby(["experiment", "method", "metric"], sort=True).agg(
        pairs=("change", "size"), identical=("change", lambda c: float(np.mean(c == 0))),
        median_change=("change", "median"), max_change=("change", "max"))
    return out.reset_index()


def paired_mean_shift(
    old: pd.DataFrame, new: pd.DataFrame, baseline: str = "NMF", treatment: str = "iN-NMF"
) -> pd.DataFrame:
    """How far each paired mean (treatment − baseline) moved between the recordings, in CI widths.

    Both recordings are restricted to the trials they share, so only the numbers differ.

    Returns:
        One row per (experiment, n_fft, metric) with ``old_diff``, ``old_low``,
        ``old_high`` (speaker-level 95 % interval), ``new_diff``, ``new_low``,
        ``new_high``, ``shift`` (new − old), ``shift_in_widths`` (``shift`` over the
        old speaker-level interval's width) and ``shift_in_trial_widths`` (over the old
        trial-level t-interval's, narrower, as the history before speaker-level
        intervals measured it).
    """
    merged = _paired(old, new)
    trials = set(merged["trial"])
    parts = {}
    for name, df in (("old", old), ("new", new)):
        rows = df[df["trial"].isin(trials) & df["method"].isin([baseline, treatment])]
        parts[name] = paired_summary(rows, baseline=baseline, treatment=treatment).set_index(
            ["experiment", "n_fft", "metric"])
    out = pd.DataFrame({
        "old_diff": parts["old"]["mean_diff"], "old_low": parts["old"]["speaker_low"],
        "old_high": parts["old"]["speaker_high"], "new_diff": parts["new"]["mean_diff"],
        "new_low": parts["new"]["speaker_low"], "new_high": parts["new"]["speaker_high"],
    })
    out["shift"] = out["new_diff"] - out["old_diff"]
    out["shift_in_widths"] = out["shift"] / (out["old_high"] - out["old_low"])
    out["shift_in_trial_widths"] = out["shift"] / (parts["old"]["ci_high"] - parts["old"]["ci_low"])
    return out.reset_index()
