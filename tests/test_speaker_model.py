"""Tests of innmf.report.speaker_model: REML against a dense reference, coverage on a
simulated design with known crossed speaker effects, and clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize
from scipy import stats as sps

from innmf.report.speaker_model import _Reml, coverage_study, speaker_design, speaker_interval


def _design(n_trials: int, n_speakers: int, seed: int) -> list[str]:
    """Ordered pairs of distinct speakers, like the recorded run (40 trials of 6 speakers)."""
    rng = np.random.default_rng(seed)
    pairs = [rng.choice(n_speakers, size=2, replace=False) for _ in range(n_trials)]
    return [f"s{a}+s{b}" for a, b in pairs]


def _dense_reml(y: np.ndarray, design: np.ndarray) -> float:
    """Independent REML of lambda with full n x n matrices (inverse, log-determinant)."""
    n, one = len(y), np.ones(len(y))

    def crit(log_lam: float) -> float:
        v = np.eye(n) + math.exp(log_lam) * design @ design.T
        vi = np.linalg.inv(v)
        a = one @ vi @ one
        r = y - (one @ vi @ y) / a * one
        return (n - 1) * math.log(r @ vi @ r / (n - 1)) + np.linalg.slogdet(v)[1] + math.log(a)

    res = optimize.minimize_scalar(crit, bounds=(-12, 8), method="bounded", options={"xatol": 1e-8})
    return math.exp(res.x)


def test_reml_matches_dense_reference() -> None:
    labels = _design(40, 6, seed=1)
    design, names = speaker_design(labels)
    assert design.shape == (40, 6) and (design.sum(axis=1) == 2).all() and names[0] == "s0"
    rng = np.random.default_rng(2)
    effects = rng.standard_normal(6)
    y = design @ effects + rng.standard_normal(40)
    lam, sigma2 = _Reml(y, design).fit()
    assert lam == pytest.approx(_dense_reml(y, design), rel=1e-3)
    fit = speaker_interval(y, labels)
    counts = design.sum(axis=0)
    se = math.sqrt(sigma2 * (40 + lam * counts @ counts)) / 40  # Var(mean) = sigma_e^2 1'V1 / n^2
    assert fit.se == pytest.approx(se) and fit.df == 5 and fit.n_speakers == 6
    assert fit.estimate == pytest.approx(y.mean())
    assert fit.high - fit.estimate == pytest.approx(sps.t.ppf(0.975, 5) * se)
    assert fit.p_value == pytest.approx(2 * sps.t.sf(abs(y.mean()) / se, 5))


def test_without_speaker_effects_the_fit_reaches_the_boundary() -> None:
    # Differences that are exactly opposite for two trials sharing nothing but noise:
    # speaker means all equal -> lambda = 0 and the SE is the trial-level s / sqrt(n).
    labels = ["a+b", "b+c", "c+a", "a+b", "b+c", "c+a"]
    y = np.array([1.0, -1.0, 0.5, -1.0, 1.0, -0.5])
    lam, _ = _Reml(y, speaker_design(labels)[0]).fit()
    assert lam == 0.0
    fit = speaker_interval(y, labels)
    assert fit.se == pytest.approx(np.std(y, ddof=1) / math.sqrt(6)) and fit.speaker_share == 0.0


def test_speaker_interval_covers_where_the_trial_interval_does_not() -> None:
    labels = _design(40, 6, seed=0)
    study = coverage_study(labels, speaker_sd=(0.0, 0.5), n_data=300, seed=11).set_index("speaker_sd")
    assert 0.90 <= study.loc[0.5, "speaker_coverage"] <= 0.98  # sigma_s / sigma_e = 0.5, crossed over the pairs
    assert study.loc[0.5, "trial_coverage"] < 0.85
    assert study.loc[0.0, "speaker_coverage"] >= 0.93  # without speaker effects: conservative, not wild
    assert 0.92 <= study.loc[0.0, "trial_coverage"] <= 0.98  # the trial interval is right only then
    assert (study["speaker_width"] > study["trial_width"]).all()
    # The simulation itself against an independent count with scipy's t-interval.
    rng = np.random.default_rng(11)
    covered = 0
    for _ in range(300):
        rng.standard_normal(6)  # the speaker effects, zero in this setting
        y = rng.standard_normal(40)
        ci = sps.ttest_1samp(y, 0.0).confidence_interval(0.95)
        covered += ci.low <= 0.0 <= ci.high
    assert covered / 300 == pytest.approx(study.loc[0.0, "trial_coverage"])


def test_deterministic_and_clear_errors() -> None:
    labels = _design(12, 4, seed=3)
    y = np.random.default_rng(0).standard_normal(12)
    assert speaker_interval(y, labels) == speaker_interval(y, labels)
    with pytest.raises(ValueError, match="two speakers"):
        speaker_interval(y[:2], ["a+b", "a"])
    with pytest.raises(ValueError, match="one label per trial"):
        speaker_interval(y, labels[:-1])
    with pytest.raises(ValueError, match="at least 3 trials and 3 speakers"):
        speaker_interval(y[:4], ["a+b", "b+a", "a+b", "b+a"])
