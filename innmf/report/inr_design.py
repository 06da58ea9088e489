"""Tables and the decision of the INR design study (:mod:`innmf.experiments.inr_design`).

Every design is compared with the paper's design (the reference run's ``iN-NMF``) on
the same trials, on the estimands of :mod:`innmf.report.transfer`:

- **fit** at the training size N0: training-audio KL (a ratio) and SDR (dB);
- **transfer** to every other window size N: the change from N0 to N minus the paper's
  design's change (a ratio of ratios for KL, a difference of differences for SDR).

Intervals are speaker-level, from the pooled model over the paper's window sizes, with
the delete-one-speaker jackknife beside them. The decision rule, fixed before the
recorded run (``results/inr-design/README.md``): one Holm family per (metric, estimand)
over all designs and window sizes; a design is ``better`` on a family when at least one
of its Holm-adjusted p-values is below 0.05 in the good direction (lower KL, higher SDR)
and none in the bad one, ``worse`` for the reverse, ``mixed`` when both occur and ``no
difference shown`` otherwise. There is no margin: the study asks which design choices
move the estimands at all, not whether one is equivalent.

Used by ``innmf study --design`` and the chapter "Window-size generalisation".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from innmf.report.format import typeset_minus
from innmf.report.stats import holm
from innmf.report.transfer import estimand_summary

COMPARATOR = "iN-NMF"
"""The paper's design (the reference run's iN-NMF)."""
METRICS: tuple[str, ...] = ("kl", "sdr")
ESTIMANDS: tuple[str, ...] = ("fit", "transfer")
ALPHA = 0.05
GOOD_SIGN = {"kl": -1.0, "sdr": 1.0}
"""The direction of an improvement on the comparison scale (log KL down, SDR up)."""


def design_summary(df: pd.DataFrame, designs: Sequence[str], n0: int = 2000) -> pd.DataFrame:
    """Fit and transfer of every design against the paper's, with Holm-adjusted p-values.

    Args:
        df: :func:`innmf.experiments.inr_design.load_design`'s rows (reconstruction KL and
            separation SDR at every window size).
        designs: the designs to summarise (present in ``df``'s methods).
        n0: the training window size N0.

    Returns:
        One row per (metric, estimand, design, N): :func:`innmf.report.transfer.estimand_summary`'s
        columns with ``design`` for ``method``, and ``p_holm`` (one Holm family per (metric, estimand)).
    """
    parts = []
    for design in designs:
        pair = df[df["method"].isin([COMPARATOR, design])]
        for metric in METRICS:
            rows = estimand_summary(pair[pair["metric"] == metric], metric, n0)
            parts.append(rows[rows["estimand"].isin(ESTIMANDS) & (rows["method"] == design)
                              & (rows["comparator"] == COMPARATOR)])
    table = pd.concat(parts, ignore_index=True).rename(columns={"method": "design"})
    table["p_holm"] = np.nan
    for _, index in table.groupby(["metric", "estimand"]).groups.items():
        table.loc[index, "p_holm"] = holm(table.loc[index, "p"].to_numpy())
    return table


def verdicts(summary: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """The pre-registered verdict of every design on every (metric, estimand) family.

    Returns:
        Columns ``design``, ``metric``, ``estimand``, ``verdict`` (``better``, ``worse``,
        ``mixed``, ``no difference shown``), ``better_at`` and ``worse_at`` (the window
        sizes with a Holm-significant difference, ascending).
    """
    out = []
    for (design, metric, estimand), rows in summary.groupby(["design", "metric", "estimand"], sort=False):
        significant = rows[rows["p_holm"] < alpha]
        signed = GOOD_SIGN[metric] * significant["estimate"]
        better = sorted(int(n) for n in significant.loc[signed > 0, "n_fft"])
        worse = sorted(int(n) for n in significant.loc[signed < 0, "n_fft"])
        verdict = ("mixed" if better and worse else "better" if better else "worse" if worse
                   else "no difference shown")
        out.append({"design": design, "metric": metric, "estimand": estimand, "verdict": verdict,
                    "better_at": better, "worse_at": worse})
    return pd.DataFrame(out)


def _shown(row: pd.Series, key: str) -> float:
    value = float(row[key])
    return float(np.exp(value)) if row["scale"] == "log" else value


def design_table(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One metric's fit and transfers in the units a reader reads, a row per design.

    KL as ratios against the paper's design (below 1: the design fits or transfers
    better), SDR as differences in dB (above 0: better). Each cell is the estimate with
    its unadjusted speaker-level interval (U+2212 minus signs, as the book prints them);
    the last column names where the Holm-adjusted p is below :data:`ALPHA` ("fit" for N0,
    the window sizes of the transfers).

    Returns:
        Columns ``design``, ``fit at N0``, ``transfer to N`` per window size N, ``Holm p < 0.05``.
    """
    rows = summary[summary["metric"] == metric]
    if rows.empty:
        raise ValueError(f"no {metric!r} rows in the summary; it has {sorted(set(summary['metric']))}.")
    ratio = rows["scale"].iloc[0] == "log"
    out: dict[str, dict[str, Any]] = {}
    significant: dict[str, list[str]] = {}
    for _, row in rows.iterrows():
        low, est, high = (_shown(row, k) for k in ("low", "estimate", "high"))
        text = (f"{est:.3f} [{low:.3f}, {high:.3f}]" if ratio
                else f"{est:+.2f} [{low:+.2f}, {high:+.2f}]")
        fit = row["estimand"] == "fit"
        column = "fit at N0" if fit else f"transfer to {int(row['n_fft'])}"
        out.setdefault(row["design"], {"design": row["design"]})[column] = typeset_minus(text)
        if row["p_holm"] < ALPHA:
            significant.setdefault(row["design"], []).append("fit" if fit else str(int(row["n_fft"])))
    table = pd.DataFrame(list(out.values()))
    transfers = sorted((c for c in table.columns if c.startswith("transfer")), key=lambda c: int(c.split()[-1]))
    table["Holm p < 0.05"] = [", ".join(significant.get(d, [])) or "none" for d in table["design"]]
    return table[["design", "fit at N0", *transfers, "Holm p < 0.05"]]


def verdict_sentences(decided: pd.DataFrame) -> list[str]:
    """One sentence per design from :func:`verdicts`, e.g. ``"J = 8: KL fit better; KL transfer worse (at 512, 1000); ..."``."""
    words = {"kl": "KL", "sdr": "SDR"}
    out = []
    for design, rows in decided.groupby("design", sort=False):
        parts = []
        for _, row in rows.iterrows():
            sizes = row["better_at"] + row["worse_at"]
            where = f" (at N = {', '.join(str(n) for n in sorted(sizes))})" if row["estimand"] == "transfer" and sizes else ""
            parts.append(f"{words[row['metric']]} {row['estimand']} {row['verdict']}{where}")
        out.append(f"{design}: " + "; ".join(parts))
    return out
