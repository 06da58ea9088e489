"""The book's one table formatter: readable headers with units, no index, sensible precision.

Every table a chapter shows goes through :func:`format_table`, so headers, number
formats and missing values look the same on every page.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

HEADERS: dict[str, str] = {
    "n_fft": "N (samples)",
    "n": "trials",
    "trials": "trials",
    "method": "method",
    "metric": "metric",
    "experiment": "experiment",
    "mean_baseline": "NMF mean",
    "mean_treatment": "iN-NMF mean",
    "mean_diff": "iN-NMF − NMF",
    "ci_low": "95 % CI low",
    "ci_high": "95 % CI high",
    "p_wilcoxon": "Wilcoxon p",
    "ratio": "ratio iN-NMF / NMF",
    "mean": "mean",
    "std": "std",
}
"""Readable names of the columns of the package's result tables."""

MISSING = "–"

Format = str | Callable[[object], str]


def auto_format(values: pd.Series) -> Format:
    """A number format for one column: three significant digits, integers as integers."""
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if numbers.empty:
        return str
    if np.all(np.mod(numbers, 1) == 0) and numbers.abs().max() < 1e9:
        return "{:.0f}"
    largest = float(numbers.abs().max())
    if largest != 0 and (largest < 1e-2 or largest >= 1e5):
        return "{:.3e}"
    return "{:.3g}"


def format_table(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    formats: Mapping[str, Format] | None = None,
    index: bool = False,
    wrap: bool = False,
) -> Styler:
    """Format a table for the book.

    Args:
        df: the table; its index is dropped unless ``index`` is true (a named index is
            kept as a column).
        columns: columns to show, in order, mapped to their headers (units in the
            header, e.g. ``{"n_fft": "N (samples)"}``); default: every column, named by
            :data:`HEADERS` where it knows the name.
        formats: format string or function per *original* column name; the others get
            :func:`auto_format`.
        index: keep the index as the first column(s).
        wrap: let cells wrap (tables of sentences); numbers never wrap by default.

    Returns:
        A pandas ``Styler`` without index, with formatted numbers and "–" for missing values.
    """
    table = df.copy()
    if index or any(name is not None for name in table.index.names):
        table = table.reset_index()
    if isinstance(table.columns, pd.MultiIndex):
        table.columns = [" ".join(str(part) for part in col if str(part)) for col in table.columns]
    columns = dict(columns) if columns is not None else {c: HEADERS.get(str(c), str(c)) for c in table.columns}
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"format_table: no column(s) {missing}; the table has {list(table.columns)}.")
    table = table[list(columns)]
    formats = dict(formats or {})
    shown = table.rename(columns=columns)
    styler = shown.style.hide(axis="index")
    for original, header in columns.items():
        fmt = formats.get(original) or auto_format(table[original])
        numeric = pd.api.types.is_numeric_dtype(table[original]) and not pd.api.types.is_bool_dtype(table[original])
        if numeric or original in formats:
            styler = styler.format(fmt, subset=[header], na_rep=MISSING)
    cell = [("white-space", "normal"), ("text-align", "left"), ("vertical-align", "top")] if wrap else [
        ("white-space", "nowrap"), ("text-align", "right")]
    cell.append(("padding", "0.15em 0.6em"))
    return styler.set_table_styles([
        {"selector": "td", "props": cell},
        {"selector": "th", "props": [("text-align", "center"), ("padding", "0.15em 0.6em")]},
    ])


def signed(digits: int) -> Callable[[object], str]:
    """A format for differences: explicit sign, ``digits`` decimals, "–" for NaN."""
    def fmt(value: object) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return MISSING
        return f"{float(value):+.{digits}f}"
    return fmt
