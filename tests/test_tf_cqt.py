"""Constant-Q transform with a window and hop per bin (innmf.tf.cqt)."""

from __future__ import annotations

import numpy as np
import pytest

from innmf.tf.cqt import cqt, cqt_frequencies
from innmf.tf.signals import sum_of_sinusoids

SR, B, Q, F_MIN, N_BINS = 4410, 64, 64.0, 110.0, 128


def _tone(k: int, amplitude: float = 0.8, seconds: float = 2.0) -> np.ndarray:
    f = cqt_frequencies(F_MIN, N_BINS, B)[k]
    return sum_of_sinusoids(SR, seconds, [f], [amplitude], [0.3])


def _level_at(result, t: float) -> np.ndarray:
    """Magnitude of every bin at time t (nearest frame of each bin)."""
    return np.array([np.abs(c[np.argmin(np.abs(tk - t))]) for tk, c in zip(result.times, result.coefs)])


@pytest.mark.parametrize("k", [5, 64, 120])
def test_tone_peaks_at_its_bin_with_calibrated_level(k: int) -> None:
    result = cqt(_tone(k), SR, f_min=F_MIN, bins_per_octave=B, n_bins=N_BINS, Q=Q)
    level = _level_at(result, 1.0)
    assert level.argmax() == k
    # Calibration: a sinusoid of amplitude A reads A/2 in its own bin.
    assert level[k] == pytest.approx(0.4, rel=2e-3)


