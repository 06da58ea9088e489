"""Verdicts on the paper's claims, in words, computed from result tables.

The page "What holds up" (``notebooks/00_findings.py``) and the chapters
"Reconstruction across window sizes" and "Separating two speakers" call these, so
that no verdict is typed in: when the results change, the words change. Each claim
is judged on pre-declared rules, stated in the docstrings and on the page:

- **KL within 10 %** (book/paper_setup.md §3): the upper end of the speaker-level 95 %
  interval of the KL ratio iN-NMF / NMF is at most 1.10 at every one of the paper's
  window sizes.
- **Window-size generalisation**: the KL ratio at every other window size exceeds the
  ratio at the training size by at most 0.05 (the gap is flat in N).
- **Separation as good as NMF**: at every one of the paper's window sizes the lower end
  of the speaker-level 95 % interval of iN-NMF − NMF is at least −0.5 dB SDR and −0.02
  STOI (non-inferiority tested on the interval, not the point estimate).

- **Irregular and hybrid representations**: every activation follows one note, the
  same way in every segment of the hybrid fit.

Margins and intervals are those of :mod:`innmf.report.stats` (``MARGINS``, the crossed
speaker random-effects intervals of ``paired_summary``): one implementation for the
chapters, the endpoints (:mod:`innmf.report.endpoints`) and this page. Each verdict
says when its trials come from few speakers.

Levels: ``holds``, ``holds partly``, ``does not hold here`` and ``undecided`` (too few
trials to tell). Comparisons with the interpolated-dictionary baseline ``NMF-interp``
are made when a results table has that method, and said to be missing otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import pandas as pd

from innmf.report.stats import MARGINS, paired_summary, speaker_caveat

HOLDS, PARTLY, FAILS, UNDECIDED = "holds", "holds partly", "does not hold here", "undecided"
KL_RATIO_LIMIT = MARGINS["kl"].value
"""The paper's "within 10 %" of NMF's KL (:data:`innmf.report.stats.MARGINS`)."""
FLAT_GAP = 0.05
"""How much the KL ratio may grow away from the training size and still count as flat."""
SEPARATION_MARGINS = {m: MARGINS[m].value for m in ("sdr", "stoi")}
"""Non-inferiority margins of iN-NMF − NMF (SDR in dB, STOI in its own units), from :data:`MARGINS`."""
INTERP = "NMF-interp"
"""The interpolated-dictionary baseline (issue "Science I")."""
PAPER_N_FFTS = (1000, 1500, 2000, 2500)
"""The paper's window sizes; claims are judged at those a results table has."""
PAPER_TRAIN_N_FFT = 2000


