"""Captioned, numbered tables for the book: ``display(table(df, caption, name))``.

A :class:`Table` shows itself as a MyST ``{table}`` directive holding a pipe table
(``text/markdown``; ``_config.yml`` renders cell markdown as MyST and ranks it above
HTML), so Sphinx numbers it ("Table 3.1", by chapter: ``book/_ext/chapter_numbers.py``),
puts a ``<caption>`` on it and lets the text refer to it by its label (MyST's ``numref`` role). In
Jupyter the same object shows as an HTML table with its caption.

Cells are formatted by :mod:`innmf.report.format` (one precision per column, U+2212
minus, words for booleans); a column of small numbers takes a common power of ten in its
header ("NMF KL (×10⁻⁴)") rather than exponents in every cell (:class:`Scaled`).
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from innmf.report.format import MINUS, MISSING, Format, as_formatter, column_format, fixed, select

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>$|~])")
_NAME = re.compile(r"tbl-[a-z0-9-]+")


@dataclass(frozen=True)
class Scaled:
    """A column format: ``digits`` decimals of the values over a common power of ten, the
    power in the header ("KL (×10⁻⁴)"), for quantities too small (or large) for fixed
    decimals. Columns with equal formats share the power (:func:`power_of` of all their
    values), so KL means, differences and intervals read in one unit; ``key`` tells
    groups apart that should not share one."""

    digits: int = 2
    key: str = ""


@dataclass(frozen=True)
class PerRow:
    """A column format chosen by another column's value in the same row, for a table whose
    rows hold different quantities: ``PerRow("metric", {"sdr": signed(2), "stoi": signed(3)})``."""

    column: str
    formats: Mapping[str, Format]

    def __hash__(self) -> int:
        return hash((self.column, tuple(self.formats)))


@dataclass(frozen=True)
class Table:
    """A captioned table: ``header`` and ``rows`` as printed, ``numeric`` columns right-aligned."""

    caption: str
    name: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]

    def markdown(self) -> str:
        """The MyST ``{table}`` directive: caption, label and a pipe table (the book's form)."""
        lines = [f":::{{table}} {self.caption}", f":name: {self.name}", ":widths: auto", "",
                 "| " + " | ".join(h.replace("|", r"\|") for h in self.header) + " |",
                 "|" + "|".join("---:" if n else ":---" for n in self.numeric) + "|"]
        lines += ["| " + " | ".join(_MARKDOWN.sub(r"\\\1", cell) for cell in row) + " |" for row in self.rows]
        return "\n".join([*lines, ":::"])

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_html_(self) -> str:
        def row(cells: tuple[str, ...], tag: str) -> str:
            return "<tr>" + "".join(
                f'<{tag} style="text-align: {"right" if n else "left"}">{html.escape(c)}</{tag}>'
                for c, n in zip(cells, self.numeric)) + "</tr>"
        return (f"<table><caption>{html.escape(self.caption)}</caption><thead>{row(self.header, 'th')}</thead>"
                "<tbody>" + "".join(row(r, "td") for r in self.rows) + "</tbody></table>")

    def __repr__(self) -> str:
        return f"Table({self.caption!r}, {len(self.rows)} rows × {len(self.header)} columns)"


def power_of(values: Sequence[float]) -> int:
    """The power of ten a :class:`Scaled` column is printed over: that of the median magnitude
    (so the typical cell reads like "7.86", the largest at most a digit longer)."""
    numbers = np.abs(np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float))
    numbers = numbers[numbers > 0]
    return math.floor(math.log10(float(np.median(numbers)))) if numbers.size else 0


def times_ten(power: int) -> str:
    """The unit a :class:`Scaled` column's header names: ``"×10⁻⁴"`` ("" for 10⁰)."""
    return f"×10{str(power).translate(_SUPERSCRIPT)}" if power else ""


def _numbers(values: pd.Series) -> list[float]:
    """The finite numbers of a column whose cells are numbers or (estimate, low, high) tuples."""
    flat = [x for v in values for x in (v if isinstance(v, tuple) else (v,))]
    return [float(x) for x in flat if isinstance(x, (int, float, np.number)) and np.isfinite(x)]


def _cell(value: object, fmt: Callable[[object], str]) -> str:
    """A cell: a number, "low, high" as "[low, high]", "estimate, low, high" as "estimate [low, high]"."""
    if not isinstance(value, tuple):
        return fmt(value)
    *estimate, low, high = value
    if pd.isna(low) or pd.isna(high):
        return fmt(estimate[0]) if estimate else MISSING
    interval = f"[{fmt(low)},\u00a0{fmt(high)}]"  # an interval never breaks over two lines
    return f"{fmt(estimate[0])} {interval}" if estimate else interval


