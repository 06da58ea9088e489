"""Chapter tables: mean/std per window size and paired method differences, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from innmf.report.tables import kl_gap, kl_table, separation_gain, separation_table


def _rows():
    # trial t, method m, N: value chosen so the answers are easy to derive by hand
    rows = []
    for t, (nmf, inr) in enumerate([(1.0, 1.2), (2.0, 2.2), (3.0, 3.9)]):
        for n, scale in ((1000, 1.0), (2000, 10.0)):
            rows += [
                {"trial": t, "method": "NMF", "n_fft": n, "metric": "kl", "value": scale * nmf},
                {"trial": t, "method": "iN-NMF", "n_fft": n, "metric": "kl", "value": scale * inr},
                {"trial": t, "method": "NMF", "n_fft": n, "metric": "sdr", "value": nmf},
                {"trial": t, "method": "iN-NMF", "n_fft": n, "metric": "sdr", "value": inr + n / 1000},
            ]
    return pd.DataFrame(rows)


def test_kl_table_mean_and_std():
    table = kl_table(_rows())
    assert table.loc[1000, ("NMF", "mean")] == pytest.approx(2.0)
    assert table.loc[1000, ("NMF", "std")] == pytest.approx(1.0)  # ddof=1 of 1, 2, 3
    assert table.loc[2000, ("iN-NMF", "mean")] == pytest.approx(10 * (1.2 + 2.2 + 3.9) / 3)
    assert table.loc[2000, ("iN-NMF", "std")] == pytest.approx(10 * np.std([1.2, 2.2, 3.9], ddof=1))
    assert list(table[("trials", "")]) == [3, 3]


def test_kl_gap_is_paired_and_relative():
    gap = kl_gap(_rows())
    expected = np.array([0.2 / 1, 0.2 / 2, 0.9 / 3])
    assert gap.loc[1000, "mean"] == pytest.approx(expected.mean())
    assert gap.loc[2000, "std"] == pytest.approx(expected.std(ddof=1))  # scale cancels
    assert gap.loc[1000, "trials"] == 3


def test_separation_table_and_gain():
    df = _rows()
    table = separation_table(df, metrics=("sdr",))
    assert table.loc[2000, ("sdr", "iN-NMF", "mean")] == pytest.approx((1.2 + 2.2 + 3.9) / 3 + 2)
    gain = separation_gain(df, "sdr")
    assert gain.loc[1000, "mean"] == pytest.approx(np.mean([0.2, 0.2, 0.9]) + 1)
    with pytest.raises(ValueError, match="No rows for metrics"):
        separation_table(df, metrics=("stoi",))


def test_unpaired_rows_are_refused():
    df = _rows()
    df = df[~((df["trial"] == 1) & (df["method"] == "NMF"))]
    with pytest.raises(ValueError, match="paired differences need both methods"):
        kl_gap(df)
    with pytest.raises(ValueError, match="one metric at a time"):
        from innmf.report.tables import mean_std_table

        mean_std_table(_rows())


def test_three_methods_side_by_side():
    """NMF-interp beside the others: every pair's paired difference, derived by hand."""
    df = _rows()
    interp = df[df["method"] == "NMF"].assign(method="NMF-interp")
    interp["value"] = interp["value"] * 1.1  # 10 % above NMF on every trial
    df = pd.concat([df, interp], ignore_index=True)
    from innmf.report.tables import paired_comparisons

    table = kl_table(df)
    assert {m for m, _ in table.columns} == {"NMF", "iN-NMF", "NMF-interp", "trials"}
    gaps = paired_comparisons(df, "kl", relative=True)
    assert list(gaps.columns.get_level_values(0).unique()) == ["iN-NMF − NMF", "NMF-interp − NMF",
                                                               "iN-NMF − NMF-interp"]
    assert gaps.loc[1000, ("NMF-interp − NMF", "mean")] == pytest.approx(0.1)
    assert gaps.loc[2000, ("NMF-interp − NMF", "std")] == pytest.approx(0.0, abs=1e-12)
    expected = np.array([1.2 / 1.1 - 1, 2.2 / 2.2 - 1, 3.9 / 3.3 - 1])
    assert gaps.loc[1000, ("iN-NMF − NMF-interp", "mean")] == pytest.approx(expected.mean())
    gain = separation_gain(df, "sdr", method="iN-NMF", baseline="NMF-interp")
    assert gain.loc[1000, "mean"] == pytest.approx(np.mean([1.2 - 1.1, 2.2 - 2.2, 3.9 - 3.3]) + 1)
    with pytest.raises(ValueError, match="No pair"):
        paired_comparisons(df, "kl", pairs=[("iN-NMF", "NMF-raster")])


def test_against_interp_favours_the_method_its_interval_favours():
    from innmf.report.tables import against_interp, interp_sentence

    rows = []
    for t, base in enumerate([1.0, 1.1, 0.9, 1.05, 0.95]):
        for n, interp_factor in ((1000, 1.05), (2000, 1.2)):
            rows += [{"trial": t, "method": "NMF", "n_fft": n, "metric": "kl", "value": base},
                     {"trial": t, "method": "iN-NMF", "n_fft": n, "metric": "kl", "value": base * 1.1},
                     {"trial": t, "method": "NMF-interp", "n_fft": n, "metric": "kl", "value": base * interp_factor}]
    table = against_interp(pd.DataFrame(rows))
    assert table.loc[1000, "iN-NMF − NMF"] == pytest.approx(0.1)
    assert table.loc[1000, "NMF-interp − NMF"] == pytest.approx(0.05)
    assert table.loc[1000, "iN-NMF − NMF-interp"] == pytest.approx(0.05 * np.mean([1.0, 1.1, 0.9, 1.05, 0.95]))
    assert table.loc[1000, "better"] == "NMF-interp" and table.loc[2000, "better"] == "iN-NMF"
    assert interp_sentence(table, "kl", 2000).endswith("NMF-interp better at N = 1000.")
    with pytest.raises(ValueError, match="needs rows of NMF, iN-NMF and NMF-interp"):
        against_interp(pd.DataFrame(rows).query("method != 'NMF-interp'"))
