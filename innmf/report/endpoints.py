"""Pre-declared primary endpoints of the paper's claims, tested with speakers as the unit.

Each claim is judged on one pre-declared endpoint (a metric, its window sizes and the
baselines), declared here as data before any result is read, so that no verdict can
be chosen after looking at the table:

- **window-size** (the paper's headline): trained at N = 2000 only, iN-NMF separates no
  worse than a dictionary made for each N; SDR, margin −0.5 dB, at each of the paper's
  N, against ``NMF`` (retrained at each N) and ``NMF-interp`` (NMF's dictionary at the
  training N interpolated to each N).
- **quality**: at the training size, iN-NMF's KL is within 10 % of NMF's; KL ratio,
  margin 1.10, at N = 2000.

An endpoint is met when the speaker-level 95 % interval's bound clears the margin
(:data:`innmf.report.stats.MARGINS`); "at every N" is an intersection of such tests, so
it needs no multiplicity correction, and the per-endpoint one-sided p-values are
Holm-adjusted within the claim for readers who read the window sizes one at a time.
Beside the new decision, the table keeps the old ones (the point estimate against the
margin, and the trial-level interval) so a chapter can show what changed.

Used by the chapters "Reconstruction across window sizes", "Separating two speakers"
and the findings page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from innmf.report.stats import MARGINS, holm, paired_summary, speaker_caveat

TREATMENT = "iN-NMF"
NONINFERIOR, INFERIOR, UNDECIDED = "non-inferior", "inferior", "undecided"


@dataclass(frozen=True)
class Endpoint:
    """The primary endpoint of one claim: ``metric`` at ``n_ffts`` against ``baselines``."""

    claim: str
    statement: str
    experiment: str
    metric: str
    n_ffts: tuple[int, ...]
    baselines: tuple[str, ...]


PRIMARY_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("window-size", "Trained at N = 2000 only, iN-NMF separates no worse than a dictionary "
             "made for each N: SDR within 0.5 dB at every N.", "separation", "sdr",
             (1000, 1500, 2000, 2500), ("NMF", "NMF-interp")),
    Endpoint("quality", "At the training size iN-NMF's KL is within 10 % of NMF's.", "reconstruction",
             "kl", (2000,), ("NMF",)),
)


def _trial_ratio_interval(rows: pd.DataFrame, baseline: str, confidence: float) -> dict[float, tuple[float, float]]:
    """Old, trial-level interval of the ratio of means (delta method), per n_fft."""
    out = {}
    for n_fft, group in rows.groupby("n_fft"):
        wide = group.pivot(index="trial", columns="method", values="value")[[baseline, TREATMENT]].dropna()
        base, treat = wide[baseline].to_numpy(), wide[TREATMENT].to_numpy()
        ratio = treat.mean() / base.mean()
        lin = (treat - ratio * base) / base.mean()
        half = sps.t.ppf(0.5 + confidence / 2, len(lin) - 1) * lin.std(ddof=1) / math.sqrt(len(lin))
        out[n_fft] = (ratio - half, ratio + half)
    return out


def _decision(low: float, high: float, kind: str, margin: float) -> str:
    """``non-inferior`` (the interval clears the margin), ``inferior`` (all of it lies past
    the margin) or ``undecided`` (it straddles the margin, or there is no interval)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return UNDECIDED
    good, bad = (low >= margin, high < margin) if kind == "difference" else (high <= margin, low > margin)
    return NONINFERIOR if good else INFERIOR if bad else UNDECIDED


