"""Tests of innmf.paper.separation: soft masks and mask-based separation."""

from __future__ import annotations

import numpy as np
import pytest

from innmf.paper.separation import separate, separate_from_factors, wiener_masks
from innmf.tf.stft import istft, magnitude, stft

SR = 16_000


@pytest.fixture(scope="module")
def sources() -> tuple[np.ndarray, np.ndarray]:
    """A low harmonic tone and a high two-partial tone: disjoint in frequency."""
    rng = np.random.default_rng(0)
    t = np.arange(3 * SR) / SR
    low = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) / k
              for k, f in enumerate([220.0, 440.0, 660.0], 1))
    low = low * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))
    high = sum(0.5 * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in [3000.0, 4500.0])
    high = high * (1 + 0.5 * np.cos(2 * np.pi * 3 * t))
    return low, high


def _snr_db(ref: np.ndarray, est: np.ndarray, margin: int) -> float:
    # Edges excluded: the first/last half-window is covered by one frame only.
    r, e = ref[margin:-margin], est[margin:-margin]
    return 10 * np.log10(np.sum(r**2) / np.sum((r - e) ** 2))


def test_masks_sum_to_one_and_split_silence_equally() -> None:
    rng = np.random.default_rng(1)
    a = rng.random((5, 7))
    b = rng.random((5, 7))
    a[0, 0] = b[0, 0] = 0.0
    ma, mb = wiener_masks([a, b])
    np.testing.assert_allclose(ma + mb, 1.0)
    assert ma[0, 0] == mb[0, 0] == 0.5
    np.testing.assert_allclose(ma[1:, 1:], a[1:, 1:] / (a[1:, 1:] + b[1:, 1:]))
    three = wiener_masks([a, b, np.zeros_like(a)])
    np.testing.assert_allclose(sum(three), 1.0)
    assert three[0][0, 0] == pytest.approx(1 / 3)


def test_oracle_separation_of_disjoint_tones_is_near_perfect(sources) -> None:
    low, high = sources
    mix = low + high
    for n_fft in (1000, 2000):
        est_low, est_high = separate(mix, n_fft, [magnitude(low, n_fft), magnitude(high, n_fft)])
        assert len(est_low) == len(est_high) == len(mix)
        assert _snr_db(low, est_low, n_fft) > 20
        assert _snr_db(high, est_high, n_fft) > 20
    # Swapping the models must swap the outputs: order of models = order of outputs.
    swapped_low, _ = separate(mix, 1000, [magnitude(high, 1000), magnitude(low, 1000)])
    assert _snr_db(low, swapped_low, 1000) < 0


def test_outputs_sum_to_mixture_when_power_is_one(sources) -> None:
    low, high = sources
    mix = low + high
    rng = np.random.default_rng(2)
    n_fft = 1500
    shape = stft(mix, n_fft).shape
    models = [rng.random(shape), rng.random(shape)]
    outs = separate(mix, n_fft, models, power=1.0)
    resynth = istft(stft(mix, n_fft), n_fft, length=len(mix))
    np.testing.assert_allclose(outs[0] + outs[1], resynth, atol=1e-10)
    np.testing.assert_allclose(resynth[n_fft:-n_fft], mix[n_fft:-n_fft], atol=1e-10)


def test_separate_from_factors_matches_separate(sources) -> None:
    low, high = sources
    mix = low + high
    rng = np.random.default_rng(3)
    n_fft = 1000
    n_bins, n_frames = stft(mix, n_fft).shape
    W = [rng.random((n_bins, 4)) for _ in range(2)]
    H = [rng.random((4, n_frames)) for _ in range(2)]
    a = separate_from_factors(mix, n_fft, W, H)
    b = separate(mix, n_fft, [W[0] @ H[0], W[1] @ H[1]])
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y)


def test_bad_inputs_raise_clear_errors(sources) -> None:
    low, high = sources
    mix = low + high
    shape = stft(mix, 1000).shape
    good = np.ones(shape)
    with pytest.raises(ValueError, match="shape"):
        separate(mix, 1000, [good, np.ones((shape[0], shape[1] - 1))])
    with pytest.raises(ValueError, match="mixture's STFT"):
        separate(mix, 2000, [good, good])
    nan = good.copy()
    nan[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        separate(mix, 1000, [good, nan])
    with pytest.raises(ValueError, match="negative"):
        wiener_masks([good, -good])
    with pytest.raises(ValueError, match="empty"):
        wiener_masks([])
    with pytest.raises(ValueError, match="power"):
        separate(mix, 1000, [good, good], power=0.0)
    with pytest.raises(ValueError, match="rank K"):
        separate_from_factors(mix, 1000, [np.ones((shape[0], 3))] * 2, [np.ones((4, shape[1]))] * 2)
