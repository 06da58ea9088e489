"""Tests of innmf.report.pooled_model against independent references.

- statsmodels' MixedLM (crossed speaker and trial variance components, one residual
  variance) for the REML components;
- a dense REML written with full n K x n K matrices and minimised by scipy, for the
  per-size residual variances the fast block-diagonal code uses, its gradient and its
  expected information;
- a balanced design solved by hand: every pair of five speakers twice, where REML equals
  the ANOVA estimators and Satterthwaite's df is the classic one of a mean-square sum;
- the one-size model against innmf.report.speaker_model, an earlier, separate implementation.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import optimize

from innmf.report.pooled_model import (
    PAPER_N_FFTS, JointReml, joint_intervals, pooled_intervals, satterthwaite_df,
)
from innmf.report.speaker_model import speaker_design, speaker_interval


def _data(n: int = 30, k: int = 3, seed: int = 3, speaker: float = 0.8, trial: float = 0.7,
          residual: tuple[float, ...] = (1.0, 1.0, 1.0)) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    labels = [f"s{a}+s{b}" for a, b in (rng.choice(6, size=2, replace=False) for _ in range(n))]
    design, _ = speaker_design(labels)
    y = ((design @ (speaker * rng.standard_normal(design.shape[1])))[:, None] + trial * rng.standard_normal((n, 1))
         + np.asarray(residual) * rng.standard_normal((n, k)) + np.arange(k))
    return y, design, labels


def _dense(y: np.ndarray, design: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """V_j (speaker, trial, residual per size), X and y in the trial-major order, as full matrices."""
    n, k = y.shape
    parts = [np.kron(design @ design.T, np.ones((k, k))), np.kron(np.eye(n), np.ones((k, k)))]
    parts += [np.kron(np.eye(n), np.diag(np.eye(k)[j])) for j in range(k)]
    return parts, np.kron(np.ones((n, 1)), np.eye(k)), y.reshape(-1)


def _dense_reml(theta: np.ndarray, parts: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    v = sum(t * p for t, p in zip(theta, parts))
    vi = np.linalg.inv(v)
    a = x.T @ vi @ x
    proj = vi - vi @ x @ np.linalg.solve(a, x.T @ vi)
    value = np.linalg.slogdet(v)[1] + np.linalg.slogdet(a)[1] + y @ proj @ y
    return float(value), proj


def test_block_criterion_gradient_and_information_match_dense_matrices() -> None:
    y, design, _ = _data(residual=(1.0, 0.5, 1.4))
    model = JointReml(y, design)
    parts, x, yy = _dense(y, design)
    theta = np.array([0.3, 0.2, 1.0, 0.3, 0.6])
    value, grad = model.criterion(theta)
    dense_value, proj = _dense_reml(theta, parts, x, yy)
    # Both are -2 log L_R up to the same constant: differences between two thetas agree.
    other = theta * 1.7
    assert model.criterion(other)[0] - value == pytest.approx(_dense_reml(other, parts, x, yy)[0] - dense_value, rel=1e-10)
    numeric = optimize.approx_fprime(theta, lambda t: _dense_reml(t, parts, x, yy)[0], 1e-7)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-4)
    info = np.array([[0.5 * np.trace(proj @ a @ proj @ b) for b in parts] for a in parts])
    np.testing.assert_allclose(model.information(theta), info, rtol=1e-10, atol=1e-12)


def test_heteroscedastic_fit_matches_a_dense_optimisation() -> None:
    y, design, _ = _data(n=36, residual=(0.6, 1.0, 1.5), seed=8)
    theta = JointReml(y, design).fit()
    parts, x, yy = _dense(y, design)
    reference = optimize.minimize(lambda t: _dense_reml(t, parts, x, yy)[0], np.ones(5), method="L-BFGS-B",
                                  bounds=[(0.0, None)] * 2 + [(1e-6, None)] * 3, options={"ftol": 1e-14, "gtol": 1e-9})
    np.testing.assert_allclose(theta, reference.x, rtol=2e-3, atol=2e-4)
    assert _dense_reml(theta, parts, x, yy)[0] <= reference.fun + 1e-7


def test_reml_components_match_statsmodels_mixedlm() -> None:
    y, design, labels = _data()
    n, k = y.shape
    _, names = speaker_design(labels)
    rows = pd.DataFrame({"d": y.reshape(-1), "size": np.tile(np.arange(k), n), "trial": np.repeat(np.arange(n), k),
                         "one": 1})
    for j, name in enumerate(names):
        rows[name] = np.repeat(design[:, j], k)  # a speaker's count in the trial: crossed effects, one group
    fit = smf.mixedlm("d ~ 0 + C(size)", rows, groups="one",
                      vc_formula={"speaker": "0 + " + " + ".join(names), "trial": "0 + C(trial)"}).fit(
        reml=True, method=["lbfgs"])
    assert list(fit.model.exog_vc.names) == ["speaker", "trial"]
    ours = JointReml(y, design, common_residual=True).fit()
    np.testing.assert_allclose(ours, [*fit.vcomp, fit.scale], rtol=1e-3)


def _balanced(seed: int = 1) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every unordered pair of 5 speakers twice (20 trials), 3 sizes."""
    rng = np.random.default_rng(seed)
    labels = [f"s{a}+s{b}" for a, b in itertools.combinations(range(5), 2) for _ in range(2)]
    design, _ = speaker_design(labels)
    y = ((design @ rng.standard_normal(5))[:, None] + 0.8 * rng.standard_normal((20, 1))
         + rng.standard_normal((20, 3)))
    return y, design, labels


