"""Fit at the training size and transfer away from it: the two estimands of the window-size question.

iN-NMF learns its dictionary at one window size N0 (2000 in the paper) and is sampled at
every other N; ``NMF-interp`` (and ``NMF-resample``, where a results table has it) carries
NMF's N0 dictionary to N without a network; ``NMF`` is retrained at every N. A score at N
mixes two things: how well a method models speech at N0 (**fit**) and how much it loses
moving from N0 to N (**transfer**). The paper's quality claim is about the first, its
window-size claim about the second, so each is estimated on its own, paired by trial, on a
comparison scale z: log KL (lower is better; a difference of logs is a ratio) and the
separation metrics in their own units (dB, STOI units; higher is better):

- ``fit``:      z_m(N0) − z_c(N0), method m against comparator c at N0;
- ``change``:   z_m(N) − z_m(N0), how m's score moves away from N0. For retrained NMF this
  is what the window size itself does to the problem (KL per bin and SDR both depend on
  the resolution), so a change alone is not a loss;
- ``transfer``: change_m(N) − change_c(N), the difference in differences. Against c = NMF
  it is what m loses by not retraining; between two transferred methods it says which
  carries a dictionary to N better.

Pairs (m, c) are every two methods present, each against the ones before it in
:data:`METHOD_ORDER` (unknown methods follow, alphabetically), so a fourth method adds its
rows without a code change. Every mean has a speaker-level interval from one joint model
over the paper's window sizes (:func:`innmf.report.pooled_model.pooled_intervals`: trials
share speakers, and the same trials repeat at every N) and, as a sensitivity check, a
delete-one-speaker jackknife interval of that size's trials alone (:func:`jackknife_interval`):
where the two disagree about a margin, the verdict rests on the speaker model's
assumptions. Decisions on margins are in :mod:`innmf.report.endpoints`.

Used by the chapters "Reconstruction across window sizes", "Separating two speakers" and
the findings page "What holds up".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from innmf.report.pooled_model import PAPER_N_FFTS, pooled_intervals
from innmf.report.speaker_model import MIN_SPEAKERS, parse_speakers

METHOD_ORDER: tuple[str, ...] = ("NMF", "NMF-interp", "NMF-resample", "iN-NMF")
"""Comparators come first: retrained NMF, then the network-free transfers, then iN-NMF."""
REFERENCE = "NMF"
"""The method retrained at every N; a transfer against it is the cost of not retraining."""
LOG_METRICS = frozenset({"kl"})
"""Metrics compared as log ratios (scale-free, lower is better)."""
ESTIMANDS: tuple[str, ...] = ("fit", "change", "transfer")
ROUNDING = 1e-12
"""Per-trial differences smaller than this (log units, dB, STOI units) are exact ties."""


def scale_of(metric: str) -> str:
    """``"log"`` for metrics compared as ratios (KL), ``"difference"`` otherwise."""
    return "log" if metric in LOG_METRICS else "difference"


def method_order(methods: Sequence[str]) -> list[str]:
    """``methods`` in :data:`METHOD_ORDER`, unknown ones after it in alphabetical order."""
    known = [m for m in METHOD_ORDER if m in set(methods)]
    return known + sorted(set(methods) - set(METHOD_ORDER))


def method_pairs(methods: Sequence[str]) -> list[tuple[str, str]]:
    """(method, comparator) pairs: every method against each one before it in :func:`method_order`."""
    order = method_order(methods)
    return [(m, c) for i, m in enumerate(order) for c in order[:i]]


def trial_scores(df: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, pd.Series]:
    """One metric's per-trial scores on the comparison scale, wide, and the trials' speakers.

    Args:
        df: tidy rows (trial, speakers, method, n_fft, metric, value).
        metric: the metric, e.g. ``"kl"`` or ``"sdr"``.

    Returns:
        ``(scores, speakers)``: scores indexed by trial with columns (method, n_fft), log
        values for :data:`LOG_METRICS`; speakers indexed by trial (``"spkA+spkB"``).

    Raises:
        ValueError: missing columns, no rows of ``metric``, duplicated rows, a trial with
            two speakers labels, or a non-positive value of a log metric.
    """
    missing = {"trial", "speakers", "method", "n_fft", "metric", "value"} - set(df.columns)
    if missing:
        raise ValueError(f"results lack column(s) {sorted(missing)}; pass the tidy rows of load_results "
                         "(the runners write a speakers column).")
    rows = df[df["metric"] == metric]
    if rows.empty:
        raise ValueError(f"no rows of metric {metric!r}; the table has {sorted(set(df['metric']))}.")
    keys = ["trial", "method", "n_fft"]
    if rows.duplicated(keys).any():
        raise ValueError(f"{metric!r} has duplicated rows for the same {keys}; pass one experiment's rows.")
    labels = rows.drop_duplicates(["trial", "speakers"]).set_index("trial")["speakers"].astype(str)
    if labels.index.duplicated().any():
        raise ValueError(f"trial {labels.index[labels.index.duplicated()][0]} has two speakers labels.")
    parse_speakers(list(labels))
    values = rows.pivot(index="trial", columns=["method", "n_fft"], values="value").astype(float)
    if scale_of(metric) == "log":
        if (values <= 0).any().any():
            raise ValueError(f"{metric!r} has non-positive values; a ratio needs positive scores.")
        values = np.log(values)
    return values.sort_index(axis=0).sort_index(axis=1), labels.sort_index()


def per_trial_estimands(df: pd.DataFrame, metric: str, n0: int) -> pd.DataFrame:
    """Every estimand of the module docstring, one value per trial.

    Args:
        df: tidy rows with every method at N0 and at other window sizes.
        metric: the metric.
        n0: the training window size N0.

    Returns:
        Rows ``trial``, ``speakers``, ``metric``, ``estimand``, ``method``, ``comparator``
        (empty for ``change``: m against itself at N0), ``n_fft`` (N0 for ``fit``), ``value``
        on the comparison scale; trials missing a needed score are left out.

    Raises:
        ValueError: no rows at ``n0`` (see also :func:`trial_scores`).
    """
    scores, speakers = trial_scores(df, metric)
    methods = list(dict.fromkeys(scores.columns.get_level_values(0)))
    if n0 not in set(scores.columns.get_level_values(1)):
        raise ValueError(f"no {metric!r} rows at the training size N0 = {n0}; the table has "
                         f"{sorted(set(scores.columns.get_level_values(1)))}.")
    sizes = sorted(set(scores.columns.get_level_values(1)) - {n0})
    pairs = method_pairs(methods)
    parts = []

    def add(estimand: str, method: str, comparator: str, n_fft: int, values: pd.Series) -> None:
        values = values.dropna()
        # Differences at the level of floating-point rounding are ties: left as they are, an
        # interval over them would call noise of 1e-16 a difference.
        values = values.where(values.abs() > ROUNDING, 0.0)
        parts.append(pd.DataFrame({"trial": values.index, "speakers": speakers.loc[values.index].to_numpy(),
                                   "metric": metric, "estimand": estimand, "method": method,
                                   "comparator": comparator, "n_fft": int(n_fft), "value": values.to_numpy()}))

    def score(method: str, n_fft: int) -> pd.Series:
        return scores[(method, n_fft)] if (method, n_fft) in scores.columns else pd.Series(np.nan, index=scores.index)

    for m, c in pairs:
        add("fit", m, c, n0, score(m, n0) - score(c, n0))
    for n in sizes:
        change = {m: score(m, n) - score(m, n0) for m in method_order(methods)}
        for m in method_order(methods):
            add("change", m, "", n, change[m])
        for m, c in pairs:
            add("transfer", m, c, n, change[m] - change[c])
    return pd.concat(parts, ignore_index=True)


def jackknife_interval(values: np.ndarray, labels: Sequence[str], confidence: float = 0.95) -> tuple[float, float, float]:
    """Delete-one-speaker jackknife interval of a mean over trials.

    Each speaker s in turn is removed with every trial it appears in; theta_(s) is the
    mean of the remaining trials. SE² = (S−1)/S Σ_s (theta_(s) − mean_s theta_(s))², and the
    interval is the plain mean ± t(S−1) SE. It makes no assumption about how speaker effects
    combine, so it checks the speaker model's interval against the data's own spread.

    Args:
        values: one number per trial.
        labels: the trials' ``"spkA+spkB"`` labels.
        confidence: level of the interval.

    Returns:
        ``(low, high, se)``; NaN when fewer than :data:`MIN_SPEAKERS` speakers, or when
        removing some speaker leaves no trial.
    """
    y = np.asarray(values, dtype=float)
    pairs = parse_speakers(labels)
    if len(y) != len(pairs):
        raise ValueError(f"{len(y)} values but {len(pairs)} speakers labels; give one label per trial.")
    names = sorted({s for pair in pairs for s in pair})
    if len(names) < MIN_SPEAKERS:
        return math.nan, math.nan, math.nan
    left_out = []
    for name in names:
        keep = np.array([name not in pair for pair in pairs])
        if not keep.any():
            return math.nan, math.nan, math.nan
        left_out.append(float(y[keep].mean()))
    theta = np.asarray(left_out)
    s = len(names)
    se = math.sqrt((s - 1) / s * float(np.sum((theta - theta.mean()) ** 2)))
    half = float(sps.t.ppf(0.5 + confidence / 2, s - 1)) * se
    mean = float(y.mean())
    return mean - half, mean + half, se


def _levels(scores: pd.DataFrame, method: str, comparator: str, sizes: Sequence[int]) -> pd.DataFrame:
    """Per-trial ``z_method(N) − z_comparator(N)`` at ``sizes`` (``scores``: :func:`trial_scores`), ties set to 0."""
    columns = {n: scores[(method, n)] - scores[(comparator, n)] for n in sizes
               if (method, n) in scores.columns and (comparator, n) in scores.columns}
    values = pd.DataFrame(columns)
    return values.where(values.abs() > ROUNDING, 0.0).where(values.notna())


def _summarise(values: pd.DataFrame, group: pd.DataFrame, n_ffts: Sequence[int], pooled: Sequence[int],
               confidence: float) -> dict[int, dict[str, Any]]:
    """Rows at ``n_ffts``: the pooled speaker-level interval (:func:`pooled_intervals` over ``values``)
    and the delete-one-speaker jackknife of each size's own trials (``group``)."""
    labels = group.drop_duplicates("trial").set_index("trial")["speakers"].astype(str)
    try:
        fits = pooled_intervals(values, labels, pooled, confidence)
        note = ""
    except ValueError as err:
        fits, note = None, f"no speaker-level interval: {err}"
    out = {}
    for n_fft in n_ffts:
        part = group[group["n_fft"] == n_fft]
        y, trial_labels = part["value"].to_numpy(), list(part["speakers"])
        row: dict[str, Any] = {"n": len(y), "estimate": float(y.mean()) if len(y) else math.nan}
        row.update(dict.fromkeys(("se", "df", "low", "high", "p", "n_speakers", "speaker_share",
                                  "jack_se", "jack_low", "jack_high"), math.nan), note=note)
        if fits is not None:
            fit = fits.loc[n_fft]
            row.update({k: float(fit[k]) for k in ("se", "df", "low", "high", "p", "speaker_share")},
                       n_speakers=int(fit["n_speakers"]))
            row["jack_low"], row["jack_high"], row["jack_se"] = jackknife_interval(y, trial_labels, confidence)
        out[int(n_fft)] = row
    return out


