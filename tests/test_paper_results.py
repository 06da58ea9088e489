"""Tests of innmf.report.published: the published numbers, typed in independently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from innmf.report.published import published_all, published_kl, published_separation, side_by_side
from innmf.report.stats import summary_table


def _value(df: pd.DataFrame, method: str, n_fft: int, metric: str, column: str = "mean") -> float:
    sel = df[(df["method"] == method) & (df["n_fft"] == n_fft) & (df["metric"] == metric)]
    assert len(sel) == 1
    return float(sel[column].iloc[0])


def test_published_kl_spot_checks_and_ratios() -> None:
    kl = published_kl()
    assert len(kl) == 8 and set(kl["method"]) == {"NMF", "iN-NMF"}
    assert _value(kl, "iN-NMF", 1000, "kl") == 5.189e-4
    assert _value(kl, "NMF", 2500, "kl", "std") == 4.0e-5
    assert _value(kl, "NMF", 1500, "kl") == 4.882e-4
    assert (kl["trials"] == 500).all()
    wide = kl.pivot(index="n_fft", columns="method", values="mean")
    ratio = (wide["iN-NMF"] / wide["NMF"]).round(2)
    assert ratio.between(1.07, 1.10).all()


def test_published_separation_spot_checks() -> None:
    sep = published_separation()
    assert len(sep) == 4 * 4 * 2
    assert _value(sep, "NMF", 1000, "sdr") == 3.92
    assert _value(sep, "iN-NMF", 1000, "sdr", "std") == 3.09
    assert _value(sep, "iN-NMF", 2500, "sir") == 8.32
    assert _value(sep, "NMF", 2000, "sar") == 6.78
    assert _value(sep, "iN-NMF", 1500, "stoi") == 0.725
    assert np.isnan(_value(sep, "NMF", 1500, "stoi", "std"))
    assert sep.loc[sep["metric"] == "sdr", "std"].notna().all()
    assert sep.loc[sep["metric"] != "sdr", "std"].isna().all()


def test_side_by_side() -> None:
    rows = []
    for trial in range(3):
        for method, value in (("NMF", 4.0 + trial), ("iN-NMF", 5.0 + trial)):
            rows.append({"trial": trial, "method": method, "n_fft": 1000, "metric": "sdr", "value": value})
            rows.append({"trial": trial, "method": method, "n_fft": 512, "metric": "sdr", "value": value})
    ours = summary_table(pd.DataFrame(rows))
    merged = side_by_side(ours)
    assert len(merged) == 4
    row = merged[(merged["method"] == "NMF") & (merged["n_fft"] == 1000)].iloc[0]
    assert row["mean_ours"] == pytest.approx(5.0) and row["mean_paper"] == 3.92
    assert row["diff"] == pytest.approx(5.0 - 3.92)
    assert row["trials_ours"] == 3 and row["trials_paper"] == 500
    assert merged.loc[merged["n_fft"] == 512, "mean_paper"].isna().all()
    assert len(side_by_side(ours, published_all(), how="inner")) == 2
    with pytest.raises(ValueError, match="lacks column"):
        side_by_side(ours.drop(columns="std"))