def _combined(df: pd.DataFrame, intervals: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """``df`` with a tuple column per entry of ``intervals`` (new name -> its columns)."""
    out = df.copy()
    for new, parts in intervals.items():
        missing = [c for c in parts if c not in df.columns]
        if missing or len(parts) not in (2, 3):
            raise ValueError(f"interval {new!r}: give (low, high) or (estimate, low, high) columns of the table, "
                             f"not {list(parts)}.")
        out[new] = list(zip(*(df[c] for c in parts)))
    return out


def table(
    df: pd.DataFrame,
    caption: str,
    name: str,
    columns: Mapping[str, str] | None = None,
    formats: Mapping[str, Format | Scaled | PerRow] | None = None,
    index: bool = False,
    intervals: Mapping[str, Sequence[str]] | None = None,
    transpose: bool = False,
) -> Table:
    """A captioned, numbered table (every chapter's tables, 00–07).

    Args:
        df: the table; its index is dropped unless ``index`` is true or it is named.
        caption: what the rows are and the unit of inference, in MyST inline markdown;
            never a result number (those are in the cells).
        name: the label, ``tbl-`` and lowercase words joined by hyphens, unique on its
            page (the text refers to it with MyST's ``numref`` role).
        columns: columns to show, in order, mapped to headers with their units;
            default every column, named by :data:`innmf.report.format.HEADERS`.
        formats: per column, a format string, a function, :class:`Scaled` (columns
            with equal :class:`Scaled` formats share one power of ten) or :class:`PerRow`
            (rows of different quantities); other numeric
            columns get :func:`innmf.report.format.auto_format`, except that a float
            column whose largest value is below 0.01 or from 10⁵ up is :class:`Scaled`.
        index: keep the index as the first column(s).
        intervals: new columns that print two or three columns in one cell, e.g.
            ``{"ci": ("ci_low", "ci_high")}`` as "[−0.12, 0.30]" or ``{"ratio": ("ratio",
            "ratio_low", "ratio_high")}`` as "1.05 [0.98, 1.12]" (name them in
            ``columns`` and ``formats`` like any other), so an interval takes one column.
        transpose: print the columns as rows (a wide table of few rows fits the page):
            the first shown column's values become the headers, its header the corner,
            every other column a row labelled by its header; formats stay per column.

    Returns:
        A :class:`Table`, shown as a numbered table by ``display``.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"table name {name!r}: use tbl- and lowercase words joined by hyphens.")
    if not caption.strip() or "\n" in caption:
        raise ValueError("a table needs a one-line caption.")
    combined = _combined(df, intervals or {})
    shown, headers = select(combined, columns, index)
    specs = dict(formats or {})
    for original in headers:
        values = shown[original]
        largest = max((abs(v) for v in _numbers(values)), default=0.0)
        floats = pd.api.types.is_float_dtype(values) and any(v % 1 for v in _numbers(values))
        if specs.get(original) is None and floats and largest > 0 and not 1e-2 <= largest < 1e5:
            specs[original] = Scaled(2, key=original)  # a scale of its own
    powers = {spec: power_of([v for c in headers if specs.get(c) == spec for v in _numbers(shown[c])])
              for spec in set(specs.values()) if isinstance(spec, Scaled)}
    header, cells, numeric = [], [], []
    for original, title in headers.items():
        values, spec = shown[original], specs.get(original)
        if isinstance(spec, Scaled):
            power, digits = powers[spec], spec.digits
            fmt: Callable[[object], str] | None = lambda v, p=power, d=digits: fixed(d)(float(v) / 10.0 ** p)  # noqa: E731
            title = f"{title} ({times_ten(power)})" if power else title
        elif isinstance(spec, PerRow):
            keys = combined[spec.column].tolist()
            unknown = sorted({str(k) for k in keys} - set(spec.formats))
            if unknown:
                raise ValueError(f"PerRow({spec.column!r}) has no format for {unknown}.")
            cells.append([_cell(v, as_formatter(spec.formats[k])) for v, k in zip(values, keys)])
            header.append(title)
            numeric.append(True)
            continue
        else:
            probe = pd.Series(_numbers(values)) if values.map(lambda v: isinstance(v, tuple)).any() else values
            fmt = column_format(probe, spec)
        column = [_cell(v, fmt) if fmt else (MISSING if pd.isna(v) else str(v)) for v in values]
        header.append(title)
        cells.append(column)
        numeric.append(bool(pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values))
                       or all(_looks_numeric(c) for c in column))
    if transpose:
        rows = tuple((title, *column) for title, column in zip(header[1:], cells[1:]))
        return Table(caption.strip(), name, (header[0], *cells[0]), rows, (False, *[True] * len(cells[0])))
    rows = tuple(zip(*cells)) if cells else ()
    return Table(caption.strip(), name, tuple(header), tuple(tuple(r) for r in rows), tuple(numeric))


def _looks_numeric(cell: str) -> bool:
    """A printed number or interval ("−0.12", "[0.98, 1.03]", "1.05 [0.98, 1.12]", "–"): right-aligned."""
    return bool(re.fullmatch(rf"[\[\]()\d.,%\s{MINUS}+–×<]*", cell)) and any(ch.isdigit() or ch == "–" for ch in cell)
