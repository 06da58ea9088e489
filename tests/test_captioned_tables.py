"""The book's numbers and captioned tables print as a reader expects (issue 23, "Tables that read").

One precision per column, U+2212 minus, no signed zero, no booleans, no exponents; a
table is a MyST ``{table}`` directive with caption and label, so Sphinx numbers it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from innmf.report.captioned import PerRow, Scaled, table
from innmf.report.format import auto_format, fixed, p_value, signed, significant, tidy_number, yes_no

M = "\u2212"


def test_numbers_use_the_minus_sign_and_never_a_signed_zero():
    assert fixed(3)(-0.1234) == f"{M}0.123"
    assert fixed(3)(-0.0001) == "0.000"
    assert signed(2)(-0.004) == "0.00" and signed(2)(0.004) == "0.00"
    assert signed(2)(0.5) == "+0.50" and signed(2)(-1.25) == f"{M}1.25"
    assert signed(1)(np.nan) == "–" and fixed(2)(None) == "–"
    assert tidy_number("-0") == "0" and tidy_number("-12") == f"{M}12" and fixed(1)(float("inf")) == "∞"
    three = significant(3)
    assert [three(v) for v in (4.0, 0.012345, 2698.4, -0.2249, 1.126e-7)] == [
        "4.00", "0.0123", "2698", f"{M}0.225", "0.000000113"]


def test_p_values_booleans_and_column_formats():
    assert p_value(0.0432) == "0.043" and p_value(2e-7) == "<\u00a00.001" and p_value(np.nan) == "–"
    assert yes_no(True) == "yes" and yes_no(np.False_) == "no"
    ragged = auto_format(pd.Series([4.0, 3.2, 0.25]))  # {:.3g} printed "4", "3.2", "0.25"
    assert [ragged(v) for v in (4.0, 3.2, 0.25)] == ["4.00", "3.20", "0.25"]
    assert [auto_format(pd.Series([512, 1000]))(v) for v in (512, -3)] == ["512", f"{M}3"]
    assert auto_format(pd.Series([True, False])) is yes_no
    mixed = table(pd.DataFrame({"segment": ["cqt", "all"], "ok": [True, False]}), "x", "tbl-x")
    assert mixed.rows == (("cqt", "yes"), ("all", "no"))  # object column of booleans
    assert [auto_format(pd.Series([123.4, 5.0]))(v) for v in (123.4, 5.0)] == ["123", "5"]


def test_a_table_is_a_numbered_myst_directive_with_its_caption():
    df = pd.DataFrame({"n_fft": [512, 1000], "kl": [7.86e-4, 1.17e-3], "diff": [-0.0001, 0.5],
                       "ok": [True, False], "note": ["a | b", "*x*"]})
    t = table(df, "KL per window size, one row per $N$", "tbl-kl-window", formats={"diff": signed(3)})
    assert t.markdown() == "\n".join([
        ":::{table} KL per window size, one row per $N$",
        ":name: tbl-kl-window",
        ":widths: auto",
        "",
        "| N (samples) | kl (×10⁻⁴) | diff | ok | note |",
        "|---:|---:|---:|:---|:---|",
        "| 512 | 7.86 | 0.000 | yes | a \\| b |",
        "| 1000 | 11.70 | +0.500 | no | \\*x\\* |",
        ":::",
    ])
    assert t._repr_markdown_() == t.markdown()
    page = t._repr_html_()
    assert page.startswith("<table><caption>KL per window size") and "a | b" in page


def test_scaled_columns_intervals_and_bad_labels():
    df = pd.DataFrame({"kl": [2.5e-5, 1.0e-5], "interval": ["[−0.12, 0.30]", "[0.01, 0.02]"]})
    t = table(df, "Two rows", "tbl-two", columns={"kl": "KL", "interval": "speaker 95 %"},
              formats={"kl": Scaled(1)})
    assert t.header == ("KL (×10⁻⁵)", "speaker 95 %")
    assert t.rows == (("2.5", "[−0.12, 0.30]"), ("1.0", "[0.01, 0.02]"))
    assert t.numeric == (True, True)  # intervals are right-aligned like numbers
    with pytest.raises(ValueError, match="tbl-"):
        table(df, "x", "Table 1")
    with pytest.raises(ValueError, match="caption"):
        table(df, " ", "tbl-x")
    with pytest.raises(ValueError, match="no column"):
        table(df, "x", "tbl-x", columns={"missing": "m"})


def test_intervals_share_one_column_and_scaled_columns_one_power():
    df = pd.DataFrame({"nmf": [7.7e-4, 6.6e-4], "inr": [1.2e-3, 1.1e-3], "diff": [4.3e-4, np.nan],
                       "low": [-1.0e-5, np.nan], "high": [8.1e-4, np.nan],
                       "ratio": [1.5403, 1.7831], "r_low": [1.30, 1.50], "r_high": [1.80, 2.02]})
    kl = Scaled(2)
    t = table(df, "Means", "tbl-means", {"nmf": "NMF KL", "inr": "iN-NMF KL", "ci": "difference, 95 %",
                                         "r": "ratio (95 %)"},
              formats={"nmf": kl, "inr": kl, "ci": kl, "r": "{:.2f}"},
              intervals={"ci": ("diff", "low", "high"), "r": ("ratio", "r_low", "r_high")})
    assert t.header == ("NMF KL (×10⁻⁴)", "iN-NMF KL (×10⁻⁴)", "difference, 95 % (×10⁻⁴)", "ratio (95 %)")
    nb = "\u00a0"  # an interval never breaks over two lines
    assert t.rows == (("7.70", "12.00", f"4.30 [−0.10,{nb}8.10]", f"1.54 [1.30,{nb}1.80]"),
                      ("6.60", "11.00", "–", f"1.78 [1.50,{nb}2.02]"))
    assert all(t.numeric)
    with pytest.raises(ValueError, match="interval"):
        table(df, "x", "tbl-x", intervals={"ci": ("low",)})


def test_a_wide_table_of_few_rows_can_be_transposed():
    df = pd.DataFrame({"n_fft": [1000, 2000], "ratio": [1.0754, 1.0530], "low": [-0.5, 0.25]})
    t = table(df, "Per window size", "tbl-t", {"n_fft": "N (samples)", "ratio": "ratio", "low": "low"},
              formats={"ratio": "{:.3f}"}, transpose=True)
    assert t.header == ("N (samples)", "1000", "2000")
    assert t.rows == (("ratio", "1.075", "1.053"), ("low", f"{M}0.500", "0.250"))
    assert t.numeric == (False, True, True)


def test_rows_of_different_quantities_take_their_own_format():
    df = pd.DataFrame({"metric": ["sdr", "stoi"], "estimate": [-0.1234, 0.01234], "low": [-0.5, -0.0011],
                       "high": [0.25, 0.02]})
    t = table(df, "Two metrics", "tbl-m", {"metric": "metric", "ci": "difference [95 %]"},
              formats={"ci": PerRow("metric", {"sdr": signed(2), "stoi": signed(3)})},
              intervals={"ci": ("estimate", "low", "high")})
    assert t.rows == (("sdr", f"{M}0.12 [{M}0.50,\u00a0+0.25]"), ("stoi", f"+0.012 [{M}0.001,\u00a0+0.020]"))
    with pytest.raises(ValueError, match="no format"):
        table(df, "x", "tbl-x", formats={"estimate": PerRow("metric", {"sdr": signed(2)})})
