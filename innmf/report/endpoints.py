"""Pre-declared endpoints of the paper's claims: fit at the training size, transfer away from it.

Each claim is judged on endpoints declared here as data before any result is read
(:data:`PRIMARY_ENDPOINTS`), on the estimands of :mod:`innmf.report.transfer`:

- **quality** (reconstruction): at the training size N0 = 2000, iN-NMF's KL is within
  10 % of NMF's: the *fit* KL ratio iN-NMF / NMF.
- **separation**: at N0, iN-NMF separates as well as NMF: the *fit* SDR and STOI
  differences iN-NMF − NMF.
- **window-size**: sampled at other window sizes, iN-NMF loses no more than retrained NMF
  does (the *transfer* against NMF: what not retraining costs) and no more than NMF's own
  dictionary carried to N without a network (the transfer against ``NMF-interp`` and, where
  a table has it, ``NMF-resample``), in KL, SDR and STOI. The decision is taken at the
  paper's window sizes; the others (512 and 4096) are judged and shown too, and make the
  difference between "holds" and "holds partly".

The verdict of a claim is taken against its first comparator (``NMF``); the others
(``NMF-interp``, ``NMF-resample``: NMF's dictionary, whose fit at N0 differs from iN-NMF's
in the dictionary only, the activations being refitted the same way) are decided by the
same rule and shown beside it.

**Margins** (:func:`margin`), on the comparison scale of :mod:`innmf.report.transfer`:

- KL fit: ratio 1.10, the paper's own claim ("within 10 %"; book/paper_setup.md §3).
- KL transfer: a factor sqrt(1.10) ≈ 1.049, half the fit margin on the log scale: a
  method whose fit and transfer each stay within their margins stays within the paper's
  10 % at every N (log 1.10 = two halves). For ratios near 1.05 it is close to the
  earlier rule "the ratio grows by at most 0.05 away from N0".
- SDR −0.5 dB and STOI −0.02, for fit and transfer alike: about the size of the noise of one
  trial's score between two draws of the same recipe (the study "iN-NMF at its best",
  :func:`innmf.report.inr_study.draw_noise`, which the chapter "Separating two speakers"
  computes), rounded to one significant figure. A difference smaller than what re-drawing
  a method's own networks moves a trial by is not one a user could act on. These margins
  were fixed before that study ran; it is the study that says what they mean.

**Intervals.** Every endpoint's speaker-level interval comes from one joint model of the
per-trial differences at the paper's window sizes, N a fixed effect, the speaker variance
shared across N, with Satterthwaite degrees of freedom
(:func:`innmf.report.pooled_model.pooled_intervals`; a fit at N0 borrows the speaker
variance of the level differences at the other paper sizes). The same function gives the
chapters' tables (:func:`innmf.report.transfer.estimand_summary`) and
:func:`innmf.report.stats.paired_summary`, so a verdict and the tables beside it agree.

**Decisions.** An endpoint is *non-inferior* when the whole speaker-level 95 % interval
lies on the good side of its margin, *inferior* when the whole interval lies past it, and
*undecided* otherwise. "At every window size" is an intersection of such tests and needs
no multiplicity correction. The p-values against zero (for sentences such as "below NMF
at N = 1000") and the one-sided non-inferiority p-values are Holm-adjusted in **one
family per claim**: every metric, comparator and window size of the claim (also when
:func:`endpoint_table` is given several claims at once, each is adjusted on its own). Beside each
decision, the same rule applied to the delete-one-speaker jackknife interval
(:func:`innmf.report.transfer.jackknife_interval`) is a sensitivity check: a verdict that
changes under it rests on the speaker model's assumptions, not on the data alone.

Used by :mod:`innmf.report.verdicts` (the findings page "What holds up") and the chapters
"Reconstruction across window sizes" and "Separating two speakers".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from innmf.report.pooled_model import PAPER_N_FFTS
from innmf.report.stats import MARGINS, holm, speaker_caveat
from innmf.report.transfer import estimand_summary

TREATMENT = "iN-NMF"
TRAIN_N_FFT = 2000
"""The paper's training window size N0."""
NONINFERIOR, INFERIOR, UNDECIDED = "non-inferior", "inferior", "undecided"
HOLDS, PARTLY, FAILS, NOT_TESTED = "holds", "holds partly", "does not hold here", "not tested"
ALPHA = 0.05


