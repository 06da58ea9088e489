"""Tests of innmf.report.transfer: fit and transfer on hand-built rows whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from innmf.report.speaker_model import speaker_interval
from innmf.report.transfer import (
    estimand_summary, jackknife_interval, method_pairs, per_trial_estimands, shown, trial_scores,
)

SPEAKERS = ("a", "b", "c", "d", "e", "f")
N0, SIZES = 2000, (1000, 2000, 4096)


def _pair(t: int) -> str:
    return f"{SPEAKERS[t % 6]}+{SPEAKERS[(t + 1 + t // 6) % 6]}"


def _rows(n_trials: int = 18, seed: int = 0, noise: float = 0.0) -> pd.DataFrame:
    """KL and SDR rows of NMF, NMF-interp and iN-NMF with known fit and transfer.

    KL: NMF = a_t g(N); iN-NMF = 1.05 NMF (1 + 0.02 [N != N0]); NMF-interp = NMF (1 + 0.04 [N != N0]).
    SDR: NMF = b_t + h(N); iN-NMF = NMF − 0.3 + 0.1 [N = 4096]; NMF-interp = NMF + 0.2 [N != N0].
    """
    rng = np.random.default_rng(seed)
    g = {1000: 1.3, 2000: 1.0, 4096: 0.7}
    h = {1000: -0.4, 2000: 0.0, 4096: 0.5}
    rows = []
    for t in range(n_trials):
        a, b = 5e-4 * (1 + 0.2 * rng.random()), 4.0 + rng.standard_normal()
        for n in SIZES:
            away = float(n != N0)
            kl = {"NMF": a * g[n], "iN-NMF": a * g[n] * 1.05 * (1 + 0.02 * away), "NMF-interp": a * g[n] * (1 + 0.04 * away)}
            sdr = {"NMF": b + h[n], "iN-NMF": b + h[n] - 0.3 + 0.1 * (n == 4096), "NMF-interp": b + h[n] + 0.2 * away}
            for method in kl:
                common = {"trial": t, "speakers": _pair(t), "method": method, "n_fft": n}
                rows.append({**common, "experiment": "reconstruction", "metric": "kl",
                             "value": kl[method] * math.exp(noise * rng.standard_normal())})
                rows.append({**common, "experiment": "separation", "metric": "sdr",
                             "value": sdr[method] + noise * rng.standard_normal()})
    return pd.DataFrame(rows)


def _one(summary: pd.DataFrame, estimand: str, method: str, comparator: str, n_fft: int) -> pd.Series:
    hit = summary[(summary["estimand"] == estimand) & (summary["method"] == method)
                  & (summary["comparator"] == comparator) & (summary["n_fft"] == n_fft)]
    assert len(hit) == 1, (estimand, method, comparator, n_fft)
    return hit.iloc[0]


def test_pairs_are_generic_over_the_methods_present() -> None:
    assert method_pairs(["iN-NMF", "NMF", "NMF-interp"]) == [
        ("NMF-interp", "NMF"), ("iN-NMF", "NMF"), ("iN-NMF", "NMF-interp")]
    four = method_pairs(["iN-NMF", "NMF-resample", "NMF", "NMF-interp", "X"])
    assert ("NMF-resample", "NMF-interp") in four and ("iN-NMF", "NMF-resample") in four
    assert four[-1] == ("X", "iN-NMF") and len(four) == 10  # an unknown method comes last


def test_known_fit_and_transfer_without_noise() -> None:
    df = _rows()
    kl = estimand_summary(df, "kl", N0)
    assert _one(kl, "fit", "iN-NMF", "NMF", N0)["estimate"] == pytest.approx(math.log(1.05))
    assert _one(kl, "fit", "NMF-interp", "NMF", N0)["estimate"] == pytest.approx(0.0, abs=1e-12)
    assert _one(kl, "change", "NMF", "", 1000)["estimate"] == pytest.approx(math.log(1.3))
    assert _one(kl, "transfer", "iN-NMF", "NMF", 1000)["estimate"] == pytest.approx(math.log(1.02))
    assert _one(kl, "transfer", "iN-NMF", "NMF-interp", 4096)["estimate"] == pytest.approx(math.log(1.02 / 1.04))
    # A transfer against NMF is scale-free: the fit's constant 1.05 does not enter it.
    sdr = estimand_summary(df, "sdr", N0)
    assert _one(sdr, "fit", "iN-NMF", "NMF-interp", N0)["estimate"] == pytest.approx(-0.3)
    assert _one(sdr, "transfer", "iN-NMF", "NMF", 4096)["estimate"] == pytest.approx(0.1)
    assert _one(sdr, "transfer", "iN-NMF", "NMF-interp", 1000)["estimate"] == pytest.approx(-0.2)
    assert _one(sdr, "transfer", "NMF-interp", "NMF", 1000)["estimate"] == pytest.approx(0.2)
    assert set(sdr["n_fft"][sdr["estimand"] == "fit"]) == {N0}
    assert N0 not in set(sdr["n_fft"][sdr["estimand"] != "fit"])
    shown_fit = shown(kl, "fit").set_index("comparison")
    assert shown_fit.loc["iN-NMF / NMF", "estimate"] == pytest.approx(1.05)
    assert set(shown(kl, "transfer")["comparison"]) == {"NMF-interp vs NMF", "iN-NMF vs NMF", "iN-NMF vs NMF-interp"}
    assert shown(sdr, "change")["comparison"].str.endswith("(N0)").all()


def test_per_trial_values_against_a_brute_force_loop_and_the_speaker_interval() -> None:
    df = _rows(noise=0.05, seed=3)
    rows = df[df["metric"] == "kl"]
    value = {(r.trial, r.method, r.n_fft): math.log(r.value) for r in rows.itertuples()}
    trials = sorted(set(rows["trial"]))
    expected = [(value[(t, "iN-NMF", 4096)] - value[(t, "iN-NMF", N0)])
                - (value[(t, "NMF-interp", 4096)] - value[(t, "NMF-interp", N0)]) for t in trials]
    per_trial = per_trial_estimands(df, "kl", N0)
    got = per_trial.query("estimand == 'transfer' and method == 'iN-NMF' and comparator == 'NMF-interp' and n_fft == 4096")
    np.testing.assert_allclose(got.sort_values("trial")["value"], expected, rtol=1e-12)
    row = _one(estimand_summary(df, "kl", N0), "transfer", "iN-NMF", "NMF-interp", 4096)
    labels = [_pair(t) for t in trials]
    fit = speaker_interval(np.asarray(expected), labels)
    assert (row["low"], row["high"], row["p"]) == pytest.approx((fit.low, fit.high, fit.p_value))
    low, high, se = jackknife_interval(np.asarray(expected), labels)
    assert (row["jack_low"], row["jack_high"], row["jack_se"]) == pytest.approx((low, high, se))


def test_adding_a_method_leaves_the_others_rows_unchanged() -> None:
    df = _rows(noise=0.05, seed=5)
    resample = df[df["method"] == "NMF-interp"].assign(method="NMF-resample")
    resample["value"] = resample["value"] * 1.01
    before = estimand_summary(df, "sdr", N0)
    after = estimand_summary(pd.concat([df, resample]), "sdr", N0)
    assert {"NMF-resample"} <= set(after["method"]) and "NMF-resample" in set(after["comparator"])
    keys = ["estimand", "method", "comparator", "n_fft"]
    merged = before.merge(after, on=keys, suffixes=("", "_after"))
    assert len(merged) == len(before)
    for column in ("estimate", "low", "high", "jack_low", "jack_high"):
        np.testing.assert_array_equal(merged[column], merged[f"{column}_after"])


def test_jackknife_against_a_hand_derived_case() -> None:
    # y = 1 for trials holding speaker a, else 0. Removing a leaves only zeros; removing any
    # other speaker s leaves the trials without s: theta_(s) = (#a-trials without s) / (#trials without s).
    labels = ["a+b", "a+c", "b+c", "c+d", "b+d", "a+d", "c+b"]
    y = np.array([1.0 if "a" in pair.split("+") else 0.0 for pair in labels])
    theta = {"a": 0.0, "b": 2 / 3, "c": 2 / 3, "d": 2 / 4}  # without b: a+c, c+d, a+d; without d: four trials
    values = np.array(list(theta.values()))
    se = math.sqrt(3 / 4 * np.sum((values - values.mean()) ** 2))
    low, high, got_se = jackknife_interval(y, labels)
    assert got_se == pytest.approx(se)
    from scipy import stats as sps
    assert high - y.mean() == pytest.approx(sps.t.ppf(0.975, 3) * se) and low < y.mean() < high
    assert all(math.isnan(v) for v in jackknife_interval(np.ones(3), ["a+b", "b+a", "a+b"]))  # two speakers
    assert all(math.isnan(v) for v in jackknife_interval(np.ones(3), ["a+b", "a+c", "a+d"]))  # removing a leaves nothing
    with pytest.raises(ValueError, match="one label per trial"):
        jackknife_interval(np.ones(3), ["a+b", "b+c"])


def test_few_trials_give_estimates_without_intervals() -> None:
    df = _rows(n_trials=2)
    row = _one(estimand_summary(df, "sdr", N0), "fit", "iN-NMF", "NMF", N0)
    assert row["estimate"] == pytest.approx(-0.3) and math.isnan(row["low"]) and math.isnan(row["jack_low"])
    assert "speaker-level interval needs" in row["note"]


def test_clear_errors() -> None:
    df = _rows(n_trials=6)
    with pytest.raises(ValueError, match="speakers"):
        trial_scores(df.drop(columns="speakers"), "kl")
    with pytest.raises(ValueError, match="non-positive"):
        trial_scores(df.assign(value=df["value"] - 1.0), "kl")
    with pytest.raises(ValueError, match="no rows of metric"):
        trial_scores(df, "stoi")
    with pytest.raises(ValueError, match="duplicated"):
        trial_scores(pd.concat([df, df.head(1)]), "kl")
    with pytest.raises(ValueError, match="training size N0 = 1500"):
        per_trial_estimands(df, "kl", 1500)
    with pytest.raises(ValueError, match="two speakers"):
        trial_scores(df.assign(speakers="a"), "kl")
    with pytest.raises(ValueError, match="confidence"):
        estimand_summary(df, "kl", N0, confidence=1.5)
    with pytest.raises(ValueError, match="no 'change' rows"):
        shown(estimand_summary(df[df["n_fft"] == N0], "kl", N0), "change")


def test_rounding_level_differences_are_ties() -> None:
    df = _rows()
    twin = df[df["method"] == "NMF"].assign(method="NMF-resample")
    twin["value"] = twin["value"] * (1 + 1e-15)  # the same scores up to rounding
    row = _one(estimand_summary(pd.concat([df, twin]), "kl", N0), "transfer", "NMF-resample", "NMF", 1000)
    assert row["estimate"] == 0.0 and row["p"] == 1.0 and row["high"] == 0.0