def test_balanced_design_against_the_hand_derived_anova_solution() -> None:
    # Z'Z = 2 (3 I + J): Z Z' has eigenvalue 16 on the mean, 6 on 4 speaker contrasts, 0 on the
    # 15 others. Strata of the trial means (x K) and of the within-trial contrasts:
    #   E MS_spk = K (6 s2 + u2) + e2 (4 df),  E MS_trial = K u2 + e2 (15 df),  E MS_e = e2 (19 (K-1) df).
    y, design, _ = _balanced()
    n, k = y.shape
    eig, q = np.linalg.eigh(design @ design.T)
    spk, rest = q[:, np.isclose(eig, 6.0)], q[:, np.isclose(eig, 0.0, atol=1e-9)]
    assert spk.shape[1] == 4 and rest.shape[1] == 15
    means = y.mean(axis=1)
    ms_spk, ms_trial = k * np.sum((spk.T @ means) ** 2) / 4, k * np.sum((rest.T @ means) ** 2) / 15
    within = y - y.mean(axis=0) - (means - means.mean())[:, None]
    ms_e = np.sum(within**2) / (19 * (k - 1))
    e2, u2 = ms_e, (ms_trial - ms_e) / k
    s2 = (ms_spk - ms_trial) / (6 * k)
    assert min(s2, u2) > 0  # REML equals these only inside the parameter space
    model = JointReml(y, design, common_residual=True)
    theta = model.fit()
    np.testing.assert_allclose(theta, [s2, u2, e2], rtol=1e-5)
    # Var(mean at one size) = (16 s2 + u2 + e2) / n, written in the mean squares:
    a = np.array([16 / (6 * k), 1 / k - 16 / (6 * k), 1 - 1 / k]) / n
    ms, dfs = np.array([ms_spk, ms_trial, ms_e]), np.array([4, 15, 19 * (k - 1)])
    exact = float(a @ ms) ** 2 / float(np.sum((a * ms) ** 2 / dfs))
    weights = np.array([16 / n, 1 / n, 1 / n])
    assert weights @ theta == pytest.approx(a @ ms, rel=1e-5)
    assert satterthwaite_df(weights, theta, model.information(theta)) == pytest.approx(exact, rel=1e-4)


def test_one_size_is_the_per_size_model() -> None:
    y, _, labels = _data(n=40, k=1, residual=(1.0,), seed=4)
    frame = pd.DataFrame(y, columns=[2000])
    row = joint_intervals(frame, pd.Series(labels)).loc[2000]
    old = speaker_interval(y[:, 0], labels)
    assert (row["low"], row["high"], row["se"], row["p"]) == pytest.approx((old.low, old.high, old.se, old.p_value),
                                                                            rel=1e-5)
    assert row["df"] == old.df == 5 and row["speaker_share"] == pytest.approx(old.speaker_share, abs=1e-4)


def test_pooled_sizes_share_one_model_and_others_have_their_own() -> None:
    y, _, labels = _data(n=36, k=6, residual=(1.0, 0.7, 1.0, 1.2, 0.9, 1.6), seed=6)
    sizes = [512, 1000, 1500, 2000, 2500, 4096]
    values, series = pd.DataFrame(y, columns=sizes), pd.Series(labels)
    out = pooled_intervals(values, series)
    inside = [n for n in sizes if n in PAPER_N_FFTS]
    pd.testing.assert_frame_equal(out.loc[inside], joint_intervals(values[inside], series))
    pd.testing.assert_frame_equal(out.loc[[4096]], joint_intervals(values[[4096]], series))
    assert list(out.index) == sizes and (out["df"] == 5).all()
    np.testing.assert_allclose(out["estimate"], y.mean(axis=0))  # the plain means the tables show
    assert ((out["low"] < out["estimate"]) & (out["estimate"] < out["high"])).all()


def test_missing_trials_and_degenerate_inputs() -> None:
    y, _, labels = _data(n=30, k=3)
    values, series = pd.DataFrame(y, columns=[1000, 1500, 2000]), pd.Series(labels)
    holes = values.copy()
    holes.iloc[:4, 0] = np.nan  # four trials lack N = 1000: its mean and SE use the other 26
    row = joint_intervals(holes, series).loc[1000]
    assert row["n"] == 26 and row["estimate"] == pytest.approx(values[1000].iloc[4:].mean())
    zeros = joint_intervals(values * 0.0, series)  # ties everywhere: a zero interval at 0, p = 1
    assert (zeros["high"] == 0).all() and (zeros["p"] == 1).all()
    with pytest.raises(ValueError, match="needs at least 3 trials and 3 speakers"):
        joint_intervals(values.iloc[:3], pd.Series(["a+b", "b+a", "a+b"]))
