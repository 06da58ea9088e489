"""Tables, figure and the pre-declared decision of the study "iN-NMF at its best".

The rows come from :func:`innmf.experiments.inr_study.run_study` (or ``load_study``):
tidy trial rows whose ``method`` is ``NMF``, ``NMF-interp`` or a variant's label.
Every comparison is paired by trial and its interval is speaker-level
(:func:`innmf.report.stats.paired_summary`). The headline averages each trial's
score over the paper's window sizes (book/paper_setup.md §3: N = 1000 to 2500)
before pairing, so one setting gets one number per metric; the figure shows every N.

The decision rule is fixed here, before the study runs: a candidate is *clearly
better* than the paper's recipe when its SDR gain over the paper's (headline, speaker
level) has a Holm-adjusted p below 0.05 over the candidates, the interval's lower
bound is above zero, and its STOI gain is not negative. The best such candidate
(largest SDR gain) becomes the profile ``best``.

Used by ``innmf study`` and the chapter "Separating two speakers".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from innmf.experiments.inr_study import CANDIDATES, DRAWS, PAPER_VARIANT, VARIANTS
from innmf.report.format import fixed, signed
from innmf.report.stats import holm, paired_summary

BASELINES: tuple[str, ...] = ("NMF", "NMF-interp", PAPER_VARIANT)
METRICS: tuple[tuple[str, str], ...] = (("separation", "sdr"), ("separation", "stoi"), ("reconstruction", "kl"))
HEADLINE_N = 0
"""``n_fft`` of a headline row: the mean of a trial's scores over the paper's window sizes."""
ALPHA = 0.05


def headline_rows(df: pd.DataFrame, n_ffts: Sequence[int]) -> pd.DataFrame:
    """Each trial's mean over the window sizes ``n_ffts`` (per method and metric), as rows with ``n_fft`` 0."""
    keep = df[df["n_fft"].isin([int(n) for n in n_ffts])]
    if keep.empty:
        raise ValueError(f"no rows at the window sizes {list(n_ffts)}; the table has {sorted(set(df['n_fft']))}.")
    keys = ["trial", "trial_key", "speakers", "experiment", "method", "metric"]
    out = keep.groupby(keys, as_index=False, sort=True)["value"].mean()
    return out.assign(n_fft=HEADLINE_N)


def study_summary(df: pd.DataFrame, n_ffts: Sequence[int], by_n: bool = False) -> pd.DataFrame:
    """Paired, speaker-level comparisons of every setting with NMF, NMF-interp and the paper's recipe.

    Args:
        df: the study's rows.
        n_ffts: the window sizes the headline averages over (the run's ``n_ffts``).
        by_n: one row per window size instead of the headline mean.

    Returns:
        One row per (setting, baseline, metric[, n_fft]) with ``paired_summary``'s
        columns (``mean_diff``, ``speaker_low``, ``speaker_high``, ``ratio``,
        ``ratio_low``, ``ratio_high``, ...) plus ``setting``, ``baseline`` and
        ``p_holm``: the speaker-level p Holm-adjusted over the settings and metrics
        compared with one baseline (with ``by_n`` over the window sizes too).
    """
    table = df if by_n else headline_rows(df, n_ffts)
    settings = [v for v in VARIANTS if v in set(table["method"])]
    parts = []
    for setting in settings:
        for baseline in BASELINES:
            if baseline == setting or baseline not in set(table["method"]):
                continue
            for experiment, metric in METRICS:
                rows = table[(table["experiment"] == experiment) & (table["metric"] == metric)]
                if rows.empty:
                    continue
                res = paired_summary(rows, baseline=baseline, treatment=setting, holm_by=("metric",))
                parts.append(res.assign(setting=setting, baseline=baseline))
    out = pd.concat(parts, ignore_index=True)
    out["p_holm"] = np.nan
    for _, family in out.groupby("baseline", sort=False):
        out.loc[family.index, "p_holm"] = holm(family["p_speaker"].to_numpy())
    return out


def _cell(row: pd.Series, metric: str) -> str:
    """A ratio (KL) or signed difference with its interval, printed the book's way (U+2212 minus)."""
    if metric == "kl":
        low, high, value, fmt = row["ratio_low"], row["ratio_high"], row["ratio"], fixed(3)
    else:
        low, high, value = row["speaker_low"], row["speaker_high"], row["mean_diff"]
        fmt = signed(2 if metric == "sdr" else 3)
    text = fmt(value)
    if math.isfinite(low) and math.isfinite(high):
        text += f" [{fmt(low)}, {fmt(high)}]"
    return text


