"""Sinusoidal model (innmf.tf.sinusoidal) and the test signals (innmf.tf.signals)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import hilbert

from innmf.tf.signals import fm_instantaneous_frequency, fm_signal, harmonic_tone, sum_of_sinusoids
from innmf.tf.sinusoidal import sinusoidal_analysis, spectral_peaks, spectrum_at, track_partials

SR = 16000
FREQS = [220.3, 523.7, 1234.5, 3001.2, 5555.5]
AMPS = [1.0, 0.5, 0.25, 0.1, 0.02]


def test_sum_of_sinusoids_recovered() -> None:
    """Every sinusoid in every frame: frequency within 0.5 Hz, amplitude within 1 dB."""
    x = sum_of_sinusoids(SR, 1.0, FREQS, AMPS, [0.1, 1.0, 2.0, 3.0, 4.0])
    peaks = spectral_peaks(x, SR, window_length=2048, hop=512)
    frames = np.unique(peaks.frame)
    assert len(frames) == 1 + (len(x) - 2048) // 512
    for j in frames:
        here = peaks.frame == j
        # Exactly the true sinusoids: no side-lobe peaks above the threshold.
        assert here.sum() == len(FREQS)
        f, m = peaks.f[here], peaks.m[here]
        for f0, a0 in zip(FREQS, AMPS):
            i = np.argmin(np.abs(f - f0))
            assert abs(f[i] - f0) < 0.5
            assert abs(20 * np.log10(2 * m[i] / a0)) < 1.0
    np.testing.assert_allclose(peaks.t, (peaks.frame * 512 + 1024) / SR)


def test_points_are_off_grid() -> None:
    x = sum_of_sinusoids(SR, 0.5, FREQS, AMPS)
    cloud = sinusoidal_analysis(x, SR, window_length=2048, hop=512).points("sinusoidal")
    grid = SR / (4 * 2048)
    off = np.abs(cloud.f / grid - np.round(cloud.f / grid))
    assert np.all(off[np.isin(np.round(cloud.f), np.round(FREQS))] > 1e-3)
    assert cloud.source_names == ("sinusoidal",) and cloud.sr == SR


def test_threshold_and_max_peaks() -> None:
    x = sum_of_sinusoids(SR, 0.5, FREQS, AMPS)
    # The weakest sinusoid is 34 dB below the strongest.
    assert len(np.unique(np.round(spectral_peaks(x, SR, 2048, threshold_db=-30).f))) == 4
    strongest = spectral_peaks(x, SR, 2048, max_peaks=2)
    assert np.all(np.bincount(strongest.frame) == 2)
    np.testing.assert_allclose(np.unique(np.round(strongest.f)), [220, 524])


def test_vibrato_tone_tracked_as_one_partial() -> None:
    f_c, f_mod, depth = 440.0, 5.0, 20.0
    x = fm_signal(SR, 2.0, f_carrier=f_c, f_mod=f_mod, depth=depth, n_harmonics=3)
    hop, n = 256, 1024
    peaks = sinusoidal_analysis(x, SR, window_length=n, hop=hop, threshold_db=-50, track=True)
    n_frames = 1 + (len(x) - n) // hop
    for h in (1, 2, 3):
        truth = fm_instantaneous_frequency(peaks.t, f_c, f_mod, depth, harmonic=h)
        near = np.abs(peaks.f - truth) < 0.02 * truth
        ids = np.unique(peaks.partial[near])
        assert len(ids) == 1, f"harmonic {h} split into partials {ids}"
        assert near.sum() == n_frames  # one peak of that partial in every frame
        assert np.max(np.abs(peaks.f[near] - truth[near])) < 0.01 * h * f_c


def test_track_partials_by_hand() -> None:
    frame = np.array([0, 0, 1, 1, 2, 3, 3])
    f = np.array([100.0, 200.0, 101.0, 205.0, 102.0, 103.0, 400.0])
    ids = track_partials(frame, f, max_jump_cents=50)
    # 100→101→102→103 is one partial; 200→205 (43 cents) another; 400 is new.
    np.testing.assert_array_equal(ids, [0, 1, 0, 1, 0, 0, 2])
    # A gap of one frame ends a partial unless max_gap allows it.
    ids = track_partials(np.array([0, 2]), np.array([100.0, 100.0]))
    np.testing.assert_array_equal(ids, [0, 1])
    ids = track_partials(np.array([0, 2]), np.array([100.0, 100.0]), max_gap=1)
    np.testing.assert_array_equal(ids, [0, 0])
    # Greedy by distance: the closer peak wins the partial.
    ids = track_partials(np.array([0, 1, 1]), np.array([100.0, 102.0, 100.5]), max_jump_cents=100)
    np.testing.assert_array_equal(ids, [0, 1, 0])


def test_min_partial_frames_drops_short_partials() -> None:
    x = fm_signal(SR, 1.0, n_harmonics=2)
    all_peaks = sinusoidal_analysis(x, SR, window_length=1024, threshold_db=-60, track=True)
    long_only = sinusoidal_analysis(x, SR, window_length=1024, threshold_db=-60, track=True, min_partial_frames=10)
    assert len(long_only.f) < len(all_peaks.f)
    assert np.all(np.bincount(long_only.partial) >= 10)


def test_signals() -> None:
    t = np.arange(SR) / SR
    np.testing.assert_allclose(fm_signal(SR, 1.0, 440.0, 5.0, 0.0, amplitude=1.0), np.sin(2 * np.pi * 440 * t),
                               atol=1e-9)
    # Instantaneous frequency of the generated signal (analytic-signal phase derivative).
    x = fm_signal(SR, 1.0, 440.0, 4.0, 60.0, amplitude=1.0)
    inst = np.diff(np.unwrap(np.angle(hilbert(x)))) * SR / (2 * np.pi)
    mid = slice(1000, SR - 1000)  # away from the Hilbert transform's edge effects
    np.testing.assert_allclose(inst[mid], fm_instantaneous_frequency(t[:-1] + 0.5 / SR, 440, 4, 60)[mid], atol=0.5)
    tone = harmonic_tone(SR, 0.5, 200.0, n_harmonics=3, rolloff=1.0, amplitude=0.6)
    spec = np.abs(np.fft.rfft(tone)) / (len(tone) / 2)
    np.testing.assert_allclose(spec[[100, 200, 300]], [0.6, 0.3, 0.2], atol=1e-9)
    with pytest.raises(ValueError, match="Nyquist"):
        fm_signal(SR, 1.0, f_carrier=7000.0, n_harmonics=2)
    with pytest.raises(ValueError, match="no samples"):
        fm_signal(SR, 0.0)


def test_bad_input() -> None:
    x = sum_of_sinusoids(SR, 0.5, FREQS, AMPS)
    with pytest.raises(ValueError, match="empty"):
        spectral_peaks(np.zeros(0), SR)
    with pytest.raises(ValueError, match="NaN"):
        spectral_peaks(np.full(4096, np.nan), SR)
    with pytest.raises(ValueError, match="fewer than the window"):
        spectral_peaks(x[:100], SR, window_length=1024)
    with pytest.raises(ValueError, match="threshold_db"):
        spectral_peaks(x, SR, threshold_db=10)
    with pytest.raises(ValueError, match="Nyquist"):
        spectral_peaks(x, SR, f_max=SR)
    with pytest.raises(ValueError, match="max_peaks"):
        spectral_peaks(x, SR, max_peaks=0)
    with pytest.raises(ValueError, match="ordered"):
        track_partials(np.array([1, 0]), np.array([100.0, 100.0]))


def test_spectrum_at_bin_frequencies_is_the_fft() -> None:
    """Independent reference: at bin centres the windowed DTFT is numpy's FFT of the frame."""
    from scipy.signal import get_window

    sr, n, hop = 8000.0, 256, 64
    x = np.random.default_rng(3).standard_normal(2000)
    w = get_window("blackmanharris", n, fftbins=True)
    frame, k = np.array([0, 3, 7, 7]), np.array([0, 5, 40, 128])
    fft = np.abs(np.fft.rfft(x[frame[:, None] * hop + np.arange(n)] * w, axis=1))[np.arange(4), k] / w.sum()
    np.testing.assert_allclose(spectrum_at(x, sr, frame, k * sr / n, n, hop), fft, rtol=1e-10)


def test_spectrum_at_a_sinusoid_reads_half_its_amplitude() -> None:
    sr, f0, amp = 8000.0, 1234.5, 0.8  # off the FFT grid
    x = sum_of_sinusoids(sr, 1.0, [f0], [amp])
    peaks = spectral_peaks(x, sr, window_length=512, hop=128)
    strongest = np.argmax(peaks.m)
    at = spectrum_at(x, sr, peaks.frame[[strongest]], np.array([f0]), 512, 128)
    assert at[0] == pytest.approx(amp / 2, rel=1e-4)
    assert peaks.m[strongest] == pytest.approx(at[0], rel=1e-3)  # the peaks' calibration
    with pytest.raises(ValueError, match="Frame indices"):
        spectrum_at(x, sr, np.array([10_000]), np.array([f0]), 512, 128)