def judged_sizes(rows: pd.DataFrame, n_ffts: Sequence[int] | None = None) -> list[int]:
    """The window sizes a claim is judged at: ``n_ffts`` (default: the paper's) present in ``rows``."""
    wanted = PAPER_N_FFTS if n_ffts is None else tuple(n_ffts)
    return sorted(set(wanted) & set(int(n) for n in rows["n_fft"]))


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict: its level and the sentence that justifies it from the numbers."""

    level: str
    evidence: str

    def text(self) -> str:
        """``"holds partly: <evidence>"``, the form the findings table prints."""
        return f"{self.level}: {self.evidence}"


def _range(values: Iterable[float], fmt: str) -> str:
    values = [v for v in values if not math.isnan(v)]
    lo, hi = min(values), max(values)
    return format(lo, fmt) if format(lo, fmt) == format(hi, fmt) else f"{lo:{fmt}} to {hi:{fmt}}"


def _caveat(paired: pd.DataFrame) -> str:
    """The few-speakers sentence of :func:`innmf.report.stats.speaker_caveat`, as a clause."""
    if "n_speakers" not in paired or paired["n_speakers"].isna().all():
        return ""
    sentence = speaker_caveat(int(paired["n_speakers"].max()))
    return f". {sentence.rstrip('.')}" if sentence else ""


def _sizes(sizes: Iterable[int]) -> str:
    return ", ".join(str(int(n)) for n in sorted(sizes))


def kl_verdict(rows: pd.DataFrame, n_ffts: Sequence[int]) -> Verdict:
    """Claim "iN-NMF's KL is within 10 % of NMF's" at the paper's window sizes.

    Args:
        rows: tidy per-trial results with reconstruction rows (metric ``kl``).
        n_ffts: the paper's window sizes N.

    Returns:
        ``holds`` if the ratio is at most 1.10 at every N, ``holds partly`` if at some,
        ``does not hold here`` if at none.
    """
    paired = paired_summary(rows[rows["metric"] == "kl"])
    inside = paired[paired["n_fft"].isin(n_ffts)]
    if inside.empty:
        raise ValueError(f"No KL rows at the window sizes {list(n_ffts)}.")
    bound = inside["ratio_high"].where(inside["ratio_high"].notna(), inside["ratio"])
    ok = bound <= KL_RATIO_LIMIT
    evidence = f"KL ratio iN-NMF / NMF {_range(inside['ratio'], '.3f')} at N = {_sizes(inside['n_fft'])}"
    if inside["ratio_high"].notna().any():
        evidence += f" (speaker-level 95 % intervals up to {inside['ratio_high'].max():.3f})"
    evidence += _caveat(inside)
    if ok.all():
        return Verdict(HOLDS, evidence + f", at most {KL_RATIO_LIMIT:.2f} everywhere")
    over = _sizes(inside.loc[~ok, "n_fft"])
    return Verdict(PARTLY if ok.any() else FAILS, evidence + f"; above {KL_RATIO_LIMIT:.2f} at N = {over}")


def window_verdict(rows: pd.DataFrame, train_n_fft: int, n_ffts: Sequence[int]) -> Verdict:
    """Claim "a dictionary learnt at one N works at other N without retraining".

    Judged on KL: the ratio iN-NMF / NMF at each other window size minus the ratio at
    the training size, ``FLAT_GAP`` at most. Window sizes outside ``n_ffts`` (the
    ``extra_n_ffts``) make the difference between ``holds`` and ``holds partly``.

    Args:
        rows: tidy per-trial results with KL rows at the training size and others.
        train_n_fft: the window size iN-NMF was trained at (2000 in the paper).
        n_ffts: the paper's window sizes.
    """
    paired = paired_summary(rows[rows["metric"] == "kl"]).set_index("n_fft")
    if train_n_fft not in paired.index:
        raise ValueError(f"No KL rows at the training size N = {train_n_fft}.")
    excess = paired["ratio"] - paired.loc[train_n_fft, "ratio"]
    excess = excess.drop(train_n_fft)
    inside, outside = excess[excess.index.isin(n_ffts)], excess[~excess.index.isin(n_ffts)]
    evidence = (f"the KL ratio grows by at most {inside.max():+.3f} away from N = {train_n_fft} "
                f"within N = {_sizes(n_ffts)}")
    if not outside.empty:
        evidence += f", by {_range(outside, '+.3f')} at N = {_sizes(outside.index)}"
    if (inside > FLAT_GAP).any():
        return Verdict(FAILS, evidence + f" (more than {FLAT_GAP} inside the paper's range)")
    if (outside > FLAT_GAP).any():
        return Verdict(PARTLY, evidence + ": flat within the paper's range, not beyond it")
    return Verdict(HOLDS, evidence + f" (at most {FLAT_GAP} everywhere)")


def separation_verdict(rows: pd.DataFrame, n_ffts: Sequence[int]) -> Verdict:
    """Claim "iN-NMF separates as well as NMF at every N", tested on the intervals.

    Per metric in :data:`SEPARATION_MARGINS` and window size: *non-inferior* when the
    interval's lower end is at or above the margin, *worse* when the whole interval is
    below zero. ``holds``: non-inferior everywhere. ``does not hold here``: worse at half
    of the window sizes or more in some metric, and not non-inferior there.
    ``undecided``: no interval (fewer than two trials) or none of either kind.
    ``holds partly`` otherwise.
    """
    paired = paired_summary(rows[rows["metric"].isin(list(SEPARATION_MARGINS))])
    inside = paired[paired["n_fft"].isin(n_ffts)]
    if inside.empty:
        raise ValueError(f"No separation rows at the window sizes {list(n_ffts)}.")
    parts, noninferior, worse_any, majority_worse = [], [], [], False
    for metric, margin in SEPARATION_MARGINS.items():
        part = inside[inside["metric"] == metric]
        if part.empty:
            continue
        fmt = "+.2f" if metric == "sdr" else "+.3f"
        unit = " dB" if metric == "sdr" else ""
        ok = part["speaker_low"] >= margin
        worse = part["speaker_high"] < 0
        noninferior.append(bool(ok.all()))
        worse_any.append(bool(worse.any()))
        majority_worse |= bool((worse & ~ok).sum() >= math.ceil(len(part) / 2))
        text = f"{metric.upper()} iN-NMF − NMF {_range(part['mean_diff'], fmt)}{unit}"
        if part["speaker_low"].notna().any():
            text += (f" (speaker-level 95 % intervals from {part['speaker_low'].min():{fmt}} to "
                     f"{part['speaker_high'].max():{fmt}}; margin {margin:{fmt}}{unit})")
        if worse.any():
            text += f", below NMF with the interval excluding zero at N = {_sizes(part.loc[worse, 'n_fft'])}"
        parts.append(text)
    evidence = "; ".join(parts) + _caveat(inside)
    if inside["speaker_low"].isna().all():
        return Verdict(UNDECIDED, evidence + " — too few trials for an interval")
    if all(noninferior):
        return Verdict(HOLDS, evidence)
    if majority_worse:
        return Verdict(FAILS, evidence)
    if not any(worse_any) and not any(noninferior):
        return Verdict(UNDECIDED, evidence + " — the intervals are too wide to tell")
    return Verdict(PARTLY, evidence)


def hybrid_verdict(assignment: pd.DataFrame | None) -> Verdict:
    """Claim "irregular and hybrid representations factorise meaningfully".

    Args:
        assignment: :func:`innmf.experiments.hybrid.note_assignment` of a hybrid fit
            (its last row, ``all``, says whether every segment is consistent), or None.

    Returns:
        At best ``holds partly``: the activations following the notes' envelopes is
        necessary, but the demo's notes barely overlap, so it does not measure unmixing
        (issue "Science I" builds per-source scores on overlapping notes).
    """
    if assignment is None or assignment.empty:
        return Verdict(UNDECIDED, "no hybrid fit in these results")
    total = assignment.iloc[-1]
    r = float(total["min r"])
    if bool(total["consistent"]):
        return Verdict(PARTLY, f"in every segment each activation follows one note (weakest r = {r:.2f}); "
                               "per-source scores on overlapping notes, which would measure unmixing, "
                               "are missing")
    return Verdict(FAILS, f"the activations do not follow one note each in every segment (weakest r = {r:.2f})")


def interp_comparison(rows: pd.DataFrame, metric: str = "kl") -> str:
    """How iN-NMF compares with ``NMF-interp`` on one metric, or that the baseline is missing.

    The sentence ends by counting the window sizes where the speaker-level interval
    lies clear of no difference on either side, so the reader is told who is better.
    """
    if INTERP not in set(rows["method"]):
        return f"missing: no {INTERP} rows in these results (compute them with this version of innmf)"
    paired = paired_summary(rows[rows["metric"] == metric], baseline=INTERP)
    if metric == "kl":  # lower KL is better
        interp_better, inr_better = paired["ratio_low"] > 1, paired["ratio_high"] < 1
        text = f"KL ratio iN-NMF / {INTERP} {_range(paired['ratio'], '.3f')} at N = {_sizes(paired['n_fft'])}"
    else:
        interp_better, inr_better = paired["speaker_high"] < 0, paired["speaker_low"] > 0
        text = (f"{metric.upper()} iN-NMF − {INTERP} {_range(paired['mean_diff'], '+.2f')} "
                f"(speaker-level intervals {paired['speaker_low'].min():+.2f} to {paired['speaker_high'].max():+.2f})")
    return (f"{text}: {INTERP} better at {int(interp_better.sum())} of {len(paired)} window sizes, "
            f"iN-NMF at {int(inr_better.sum())} (interval clear of no difference)")


PAPER_EVIDENCE = {
    "kl": "KL 7–10 % above NMF at every N, 500 TIMIT trials (Table: published reconstruction KL)",
    "window": "the same networks, trained at N = 2000, sampled at N = 1000–2500: KL ratio 1.07–1.10, flat in N",
    "separation": "SDR −0.03 to +0.12 dB and STOI +0.007 to +0.019 against NMF, 500 trials, means only",
    "hybrid": "one rank-2 fit of two piano notes, templates and activations shown, not measured",
}
CLAIMS = {
    "kl": "iN-NMF reconstructs within 10 % of NMF's KL",
    "window": "a dictionary learnt at one window size works at others without retraining",
    "separation": "iN-NMF separates two speakers as well as NMF at every window size",
    "hybrid": "irregular and hybrid representations factorise meaningfully",
}


def claim_verdicts(rows: pd.DataFrame, train_n_fft: int | None = None, n_ffts: Sequence[int] | None = None,
                   hybrid: pd.DataFrame | None = None) -> dict[str, Verdict]:
    """Every claim's verdict from one results table (and, for the hybrid claim, one fit).

    Args:
        rows: tidy per-trial results.
        train_n_fft: iN-NMF's training size (default: the paper's, 2000).
        n_ffts: window sizes to judge at (default: the paper's that ``rows`` has).
        hybrid: a hybrid fit's note assignment, for the hybrid claim.
    """
    train_n_fft = PAPER_TRAIN_N_FFT if train_n_fft is None else train_n_fft
    n_ffts = judged_sizes(rows, n_ffts)
    verdicts = {}
    if (rows["metric"] == "kl").any():
        verdicts["kl"] = kl_verdict(rows, n_ffts)
        verdicts["window"] = window_verdict(rows, train_n_fft, n_ffts)
    if rows["metric"].isin(list(SEPARATION_MARGINS)).any():
        verdicts["separation"] = separation_verdict(rows, n_ffts)
    if hybrid is not None:
        verdicts["hybrid"] = hybrid_verdict(hybrid)
    return verdicts


def findings_table(results: dict[str, pd.DataFrame], train_n_fft: int | None = None,
                   n_ffts: Sequence[int] | None = None, hybrid: pd.DataFrame | None = None,
                   judge: str | None = None) -> pd.DataFrame:
    """One row per claim: the paper's evidence, ours per results table, the verdict.

    Args:
        results: named per-trial tables, e.g. ``{"recorded paper-profile run (40 trials)":
            ..., "this build (quick, 4 trials)": ...}``; the first one present judges.
        train_n_fft: iN-NMF's training window size (default: the paper's, 2000).
        n_ffts: window sizes to judge at (default: the paper's, as far as each table has them).
        hybrid: the hybrid fit's note assignment.
        judge: the name of the table that gives the verdict (default: the first).

    Returns:
        Columns ``Claim``, ``The paper``, one column per results table, ``Verdict`` and
        ``Against NMF-interp``.
    """
    if not results:
        raise ValueError("No results to judge: pass at least one per-trial table.")
    judge = judge or next(iter(results))
    # The baseline is compared on the judging table when it has it, else on the first that does.
    with_interp = next((name for name in [judge, *results] if INTERP in set(results[name]["method"])), judge)
    per_source = {name: claim_verdicts(rows, train_n_fft, n_ffts, hybrid) for name, rows in results.items()}
    rows_out = []
    for key, claim in CLAIMS.items():
        row = {"Claim": claim, "The paper": PAPER_EVIDENCE[key]}
        for name, verdicts in per_source.items():
            row[name] = verdicts[key].text() if key in verdicts else "not measured"
        chosen = per_source[judge].get(key) or next((v[key] for v in per_source.values() if key in v), None)
        row["Verdict"] = chosen.level if chosen else UNDECIDED
        where = "" if with_interp == judge else f" ({with_interp})"
        if key in ("kl", "window"):
            row["Against NMF-interp"] = interp_comparison(results[with_interp], "kl") + where
        elif key == "separation":
            row["Against NMF-interp"] = interp_comparison(results[with_interp], "sdr") + where
        else:
            row["Against NMF-interp"] = "not applicable (NMF-raster is the baseline for irregular data)"
        rows_out.append(row)
    return pd.DataFrame(rows_out)
