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

SEPARATION_METRICS = ("sdr", "sir", "sar", "stoi")
"""innmf.paper.metrics's, not imported from there: that imports torch, which chapters reading results never need."""

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


def against_interp(df: pd.DataFrame, metric: str = "kl") -> pd.DataFrame:
    """iN-NMF judged against the NMF-interp baseline per window size N, paired by trial.

    Chapters "Reconstruction across window sizes" (``kl``: lower is better, shown as
    excess over retrained NMF) and "Separating two speakers" (``sdr`` and the others:
    higher is better, in their own units). The interval is the speaker-level one of
    :func:`innmf.report.stats.paired_summary` where the rows name their speakers (3 or
    more), else the trial-level t-interval, and the ``level`` column says which.

    Args:
        df: per-trial rows with the three methods.
        metric: the metric compared.

    Returns:
        One row per N: ``trials``, ``iN-NMF − NMF`` and ``NMF-interp − NMF`` (mean
        paired difference; relative for KL), ``iN-NMF − NMF-interp`` (mean paired
        difference in the metric's units) with its 95 % interval ``ci_low``, ``ci_high``,
        ``level`` ("speaker" or "trial"), and ``better``: the method the interval favours,
        or "neither" when it includes zero.
    """
    from innmf.report.stats import paired_summary

    rows = df[df["metric"] == metric]
    relative = metric == "kl"
    gaps = paired_comparisons(rows, metric, relative=relative)
    needed = {f"{m} − {b}" for m, b in COMPARISONS}
    if not needed <= set(gaps.columns.get_level_values(0)):
        raise ValueError(f"against_interp needs rows of NMF, iN-NMF and NMF-interp; found {sorted(set(rows['method']))}.")
    vs = paired_summary(rows, baseline="NMF-interp", treatment="iN-NMF").set_index("n_fft")
    speaker = vs["speaker_low"].notna()
    out = pd.DataFrame({
        "trials": gaps[("iN-NMF − NMF", "trials")],
        "iN-NMF − NMF": gaps[("iN-NMF − NMF", "mean")],
        "NMF-interp − NMF": gaps[("NMF-interp − NMF", "mean")],
        "iN-NMF − NMF-interp": vs["mean_diff"],
        "ci_low": vs["speaker_low"].where(speaker, vs["ci_low"]),
        "ci_high": vs["speaker_high"].where(speaker, vs["ci_high"]),
        "level": speaker.map({True: "speaker", False: "trial"}),
    })
    low_is_good = metric == "kl"
    favours_inr = out["ci_high"] < 0 if low_is_good else out["ci_low"] > 0
    favours_interp = out["ci_low"] > 0 if low_is_good else out["ci_high"] < 0
    out["better"] = "neither"
    out.loc[favours_inr, "better"] = "iN-NMF"
    out.loc[favours_interp, "better"] = "NMF-interp"
    out.index.name = "n_fft"
    return out


def interp_sentence(table: pd.DataFrame, metric: str, train_n_fft: int) -> str:
    """One sentence on :func:`against_interp`'s table: where the interval favours which method.

    The intervals are unadjusted, one per window size; the claims' Holm-adjusted
    decisions are in :mod:`innmf.report.endpoints`.
    """
    other = table[table.index != int(train_n_fft)]
    groups = {name: ", ".join(str(n) for n in other.index[other["better"] == name])
              for name in ("iN-NMF", "NMF-interp", "neither")}
    parts = [f"{name} better at N = {ns}" if name != "neither" else f"no difference resolved at N = {ns}"
             for name, ns in groups.items() if ns]
    label = "KL" if metric == "kl" else metric.upper()
    levels = set(table["level"]) if "level" in table else {"trial"}
    level = "speaker-level" if levels == {"speaker"} else "trial-level" if levels == {"trial"} else "speaker- or trial-level"
    return (f"Away from the training size, {label} of iN-NMF against NMF-interp (paired {level} 95 % interval "
            "at each N, unadjusted): " + "; ".join(parts) + ".")
