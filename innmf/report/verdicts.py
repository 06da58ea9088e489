"""Verdicts on the paper's claims, in words, computed from result tables.

The page "What holds up" (``notebooks/00_findings.py``) and the chapters
"Reconstruction across window sizes" and "Separating two speakers" call these, so
that no verdict is typed in: when the results change, the words change. Each claim is
judged on the pre-declared endpoints of :mod:`innmf.report.endpoints`, which states the
rules, the margins and their rationale, and the Holm families (one per claim):

- **KL within 10 %** (the quality claim) on the *fit* at the training size N0: the
  speaker-level 95 % interval of the KL ratio iN-NMF / NMF at N0 stays at or below 1.10.
- **Separation as good as NMF** on the fit at N0: the interval of iN-NMF − NMF stays
  above −0.5 dB SDR and −0.02 STOI.
- **Window-size generalisation** on the *transfer* (:mod:`innmf.report.transfer`):
  at every other window size, iN-NMF's change away from N0 minus retrained NMF's stays
  within the margins (KL factor sqrt(1.10), SDR −0.5 dB, STOI −0.02).
- **Irregular representations separate better than a grid** on the music experiment's
  pre-registered endpoint (:mod:`innmf.report.music`): iN-NMF on the constant-Q points or the
  two-resolution cloud against the grid system chosen on validation pieces, per data set.

Levels: ``holds``, ``holds partly``, ``does not hold here`` and ``undecided`` (too few
trials to tell). Every verdict carries beside it the level the same rule gives on the
delete-one-speaker jackknife intervals (:attr:`Verdict.jackknife`), a sensitivity check
of the speaker model. A sentence names a window size where one method is below another
only when that difference's Holm-adjusted p (in the claim's family) is below 0.05.
Comparisons with the network-free baselines (``NMF-interp``, ``NMF-resample``) are made
when a results table has them, and said to be missing otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import pandas as pd

from innmf.report.endpoints import (  # noqa: F401 - the verdict levels are part of this module's API
    ALPHA, FAILS, HOLDS, NOT_TESTED, PAPER_N_FFTS, PARTLY, PRIMARY_ENDPOINTS, TRAIN_N_FFT, UNDECIDED,
    claim_summary, endpoint_table,
)
from innmf.report.stats import MARGINS
from innmf.report.wording import LABELS, bounds, number, resolved, sizes, unit, value_range

KL_RATIO_LIMIT = MARGINS["kl"].value
"""The paper's "within 10 %" of NMF's KL (:data:`innmf.report.stats.MARGINS`)."""
SEPARATION_MARGINS = {m: MARGINS[m].value for m in ("sdr", "stoi")}
"""Non-inferiority margins of iN-NMF − NMF (SDR in dB, STOI in its own units), from :data:`MARGINS`."""
INTERP = "NMF-interp"
"""The interpolated-dictionary baseline (issue "Science I")."""
PAPER_TRAIN_N_FFT = TRAIN_N_FFT
CLAIM_OF = {"kl": "quality", "separation": "separation", "window": "window-size"}
"""The findings page's claim keys and the endpoints' claims that judge them."""
_ENDPOINTS = {ep.claim: ep for ep in PRIMARY_ENDPOINTS}


def judged_sizes(rows: pd.DataFrame, n_ffts: Sequence[int] | None = None) -> list[int]:
    """The window sizes a claim is judged at: ``n_ffts`` (default: the paper's) present in ``rows``."""
    wanted = PAPER_N_FFTS if n_ffts is None else tuple(n_ffts)
    return sorted(set(wanted) & set(int(n) for n in rows["n_fft"]))


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict: its level, the sentence that justifies it, and the jackknife's level."""

    level: str
    evidence: str
    jackknife: str = ""

    def __post_init__(self) -> None:
        from innmf.report.format import typeset_minus

        object.__setattr__(self, "evidence", typeset_minus(self.evidence))

    def text(self) -> str:
        """``"holds partly: <evidence>"``, the form the findings table prints."""
        return f"{self.level}: {self.evidence}"


def _caveat(summary_row: pd.Series) -> str:
    return f" {summary_row['caveat']}" if summary_row.get("caveat") else ""


def _rows(table: pd.DataFrame, claim: str, comparator: str) -> pd.DataFrame:
    part = table[(table["claim"] == claim) & (table["comparator"] == comparator)]
    return part[part["status"] == "tested"]


def _fit_verdict(table: pd.DataFrame, summary: pd.DataFrame, claim: str) -> Verdict:
    """A claim judged on the fit at N0 against NMF (quality: KL; separation: SDR and STOI)."""
    ep = _ENDPOINTS[claim]
    comparator = ep.comparators[0]
    rows = _rows(table, claim, comparator)
    if rows.empty:
        raise ValueError(f"no results for the {claim} claim's endpoints; is the training size in the table?")
    head = summary[(summary["claim"] == claim) & (summary["comparator"] == comparator)].iloc[0]
    parts = []
    for _, r in rows.iterrows():
        metric, scale = r["metric"], r["scale"]
        name = f"{LABELS.get(metric, metric)} {'ratio' if scale == 'log' else 'difference'} {ep.treatment} " \
               f"{'/' if scale == 'log' else '−'} {comparator}"
        if not math.isfinite(r["low"]):
            parts.append(f"{name} {number(metric, scale, r['estimate'])}{unit(metric)} (no speaker-level "
                         "interval: too few trials or speakers)")
            continue
        parts.append(f"{name} {number(metric, scale, r['estimate'])}{unit(metric)} (speaker-level 95 % "
                     f"interval {number(metric, scale, r['low'])} to {number(metric, scale, r['high'])}, margin "
                     f"{number(metric, scale, r['margin'])}; jackknife {number(metric, scale, r['jack_low'])} to "
                     f"{number(metric, scale, r['jack_high'])})")
    n0 = int(rows["n_fft"].iloc[0])
    evidence = f"at the training size N = {n0}, " + "; ".join(parts) + "; " + resolved(rows, comparator, ep.treatment, ALPHA)
    evidence += f". Delete-one-speaker jackknife: {head['jack_verdict']}.{_caveat(head)}"
    return Verdict(head["verdict"] if head["verdict"] != NOT_TESTED else UNDECIDED, evidence, head["jack_verdict"])


def _window_verdict(table: pd.DataFrame, summary: pd.DataFrame) -> Verdict:
    """The window-size claim judged on the transfer against retrained NMF."""
    ep = _ENDPOINTS["window-size"]
    comparator = ep.comparators[0]
    rows = _rows(table, "window-size", comparator)
    if rows.empty:
        raise ValueError("no transfer rows: the window-size claim needs the training size and other window sizes.")
    head = summary[(summary["claim"] == "window-size") & (summary["comparator"] == comparator)].iloc[0]
    inside, beyond = rows[rows["paper_range"].astype(bool)], rows[~rows["paper_range"].astype(bool)]

    def describe(part: pd.DataFrame) -> str:
        texts = []
        for metric, group in part.groupby("metric", sort=False):
            text = f"{LABELS.get(metric, metric)} {value_range(metric, group['scale'].iloc[0], group['estimate'])}{unit(metric)}"
            if group["low"].notna().any():
                text += f" ({bounds(group)})"
            texts.append(text)
        return ", ".join(texts)

    evidence = (f"transfer away from the training size ({ep.treatment}'s change minus retrained {comparator}'s; KL as a "
                f"factor) at N = {sizes(inside['n_fft'])}: {describe(inside)}")
    if not beyond.empty:
        evidence += f"; beyond the paper's sizes, at N = {sizes(beyond['n_fft'])}: {describe(beyond)}"
    evidence += (f"; non-inferior at {head['noninferior']} of {head['tested']} endpoints at the paper's sizes; "
                 + resolved(rows, comparator, ep.treatment, ALPHA))
    if inside["low"].isna().all():
        evidence += " — too few trials for an interval"
    evidence += f". Delete-one-speaker jackknife: {head['jack_verdict']}.{_caveat(head)}"
    return Verdict(head["verdict"] if head["verdict"] != NOT_TESTED else UNDECIDED, evidence, head["jack_verdict"])


def _table(rows: pd.DataFrame, claims: Sequence[str], train_n_fft: int | None,
           n_ffts: Sequence[int] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    endpoints = [ep for ep in PRIMARY_ENDPOINTS if ep.claim in claims]
    judged = judged_sizes(rows, n_ffts)
    if not judged:
        raise ValueError(f"No rows at the window sizes {list(PAPER_N_FFTS if n_ffts is None else n_ffts)}; "
                         f"the table has {sorted(set(int(n) for n in rows['n_fft']))}.")
    table = endpoint_table(rows, endpoints, PAPER_TRAIN_N_FFT if train_n_fft is None else train_n_fft, judged)
    return table, claim_summary(table)


def kl_verdict(rows: pd.DataFrame, n_ffts: Sequence[int] | None = None, train_n_fft: int | None = None) -> Verdict:
    """Claim "iN-NMF's KL is within 10 % of NMF's", judged on the fit at the training size.

    Args:
        rows: tidy per-trial results with reconstruction rows (metric ``kl``).
        n_ffts: the paper's window sizes (default: those of :data:`PAPER_N_FFTS` in ``rows``).
        train_n_fft: the training size N0 (default 2000).

    Returns:
        ``holds`` when the ratio's interval stays at or below 1.10, ``does not hold here``
        when all of it lies above, ``undecided`` otherwise.
    """
    table, summary = _table(rows, ["quality"], train_n_fft, n_ffts)
    return _fit_verdict(table, summary, "quality")


def separation_verdict(rows: pd.DataFrame, n_ffts: Sequence[int] | None = None,
                       train_n_fft: int | None = None) -> Verdict:
    """Claim "iN-NMF separates as well as NMF", judged on the fit (SDR and STOI) at the training size.

    Args:
        rows: tidy per-trial results with separation rows (``sdr``, ``stoi``).
        n_ffts: the paper's window sizes (default: those in ``rows``).
        train_n_fft: the training size N0 (default 2000).
    """
    table, summary = _table(rows, ["separation"], train_n_fft, n_ffts)
    return _fit_verdict(table, summary, "separation")


def window_verdict(rows: pd.DataFrame, train_n_fft: int | None = None, n_ffts: Sequence[int] | None = None) -> Verdict:
    """Claim "a dictionary learnt at one N works at other N without retraining", judged on the transfer.

    Window sizes outside ``n_ffts`` (the ``extra_n_ffts``) make the difference between
    ``holds`` and ``holds partly``.

    Args:
        rows: tidy per-trial results at the training size and other window sizes (KL, SDR, STOI).
        train_n_fft: the window size iN-NMF was trained at (2000 in the paper).
        n_ffts: the paper's window sizes.
    """
    table, summary = _table(rows, ["window-size"], train_n_fft, n_ffts)
    return _window_verdict(table, summary)


def baseline_comparison(table: pd.DataFrame, claim: str) -> str:
    """How iN-NMF compares with the network-free baselines on one claim's endpoints, or that they are missing.

    Args:
        table: :func:`innmf.report.endpoints.endpoint_table` output.
        claim: ``quality``, ``separation`` or ``window-size``.

    Returns:
        One sentence per baseline present (``NMF-interp``; ``NMF-resample`` where a table
        has it): the estimates, which method is better where the claim's Holm-adjusted p is
        below 0.05, and the non-inferiority verdict with the jackknife's.
    """
    ep = _ENDPOINTS[claim]
    summary = claim_summary(table[table["claim"] == claim])
    sentences = []
    for comparator in ep.comparators[1:]:
        rows = _rows(table, claim, comparator)
        if rows.empty:
            if comparator == INTERP:
                sentences.append(f"missing: no {INTERP} rows in these results (compute them with this version of innmf)")
            continue
        head = summary[summary["comparator"] == comparator].iloc[0]
        what = "transfer," if ep.estimand == "transfer" else f"fit at N = {int(rows['n_fft'].iloc[0])},"
        values = ", ".join(f"{LABELS.get(m, m)} {value_range(m, g['scale'].iloc[0], g['estimate'])}{unit(m)}"
                           for m, g in rows.groupby("metric", sort=False))
        where = " at the paper's sizes" if ep.estimand == "transfer" else ""
        sentences.append(f"{what} {ep.treatment} vs {comparator}: {values}; {resolved(rows, comparator, ep.treatment, ALPHA)}; "
                         f"non-inferior at {head['noninferior']} of {head['tested']} endpoints{where} "
                         f"({head['verdict']}; jackknife: {head['jack_verdict']})")
    return "; ".join(sentences)


def irregular_verdict(endpoint: pd.DataFrame | None) -> Verdict:
    """Claim "irregular representations separate sources better than a grid", from the music experiment.

    Args:
        endpoint: :func:`innmf.report.music.endpoint` of the recorded music run (its
            pre-registered primary endpoint per data set and irregular representation), or None.

    Returns:
        ``holds`` where the claim is supported on every data set of every run
        (:func:`innmf.report.music.family_claims`),
        ``holds partly`` where it is supported on some, ``does not hold here`` where it is contradicted
        on some and supported on none, ``undecided`` where no difference is shown anywhere.
    """
    from innmf.report.music import family_claims

    if endpoint is None or endpoint.empty:
        return Verdict(UNDECIDED, "no music run with exact stems in these results")
    claims = family_claims(endpoint)
    parts = []
    for r in endpoint.to_dict("records"):
        parts.append(f"{r['dataset']}, {r['representation']}: {r['delta']:+.2f} dB [{r['low']:+.2f}, {r['high']:+.2f}] "
                     f"against {r['comparator']} over {r['pieces']} pieces (Holm p = {r['p_holm']:.3g}; floor "
                     f"{r['floor']:.1f} dB, oracle {r['oracle']:.1f} dB)")
    evidence = "SDR of iN-NMF minus the grid comparator: " + "; ".join(parts)
    if "posthoc_delta" in endpoint.columns:
        evidence += (". Secondary, chosen after seeing the test pieces: against the grid system best on them, "
                     + "; ".join(f"{r['dataset']}, {r['representation']}: {r['posthoc_delta']:+.2f} dB "
                                 f"[{r['posthoc_low']:+.2f}, {r['posthoc_high']:+.2f}] against {r['posthoc_comparator']}"
                                 for r in endpoint.to_dict("records")))
    states = set(claims.values())
    if states == {"supported"}:
        level = HOLDS
    elif "supported" in states:
        level = PARTLY
    elif "contradicted" in states:
        level = FAILS
    else:
        level = UNDECIDED
    return Verdict(level, evidence)


def irregular_baselines(endpoint: pd.DataFrame | None) -> str:
    """The findings table's baselines cell for the irregular claim: iN-NMF against its non-neural twin."""
    if endpoint is None or endpoint.empty:
        return "not measured"
    return "iN-NMF − NMF-grid (W free per frequency, the same points and H): " + "; ".join(
        f"{r['dataset']}, {r['representation']}: {r['twin_delta']:+.2f} dB" for r in endpoint.to_dict("records"))


PAPER_EVIDENCE = {
    "kl": "KL 7–10 % above NMF at every N, 500 TIMIT trials (Table: published reconstruction KL)",
    "window": "the same networks, trained at N = 2000, sampled at N = 1000–2500: KL ratio 1.07–1.10, flat in N",
    "separation": "SDR −0.03 to +0.12 dB and STOI +0.007 to +0.019 against NMF, 500 trials, means only",
    "irregular": "one rank-2 fit of two piano notes, templates and activations shown, not measured",
}
CLAIMS = {
    "kl": "iN-NMF reconstructs within 10 % of NMF's KL (judged on the fit at the training size)",
    "window": "a dictionary learnt at one window size works at others without retraining (judged on the transfer)",
    "separation": "iN-NMF separates two speakers as well as NMF (judged on the fit at the training size; "
                  "the other sizes are the window-size claim)",
    "irregular": "irregular representations separate sources better than a grid (music with exact stems, "
                 "pre-registered endpoint)",
}


def claim_verdicts(rows: pd.DataFrame, train_n_fft: int | None = None, n_ffts: Sequence[int] | None = None,
                   irregular: pd.DataFrame | None = None, table: pd.DataFrame | None = None) -> dict[str, Verdict]:
    """Every claim's verdict from one results table (and, for the irregular claim, the music endpoint).

    Args:
        rows: tidy per-trial results.
        train_n_fft: iN-NMF's training size (default: the paper's, 2000).
        n_ffts: window sizes to judge at (default: the paper's that ``rows`` has).
        irregular: the music run's endpoint table (:func:`innmf.report.music.endpoint`).
        table: ``rows``' :func:`innmf.report.endpoints.endpoint_table`, when already computed.
    """
    if table is None:
        table, summary = _table(rows, list(CLAIM_OF.values()), train_n_fft, n_ffts)
    else:
        summary = claim_summary(table)
    verdicts = {}
    for key, claim in CLAIM_OF.items():
        if not _rows(table, claim, _ENDPOINTS[claim].comparators[0]).empty:
            verdicts[key] = _window_verdict(table, summary) if claim == "window-size" else _fit_verdict(table, summary, claim)
    if irregular is not None:
        verdicts["irregular"] = irregular_verdict(irregular)
    return verdicts


BASELINES_COLUMN = "Against NMF-interp"
"""The findings table's column comparing iN-NMF with the network-free baselines: NMF-interp,
and NMF-resample where a table has it (its sentence follows)."""


def findings_table(results: dict[str, pd.DataFrame], train_n_fft: int | None = None,
                   n_ffts: Sequence[int] | None = None, irregular: pd.DataFrame | None = None,
                   judge: str | None = None) -> pd.DataFrame:
    """One row per claim: the paper's evidence, ours per results table, the verdict and the jackknife's.

    Args:
        results: named per-trial tables, e.g. ``{"recorded paper-profile run (40 trials)":
            ..., "this build (quick, 4 trials)": ...}``; the first one present judges.
        train_n_fft: iN-NMF's training window size (default: the paper's, 2000).
        n_ffts: window sizes to judge at (default: the paper's, as far as each table has them).
        irregular: the recorded music run's endpoint table, for the irregular claim (judged there
            whatever ``judge`` is: the speech tables do not measure it).
        judge: the name of the table that gives the verdict (default: the first).

    Returns:
        Columns ``Claim``, ``The paper``, one column per results table, ``Verdict``,
        ``Jackknife`` (the verdict's level on the delete-one-speaker jackknife intervals)
        and :data:`BASELINES_COLUMN`.
    """
    if not results:
        raise ValueError("No results to judge: pass at least one per-trial table.")
    judge = judge or next(iter(results))
    # The baselines are compared on the judging table when it has them, else on the first that does.
    with_interp = next((name for name in [judge, *results] if INTERP in set(results[name]["method"])), judge)
    tables = {name: _table(rows, list(CLAIM_OF.values()), train_n_fft, n_ffts)[0] for name, rows in results.items()}
    per_source = {name: claim_verdicts(rows, train_n_fft, n_ffts, irregular if name == judge else None,
                                       table=tables[name])
                  for name, rows in results.items()}
    rows_out = []
    for key, claim in CLAIMS.items():
        row = {"Claim": claim, "The paper": PAPER_EVIDENCE[key]}
        for name, verdicts in per_source.items():
            row[name] = verdicts[key].text() if key in verdicts else "not measured"
        chosen = per_source[judge].get(key) or next((v[key] for v in per_source.values() if key in v), None)
        row["Verdict"] = chosen.level if chosen else UNDECIDED
        row["Jackknife"] = (chosen.jackknife or "not applicable") if chosen else UNDECIDED
        where = "" if with_interp == judge else f" ({with_interp})"
        if key in CLAIM_OF:
            row[BASELINES_COLUMN] = baseline_comparison(tables[with_interp], CLAIM_OF[key]) + where
        else:
            row[BASELINES_COLUMN] = irregular_baselines(irregular)
        rows_out.append(row)
    return pd.DataFrame(rows_out)