def estimand_summary(df: pd.DataFrame, metric: str, n0: int, confidence: float = 0.95,
                     pooled: Sequence[int] = PAPER_N_FFTS) -> pd.DataFrame:
    """Mean of every estimand per (method, comparator, N) with its speaker-level and jackknife intervals.

    Chapters "Reconstruction across window sizes" (KL), "Separating two speakers" (SDR,
    STOI) and "What holds up" (via :mod:`innmf.report.endpoints`).

    Args:
        df: tidy per-trial rows (every method at N0 and at other N).
        metric: the metric summarised.
        n0: the training window size N0.
        confidence: level of both intervals.
        pooled: the window sizes whose differences share one joint model
            (:func:`innmf.report.pooled_model.pooled_intervals`; default: the paper's). A fit
            at N0 is estimated in the joint model of the level differences at these sizes
            and N0; a change or transfer in the joint model of its values at these sizes.

    Returns:
        One row per (estimand, method, comparator, n_fft): ``metric``, ``scale``
        (:func:`scale_of`), ``n`` (trials), ``estimate`` (mean on the comparison scale),
        ``se``, ``df`` (Satterthwaite), ``low``, ``high``, ``p`` (two-sided, against 0),
        ``n_speakers``, ``speaker_share`` (pooled speaker-level model), ``jack_se``,
        ``jack_low``, ``jack_high`` (delete-one-speaker jackknife, each size on its own),
        and ``note`` (why an interval is missing).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}.")
    rows = per_trial_estimands(df, metric, n0)
    scores, _ = trial_scores(df, metric)
    out = []
    for (estimand, method, comparator), group in rows.groupby(["estimand", "method", "comparator"], sort=False):
        n_ffts = sorted(set(int(n) for n in group["n_fft"]))
        if estimand == "fit":
            # The fit is the level difference at N0; the levels at the pooled sizes lend it their speaker variance.
            sizes = sorted({*(n for n in pooled if n != n0), n0})
            values = _levels(scores, method, comparator, sizes)
        else:
            values = group.pivot(index="trial", columns="n_fft", values="value")
        for n_fft, row in _summarise(values, group, n_ffts, pooled, confidence).items():
            out.append({"metric": metric, "scale": scale_of(metric), "estimand": estimand, "method": method,
                        "comparator": comparator, "n_fft": n_fft, **row})
    table = pd.DataFrame(out)
    order = {name: i for i, name in enumerate(ESTIMANDS)}
    return table.sort_values(["estimand", "n_fft"], key=lambda c: c.map(order) if c.name == "estimand" else c,
                             kind="stable").reset_index(drop=True)


def shown(summary: pd.DataFrame, estimand: str) -> pd.DataFrame:
    """One estimand of :func:`estimand_summary` in the units a reader reads (chapters 3 and 4's tables).

    Log-scale rows become ratios (``exp``; 1.05 means 5 % more KL), the others stay
    differences. ``comparison`` names what is compared: ``"iN-NMF / NMF"`` or
    ``"iN-NMF − NMF"`` (fit), ``"iN-NMF(N) / iN-NMF(N0)"`` (change) and ``"iN-NMF vs NMF"``
    (transfer: the first method's change over, or minus, the second's).

    Returns:
        Columns ``n_fft``, ``comparison``, ``n``, ``n_speakers``, ``estimate``, ``low``,
        ``high``, ``jack_low``, ``jack_high``.
    """
    rows = summary[summary["estimand"] == estimand].copy()
    if rows.empty:
        raise ValueError(f"no {estimand!r} rows; the summary has {sorted(set(summary['estimand']))}.")
    log = rows["scale"] == "log"
    for column in ("estimate", "low", "high", "jack_low", "jack_high"):
        rows[column] = rows[column].astype(float).where(~log, np.exp(rows[column].astype(float)))
    sign = pd.Series(np.where(log, " / ", " − "), index=rows.index)
    if estimand == "fit":
        rows["comparison"] = rows["method"] + sign + rows["comparator"]
    elif estimand == "change":
        rows["comparison"] = rows["method"] + "(N)" + sign + rows["method"] + "(N0)"
    else:
        rows["comparison"] = rows["method"] + " vs " + rows["comparator"]
    return rows[["n_fft", "comparison", "n", "n_speakers", "estimate", "low", "high", "jack_low", "jack_high"]]