LABELS = {"sdr": "SDR (dB)", "stoi": "STOI", "kl": "KL ratio"}


def study_table(summary: pd.DataFrame, baselines: Sequence[str] = ("NMF", "NMF-interp")) -> pd.DataFrame:
    """Setting x (metric, baseline) table: differences (SDR, STOI) or ratios (KL) with speaker-level 95 % intervals."""
    rows = []
    for setting in [v for v in VARIANTS if v in set(summary["setting"])]:
        row: dict[str, Any] = {"setting": setting}
        for _, metric in METRICS:
            for baseline in baselines:
                hit = summary[(summary["setting"] == setting) & (summary["baseline"] == baseline)
                              & (summary["metric"] == metric)]
                label = f"{LABELS[metric]} vs {baseline}"
                row[label] = _cell(hit.iloc[0], metric) if len(hit) else "–"
        rows.append(row)
    return pd.DataFrame(rows)


def draw_noise(df: pd.DataFrame, n_ffts: Sequence[int]) -> pd.DataFrame:
    """How far a trial's score moves between draws of the paper's networks (``paper``, ``draw 2``, ``draw 3``).

    Returns:
        One row per metric: ``draws``, ``trials``, ``within_sd`` (root mean over trials
        and window sizes of the SD across draws, ddof=1) and ``between_sd`` (SD over
        trials of the paper draw's difference from NMF, mean over window sizes), so a
        reader sees the optimiser's luck beside the trials' spread.
    """
    draws = [d for d in DRAWS if d in set(df["method"])]
    if len(draws) < 2:
        raise ValueError(f"the study holds {draws}: the noise needs at least two draws of {list(DRAWS)}.")
    keep = df[df["n_fft"].isin([int(n) for n in n_ffts])]
    rows = []
    for experiment, metric in METRICS:
        part = keep[(keep["experiment"] == experiment) & (keep["metric"] == metric)]
        if part.empty:
            continue
        wide = part.pivot_table(index=["trial", "n_fft"], columns="method", values="value").dropna(subset=draws)
        within = float(np.sqrt(np.mean(wide[draws].var(axis=1, ddof=1))))
        between = math.nan
        if "NMF" in wide:
            diff = (wide[PAPER_VARIANT] - wide["NMF"]).groupby(level="trial").mean()
            between = float(diff.std(ddof=1))
        rows.append({"metric": metric, "draws": len(draws), "trials": int(wide.index.get_level_values(0).nunique()),
                     "within_sd": within, "between_sd": between})
    return pd.DataFrame(rows)


def detectable_gain(rows: pd.DataFrame, power: float = 0.80, level: float = 0.95) -> pd.Series:
    """The minimum detectable effect of each comparison: ``(t_{(1+level)/2, S-1} + t_{power, S-1}) * SE``.

    The effect a two-sided test at ``1 - level`` finds with probability ``power`` when the
    speaker-level standard error is ``SE`` and ``S`` speakers give ``S - 1`` degrees of
    freedom (the normal-theory approximation with t quantiles; chapter "Separating two
    speakers", study section).

    Args:
        rows: :func:`study_summary` rows (``speaker_se``, ``n_speakers``).

    Returns:
        One value per row, in the metric's units.
    """
    from scipy import stats

    df = rows["n_speakers"].astype(float) - 1
    return (stats.t.ppf(0.5 + level / 2, df) + stats.t.ppf(power, df)) * rows["speaker_se"].astype(float)