@dataclass(frozen=True)
class Endpoint:
    """One claim's endpoints: ``treatment`` against each of ``comparators`` on ``estimand``, per metric."""

    claim: str
    statement: str
    estimand: str
    metrics: tuple[str, ...]
    comparators: tuple[str, ...]
    treatment: str = TREATMENT


PRIMARY_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("quality", "At the training size iN-NMF's KL is within 10 % of NMF's.", "fit", ("kl",),
             ("NMF", "NMF-interp", "NMF-resample")),
    Endpoint("separation", "At the training size iN-NMF separates as well as NMF.", "fit", ("sdr", "stoi"),
             ("NMF", "NMF-interp", "NMF-resample")),
    Endpoint("window-size", "Sampled at other window sizes, iN-NMF loses no more than retrained NMF "
             "and no more than NMF's dictionary carried there without a network.", "transfer",
             ("kl", "sdr", "stoi"), ("NMF", "NMF-interp", "NMF-resample")),
)


def margin(metric: str, estimand: str) -> tuple[str, float]:
    """The margin of an endpoint on the comparison scale (module docstring).

    Returns:
        ``("upper", log 1.10)`` (KL fit; the interval's upper end must stay at or below),
        ``("upper", log 1.10 / 2)`` (KL transfer) or ``("lower", value)`` (SDR, STOI: the
        lower end must stay at or above).

    Raises:
        ValueError: a metric without a margin, or an estimand that is not fit or transfer.
    """
    if metric not in MARGINS:
        raise ValueError(f"no margin for metric {metric!r}; margins exist for {sorted(MARGINS)}.")
    if estimand not in ("fit", "transfer"):
        raise ValueError(f"endpoints are fits or transfers, not {estimand!r}.")
    declared = MARGINS[metric]
    if declared.kind == "ratio":
        return "upper", math.log(declared.value) * (0.5 if estimand == "transfer" else 1.0)
    return "lower", declared.value


def decide(low: float, high: float, side: str, value: float) -> str:
    """``non-inferior`` (the interval clears the margin), ``inferior`` (all of it lies past the
    margin) or ``undecided`` (it straddles the margin, or there is no interval)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return UNDECIDED
    good, bad = (high <= value, low > value) if side == "upper" else (low >= value, high < value)
    return NONINFERIOR if good else INFERIOR if bad else UNDECIDED


def _p_noninferior(estimate: float, se: float, side: str, value: float, df: float) -> float:
    """One-sided p of "the margin is crossed", t with the interval's (Satterthwaite) degrees of freedom."""
    gap = (value - estimate) if side == "upper" else (estimate - value)
    if not (np.isfinite(se) and not np.isnan(df)):
        return math.nan
    if se == 0:
        return 0.0 if gap > 0 else 1.0
    return float(sps.t.sf(gap / se, df))


