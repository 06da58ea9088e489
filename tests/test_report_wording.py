"""The verdict sentences' numbers: ratios from logs, signed differences, Holm-gated naming."""

from __future__ import annotations

import math

import pandas as pd

from innmf.report.wording import bounds, number, resolved, sizes, value_range


def test_numbers_in_a_readers_units() -> None:
    assert number("kl", "log", math.log(1.0534)) == "1.053"
    assert number("sdr", "difference", -0.254) == "-0.25" and number("stoi", "difference", 0.0123) == "+0.012"
    assert number("sdr", "difference", math.nan) == "–"
    assert value_range("sdr", "difference", [0.1, -0.3, math.nan]) == "-0.30 to +0.10"
    assert value_range("sdr", "difference", [0.101, 0.099]) == "+0.10"
    assert sizes([2500, 1000, 1000]) == "1000, 2500"


def test_bounds_take_the_worst_end_on_the_margins_side() -> None:
    rows = pd.DataFrame({"metric": "kl", "scale": "log", "side": "upper", "margin": math.log(1.1) / 2,
                         "low": [0.0, 0.01], "high": [0.02, math.log(1.05)]})
    assert bounds(rows) == "speaker-level 95 % intervals up to 1.050, margin 1.049"
    sdr = pd.DataFrame({"metric": "sdr", "scale": "difference", "side": "lower", "margin": -0.5,
                        "low": [-0.2, -0.47], "high": [0.3, 0.1]})
    assert bounds(sdr).startswith("speaker-level 95 % intervals down to -0.47")


def test_only_holm_significant_rows_are_named() -> None:
    rows = pd.DataFrame({"metric": ["kl", "kl", "sdr"], "scale": ["log", "log", "difference"],
                         "estimand": "transfer", "n_fft": [512, 1000, 1000], "estimate": [-0.03, 0.02, -0.1],
                         "p_zero_holm": [0.001, 0.01, 0.2]})
    text = resolved(rows, "NMF-interp", "iN-NMF", 0.05)
    assert text.startswith("iN-NMF transfers better in KL at N = 512, NMF-interp transfers better in KL at N = 1000")
    assert "SDR" not in text
    assert resolved(rows.assign(p_zero_holm=0.5), "NMF", "iN-NMF", 0.05).startswith("no difference")
