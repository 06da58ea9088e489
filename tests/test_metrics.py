"""Tests of innmf.paper.metrics against hand-derived values."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from innmf.paper.metrics import kl_divergence, separation_metrics, separation_metrics_per_source

SR = 16_000


@pytest.fixture(scope="module")
def refs() -> np.ndarray:
    """Two independent coloured-noise 'speakers', 3 s each."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3 * SR))
    # A short smoothing filter makes the signals speech-like in spectrum, not white.
    kernel = np.array([1.0, 0.6, 0.3])
    return np.stack([np.convolve(row, kernel, mode="same") for row in x])


def test_kl_divergence_hand_computed() -> None:
    V = np.array([[1.0, 2.0], [0.0, 4.0]])
    V_hat = np.array([[1.0, 1.0], [1.0, 2.0]])
    # terms: 0, 2 ln2 - 2 + 1, 0 - 0 + 1, 4 ln2 - 4 + 2
    expected = (0 + (2 * np.log(2) - 1) + 1 + (4 * np.log(2) - 2)) / 4
    assert kl_divergence(V, V_hat) == pytest.approx(expected, rel=1e-12)
    assert kl_divergence(V_hat, V_hat) == 0.0
    with pytest.raises(ValueError, match="infinite"):
        kl_divergence(V_hat, V)
    with pytest.raises(ValueError, match="shape"):
        kl_divergence(V, V_hat[:, :1])


def test_sdr_matches_known_snr(refs) -> None:
    rng = np.random.default_rng(1)
    snr_db = np.array([10.0, 5.0])
    noise = rng.standard_normal(refs.shape)
    scale = np.sqrt(np.sum(refs**2, axis=1) / np.sum(noise**2, axis=1) / 10 ** (snr_db / 10))
    est = refs + scale[:, None] * noise
    start = time.perf_counter()
    per = separation_metrics_per_source(refs, est, stoi=False)
    assert time.perf_counter() - start < 10
    # Independent noise is nearly orthogonal to the 512-tap filter span of the
    # references (1024 of 48000 dimensions), so SDR ≈ SAR ≈ SNR.
    np.testing.assert_allclose(per["sdr"], snr_db, atol=0.3)
    np.testing.assert_allclose(per["sar"], snr_db, atol=0.3)
    # SIR: only the ~512/48000 share of the noise that falls in the other speaker's span.
    assert np.all(per["sir"] > snr_db + 15)


def test_sir_matches_known_leakage_and_order_is_kept(refs) -> None:
    g = 10 ** (-12 / 20)
    # Each estimate leaks the other speaker at -12 dB relative power (refs have ~equal power).
    ratio = np.sum(refs[0] ** 2) / np.sum(refs[1] ** 2)
    est = np.stack([refs[0] + g * refs[1], refs[1] + g * refs[0]])
    per = separation_metrics_per_source(refs, est, stoi=False)
    expected = np.array([12 + 10 * np.log10(ratio), 12 - 10 * np.log10(ratio)])
    np.testing.assert_allclose(per["sir"], expected, atol=0.3)
    # Swapped estimates are compared as given (no permutation search): SIR is negative.
    swapped = separation_metrics(refs, est[::-1], stoi=False)
    assert swapped["sir"] < -10


def test_stoi_of_signal_with_itself_is_one_and_mean_is_average(refs) -> None:
    rng = np.random.default_rng(2)
    est = refs + 0.5 * rng.standard_normal(refs.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # mir_eval's deprecation warning must be silenced
        per = separation_metrics_per_source(refs, est)
        mean = separation_metrics(refs, est)
    assert set(mean) == {"sdr", "sir", "sar", "stoi"}
    for k in mean:
        assert mean[k] == pytest.approx(np.mean(per[k]))
    assert separation_metrics(refs, refs.copy())["stoi"] == pytest.approx(1.0, abs=1e-6)
    assert mean["stoi"] < 0.99


def test_bad_inputs_raise(refs) -> None:
    silent = refs.copy()
    silent[1] = 0.0
    with pytest.raises(ValueError, match="Estimate source 1 is all zeros"):
        separation_metrics(refs, silent)
    with pytest.raises(ValueError, match="shape"):
        separation_metrics(refs, refs[:, :-5])
    bad = refs.copy()
    bad[0, 10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        separation_metrics(refs, bad)
