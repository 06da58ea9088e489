"""The paper's STFT (innmf.tf.stft): exact inverse for odd and even N, and agreement
of the magnitudes with librosa and scipy for the same window, hop and scaling.

"Perfect reconstruction" is tested on :func:`reconstruction_support`: every sample
whose overlap-added squared window is at least EDGE_FLOOR of its maximum (the whole
doubly covered interior plus most of the first and last half-window). The few
samples nearest the ends are tested separately for their documented taper.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from innmf.tf import stft as S


def _signal(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


@pytest.mark.parametrize("n_fft", [2, 3, 7, 8, 128, 1000, 1001, 1024, 1999, 2000, 2500])
@pytest.mark.parametrize("hop_div", [2, 4])
def test_perfect_reconstruction_on_support(n_fft: int, hop_div: int) -> None:
    hop = max(1, n_fft // hop_div)
    x = _signal(9001, seed=n_fft)
    X = S.stft(x, n_fft, hop)
    y = S.istft(X, n_fft, length=len(x), hop=hop)
    support = np.zeros(len(x), dtype=bool)
    mask = S.reconstruction_support(X.shape[1], n_fft, hop)
    support[: len(mask)] = mask[: len(x)]
    err = np.linalg.norm((y - x)[support]) / np.linalg.norm(x[support])
    assert err < 1e-6
    # The support contains every sample that all its frames cover, and for the
    # paper's hop N/2 every sample covered by two frames.
    covered = n_fft + hop * (X.shape[1] - 1)
    assert support[n_fft : covered - n_fft].all()
    if hop == n_fft // 2:
        assert support[hop : covered - hop].all()


def test_odd_window_regression() -> None:
    """Odd N with hop floor(N/2) used to reconstruct with an error of ~7e-3."""
    x = _signal(16000, seed=1)
    X = S.stft(x, 1001)
    y = S.istft(X, 1001, length=len(x))
    interior = slice(1001, len(x) - 1001)
    assert np.max(np.abs(y[interior] - x[interior])) < 1e-10


def test_even_window_is_paper_synthesis_in_interior() -> None:
    """For even N and hop N/2 the normaliser is exactly 1 where two frames overlap."""
    n_fft = 2000
    ola = S.window_sumsquare(12, n_fft)
    assert np.allclose(ola[n_fft // 2 : -n_fft // 2], 1.0, atol=1e-12)


def test_edges_are_tapered_not_amplified() -> None:
    """Outside the support istft returns x·ola/(EDGE_FLOOR·max ola), never more than x."""
    n_fft, x = 400, _signal(4000, seed=2)
    X = S.stft(x, n_fft)
    y = S.istft(X, n_fft, length=len(x))
    ola = S.window_sumsquare(X.shape[1], n_fft)
    outside = ~S.reconstruction_support(X.shape[1], n_fft)
    expected = x[: len(ola)] * ola / (S.EDGE_FLOOR * ola.max())
    assert outside.sum() > 0
    assert np.allclose(y[: len(ola)][outside], expected[outside], atol=1e-12)
    assert np.all(np.abs(y[: len(ola)][outside]) <= np.abs(x[: len(ola)][outside]) + 1e-12)


def test_istft_of_masked_spectrogram_is_bounded() -> None:
    """A separation mask must not be amplified at the edges (bound 1/sqrt(EDGE_FLOOR))."""
    n_fft = 2000
    rng = np.random.default_rng(3)
    X = rng.standard_normal((n_fft // 2 + 1, 20)) + 1j * rng.standard_normal((n_fft // 2 + 1, 20))
    frames = np.fft.irfft(X.T, n=n_fft, axis=1, norm="ortho")
    y = S.istft(X, n_fft)
    assert np.max(np.abs(y)) <= np.max(np.abs(frames)) * 2 / np.sqrt(S.EDGE_FLOOR)


@pytest.fixture(scope="module")
def librosa_module():
    import librosa

    librosa.stft(np.zeros(256), n_fft=64, hop_length=32, center=False)  # warm once
    return librosa


@pytest.mark.parametrize("n_fft", [512, 1001, 2000])
def test_magnitudes_match_librosa(librosa_module, n_fft: int) -> None:
    x = _signal(20000, seed=4)
    hop = n_fft // 2
    ref = librosa_module.stft(x, n_fft=n_fft, hop_length=hop, window=S.analysis_window(n_fft), center=False)
    ours = S.stft(x, n_fft)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(np.abs(ours), np.abs(ref) / np.sqrt(n_fft), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n_fft", [512, 1001])
def test_magnitudes_match_scipy(n_fft: int) -> None:
    x = _signal(20000, seed=5)
    w = S.analysis_window(n_fft)
    hop = n_fft // 2
    _, _, Z = scipy.signal.stft(x, window=w, nperseg=n_fft, noverlap=n_fft - hop, boundary=None, padded=False,
                                scaling="spectrum", detrend=False, return_onesided=True)
    # scipy's "spectrum" scaling divides the DFT by sum(w); ours by sqrt(N).
    expected = np.abs(Z) * w.sum() / np.sqrt(n_fft)
    ours = np.abs(S.stft(x, n_fft))
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12)


def test_amplitude_calibration() -> None:
    sr, n_fft = 16000, 1000
    k = 37
    f = k * sr / n_fft
    x = 0.8 * np.cos(2 * np.pi * f * np.arange(8000) / sr + 0.4)
    M = np.abs(S.stft(x, n_fft)) * S.amplitude_scale(n_fft)
    # Exact but for the leakage of the image at -f through the window's side lobes.
    np.testing.assert_allclose(M[k], 0.4, rtol=1e-4)


def test_axes() -> None:
    np.testing.assert_allclose(S.stft_frequencies(8, 16000), [0, 2000, 4000, 6000, 8000])
    np.testing.assert_allclose(S.stft_times(3, 1000, 1000), [0.5, 1.0, 1.5])
    np.testing.assert_allclose(S.stft_times(3, 1000, 1000, hop=250), [0.5, 0.75, 1.0])
    np.testing.assert_allclose(S.frequency_coordinate(4), np.arange(3) / 3 - 0.5)
    assert S.n_frames_for(9001, 1000) == S.stft(_signal(9001), 1000).shape[1] == 17
    assert np.allclose(S.magnitude(_signal(3000), 300, 0.5) ** 2, np.abs(S.stft(_signal(3000), 300)))


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="empty"):
        S.stft(np.zeros(0), 16)
    with pytest.raises(ValueError, match="NaN"):
        S.stft(np.array([0.0, np.nan] * 100), 16)
    with pytest.raises(ValueError, match="shorter|fewer"):
        S.stft(np.zeros(100), 128)
    with pytest.raises(ValueError, match="1-D"):
        S.stft(np.zeros((2, 100)), 16)
    with pytest.raises(ValueError, match="at least 2"):
        S.stft(np.zeros(100), 1)
    with pytest.raises(ValueError, match="Hop"):
        S.stft(np.zeros(100), 16, hop=0)
    with pytest.raises(ValueError, match="shape"):
        S.istft(np.zeros((10, 4), dtype=complex), 64)
