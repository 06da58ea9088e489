"""Tests of innmf.report.stats against values computed directly with scipy."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from innmf.report.stats import paired_summary, summary_rows, summary_table


def _table(n_trials: int = 10, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    rows, truth = [], {}
    for n_fft in (1000, 2000):
        for metric, base_mean in (("kl", 5e-4), ("sdr", 4.0)):
            base = base_mean + 0.1 * base_mean * rng.standard_normal(n_trials)
            treat = base * 1.08 + 0.02 * base_mean * rng.standard_normal(n_trials)
            truth[(n_fft, metric)] = (base, treat)
            for trial in range(n_trials):
                rows.append({"trial": trial, "method": "NMF", "n_fft": n_fft, "metric": metric, "value": base[trial]})
                rows.append({"trial": trial, "method": "iN-NMF", "n_fft": n_fft, "metric": metric, "value": treat[trial]})
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
