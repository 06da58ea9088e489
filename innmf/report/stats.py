"""Paired statistics with speakers as the unit of inference, for tidy result tables.

The published comparison is unpaired (book/paper_setup.md §5): classic NMF and iN-NMF
saw different signals. Our runners evaluate both methods on the *same* trials, so
the comparison is per-trial differences. Trials share speakers, so the intervals
that carry the verdicts are speaker-level, from one joint model over the paper's window
sizes (:mod:`innmf.report.pooled_model`, the verdicts' own path); the
trial-level t-interval and Wilcoxon test are kept beside them to show what changes.
p-values are Holm-adjusted over the window sizes and metrics of an experiment (a
descriptive table's family; each claim has its own, in :mod:`innmf.report.endpoints`), and
a margin (:data:`MARGINS`) is tested on the interval's bound, never on the point estimate.
Input tables are tidy, one row per trial x method x n_fft x metric, with columns
``trial``, ``method``, ``n_fft``, ``metric``, ``value`` (optionally ``experiment`` and
``speakers``, ``"spkA+spkB"``, which the runners write).

The claims' pre-declared primary endpoints, decided on these intervals, are in
:mod:`innmf.report.endpoints`; :data:`SPEAKER_INFERENCE_NOTE` is the paragraph a
chapter shows under its table and :func:`speaker_caveat` the sentence a verdict carries.

Used by ``innmf reproduce`` and the chapters "Reconstruction across window sizes",
"Separating two speakers" and "A paired look at the comparison".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from innmf.experiments.summary import REQUIRED_COLUMNS, SUMMARY_KEYS, _check_table, infer_experiment, summary_rows, summary_table  # noqa: F401 - the summary is part of this module's API
from innmf.report.pooled_model import PAPER_N_FFTS, pooled_intervals

MIN_WILCOXON_PAIRS = 6
FEW_SPEAKERS = 20  # below this many speakers every verdict carries the caveat sentence


@dataclass(frozen=True)
class Margin:
    """A non-inferiority margin: ``difference`` (treatment − baseline, higher is better:
    the interval's lower bound must reach it) or ``ratio`` (treatment / baseline, lower is
    better: the interval's upper bound must stay below it)."""

    kind: str
    value: float


MARGINS: dict[str, Margin] = {
    # SDR and STOI: about the noise of one trial's score between two draws of the same
    # recipe (innmf.report.inr_study.draw_noise), rounded to one significant figure: a
    # difference smaller than re-drawing a method's own networks is not one a user can act on.
    "sdr": Margin("difference", -0.5),   # dB
    "stoi": Margin("difference", -0.02),
    "kl": Margin("ratio", 1.10),         # the paper's own claim, "within 10 %" of NMF's KL
}
"""Non-inferiority margins of a level comparison; :mod:`innmf.report.endpoints` derives
from them the margins of the fit and transfer endpoints and states their rationale."""

SPEAKER_INFERENCE_NOTE = (
    "**How the intervals are computed.** Every trial mixes two speakers and every speaker "
    "appears in many trials, so trials are not independent: trials that share a speaker "
    "share its voice and overlapping training excerpts. Each per-trial difference "
    "(iN-NMF − NMF) is modelled as the mean difference at its window size plus one random effect "
    "per speaker of the pair, shared by all the paper's window sizes, plus one per trial (the same "
    "trials repeat at every size) plus noise (a crossed random-effects model, fitted by REML on "
    "the paper's sizes together, so that one speaker variance serves them all); the interval is "
    "the trial mean ± a t quantile with (speakers − 1) degrees of freedom times the model's "
    "standard error. On data simulated with this design and known effects the 95 % interval "
    "covers the true difference at least 90 % of the time, where the trial-level t-interval "
    "falls far short as soon as speakers differ (`innmf.report.pooled_coverage.coverage_study` "
    "computes the table). "
    "The claims are decided in the tables of fit and transfer: a margin (SDR "
    f"{MARGINS['sdr'].value:+g} dB, STOI {MARGINS['stoi'].value:+g}, KL ratio {MARGINS['kl'].value:g} for the "
    f"fit and its square root, {MARGINS['kl'].value ** 0.5:.3f}, for the transfer) is met only when the whole interval "
    "clears it, the p-values there are Holm-adjusted within each claim, and a delete-one-speaker "
    "jackknife interval stands beside each decision as a check on the model. With few speakers the "
    "intervals are wide and approximate, and a conclusion holds, conditionally, for speakers like these."
)


def speaker_caveat(n_speakers: int) -> str:
    """The plain sentence a verdict carries when few speakers support it ("" for many)."""
    if n_speakers >= FEW_SPEAKERS:
        return ""
    return (f"These trials come from {n_speakers} speakers only: the intervals are wide and "
            "approximate, and a conclusion holds for speakers like these, conditionally, "
            "not for speakers in general.")


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values; NaN entries stay NaN and do not count as tests."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    running, m = 0.0, len(order)
    for rank, j in enumerate(order):
        running = max(running, (m - rank) * p[j])
        out[j] = min(1.0, running)
    return out


def _wilcoxon(diff: np.ndarray) -> tuple[float, str]:
    if len(diff) < MIN_WILCOXON_PAIRS:
        return math.nan, f"n={len(diff)} < {MIN_WILCOXON_PAIRS}: too few pairs for a signed-rank test"
    if np.all(diff == 0):
        return math.nan, "all paired differences are zero"
    return float(sps.wilcoxon(diff).pvalue), ""


def _pair_group(
    group: pd.DataFrame, baseline: str, treatment: str, label: dict[str, Any]
) -> tuple[pd.DataFrame, int]:
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
    if "speakers" in group.columns:
        labels = group.drop_duplicates(["trial", "speakers"]).set_index("trial")["speakers"]
        if labels.index.duplicated().any():
            bad = labels.index[labels.index.duplicated()][0]
            raise ValueError(f"{label}: trial {bad} has more than one speakers label; one trial is one pair.")
        complete["speakers"] = labels.reindex(complete.index).astype(str)
    return complete, dropped


def _speaker_rows(paired: dict[tuple[Any, Any, Any], pd.DataFrame], baseline: str, treatment: str,
                  confidence: float) -> dict[tuple[Any, Any, Any], tuple[dict[str, Any], list[str]]]:
    """Speaker-level columns and notes of every (experiment, n_fft, metric) group.

    One joint model per experiment and metric over its window sizes
    (:func:`innmf.report.pooled_model.pooled_intervals`): the paper's sizes share the
    speaker variance, as in the verdicts' endpoints.
    """
    columns = ("n_speakers", "speaker_se", "speaker_df", "speaker_low", "speaker_high", "speaker_share",
               "p_speaker", "ratio_se", "ratio_low", "ratio_high")
    out: dict[tuple[Any, Any, Any], tuple[dict[str, Any], list[str]]] = {
        key: (dict.fromkeys(columns, math.nan), []) for key in paired}
    families: dict[tuple[Any, Any], list[Any]] = {}
    for experiment, n_fft, met in paired:
        families.setdefault((experiment, met), []).append(n_fft)
    for (experiment, met), sizes in families.items():
        groups = {n: paired[(experiment, n, met)] for n in sizes}
        if any("speakers" not in g.columns for g in groups.values()):
            for n in sizes:
                out[(experiment, n, met)][1].append("no speakers column: no speaker-level interval")
            continue
        labels = pd.concat([g["speakers"] for g in groups.values()])
        labels = labels[~labels.index.duplicated()]
        diff = pd.DataFrame({n: g[treatment] - g[baseline] for n, g in groups.items()})
        try:
            fits = pooled_intervals(diff, labels, PAPER_N_FFTS, confidence)
        except ValueError as err:
            for n in sizes:
                out[(experiment, n, met)][1].append(f"no speaker-level interval: {err}")
            continue
        # Delta method for the ratio of means R: the mean of (T - R B) / mean(B) has R's error.
        means = {n: (float(g[treatment].mean()), float(g[baseline].mean())) for n, g in groups.items()}
        usable = [n for n in sizes if means[n][1] != 0]
        lin = pd.DataFrame({n: (groups[n][treatment] - means[n][0] / means[n][1] * groups[n][baseline]) / means[n][1]
                            for n in usable})
        ratio_fits = pooled_intervals(lin, labels, PAPER_N_FFTS, confidence) if usable else None
        for n in sizes:
            fit = fits.loc[n]
            row = out[(experiment, n, met)][0]
            row.update(n_speakers=int(fit["n_speakers"]), speaker_se=fit["se"], speaker_df=fit["df"],
                       speaker_low=fit["low"], speaker_high=fit["high"], speaker_share=fit["speaker_share"],
                       p_speaker=fit["p"])
            if ratio_fits is not None and n in usable:
                ratio, lin_fit = means[n][0] / means[n][1], ratio_fits.loc[n]
                half = lin_fit["high"] - lin_fit["estimate"]
                row.update(ratio_se=lin_fit["se"], ratio_low=ratio - half, ratio_high=ratio + half)
    return out


def _margin_columns(metric: str, row: dict[str, Any]) -> dict[str, Any]:
    margin = MARGINS.get(metric)
    if margin is None:
        return {"margin": math.nan, "margin_kind": "", "margin_bound": math.nan, "noninferior": pd.NA}
    bound = row["speaker_low"] if margin.kind == "difference" else row["ratio_high"]
    passed: Any = pd.NA
    if np.isfinite(bound):
        passed = bool(bound >= margin.value) if margin.kind == "difference" else bool(bound <= margin.value)
    return {"margin": margin.value, "margin_kind": margin.kind, "margin_bound": bound, "noninferior": passed}


def paired_summary(
    df: pd.DataFrame,
    metric: str | None = None,
    baseline: str = "NMF",
    treatment: str = "iN-NMF",
    confidence: float = 0.95,
    n_boot: int = 0,
    seed: int = 0,
    holm_by: Sequence[str] = ("experiment",),
) -> pd.DataFrame:
    """Paired comparison of two methods per experiment x n_fft x metric.

    Rows are paired by ``trial`` id (never by row order). Trials present for only one
    method are dropped with a warning and counted in ``n_dropped``.

    Args:
        df: tidy results (columns trial, method, n_fft, metric, value[, experiment, speakers]).
        metric: keep only this metric (default: all).
        baseline: the reference method ("NMF", or "NMF-interp").
        treatment: the method compared with it ("iN-NMF").
        confidence: level of the confidence intervals.
        n_boot: if positive, also a trial-level percentile bootstrap CI of the mean
            difference with this many resamples (columns ``boot_low``, ``boot_high``).
        seed: seed of the bootstrap.
        holm_by: columns whose values define one Holm family; the default adjusts over
            all window sizes and metrics of an experiment present in ``df``.

    Returns:
        One row per (experiment, n_fft, metric) with ``n`` (pairs), ``n_dropped``,
        ``mean_baseline``, ``mean_treatment``, ``std_baseline``, ``std_treatment``,
        ``mean_diff`` (treatment − baseline), ``std_diff``, ``ci_low``, ``ci_high``
        (trial-level t-interval), ``p_wilcoxon``, ``ratio`` (mean_treatment /
        mean_baseline); speaker level (needs a ``speakers`` column, 3+ speakers; one joint
        model per experiment and metric, the paper's window sizes sharing the speaker variance):
        ``n_speakers``, ``speaker_se``, ``speaker_df`` (Satterthwaite), ``speaker_low``,
        ``speaker_high`` (interval of mean_diff), ``speaker_share`` (share of a trial's variance due to its speakers),
        ``p_speaker``, ``ratio_se``, ``ratio_low``, ``ratio_high``; then
        ``p_speaker_holm``, ``p_wilcoxon_holm``; ``margin``, ``margin_kind``,
        ``margin_bound`` (the speaker-level bound tested) and ``noninferior`` (the bound
        clears the margin of :data:`MARGINS`; NA without a margin or an interval); and
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
    unknown = [c for c in holm_by if c not in ("experiment", "n_fft", "metric")]
    if unknown:
        raise ValueError(f"holm_by columns {unknown} unknown; choose among experiment, n_fft, metric.")
    paired = {}
    for key, group in table.groupby(["experiment", "n_fft", "metric"], sort=True):
        paired[key] = _pair_group(group, baseline, treatment, dict(zip(("experiment", "n_fft", "metric"), key)))
    speaker = _speaker_rows({key: pairs for key, (pairs, _) in paired.items()}, baseline, treatment, confidence)
    rows = []
    for (experiment, n_fft, met), (pairs, dropped) in paired.items():
        label = {"experiment": experiment, "n_fft": n_fft, "metric": met}
        base, treat = pairs[baseline].to_numpy(), pairs[treatment].to_numpy()
        n = len(base)
        diff = treat - base
        notes: list[str] = []
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
        row.update(speaker[(experiment, n_fft, met)][0])
        notes += speaker[(experiment, n_fft, met)][1]
        row.update(_margin_columns(str(met), row))
        row["note"] = "; ".join(notes)
        rows.append(row)
    out = pd.DataFrame(rows)
    for column in ("p_speaker", "p_wilcoxon"):
        adjusted = pd.Series(np.nan, index=out.index)
        for _, family in out.groupby(list(holm_by), sort=False):
            adjusted[family.index] = holm(family[column].to_numpy())
        out.insert(out.columns.get_loc("margin"), f"{column}_holm", adjusted)
    out["noninferior"] = out["noninferior"].astype("boolean")
    return out