def endpoint_table(
    df: pd.DataFrame,
    endpoints: Sequence[Endpoint] = PRIMARY_ENDPOINTS,
    n0: int = TRAIN_N_FFT,
    paper_n_ffts: Sequence[int] = PAPER_N_FFTS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Every claim's endpoints, decided on the speaker-level interval, with the jackknife beside it.

    Args:
        df: tidy per-trial rows with a ``speakers`` column (the runners write it).
        endpoints: the declared endpoints (default: :data:`PRIMARY_ENDPOINTS`).
        n0: the training window size N0.
        paper_n_ffts: the window sizes a verdict is taken at, and whose differences share one
            joint model (:mod:`innmf.report.pooled_model`); other N are judged and shown.
        confidence: level of the intervals.

    Returns:
        One row per claim x metric x comparator x N: ``estimand``, ``treatment``,
        ``comparator``, ``paper_range``, ``scale``, ``n``, ``n_speakers``, ``estimate``,
        ``se``, ``df``, ``low``, ``high`` (speaker level, pooled over the paper's sizes), ``jack_low``, ``jack_high``, ``side``, ``margin``
        (both on the comparison scale), ``decision``, ``jack_decision``, ``p_zero``,
        ``p_noninferior`` and their ``_holm`` versions (one family per claim), ``status``
        ("tested", or why not) and ``note``.
    """
    summaries: dict[str, pd.DataFrame | str] = {}
    for metric in {m for ep in endpoints for m in ep.metrics}:
        try:
            summaries[metric] = estimand_summary(df, metric, n0, confidence, pooled=paper_n_ffts)
        except ValueError as err:
            summaries[metric] = str(err)
    rows: list[dict[str, Any]] = []
    for ep in endpoints:
        for metric in ep.metrics:
            side, value = margin(metric, ep.estimand)
            head = {"claim": ep.claim, "estimand": ep.estimand, "metric": metric, "treatment": ep.treatment,
                    "side": side, "margin": value}
            summary = summaries[metric]
            for comparator in ep.comparators:
                if isinstance(summary, str):
                    rows.append({**head, "comparator": comparator, "status": f"not tested: {summary}"})
                    continue
                part = summary[(summary["estimand"] == ep.estimand) & (summary["method"] == ep.treatment)
                               & (summary["comparator"] == comparator)]
                if part.empty:
                    rows.append({**head, "comparator": comparator, "status": f"not tested: no {comparator} rows"})
                    continue
                for _, s in part.iterrows():
                    # A fit is at N0 by definition; a transfer is judged at the paper's sizes.
                    in_range = ep.estimand == "fit" or int(s["n_fft"]) in set(paper_n_ffts)
                    row = {**head, "comparator": comparator, "status": "tested", "paper_range": in_range,
                           **{k: s[k] for k in ("n_fft", "scale", "n", "n_speakers", "estimate", "se", "df",
                                                "low", "high", "jack_low", "jack_high", "note")}}
                    row["p_zero"] = s["p"]
                    row["p_noninferior"] = _p_noninferior(s["estimate"], s["se"], side, value, s["df"])
                    row["decision"] = decide(s["low"], s["high"], side, value)
                    row["jack_decision"] = decide(s["jack_low"], s["jack_high"], side, value)
                    rows.append(row)
    table = pd.DataFrame(rows)
    for column in ("p_zero", "p_noninferior"):
        if column not in table:
            table[column] = math.nan
        table[f"{column}_holm"] = math.nan
        for _, family in table.groupby("claim", sort=False):
            table.loc[family.index, f"{column}_holm"] = holm(family[column].to_numpy(dtype=float))
    return table


def _level(decisions: pd.Series, beyond: pd.Series) -> str:
    """The verdict rule on one claim's decisions at the paper's sizes (``decisions``) and beyond them."""
    if decisions.empty:
        return NOT_TESTED
    if (decisions == INFERIOR).any():
        return FAILS
    if (decisions == NONINFERIOR).all():
        return HOLDS if (beyond == NONINFERIOR).all() else PARTLY
    return PARTLY if (decisions == NONINFERIOR).any() else UNDECIDED


def claim_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per claim and comparator: how many endpoints cleared their margin, the verdict and the jackknife's.

    Verdicts: ``holds`` (every endpoint at the paper's sizes non-inferior, and every other
    one too), ``holds partly`` (some non-inferior and none inferior, or all at the paper's
    sizes but not beyond), ``does not hold here`` (some endpoint at the paper's sizes
    inferior), ``undecided`` (none either way) and ``not tested`` (no results).

    Args:
        table: output of :func:`endpoint_table`.

    Returns:
        Rows with ``claim``, ``comparator``, ``tested`` (endpoints with results at the
        paper's sizes), ``noninferior``, ``inferior``, ``verdict``, ``jack_verdict`` (the
        same rule on the jackknife decisions), ``stable`` (the two agree) and ``caveat``
        (the few-speakers sentence, "" otherwise).
    """
    out = []
    for (claim, comparator), group in table.groupby(["claim", "comparator"], sort=False):
        tested = group[group["status"] == "tested"]
        inside = tested[tested["paper_range"].astype(bool)] if len(tested) else tested
        beyond = tested[~tested["paper_range"].astype(bool)] if len(tested) else tested
        row = {"claim": claim, "comparator": comparator, "tested": len(inside),
               "noninferior": int((inside.get("decision", pd.Series(dtype=str)) == NONINFERIOR).sum()),
               "inferior": int((inside.get("decision", pd.Series(dtype=str)) == INFERIOR).sum()),
               "verdict": NOT_TESTED, "jack_verdict": NOT_TESTED, "caveat": ""}
        if len(inside):
            row["verdict"] = _level(inside["decision"], beyond["decision"])
            row["jack_verdict"] = _level(inside["jack_decision"], beyond["jack_decision"])
            speakers = inside["n_speakers"]
            if speakers.notna().all():
                row["caveat"] = speaker_caveat(int(speakers.min()))
        row["stable"] = row["verdict"] == row["jack_verdict"]
        out.append(row)
    return pd.DataFrame(out)


def readable(table: pd.DataFrame, claims: Sequence[str] | None = None, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """The tested rows of :func:`endpoint_table` in a reader's units, for a chapter's table.

    KL rows become ratios (``exp`` of the log scale; the margin too), the others stay
    differences. Chapters "Reconstruction across window sizes", "Separating two speakers"
    and "What holds up".

    Args:
        table: output of :func:`endpoint_table`.
        claims: keep only these claims (default: all).
        metrics: keep only these metrics (default: all).

    Returns:
        Columns ``claim``, ``estimand``, ``metric``, ``comparison`` (e.g. "iN-NMF vs NMF-interp"),
        ``n_fft``, ``paper_range``, ``estimate``, ``low``, ``high``, ``margin``, ``decision``,
        ``jack_low``, ``jack_high``, ``jack_decision``, ``p_zero_holm``, ``p_noninferior_holm``.
    """
    columns = ["claim", "estimand", "metric", "comparison", "n_fft", "paper_range", "estimate", "low", "high",
               "margin", "decision", "jack_low", "jack_high", "jack_decision", "p_zero_holm", "p_noninferior_holm"]
    rows = table[table["status"] == "tested"].copy()
    if rows.empty:
        return pd.DataFrame(columns=columns)
    if claims is not None:
        rows = rows[rows["claim"].isin(list(claims))]
    if metrics is not None:
        rows = rows[rows["metric"].isin(list(metrics))]
    log = rows["scale"] == "log"
    for column in ("estimate", "low", "high", "margin", "jack_low", "jack_high"):
        values = rows[column].astype(float)
        rows[column] = values.where(~log, np.exp(values))
    rows["comparison"] = rows["treatment"] + " vs " + rows["comparator"]
    rows["n_fft"] = rows["n_fft"].astype(int)
    rows["paper_range"] = rows["paper_range"].astype(bool)
    return rows[columns].reset_index(drop=True)


_RATIONALE = {
    ("kl", "fit"): "the paper's own tolerance",
    ("kl", "transfer"): "the square root of the fit's: half of it on the log scale, so that fit and transfer "
                        "within their margins stay within the paper's tolerance together",
    ("sdr", "fit"): "about the noise of one trial's score between two draws of the same recipe",
    ("stoi", "fit"): "likewise",
}


def rules_text(claims: Sequence[str] | None = None, n0: int = TRAIN_N_FFT) -> str:
    """The declared rules in words, margins and their rationale included, for a chapter to display.

    Chapters "Reconstruction across window sizes", "Separating two speakers" and "What
    holds up" show this instead of typing the margins, so the text follows the declarations.

    Args:
        claims: the claims to state (default: every one of :data:`PRIMARY_ENDPOINTS`).
        n0: the training window size N0.

    Returns:
        Markdown: one bullet per claim, then how the p-values and the jackknife are used.
    """
    lines = []
    for ep in PRIMARY_ENDPOINTS:
        if claims is not None and ep.claim not in claims:
            continue
        where = f"at N0 = {n0}" if ep.estimand == "fit" else f"at every other window size, against N0 = {n0}"
        parts = []
        for metric in ep.metrics:
            side, value = margin(metric, ep.estimand)
            label = metric.upper()
            if side == "upper":
                text = f"{label} {'ratio' if ep.estimand == 'fit' else 'factor'}: upper end at most {math.exp(value):.3f}"
            else:
                text = f"{label}: lower end at least {value:+g}{' dB' if metric == 'sdr' else ''}"
            why = _RATIONALE.get((metric, ep.estimand)) or _RATIONALE.get((metric, "fit"))
            parts.append(f"{text} ({why})")
        others = ", ".join(ep.comparators[1:])
        lines.append(f"- **{ep.claim}** ({ep.estimand} {where}): {ep.statement} The verdict against "
                     f"{ep.comparators[0]}" + (f", the same rule against {others} where the results have them" if others else "")
                     + "; on the speaker-level 95 % interval, " + "; ".join(parts) + ".")
    lines.append("- p-values are Holm-adjusted within each claim (one family per claim); beside each decision stands "
                 "the one the same rule gives on the delete-one-speaker jackknife interval.")
    return "\n".join(lines)