def _endpoint_rows(df: pd.DataFrame, ep: Endpoint, baseline: str, confidence: float) -> list[dict[str, Any]]:
    margin = MARGINS[ep.metric]
    head = {"claim": ep.claim, "baseline": baseline, "metric": ep.metric, "margin": margin.value}
    rows = df[(df["metric"] == ep.metric) & df["n_fft"].isin(ep.n_ffts)
              & df["method"].isin([baseline, TREATMENT])]
    if "experiment" in rows.columns:
        rows = rows[rows["experiment"] == ep.experiment]
    if baseline not in set(rows["method"]) or TREATMENT not in set(rows["method"]):
        return [{**head, "n_fft": n, "status": f"not tested: no {baseline} rows"} for n in ep.n_ffts]
    paired = paired_summary(rows, baseline=baseline, treatment=TREATMENT, confidence=confidence)
    trial_ratio = _trial_ratio_interval(rows, baseline, confidence) if margin.kind == "ratio" else {}
    out = []
    for _, p in paired.iterrows():
        row = {**head, "n_fft": int(p["n_fft"]), "status": "tested", "n": int(p["n"]),
               "n_speakers": p["n_speakers"]}
        if margin.kind == "difference":
            row.update(estimate=p["mean_diff"], trial_low=p["ci_low"], trial_high=p["ci_high"],
                       speaker_low=p["speaker_low"], speaker_high=p["speaker_high"])
            t = (p["mean_diff"] - margin.value) / p["speaker_se"]
            met_point = p["mean_diff"] >= margin.value
            met_trial = p["ci_low"] >= margin.value
        else:
            low, high = trial_ratio[p["n_fft"]]
            row.update(estimate=p["ratio"], trial_low=low, trial_high=high,
                       speaker_low=p["ratio_low"], speaker_high=p["ratio_high"])
            t = (margin.value - p["ratio"]) / p["ratio_se"]
            met_point, met_trial = p["ratio"] <= margin.value, high <= margin.value
        df_t = p["n_speakers"] - 1
        row["p_noninferior"] = float(sps.t.sf(t, df_t)) if np.isfinite(t) else math.nan
        row.update(met_point=bool(met_point), met_trial=bool(met_trial), met_speaker=p["noninferior"],
                   decision=_decision(row["speaker_low"], row["speaker_high"], margin.kind, margin.value),
                   note=p["note"])
        out.append(row)
    missing = sorted(set(ep.n_ffts) - {r["n_fft"] for r in out})
    out += [{**head, "n_fft": n, "status": f"not tested: no rows at N = {n}"} for n in missing]
    return out


def primary_endpoint_table(
    df: pd.DataFrame, endpoints: tuple[Endpoint, ...] = PRIMARY_ENDPOINTS, confidence: float = 0.95
) -> pd.DataFrame:
    """Every claim's primary endpoint, decided old (point, trial interval) and new (speakers).

    Args:
        df: tidy per-trial results with a ``speakers`` column (the runners write it).
        endpoints: the declared endpoints (default: :data:`PRIMARY_ENDPOINTS`).
        confidence: level of the intervals; the margin is tested on their bound.

    Returns:
        One row per claim x baseline x N: ``estimate`` (mean difference, or ratio of
        means for a ratio margin), ``trial_low``/``trial_high`` (old interval),
        ``speaker_low``/``speaker_high`` (new), ``margin``, ``met_point`` (old rule: the
        point estimate clears the margin), ``met_trial``, ``met_speaker`` (the new rule),
        ``decision`` ("non-inferior", "inferior": the whole interval past the margin, or
        "undecided"), ``p_noninferior`` (one-sided, speaker level; below (1 − confidence)/2
        exactly when ``met_speaker``) and ``p_noninferior_holm`` (within the claim), ``n``,
        ``n_speakers``, ``status`` ("tested" or why not) and ``note``.
    """
    rows = [r for ep in endpoints for b in ep.baselines for r in _endpoint_rows(df, ep, b, confidence)]
    table = pd.DataFrame(rows)
    if "p_noninferior" not in table.columns:
        table["p_noninferior"] = math.nan
    table["p_noninferior_holm"] = math.nan
    for _, family in table.groupby("claim", sort=False):
        table.loc[family.index, "p_noninferior_holm"] = holm(family["p_noninferior"].to_numpy())
    return table


def claim_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per claim and baseline: endpoints met under the old and the new rule, the verdict, the caveat.

    Args:
        table: output of :func:`primary_endpoint_table`.

    Returns:
        Rows with ``claim``, ``baseline``, ``endpoints``, ``tested`` (endpoints with results),
        ``met_point``, ``met_trial``, ``met_speaker`` (how many cleared the margin under each
        rule), ``verdict`` ("holds": every endpoint non-inferior; "fails": some endpoint
        inferior; "undecided": otherwise, e.g. an interval straddles the margin; "not
        tested" without results) and ``caveat`` (the plain sentence when few speakers
        support it, "" otherwise).
    """
    out = []
    for (claim, baseline), group in table.groupby(["claim", "baseline"], sort=False):
        tested = group[group["status"] == "tested"]
        row = {"claim": claim, "baseline": baseline, "endpoints": len(group), "tested": len(tested),
               "met_point": 0, "met_trial": 0, "met_speaker": 0, "verdict": "not tested", "caveat": ""}
        if len(tested):
            decisions = set(tested["decision"])
            row.update(met_point=int(tested["met_point"].sum()), met_trial=int(tested["met_trial"].sum()),
                       met_speaker=int((tested["decision"] == NONINFERIOR).sum()))
            if INFERIOR in decisions:
                row["verdict"] = "fails"
            elif decisions == {NONINFERIOR} and len(tested) == len(group):
                row["verdict"] = "holds"
            else:
                row["verdict"] = UNDECIDED
            speakers = tested["n_speakers"]
            if speakers.notna().all():
                row["caveat"] = speaker_caveat(int(speakers.min()))
        out.append(row)
    return pd.DataFrame(out)
