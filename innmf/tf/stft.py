"""The paper's STFT: sqrt-periodic-Hann window, orthonormal DFT, hop N/2, no padding.

Analysis (every chapter): frames of N samples start at 0, hop, 2·hop, ... with no
padding; each frame is multiplied by the square root of a periodic Hann window and
transformed by an orthonormal real DFT, giving N//2 + 1 bins.

Synthesis (:func:`istft`): weighted overlap-add (each inverse frame multiplied by the
same window) divided by the overlap-added squared window ``ola[n] = sum_i w[n - i·hop]^2``.

- Even N, hop N/2 (the paper): ``ola`` is exactly 1 wherever two frames overlap, so
  the division changes nothing there and the synthesis is the paper's plain weighted
  overlap-add.
- Odd N (hop floor(N/2)) or other hops (N/4 in the hybrid chapter): ``ola`` is not
  constant; dividing by it makes the inverse exact. (Without it, odd N reconstructs
  with a relative error of about 1e-2.)
- Edges: the first and last half-window are covered by one frame only and ``ola``
  falls to 0 at the very first sample. We divide by ``max(ola, EDGE_FLOOR·max(ola))``:
  every sample where ``ola`` is at least ``EDGE_FLOOR`` times its maximum is
  reconstructed exactly (:func:`reconstruction_support` says which), the few samples
  nearest the ends are left tapered. The floor keeps a modified spectrogram (a
  separation mask) from being amplified by up to 1/w at the edges.
"""

from __future__ import annotations

import numpy as np

EDGE_FLOOR = 0.1
"""Fraction of the maximum of the overlap-added squared window below which
:func:`istft` stops normalising (see the module docstring)."""


def analysis_window(n_fft: int) -> np.ndarray:
    """Square root of a periodic Hann window of length ``n_fft`` (N in the paper)."""
    n = np.arange(n_fft)
    return np.sqrt(0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft))


def hop_length(n_fft: int) -> int:
    """Hop of the paper's analysis: N/2 (rounded down for odd N)."""
    return n_fft // 2


def _check_hop(n_fft: int, hop: int | None) -> int:
    hop = hop_length(n_fft) if hop is None else int(hop)
    if hop < 1 or hop > n_fft:
        raise ValueError(f"Hop must be between 1 and the window size {n_fft}, got {hop}.")
    return hop


def n_frames_for(length: int, n_fft: int, hop: int | None = None) -> int:
    """Number of frames :func:`stft` gives for a signal of ``length`` samples."""
    hop = _check_hop(n_fft, hop)
    return 0 if length < n_fft else 1 + (length - n_fft) // hop


