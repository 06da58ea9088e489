"""Tests of innmf.report.stats against values computed directly with scipy."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from innmf.report.stats import MARGINS, holm, paired_summary, speaker_caveat, summary_rows, summary_table
from innmf.report.pooled_model import pooled_intervals

SPEAKERS = ("a", "b", "c", "d", "e", "f")


def _pair(trial: int) -> str:
    """Trial -> an ordered pair of two distinct speakers out of six, every speaker reused."""
    first = trial % len(SPEAKERS)
    return f"{SPEAKERS[first]}+{SPEAKERS[(first + 1 + trial // len(SPEAKERS)) % len(SPEAKERS)]}"


def _table(n_trials: int = 10, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    rows, truth = [], {}
    for n_fft in (1000, 2000):
        for metric, base_mean in (("kl", 5e-4), ("sdr", 4.0)):
            base = base_mean + 0.1 * base_mean * rng.standard_normal(n_trials)
            treat = base * 1.08 + 0.02 * base_mean * rng.standard_normal(n_trials)
            truth[(n_fft, metric)] = (base, treat)
            for trial in range(n_trials):
                for method, value in (("NMF", base[trial]), ("iN-NMF", treat[trial])):
                    rows.append({"trial": trial, "speakers": _pair(trial), "method": method, "n_fft": n_fft,
                                 "metric": metric, "value": value})
    df = pd.DataFrame(rows).sample(frac=1.0, random_state=1).reset_index(drop=True)  # pairing must not rely on order
    return df, truth


def test_paired_summary_matches_scipy() -> None:
    df, truth = _table()
    out = paired_summary(df)
    assert len(out) == 4
    for _, row in out.iterrows():
        base, treat = truth[(row["n_fft"], row["metric"])]
        assert row["experiment"] == ("reconstruction" if row["metric"] == "kl" else "separation")
        assert row["n"] == 10 and row["n_dropped"] == 0
        assert row["mean_diff"] == pytest.approx(np.mean(treat - base))
        ci = sps.ttest_rel(treat, base).confidence_interval(0.95)
        assert row["ci_low"] == pytest.approx(ci.low) and row["ci_high"] == pytest.approx(ci.high)
        assert row["p_wilcoxon"] == pytest.approx(sps.wilcoxon(treat - base).pvalue)
        assert row["std_baseline"] == pytest.approx(np.std(base, ddof=1))
        assert row["ratio"] == pytest.approx(np.mean(treat) / np.mean(base))
        assert row["note"] == ""


def test_bootstrap_interval_is_seeded_and_near_t_interval() -> None:
    df, _ = _table(n_trials=40)
    a = paired_summary(df, metric="sdr", n_boot=2000, seed=3)
    b = paired_summary(df, metric="sdr", n_boot=2000, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert set(a["metric"]) == {"sdr"}
    width_t = a["ci_high"] - a["ci_low"]
    width_b = a["boot_high"] - a["boot_low"]
    assert np.all((width_b / width_t).between(0.7, 1.3))
    assert np.all((a["boot_low"] < a["mean_diff"]) & (a["mean_diff"] < a["boot_high"]))


def test_unpaired_trials_are_dropped_with_warning() -> None:
    df, truth = _table()
    extra = pd.DataFrame([{"trial": 99, "method": "NMF", "n_fft": 1000, "metric": "sdr", "value": 100.0}])
    df = pd.concat([df, extra], ignore_index=True)
    with pytest.warns(UserWarning, match="dropped 1 trial"):
        out = paired_summary(df, metric="sdr")
    row = out[out["n_fft"] == 1000].iloc[0]
    assert row["n"] == 10 and row["n_dropped"] == 1
    base, treat = truth[(1000, "sdr")]
    assert row["mean_baseline"] == pytest.approx(np.mean(base))  # the unpaired 100.0 is not counted


def test_small_or_degenerate_samples_give_nan_with_note() -> None:
    df, _ = _table(n_trials=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = paired_summary(df)
    assert out["p_wilcoxon"].isna().all()
    assert out["note"].str.contains("too few pairs").all()
    assert out["ci_low"].notna().all()
    same = pd.concat([df[df["method"] == "NMF"], df[df["method"] == "NMF"].assign(method="iN-NMF")])
    same = pd.concat([same] + [same.assign(trial=same["trial"] + 10 * k) for k in range(1, 3)])
    out = paired_summary(same)
    assert out["p_wilcoxon"].isna().all()
    assert out["note"].str.contains("all paired differences are zero").all()
    assert (out["mean_diff"] == 0).all()


def test_bad_tables_raise() -> None:
    df, _ = _table()
    with pytest.raises(ValueError, match="lacks column"):
        paired_summary(df.drop(columns="trial"))
    with pytest.raises(ValueError, match="duplicated"):
        paired_summary(pd.concat([df, df.iloc[:1]]))
    bad = df.copy()
    bad.loc[0, "value"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        summary_table(bad)
    with pytest.raises(ValueError, match="Method 'X'"):
        paired_summary(df, treatment="X")
    with pytest.raises(ValueError, match="Metric 'pesq'"):
        paired_summary(df, metric="pesq")


def test_summary_table_and_rows() -> None:
    df, truth = _table()
    table = summary_table(df)
    assert list(table.columns) == ["experiment", "method", "n_fft", "metric", "mean", "std", "trials"]
    assert len(table) == 8
    row = table[(table["method"] == "iN-NMF") & (table["n_fft"] == 2000) & (table["metric"] == "kl")].iloc[0]
    treat = truth[(2000, "kl")][1]
    assert row["mean"] == pytest.approx(np.mean(treat))
    assert row["std"] == pytest.approx(np.std(treat, ddof=1))
    assert row["trials"] == 10 and row["experiment"] == "reconstruction"

    rows = summary_rows(df.assign(experiment="custom"))
    assert all(list(r) == ["experiment", "method", "n_fft", "metric", "mean", "std", "trials"] for r in rows)
    assert {r["experiment"] for r in rows} == {"custom"}
    single = summary_rows(df[df["trial"] == 0])
    assert all(r["std"] is None and r["trials"] == 1 for r in single)
    json.dumps(single, allow_nan=False)
    assert isinstance(single[0]["n_fft"], int) and isinstance(single[0]["mean"], float)


def test_holm_matches_hand_derived_values() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> running max
    adjusted = holm([0.01, 0.04, 0.03, 0.005, math.nan])
    np.testing.assert_allclose(adjusted[:4], [0.03, 0.06, 0.06, 0.02])
    assert math.isnan(adjusted[4])
    assert holm([0.6, 0.7])[1] == 1.0  # capped at one


def test_speaker_columns_and_holm_families() -> None:
    df, truth = _table(n_trials=24)
    out = paired_summary(df)
    assert (out["note"] == "").all() and (out["n_speakers"] == 6).all()
    labels = pd.Series([_pair(t) for t in range(24)])
    for _, row in out.iterrows():
        # One joint model per metric over both window sizes: the verdicts' path.
        diff = pd.DataFrame({n: np.subtract(*truth[(n, row["metric"])][::-1]) for n in (1000, 2000)})
        fit = pooled_intervals(diff, labels).loc[row["n_fft"]]
        assert row["speaker_low"] == pytest.approx(fit["low"]) and row["speaker_high"] == pytest.approx(fit["high"])
        assert row["speaker_low"] < row["mean_diff"] < row["speaker_high"]
        assert row["p_speaker"] == pytest.approx(fit["p"]) and row["speaker_df"] == pytest.approx(fit["df"])
        assert row["ratio_low"] < row["ratio"] < row["ratio_high"]
    for experiment, family in out.groupby("experiment"):  # default family: all N and metrics of an experiment
        np.testing.assert_allclose(family["p_speaker_holm"], holm(family["p_speaker"]))
        np.testing.assert_allclose(family["p_wilcoxon_holm"], holm(family["p_wilcoxon"]))
    per_metric = paired_summary(df, holm_by=("experiment", "metric"))
    sdr = per_metric[per_metric["metric"] == "sdr"]
    np.testing.assert_allclose(sdr["p_wilcoxon_holm"], holm(sdr["p_wilcoxon"]))
    with pytest.raises(ValueError, match="holm_by"):
        paired_summary(df, holm_by=("speaker",))


def test_ratio_interval_is_the_difference_interval_over_a_constant_baseline() -> None:
    # With B_t = c for every trial, (T - R B) / mean(B) = d / c - mean(d) / c: the ratio's
    # interval is R ± (half-width of the difference interval) / c.
    rng = np.random.default_rng(4)
    n, c = 30, 2.0
    treat = c + 0.3 * rng.standard_normal(n)
    rows = [{"trial": t, "speakers": _pair(t), "method": m, "n_fft": 1000, "metric": "kl", "value": v}
            for t in range(n) for m, v in (("NMF", c), ("iN-NMF", treat[t]))]
    row = paired_summary(pd.DataFrame(rows)).iloc[0]
    half = (row["speaker_high"] - row["speaker_low"]) / 2
    assert row["ratio_low"] == pytest.approx(row["ratio"] - half / c)
    assert row["ratio_high"] == pytest.approx(row["ratio"] + half / c)


def test_margin_is_tested_on_the_interval_bound() -> None:
    df, _ = _table(n_trials=24)
    out = paired_summary(df).set_index(["metric", "n_fft"])
    sdr = out.loc[("sdr", 1000)]  # treatment = 1.08 x baseline: +0.3 dB on 4 dB, far above -0.5 dB
    assert sdr["margin"] == MARGINS["sdr"].value and sdr["margin_bound"] == sdr["speaker_low"]
    assert bool(sdr["noninferior"])
    kl = out.loc[("kl", 1000)]  # ratio 1.08 with an interval reaching past 1.10 would fail
    assert kl["margin_kind"] == "ratio" and kl["margin_bound"] == kl["ratio_high"]
    assert bool(kl["noninferior"]) == (kl["ratio_high"] <= 1.10)
    # A point estimate inside the margin whose interval crosses it is not non-inferior.
    noise = 2.0 * np.random.default_rng(0).standard_normal(24)
    rows = []
    for t, d in enumerate(-0.3 + noise - noise.mean()):
        rows += [{"trial": t, "speakers": _pair(t), "method": "NMF", "n_fft": 2000, "metric": "sdr", "value": 4.0},
                 {"trial": t, "speakers": _pair(t), "method": "iN-NMF", "n_fft": 2000, "metric": "sdr", "value": 4.0 + d}]
    row = paired_summary(pd.DataFrame(rows)).iloc[0]
    assert row["mean_diff"] > -0.5 > row["speaker_low"]
    assert not bool(row["noninferior"])
    sir = paired_summary(df.assign(metric=df["metric"].replace({"sdr": "sir"}))).query("metric == 'sir'")
    assert sir["noninferior"].isna().all() and sir["margin"].isna().all()


def test_without_speakers_the_trial_level_columns_remain() -> None:
    df, _ = _table()
    out = paired_summary(df.drop(columns="speakers"))
    assert out["speaker_low"].isna().all() and out["noninferior"].isna().all()
    assert out["note"].str.contains("no speakers column").all()
    assert out["ci_low"].notna().all()
    two = df.assign(speakers=np.where(df["trial"] % 2 == 0, "a+b", "b+a"))
    note = paired_summary(two)["note"]
    assert note.str.contains("needs at least 3 trials and 3 speakers").all()
    with pytest.raises(ValueError, match="more than one speakers label"):
        paired_summary(df.assign(speakers=df["speakers"].where(df["method"] == "NMF", "x+y")))


def test_speaker_caveat_names_the_count() -> None:
    assert "6 speakers only" in speaker_caveat(6) and "conditionally" in speaker_caveat(6)
    assert speaker_caveat(400) == ""
