"""Numbers of the endpoint tables in words: the pieces the verdict sentences are made of.

Rows are those of :func:`innmf.report.endpoints.endpoint_table`, on its comparison scale
(log for KL, shown as a ratio; differences otherwise). Used by :mod:`innmf.report.verdicts`
(the findings page "What holds up" and the chapters "Reconstruction across window sizes"
and "Separating two speakers").
"""

from __future__ import annotations

import math
from typing import Iterable

import pandas as pd

LABELS = {"kl": "KL", "sdr": "SDR", "stoi": "STOI"}
MISSING = "–"


def number(metric: str, scale: str, value: float) -> str:
    """One value as a reader reads it: ``1.053`` (a log-scale KL as a ratio), ``+0.25`` (SDR, dB), ``-0.012`` (STOI)."""
    if not math.isfinite(value):
        return MISSING
    if scale == "log":
        return f"{math.exp(value):.3f}"
    return f"{value:+.2f}" if metric == "sdr" else f"{value:+.3f}"


def value_range(metric: str, scale: str, values: Iterable[float]) -> str:
    """``"lo to hi"`` of the finite values in :func:`number`'s form, one value when they print alike."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return MISSING
    lo, hi = number(metric, scale, min(finite)), number(metric, scale, max(finite))
    return lo if lo == hi else f"{lo} to {hi}"


def unit(metric: str) -> str:
    """``" dB"`` for SDR, nothing for ratios and STOI."""
    return " dB" if metric == "sdr" else ""


def sizes(n_ffts: Iterable[int]) -> str:
    """Window sizes as ``"512, 1000"``: sorted, each once."""
    return ", ".join(str(int(n)) for n in sorted(set(n_ffts)))


def bounds(rows: pd.DataFrame) -> str:
    """The intervals' worst end against the margin: ``"... intervals up to 1.050, margin 1.049"``.

    Args:
        rows: tested endpoint rows of one metric and margin side.
    """
    first = rows.iloc[0]
    metric, scale, side = first["metric"], first["scale"], first["side"]
    bound = rows["high"].max() if side == "upper" else rows["low"].min()
    return (f"speaker-level 95 % intervals {'up' if side == 'upper' else 'down'} to {number(metric, scale, bound)}, "
            f"margin {number(metric, scale, first['margin'])}")


def treatment_better(row: pd.Series) -> bool:
    """Whether the treatment's side of the difference is the better one (lower KL, higher SDR/STOI)."""
    return bool(row["estimate"] < 0) if row["scale"] == "log" else bool(row["estimate"] > 0)


def resolved(rows: pd.DataFrame, comparator: str, treatment: str, alpha: float) -> str:
    """Which method is better, and where, among the rows whose Holm-adjusted p against zero is below ``alpha``.

    A window size is named only there: an unadjusted interval that excludes zero is not
    enough (the claim's family has many endpoints).
    """
    hits = rows[rows["p_zero_holm"] < alpha]
    family = f"Holm-adjusted p < {alpha} in the claim's family"
    if hits.empty:
        return f"no difference between {treatment} and {comparator} resolved ({family})"
    verb = "transfers better" if (rows["estimand"] == "transfer").all() else "better"
    better = hits.apply(treatment_better, axis=1).astype(bool)
    parts = []
    for who, mask in ((treatment, better), (comparator, ~better)):
        chosen = hits[mask]
        if not chosen.empty:
            where = "; ".join(f"{LABELS.get(m, m)} at N = {sizes(g['n_fft'])}" for m, g in chosen.groupby("metric", sort=False))
            parts.append(f"{who} {verb} in {where}")
    return ", ".join(parts) + f" (interval excluding zero, {family})"