def frames(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Read-only strided view (n_frames, n_fft) of the frames of ``x`` (no copy)."""
    n = 1 + (len(x) - n_fft) // hop
    return np.lib.stride_tricks.as_strided(
        x, shape=(n, n_fft), strides=(x.strides[0] * hop, x.strides[0]), writeable=False
    )


def check_signal(x: np.ndarray, min_length: int = 1, what: str = "signal") -> np.ndarray:
    """Return ``x`` as a contiguous float64 1-D array or raise a clear ValueError.

    Args:
        x: the signal.
        min_length: fewest samples accepted (the window length, for a transform).
        what: name used in the error messages.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"The {what} must be 1-D (mono), got shape {x.shape}; mix channels down first.")
    if x.size == 0:
        raise ValueError(f"The {what} is empty; pass at least {max(min_length, 1)} samples.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"The {what} contains NaN or infinite samples; clean the audio first.")
    if x.size < min_length:
        raise ValueError(
            f"The {what} has {x.size} samples, fewer than the window ({min_length}); "
            "use a longer signal or a smaller window."
        )
    return x


def stft(x: np.ndarray, n_fft: int, hop: int | None = None) -> np.ndarray:
    """Complex STFT, shape (n_fft//2 + 1, n_frames). Used by every chapter.

    Args:
        x: mono signal, 1-D.
        n_fft: window size N in samples (odd or even).
        hop: hop in samples (default N//2, the paper's speech analysis; the hybrid
            chapter uses N/4).

    Returns:
        Complex spectrogram X with frequencies along rows and frames along columns.
    """
    if int(n_fft) < 2:
        raise ValueError(f"Window size must be at least 2 samples, got {n_fft}.")
    n_fft = int(n_fft)
    hop = _check_hop(n_fft, hop)
    x = check_signal(x, n_fft)
    return np.fft.rfft(frames(x, n_fft, hop) * analysis_window(n_fft), axis=1, norm="ortho").T


def _overlap_add(frames_: np.ndarray, hop: int, total: int) -> np.ndarray:
    """Overlap-add rows of ``frames_`` at multiples of ``hop``, vectorised per chunk."""
    n_frames, n_fft = frames_.shape
    n_chunks = -(-n_fft // hop)
    padded = np.zeros((n_frames, n_chunks * hop))
    padded[:, :n_fft] = frames_
    y = np.zeros(n_frames * hop + n_chunks * hop)
    for j in range(n_chunks):
        # Chunk j of frame i lands at (i + j)·hop: consecutive frames are contiguous.
        y[j * hop : j * hop + n_frames * hop] += padded[:, j * hop : (j + 1) * hop].reshape(-1)
    return y[:total]


def window_sumsquare(n_frames: int, n_fft: int, hop: int | None = None) -> np.ndarray:
    """Overlap-added squared analysis window, length n_fft + hop·(n_frames − 1)."""
    hop = _check_hop(n_fft, hop)
    w2 = np.broadcast_to(analysis_window(n_fft) ** 2, (n_frames, n_fft))
    return _overlap_add(w2, hop, n_fft + hop * (n_frames - 1))


def reconstruction_support(n_frames: int, n_fft: int, hop: int | None = None) -> np.ndarray:
    """Boolean mask of the samples that :func:`istft` reconstructs exactly.

    These are the samples where the overlap-added squared window is at least
    ``EDGE_FLOOR`` times its maximum: the whole doubly covered interior plus most of
    the first and last half-window.
    """
    ola = window_sumsquare(n_frames, n_fft, hop)
    return ola >= EDGE_FLOOR * ola.max()


def istft(X: np.ndarray, n_fft: int, length: int | None = None, hop: int | None = None) -> np.ndarray:
    """Inverse of :func:`stft` by normalised weighted overlap-add (module docstring).

    Args:
        X: complex spectrogram, shape (n_fft//2 + 1, n_frames).
        n_fft: window size N used for the analysis.
        length: output length in samples (default: what the frames cover); samples
            past the last frame are zero.
        hop: hop used for the analysis (default N//2).

    Returns:
        Real signal, exact on :func:`reconstruction_support` when X is an unmodified STFT.
    """
    n_fft = int(n_fft)
    hop = _check_hop(n_fft, hop)
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] != n_fft // 2 + 1:
        raise ValueError(
            f"Expected a spectrogram of shape ({n_fft // 2 + 1}, n_frames) for N={n_fft}, got {X.shape}."
        )
    n_frames = X.shape[1]
    if n_frames == 0:
        raise ValueError("The spectrogram has no frames; nothing to invert.")
    window = analysis_window(n_fft)
    total = n_fft + hop * (n_frames - 1)
    y = _overlap_add(np.fft.irfft(X.T, n=n_fft, axis=1, norm="ortho") * window, hop, total)
    ola = window_sumsquare(n_frames, n_fft, hop)
    y /= np.maximum(ola, EDGE_FLOOR * ola.max())
    if length is None:
        return y
    out = np.zeros(int(length))
    keep = min(int(length), total)
    out[:keep] = y[:keep]
    return out


def stft_frequencies(n_fft: int, sr: float) -> np.ndarray:
    """Centre frequency (Hz) of each bin."""
    return np.arange(n_fft // 2 + 1) * sr / n_fft


def stft_times(n_frames: int, n_fft: int, sr: float, hop: int | None = None) -> np.ndarray:
    """Time (s) of each frame's window centre (the periodic Hann peaks at sample N/2)."""
    hop = _check_hop(n_fft, hop)
    return (np.arange(n_frames) * hop + n_fft / 2) / sr


def frequency_coordinate(n_fft: int) -> np.ndarray:
    """The paper's network input for STFT bin k: k/(N/2+1) - 0.5 (book/paper_setup.md §2)."""
    n_bins = n_fft // 2 + 1
    return np.arange(n_bins) / n_bins - 0.5


def amplitude_scale(n_fft: int) -> float:
    """Factor that turns |X| of :func:`stft` into the amplitude calibration of this package.

    Multiplying by it makes a stationary sinusoid of amplitude A at a bin centre read
    A/2 (the same calibration as :mod:`innmf.tf.cqt` and :mod:`innmf.tf.sinusoidal`,
    and as ``librosa.cqt(scale=False)`` divided by each filter's length):
    ``sqrt(N) / sum(w)``.
    """
    return float(np.sqrt(n_fft) / analysis_window(n_fft).sum())


def magnitude(x: np.ndarray, n_fft: int, power: float = 0.5, hop: int | None = None) -> np.ndarray:
    """Compressed magnitude spectrogram |X|^p (p = 0.5 in the paper)."""
    return np.abs(stft(x, n_fft, hop)) ** power
