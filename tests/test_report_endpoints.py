"""Tests of innmf.report.endpoints: margins, decisions on the interval, one Holm family per claim, the jackknife."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from innmf.report.endpoints import (
    FAILS, HOLDS, INFERIOR, NONINFERIOR, NOT_TESTED, PARTLY, PRIMARY_ENDPOINTS, UNDECIDED, Endpoint, claim_summary,
    decide, endpoint_table, margin, readable, rules_text,
)
from innmf.report.stats import MARGINS, holm

SPEAKERS = ("a", "b", "c", "d", "e", "f")
SIZES = (512, 1000, 1500, 2000, 2500, 4096)


def _pair(t: int) -> str:
    return f"{SPEAKERS[t % 6]}+{SPEAKERS[(t + 1 + t // 6) % 6]}"


def results(fit_ratio: float = 1.05, sdr_fit: float = -0.1, kl_growth: dict[int, float] | None = None,
            sdr_drop: dict[int, float] | None = None, interp_growth: float = 1.03, n_trials: int = 24,
            spread: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """Rows with a known fit at N0 = 2000 and a known transfer (KL growth factor, SDR drop) per N."""
    rng = np.random.default_rng(seed)
    kl_growth, sdr_drop = kl_growth or {}, sdr_drop or {}
    rows = []
    for t in range(n_trials):
        base_kl, base_sdr = 5e-4 * (1 + 0.1 * rng.random()), 4.0 + rng.standard_normal()
        for n in SIZES:
            away = n != 2000
            kl = {"NMF": base_kl, "NMF-interp": base_kl * (interp_growth if away else 1.0),
                  "iN-NMF": base_kl * fit_ratio * kl_growth.get(n, 1.0)}
            sdr = {"NMF": base_sdr, "NMF-interp": base_sdr, "iN-NMF": base_sdr + sdr_fit - sdr_drop.get(n, 0.0)}
            for method in kl:
                common = {"trial": t, "speakers": _pair(t), "method": method, "n_fft": n}
                wobble = spread * rng.standard_normal() if method == "iN-NMF" else 0.0
                rows.append({**common, "experiment": "reconstruction", "metric": "kl",
                             "value": kl[method] * math.exp(0.1 * wobble)})
                rows.append({**common, "experiment": "separation", "metric": "sdr", "value": sdr[method] + wobble})
                rows.append({**common, "experiment": "separation", "metric": "stoi",
                             "value": 0.7 + 0.01 * (sdr[method] - base_sdr) + 0.01 * wobble})
    return pd.DataFrame(rows)


def test_margins_and_their_derivation() -> None:
    assert margin("kl", "fit") == ("upper", pytest.approx(math.log(MARGINS["kl"].value)))
    side, value = margin("kl", "transfer")
    assert side == "upper" and math.exp(value) ** 2 == pytest.approx(MARGINS["kl"].value)  # half on the log scale
    assert margin("sdr", "transfer") == ("lower", MARGINS["sdr"].value)
    with pytest.raises(ValueError, match="no margin"):
        margin("sir", "fit")
    with pytest.raises(ValueError, match="fits or transfers"):
        margin("kl", "change")
    claims = {ep.claim: ep for ep in PRIMARY_ENDPOINTS}
    assert claims["window-size"].estimand == "transfer" and claims["quality"].estimand == "fit"
    assert claims["window-size"].comparators[0] == "NMF" and "NMF-resample" in claims["window-size"].comparators
    text = rules_text()
    assert f"{math.exp(value):.3f}" in text and "upper end at most 1.100" in text and "-0.5 dB" in text


def test_decide_on_the_interval_not_the_estimate() -> None:
    assert decide(-0.4, 0.2, "lower", -0.5) == NONINFERIOR
    assert decide(-0.9, -0.6, "lower", -0.5) == INFERIOR
    assert decide(-0.6, 0.1, "lower", -0.5) == UNDECIDED  # the estimate may clear, the interval does not
    assert decide(0.01, 0.04, "upper", 0.0477) == NONINFERIOR
    assert decide(0.05, 0.2, "upper", 0.0477) == INFERIOR
    assert decide(math.nan, math.nan, "upper", 0.1) == UNDECIDED


def test_decisions_on_fit_and_transfer() -> None:
    # iN-NMF is 1.05 x NMF at N0 (fit holds); its KL grows by 1.2 at N = 1000 (transfer fails
    # there), not elsewhere; its SDR loses 2 dB at N = 4096 (beyond the paper's sizes).
    df = results(kl_growth={1000: 1.2}, sdr_drop={4096: 2.0})
    table = endpoint_table(df)
    kl = table[(table["claim"] == "window-size") & (table["metric"] == "kl") & (table["comparator"] == "NMF")]
    kl = kl.set_index("n_fft")
    assert kl.loc[1000, "decision"] == INFERIOR and kl.loc[1500, "decision"] == NONINFERIOR
    assert kl.loc[1000, "estimate"] == pytest.approx(math.log(1.2), abs=0.01)
    assert not kl.loc[4096, "paper_range"] and kl.loc[2500, "paper_range"]
    fit = table[(table["claim"] == "quality") & (table["comparator"] == "NMF")].iloc[0]
    assert fit["estimate"] == pytest.approx(math.log(1.05), abs=0.01) and fit["decision"] == NONINFERIOR
    summary = claim_summary(table).set_index(["claim", "comparator"])
    assert summary.loc[("quality", "NMF"), "verdict"] == HOLDS
    assert summary.loc[("window-size", "NMF"), "verdict"] == FAILS
    assert summary.loc[("window-size", "NMF-resample"), "verdict"] == NOT_TESTED
    assert "6 speakers only" in summary.loc[("quality", "NMF"), "caveat"]
    # Only beyond the paper's sizes: the claim holds partly.
    partly = claim_summary(endpoint_table(results(sdr_drop={4096: 2.0}))).set_index(["claim", "comparator"])
    assert partly.loc[("window-size", "NMF"), "verdict"] == PARTLY
    assert claim_summary(endpoint_table(results())).set_index(["claim", "comparator"]).loc[
        ("window-size", "NMF"), "verdict"] == HOLDS


def test_one_holm_family_per_claim_and_the_one_sided_p() -> None:
    table = endpoint_table(results(spread=0.4, seed=2))
    tested = table[table["status"] == "tested"]
    for claim, family in tested.groupby("claim"):
        np.testing.assert_allclose(family["p_zero_holm"], holm(family["p_zero"].to_numpy()))
        np.testing.assert_allclose(family["p_noninferior_holm"], holm(family["p_noninferior"].to_numpy()))
    # The one-sided p is below 0.025 exactly when the 95 % interval clears the margin.
    has_spread = tested[tested["se"] > 0]
    assert ((has_spread["p_noninferior"] < 0.025) == (has_spread["decision"] == NONINFERIOR)).all()
    assert set(tested["claim"]) == {"quality", "separation", "window-size"}
    missing = table[table["status"] != "tested"]
    assert missing["status"].str.contains("no NMF-resample rows").all()


def test_jackknife_column_and_resample_when_present() -> None:
    df = results(spread=0.3, seed=4)
    resample = df[df["method"] == "NMF-interp"].assign(method="NMF-resample")
    table = endpoint_table(pd.concat([df, resample]))
    rows = table[table["comparator"] == "NMF-resample"]
    assert (rows["status"] == "tested").all() and len(rows) == 1 + 2 + 3 * 5
    tested = table[table["status"] == "tested"]
    assert tested["jack_low"].notna().all() and set(tested["jack_decision"]) <= {NONINFERIOR, INFERIOR, UNDECIDED}
    summary = claim_summary(table)
    assert {"verdict", "jack_verdict", "stable"} <= set(summary.columns)
    shown = readable(table, claims=("quality",))
    assert shown["estimate"].iloc[0] == pytest.approx(1.05, abs=0.02) and shown["margin"].iloc[0] == pytest.approx(1.10)


def test_a_custom_endpoint_and_missing_training_size() -> None:
    ep = Endpoint("sdr-only", "SDR transfer against NMF.", "transfer", ("sdr",), ("NMF",))
    table = endpoint_table(results(), endpoints=(ep,), paper_n_ffts=(1000, 2000))
    assert set(table.loc[table["paper_range"].astype(bool), "n_fft"]) == {1000}
    no_n0 = endpoint_table(results().query("n_fft != 2000"))
    assert no_n0["status"].str.contains("training size N0 = 2000").all()
    assert set(claim_summary(no_n0)["verdict"]) == {NOT_TESTED}
