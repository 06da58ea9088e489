"""Tests of innmf.report.endpoints: declared endpoints, decisions on the interval's bound."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from innmf.report.endpoints import PRIMARY_ENDPOINTS, claim_summary, primary_endpoint_table
from innmf.report.stats import MARGINS

SPEAKERS = ("a", "b", "c", "d", "e", "f")


def _results(sdr_shift: dict[str, float], kl_ratio: float = 1.05, n_trials: int = 30, seed: int = 0) -> pd.DataFrame:
    """Tidy rows: NMF, iN-NMF = NMF + shift (+ small noise), and NMF-interp = NMF, at every N."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_trials):
        pair = f"{SPEAKERS[t % 6]}+{SPEAKERS[(t + 1 + t // 6) % 6]}"
        for n in (1000, 1500, 2000, 2500):
            base_sdr, base_kl = 4.0 + rng.standard_normal(), 5e-4 * (1 + 0.1 * rng.standard_normal())
            for method, sdr, kl in (
                ("NMF", base_sdr, base_kl),
                ("NMF-interp", base_sdr, base_kl),
                ("iN-NMF", base_sdr + sdr_shift.get(str(n), 0.0) + 0.05 * rng.standard_normal(),
                 base_kl * kl_ratio * (1 + 0.005 * rng.standard_normal())),
            ):
                common = {"trial": t, "speakers": pair, "method": method, "n_fft": n}
                rows.append({**common, "experiment": "separation", "metric": "sdr", "value": sdr})
                rows.append({**common, "experiment": "reconstruction", "metric": "kl", "value": kl})
    return pd.DataFrame(rows)


def test_endpoints_are_declared_with_margins() -> None:
    claims = {ep.claim: ep for ep in PRIMARY_ENDPOINTS}
    assert set(claims) == {"window-size", "quality"}
    assert claims["window-size"].baselines == ("NMF", "NMF-interp") and claims["window-size"].metric == "sdr"
    assert claims["quality"].n_ffts == (2000,) and claims["quality"].metric == "kl"
    assert all(ep.metric in MARGINS for ep in PRIMARY_ENDPOINTS)


def test_decisions_follow_the_interval_bound() -> None:
    table = primary_endpoint_table(_results({"1000": 0.0, "1500": -2.0, "2000": -0.5}))
    sdr = table[(table["claim"] == "window-size") & (table["baseline"] == "NMF")].set_index("n_fft")
    assert sdr.loc[1000, "decision"] == "non-inferior" and bool(sdr.loc[1000, "met_speaker"])
    assert sdr.loc[1500, "decision"] == "inferior" and not sdr.loc[1500, "met_point"]
    assert sdr.loc[2000, "decision"] == "undecided"  # the interval straddles -0.5
    tested = table[table["status"] == "tested"]
    met = tested["met_speaker"].astype(bool)
    assert ((tested["p_noninferior"] < 0.025) == met).all()  # one-sided p agrees with the bound
    for _, family in tested.groupby("claim"):
        assert (family["p_noninferior_holm"] >= family["p_noninferior"] - 1e-12).all()
    summary = claim_summary(table).set_index(["claim", "baseline"])
    assert summary.loc[("window-size", "NMF"), "verdict"] == "fails"
    assert summary.loc[("quality", "NMF"), "verdict"] == "holds"
    assert "6 speakers only" in summary.loc[("quality", "NMF"), "caveat"]


def test_holds_when_every_window_size_clears_and_missing_baselines_are_said() -> None:
    df = _results({})
    summary = claim_summary(primary_endpoint_table(df)).set_index(["claim", "baseline"])
    assert summary.loc[("window-size", "NMF"), "verdict"] == "holds"
    assert summary.loc[("window-size", "NMF-interp"), "met_speaker"] == 4
    without = primary_endpoint_table(df[df["method"] != "NMF-interp"])
    missing = without[without["baseline"] == "NMF-interp"]
    assert len(missing) == 4 and missing["status"].str.contains("no NMF-interp rows").all()
    assert claim_summary(without).set_index("baseline").loc["NMF-interp", "verdict"] == "not tested"
    fails = claim_summary(primary_endpoint_table(_results({}, kl_ratio=1.2))).set_index("claim")
    assert fails.loc["quality", "verdict"] == "fails"


def test_old_trial_level_ratio_interval_over_a_constant_baseline() -> None:
    # With B_t = c the delta-method interval of the ratio is mean(T)/c ± t sd(T) / (c sqrt(n)).
    n, c = 12, 2.0
    treat = c * (1.05 + 0.02 * np.random.default_rng(1).standard_normal(n))
    rows = [{"trial": t, "speakers": f"{SPEAKERS[t % 3]}+{SPEAKERS[3 + t % 2]}", "method": m,
             "experiment": "reconstruction", "n_fft": 2000, "metric": "kl", "value": v}
            for t in range(n) for m, v in (("NMF", c), ("iN-NMF", treat[t]))]
    row = primary_endpoint_table(pd.DataFrame(rows)).query("claim == 'quality'").iloc[0]
    half = sps.t.ppf(0.975, n - 1) * np.std(treat, ddof=1) / (c * math.sqrt(n))
    assert row["estimate"] == pytest.approx(treat.mean() / c)
    assert row["trial_low"] == pytest.approx(row["estimate"] - half)
    assert row["trial_high"] == pytest.approx(row["estimate"] + half)
