"""The book's number formats and table formatter: readable headers with units, no index,
one fixed precision per column.

Every table a chapter shows goes through :func:`innmf.report.captioned.table` (captioned,
numbered "Table 3.1") or :func:`format_table` (a bare pandas Styler, for notebooks
outside the book), so headers, number formats and missing values look the same on every
page. Numbers are printed the book's way (:func:`tidy_number`): U+2212 for minus, no
sign on a zero, no exponent forms, booleans as "yes"/"no", "–" for a missing value.
"""

from __future__ import annotations

import math
import re
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
MINUS = "\u2212"

Format = str | Callable[[object], str]


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def typeset_minus(text: str) -> str:
    """A sentence as the book prints it: a hyphen that starts a number becomes U+2212.

    Only a hyphen after a space or an opening bracket and before a digit is a minus sign
    ("margin -0.50", "[-0.58, +0.08]"); ranges ("1000-2500") and names ("stft-512") keep theirs.
    """
    import re

    return re.sub(r"(?<![\w\-.])-(?=\d)", MINUS, text)


def tidy_number(text: str) -> str:
    """A formatted number as the book prints it: U+2212 for minus, no sign on a zero.

    ``"-0.000"`` (a small negative rounded away) reads as a result with a sign; it is
    printed ``"0.000"``, and so is ``"+0.000"``; infinity is "∞".
    """
    if re.fullmatch(r"[+-]?0*\.?0*", text.strip()) and any(ch == "0" for ch in text):
        text = text.strip().lstrip("+-")
    return re.sub(r"\binf\b", "∞", text).replace("-", MINUS)


def fixed(digits: int) -> Callable[[object], str]:
    """A format with ``digits`` decimals, U+2212 minus, "–" for missing values (every chapter's tables)."""
    def fmt(value: object) -> str:
        return MISSING if _missing(value) else tidy_number(f"{float(value):.{digits}f}")  # type: ignore[arg-type]
    return fmt


def signed(digits: int) -> Callable[[object], str]:
    """A format for differences: explicit sign (U+2212 minus), ``digits`` decimals, "–" for NaN.

    A difference that rounds to zero prints without a sign ("0.00").
    """
    def fmt(value: object) -> str:
        return MISSING if _missing(value) else tidy_number(f"{float(value):+.{digits}f}")  # type: ignore[arg-type]
    return fmt


def significant(digits: int) -> Callable[[object], str]:
    """``digits`` significant digits, trailing zeros kept ("4.00", "0.0123", "2698"), never an
    exponent: for times and sizes spanning orders of magnitude in one column (chapter 6)."""
    def fmt(value: object) -> str:
        if _missing(value):
            return MISSING
        v = float(value)  # type: ignore[arg-type]
        decimals = 0 if v == 0 or not math.isfinite(v) else max(0, digits - 1 - math.floor(math.log10(abs(v))))
        return tidy_number(f"{v:.{decimals}f}")
    return fmt


def p_value(value: object) -> str:
    """A p-value: three decimals, "< 0.001" below that (no exponent forms for readers; a
    no-break space, so the cell never wraps between "<" and the number)."""
    if _missing(value):
        return MISSING
    return "<\u00a00.001" if float(value) < 0.0005 else f"{float(value):.3f}"  # type: ignore[arg-type]


def yes_no(value: object) -> str:
    """A boolean as a word: "yes", "no" ("–" when missing)."""
    return MISSING if _missing(value) else ("yes" if bool(value) else "no")


def decimals_for(values: pd.Series) -> int:
    """Decimals that give the column's largest value three significant digits (0 to 6)."""
    numbers = pd.to_numeric(values, errors="coerce").dropna().abs()
    largest = float(numbers.max()) if not numbers.empty else 0.0
    if largest == 0 or not math.isfinite(largest):
        return 0
    return int(min(6, max(0, 2 - math.floor(math.log10(largest)))))


def auto_format(values: pd.Series) -> Format:
    """A number format for one column: integers as integers, booleans as words, else one
    fixed number of decimals for the whole column (three significant digits of its
    largest value), so "4" and "3.2" never sit in one column as they did with ``{:.3g}``."""
    if pd.api.types.is_bool_dtype(values):
        return yes_no
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if numbers.empty:
        return str
    if np.all(np.mod(numbers, 1) == 0) and numbers.abs().max() < 1e15:
        return fixed(0)
    return fixed(decimals_for(numbers))


def as_formatter(fmt: Format) -> Callable[[object], str]:
    """A format string (``"{:.3f}"``) or function as a function whose numbers read the
    book's way (:func:`tidy_number`) and whose missing values are "–"."""
    def apply(value: object) -> str:
        if _missing(value):
            return MISSING
        if isinstance(value, (bool, np.bool_)):
            return yes_no(value)
        text = fmt(value) if callable(fmt) else fmt.format(value)
        return tidy_number(text) if isinstance(value, (int, float, np.number)) else text
    return apply


def select(df: pd.DataFrame, columns: Mapping[str, str] | None, index: bool) -> tuple[pd.DataFrame, dict[str, str]]:
    """The columns a table shows, in order, and their headers (:func:`format_table`,
    :func:`innmf.report.captioned.table`): a named index becomes a column, a column
    MultiIndex is joined with spaces, and unnamed columns get :data:`HEADERS`' names."""
    table = df.copy()
    if index or any(name is not None for name in table.index.names):
        table = table.reset_index()
    if isinstance(table.columns, pd.MultiIndex):
        table.columns = [" ".join(str(part) for part in col if str(part)) for col in table.columns]
    columns = dict(columns) if columns is not None else {c: HEADERS.get(str(c), str(c)) for c in table.columns}
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"no column(s) {missing} to show; the table has {list(table.columns)}.")
    return table[list(columns)], columns


def column_format(values: pd.Series, fmt: Format | None = None) -> Callable[[object], str] | None:
    """How one column's cells are printed: ``fmt`` (or :func:`auto_format` for numbers and
    booleans) through :func:`as_formatter`; None for a text column left as it is."""
    numeric = pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
    present = values.dropna()
    if fmt is None and len(present) and all(isinstance(v, (bool, np.bool_)) for v in present):
        return as_formatter(yes_no)  # booleans in an object column (a table with a total row)
    if fmt is None and not numeric:
        return None
    return as_formatter(fmt or auto_format(values))


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
    table, columns = select(df, columns, index)
    formats = dict(formats or {})
    shown = table.rename(columns=columns)
    styler = shown.style.hide(axis="index")
    for original, header in columns.items():
        fmt = column_format(table[original], formats.get(original))
        if fmt is not None:
            styler = styler.format(fmt, subset=[header], na_rep=MISSING)
    cell = [("white-space", "normal"), ("text-align", "left"), ("vertical-align", "top")] if wrap else [
        ("white-space", "nowrap"), ("text-align", "right")]
    cell.append(("padding", "0.15em 0.6em"))
    return styler.set_table_styles([
        {"selector": "td", "props": cell},
        {"selector": "th", "props": [("text-align", "center"), ("padding", "0.15em 0.6em")]},
    ])