def test_each_bin_has_its_own_window_hop_and_grid() -> None:
    x = np.random.default_rng(0).standard_normal(SR)
    result = cqt(x, SR, f_min=F_MIN, bins_per_octave=B, n_bins=N_BINS, Q=Q, hop_fraction=1 / 8)
    expected_n = np.round(SR * Q / result.freqs).astype(int)
    np.testing.assert_array_equal(result.window_lengths, expected_n)
    np.testing.assert_array_equal(result.hops, np.maximum(1, np.round(expected_n / 8)).astype(int))
    for tk, n_k, h_k in zip(result.times, result.window_lengths, result.hops):
        # pad=True: centres 0, H_k, ... up to the last sample (half a sample later for odd N_k).
        assert len(tk) == (len(x) - 1) // h_k + 1
        np.testing.assert_allclose(np.diff(tk), h_k / SR)
        assert tk[0] == pytest.approx((n_k / 2 - n_k // 2) / SR)
    assert len({len(t) for t in result.times}) > 10  # not a matrix


@pytest.mark.parametrize("pad", [True, False])
def test_frame_times_are_window_centres(pad: bool) -> None:
    """An impulse at sample n0 is strongest in the frame whose centre is nearest n0."""
    n0 = 2345
    x = np.zeros(SR)
    x[n0] = 1.0
    result = cqt(x, SR, f_min=F_MIN, bins_per_octave=B, n_bins=N_BINS, Q=Q, pad=pad)
    for tk, c, n_k in zip(result.times, result.coefs, result.window_lengths):
        best = np.argmax(np.abs(c))
        assert abs(tk[best] - n0 / SR) <= 0.5 * (tk[1] - tk[0]) + 0.5 / SR
        # The window peaks at the centre: the response there is 1/sum(w) = 2/N_k.
        if abs(tk[best] * SR - n0) < 0.6:
            assert np.abs(c[best]) == pytest.approx(2.0 / n_k, rel=1e-3)


@pytest.fixture(scope="module")
def librosa_module():
    import librosa

    librosa.cqt(np.zeros(SR), sr=SR, fmin=F_MIN, n_bins=12, bins_per_octave=12)  # warm once (numba)
    return librosa


@pytest.mark.parametrize("k", [20, 70])
def test_agrees_with_librosa(librosa_module, k: int) -> None:
    """Same windows as librosa with filter_scale = Q·(2^(1/B) − 1); librosa(scale=False)/length = ours."""
    librosa = librosa_module
    x = _tone(k)
    ours = _level_at(cqt(x, SR, f_min=F_MIN, bins_per_octave=B, n_bins=N_BINS, Q=Q), 1.0)
    filter_scale = Q * (2 ** (1 / B) - 1)
    hop = 64
    ref = np.abs(librosa.cqt(x, sr=SR, hop_length=hop, fmin=F_MIN, n_bins=N_BINS, bins_per_octave=B,
                             filter_scale=filter_scale, scale=False))
    lengths, _ = librosa.filters.wavelet_lengths(freqs=cqt_frequencies(F_MIN, N_BINS, B), sr=SR,
                                                 filter_scale=filter_scale, window="hann")
    ref = ref[:, int(round(1.0 * SR / hop))] / lengths
    assert ref.argmax() == ours.argmax() == k
    assert ours[k] == pytest.approx(ref[k], rel=0.01)
    # Relative level (dB re peak) of the bins within the window's main lobe, which
    # spans ±2·f_k/Q = ±2.8 bins here; beyond it both sit near a null (−40 dB or less)
    # whose exact depth depends on window details (periodic here, symmetric there).
    near = np.arange(k - 2, k + 3)
    np.testing.assert_allclose(20 * np.log10(ours[near] / ours[k]), 20 * np.log10(ref[near] / ref[k]), atol=1.0)


def test_two_tones_resolved_and_points() -> None:
    f = cqt_frequencies(F_MIN, N_BINS, B)
    x = sum_of_sinusoids(SR, 1.5, [f[10], f[90]], [1.0, 0.25])
    cloud = cqt(x, SR, f_min=F_MIN, bins_per_octave=B, n_bins=N_BINS, Q=Q).points("cqt")
    assert cloud.source_names == ("cqt",)
    mid = np.abs(cloud.t - 0.75) < 0.05
    best_low = cloud.f[mid & (cloud.f < f[50])][np.argmax(cloud.m[mid & (cloud.f < f[50])])]
    best_high = cloud.f[mid & (cloud.f > f[50])][np.argmax(cloud.m[mid & (cloud.f > f[50])])]
    assert best_low == pytest.approx(f[10]) and best_high == pytest.approx(f[90])
    assert len(np.unique(cloud.f)) == N_BINS


def test_paper_configuration_counts() -> None:
    """Q=64, 64 bins/octave, 6.7 octaves from 20 Hz at 4410 Hz on 2.5 s: 428 bins, every bin has frames."""
    x = np.random.default_rng(1).standard_normal(int(2.5 * SR))
    result = cqt(x, SR)
    assert len(result.freqs) == 428
    assert result.freqs[-1] < SR / 2
    assert result.window_lengths[0] == round(SR * 64 / 20.0) > len(x)  # longer than the signal: padded
    assert min(len(t) for t in result.times) >= 1
    assert result.n_points == sum((len(x) - 1) // h + 1 for h in result.hops)


def test_bad_input() -> None:
    x = np.random.default_rng(2).standard_normal(SR)
    with pytest.raises(ValueError, match="empty"):
        cqt(np.zeros(0), SR, f_min=F_MIN, n_bins=12)
    with pytest.raises(ValueError, match="NaN"):
        cqt(np.full(SR, np.nan), SR, f_min=F_MIN, n_bins=12)
    with pytest.raises(ValueError, match="Nyquist"):
        cqt(x, SR, f_min=SR / 2, n_bins=12)
    with pytest.raises(ValueError, match="Nyquist"):
        cqt(x, SR, f_min=3000.0, n_bins=12)
    with pytest.raises(ValueError, match="top bin"):
        cqt(x, SR, f_min=1000.0, bins_per_octave=12, n_bins=24)
    with pytest.raises(ValueError, match="Q must be positive"):
        cqt(x, SR, f_min=F_MIN, n_bins=12, Q=0.0)
    with pytest.raises(ValueError, match="Q must be positive"):
        cqt(x, SR, f_min=F_MIN, n_bins=12, Q=-3.0)
    with pytest.raises(ValueError, match="hop_fraction"):
        cqt(x, SR, f_min=F_MIN, n_bins=12, hop_fraction=0.0)
    with pytest.raises(ValueError, match="longer than the signal"):
        cqt(x[:2000], SR, f_min=F_MIN, n_bins=12, pad=False)
