"""Verdicts read the endpoints: quality on the fit, window size on the transfer, Holm-adjusted sentences."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from innmf.report.endpoints import endpoint_table
from innmf.report.verdicts import (
    BASELINES_COLUMN, FAILS, HOLDS, PARTLY, baseline_comparison, claim_verdicts, findings_table, kl_verdict,
    separation_verdict, window_verdict,
)
from test_report_endpoints import results  # the hand-built rows with known fit and transfer

N_FFTS = (1000, 1500, 2000, 2500)


def test_quality_is_judged_on_the_fit_and_window_size_on_the_transfer() -> None:
    # A constant gap of 1.2 fails the quality claim at N0 but transfers perfectly;
    # a gap of 1.05 at N0 that grows by 1.2 at N = 1000 is the opposite.
    constant = results(fit_ratio=1.2)
    assert kl_verdict(constant, N_FFTS).level == FAILS
    assert window_verdict(constant, 2000, N_FFTS).level == HOLDS
    growing = results(fit_ratio=1.05, kl_growth={1000: 1.2})
    assert kl_verdict(growing, N_FFTS).level == HOLDS
    verdict = window_verdict(growing, 2000, N_FFTS)
    assert verdict.level == FAILS and "KL at N = 1000" in verdict.evidence
    beyond = window_verdict(results(kl_growth={512: 1.2, 4096: 1.2}), 2000, N_FFTS)
    assert beyond.level == PARTLY and "beyond the paper's sizes" in beyond.evidence
    assert beyond.jackknife in (PARTLY, FAILS, HOLDS, "undecided")


def test_separation_on_the_fit_says_its_interval_and_jackknife() -> None:
    worse = separation_verdict(results(sdr_fit=-1.0), N_FFTS)
    assert worse.level == FAILS and "NMF better in SDR at N = 2000" in worse.evidence
    assert "jackknife" in worse.evidence and "6 speakers only" in worse.evidence
    assert separation_verdict(results(sdr_fit=0.0), N_FFTS).level == HOLDS
    with pytest.raises(ValueError, match="window sizes"):
        kl_verdict(results(), (3000,))


def test_sentences_name_only_differences_that_survive_holm() -> None:
    """An interval that excludes zero at one N is not called a difference unless the claim's Holm p is below 0.05."""
    df = results(sdr_drop={1000: 0.45}, spread=0.4, seed=1)
    table = endpoint_table(df)
    sdr = table[(table["claim"] == "window-size") & (table["metric"] == "sdr") & (table["comparator"] == "NMF")]
    row = sdr.set_index("n_fft").loc[1000]
    assert row["p_zero"] < 0.05 <= row["p_zero_holm"] and row["high"] < 0  # unadjusted: excludes zero
    evidence = window_verdict(df, 2000, N_FFTS).evidence
    assert not re.search(r"NMF transfers better in [^(]*SDR at N = [^(;]*1000", evidence)
    strong = window_verdict(results(sdr_drop={1000: 1.5}, spread=0.4, seed=1), 2000, N_FFTS).evidence
    assert re.search(r"NMF transfers better in SDR at N = 1000", strong)


def test_findings_table_has_the_jackknife_and_the_baselines_on_transfer() -> None:
    df = results(interp_growth=1.05, kl_growth={n: 1.0 for n in (512, 1000, 1500, 2500, 4096)})
    table = findings_table({"run": df}, 2000, N_FFTS)
    assert list(table["Verdict"][:3]) == [HOLDS, HOLDS, HOLDS]
    assert {"Jackknife", BASELINES_COLUMN} <= set(table.columns)
    window = table.set_index("Claim").filter(like="window size", axis=0).iloc[0]
    # NMF-interp's KL grows by 1.05 away from N0, iN-NMF's not at all: iN-NMF transfers better.
    assert "iN-NMF transfers better in KL" in window[BASELINES_COLUMN]
    without = findings_table({"run": df[df["method"] != "NMF-interp"]}, 2000, N_FFTS)
    assert without[BASELINES_COLUMN].iloc[0].startswith("missing")
    resample = df[df["method"] == "NMF-interp"].assign(method="NMF-resample")
    text = baseline_comparison(endpoint_table(pd.concat([df, resample])), "window-size")
    assert "iN-NMF vs NMF-interp" in text and "iN-NMF vs NMF-resample" in text


def test_claim_verdicts_from_one_table() -> None:
    df = results()
    table = endpoint_table(df)
    verdicts = claim_verdicts(df, table=table)
    assert set(verdicts) == {"kl", "separation", "window"}
    assert all(v.jackknife for v in verdicts.values())
    assert claim_verdicts(df)["kl"] == verdicts["kl"]