def best_setting(summary: pd.DataFrame) -> dict[str, Any]:
    """Apply the pre-declared rule (module docstring) to a headline :func:`study_summary`.

    Returns:
        ``{"best": label or None, "qualified": [labels], "reason": sentence}``.
    """
    gains = summary[(summary["baseline"] == PAPER_VARIANT) & summary["setting"].isin(CANDIDATES)]
    if gains.empty:
        return {"best": None, "qualified": [], "reason": "no candidate was compared with the paper's recipe."}
    sdr = gains[gains["metric"] == "sdr"].set_index("setting")
    stoi = gains[gains["metric"] == "stoi"].set_index("setting")
    # Holm over the candidates' SDR gains only: the one family the rule decides on
    p_adj = pd.Series(holm(sdr["p_speaker"].to_numpy()), index=sdr.index)
    qualified = [s for s in sdr.index
                 if p_adj[s] < ALPHA and sdr.at[s, "speaker_low"] > 0
                 and s in stoi.index and stoi.at[s, "mean_diff"] >= 0]
    if not qualified:
        top = sdr["mean_diff"].idxmax()
        mde = detectable_gain(sdr)
        return {"best": None, "qualified": [],
                "reason": (f"no candidate is clearly better: the largest SDR gain over the paper's recipe, "
                           f"{top}'s {sdr.at[top, 'mean_diff']:+.2f} dB, has a speaker-level interval "
                           f"[{sdr.at[top, 'speaker_low']:+.2f}, {sdr.at[top, 'speaker_high']:+.2f}] dB and "
                           f"Holm-adjusted p = {p_adj[top]:.2g}. With these trials and speakers the study "
                           f"detects an SDR gain of {mde.min():.2f} to {mde.max():.2f} dB with 80 % power "
                           f"(two-sided 5 %, speaker level), so a smaller gain is not excluded: the study is "
                           f"inconclusive below that size.")}
    best = max(qualified, key=lambda s: sdr.at[s, "mean_diff"])
    return {"best": best, "qualified": qualified,
            "reason": (f"{best} gains {sdr.at[best, 'mean_diff']:+.2f} dB SDR over the paper's recipe "
                       f"[{sdr.at[best, 'speaker_low']:+.2f}, {sdr.at[best, 'speaker_high']:+.2f}] "
                       f"(speaker level, Holm-adjusted p = {p_adj[best]:.2g}) and "
                       f"{stoi.at[best, 'mean_diff']:+.3f} STOI.")}


def plot_study(df: pd.DataFrame, metric: str = "sdr", baseline: str = "NMF", ax: Any = None,
               legend: bool = True) -> Any:
    """Each setting's paired difference from ``baseline`` at every window size, with speaker-level 95 % intervals.

    Chapter "Separating two speakers" (through :func:`study_figure`). Every setting
    has its own colour and marker (:data:`innmf.report.style.LOOKS`), the paper's recipe
    iN-NMF's.

    Args:
        df: the study's rows.
        metric: the metric compared.
        baseline: the method every setting is compared with.
        ax: axes to draw on (default: a new figure).
        legend: name the settings in a legend beside the axes.

    Returns:
        The axes.
    """
    from innmf.report import style

    summary = study_summary(df, sorted(set(df["n_fft"])), by_n=True)
    summary = summary[(summary["baseline"] == baseline) & (summary["metric"] == metric)]
    settings = [v for v in VARIANTS if v in set(summary["setting"])]
    if ax is None:
        ax = style.figure(aspect=0.55, pyplot=True).add_subplot()
    sizes = sorted(set(summary["n_fft"]))
    width = 0.8 / max(len(settings), 1)
    for i, setting in enumerate(settings):
        part = summary[summary["setting"] == setting].set_index("n_fft").reindex(sizes)
        x = np.arange(len(sizes)) - 0.4 + (i + 0.5) * width
        err = np.vstack([part["mean_diff"] - part["speaker_low"], part["speaker_high"] - part["mean_diff"]])
        look = style.look(setting, i)
        ax.errorbar(x, part["mean_diff"], yerr=err, label=setting, marker=look.marker, color=look.color,
                    linestyle="none", capsize=2)
    ax.axhline(0, color=style.REFERENCE, linewidth=0.8)
    ax.set_xticks(np.arange(len(sizes)), [str(n) for n in sizes])
    ax.set_xlabel("window size N (samples)")
    ax.set_ylabel(f"{LABELS[metric]}: setting − {baseline}")
    if legend:
        style.legend(ax, "right")
    return ax


def study_figure(df: pd.DataFrame, metric: str = "sdr") -> Any:
    """The study per window size: every setting minus NMF (left) and minus the paper's recipe (right).

    Chapter "Separating two speakers", section "iN-NMF at its best". One legend under
    both panels names every setting, the paper's recipe included (it is drawn on the
    left only: on the right it is the baseline).

    Args:
        df: the study's rows (NMF, NMF-interp and the settings).
        metric: the metric compared.

    Returns:
        A standalone figure with two axes.
    """
    from innmf.report import style

    fig = style.figure(aspect=0.55)
    left, right = fig.subplots(1, 2)
    plot_study(df, metric, "NMF", ax=left, legend=False)
    plot_study(df[df["method"] != "NMF"], metric, PAPER_VARIANT, ax=right, legend=False)
    right.set_ylabel(f"{LABELS[metric]}: setting − paper's recipe")
    style.figure_legend(fig, (left, right), ncols=4)
    return fig
