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

from innmf.data.validation import check_float, check_int

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


def check_n_fft(n_fft: int) -> int:
    """The window size N as an int of at least 2 samples, or a clear error (``n_fft=2.5`` is refused)."""
    n_fft = check_int(n_fft, "n_fft (the window size N)")
    if n_fft < 2:
        raise ValueError(f"Window size must be at least 2 samples, got n_fft={n_fft}.")
    return n_fft


def _check_hop(n_fft: int, hop: int | None) -> int:
    hop = hop_length(n_fft) if hop is None else check_int(hop, "hop")
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
    x = np.asarray(x)
    if np.iscomplexobj(x):
        raise ValueError(f"The {what} is complex; pass a real signal (audio samples, e.g. innmf.read_audio(path)).")
    if x.dtype.kind not in "biuf":
        raise TypeError(f"The {what} must be a numeric array of samples, got dtype {x.dtype}.")
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
    n_fft = check_n_fft(n_fft)
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
    n_fft = check_n_fft(n_fft)
    hop = _check_hop(n_fft, hop)
    X = np.asarray(X)
    if X.dtype.kind not in "biufc":
        raise TypeError(f"X must be a numeric (complex) spectrogram, got dtype {X.dtype}.")
    if X.ndim != 2 or X.shape[0] != n_fft // 2 + 1:
        raise ValueError(
            f"Expected a spectrogram of shape ({n_fft // 2 + 1}, n_frames) for N={n_fft}, got {X.shape}."
        )
    n_frames = X.shape[1]
    if n_frames == 0:
        raise ValueError("The spectrogram has no frames; nothing to invert.")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinite values; check the (masked) spectrogram.")
    if length is not None:
        length = check_int(length, "length", minimum=0)
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


def frequency_coordinate(n_fft: int | None = None, *, hz=None, sr: float | None = None,
                         aligned: bool = False) -> np.ndarray:
    """The frequency networks' input: the coordinates each model is built for.

    * ``frequency_coordinate(n_fft)``: :class:`~innmf.models.implicit.ImplicitWNMF`'s
      coordinate of the N//2 + 1 STFT bins, k/(N/2+1) - 0.5, in [-0.5, 0.5)
      (book/paper_setup.md §2; chapters "Implicit neural factors" and "Window-size
      generalisation");
    * ``frequency_coordinate(hz=f, sr=sr)``: :class:`~innmf.models.implicit_wh.ImplicitWH`'s
      coordinate of frequencies in Hz, f / (sr/2), in [0, 1] (the paper's hybrid demo;
      chapter "Hybrid representations"; :meth:`~innmf.tf.pointcloud.PointCloud.normalised_coordinates`).

    Args:
        n_fft: the window size N of an STFT (model 1).
        aligned: with ``n_fft``, the Hz-aligned coordinate k/(N/2) - 0.5.
        hz: frequencies in Hz, from 0 to the Nyquist frequency (model 2).
        sr: the sample rate the frequencies were analysed at (with ``hz``).

    Returns:
        The coordinates, float64.
    """
    if (n_fft is None) == (hz is None):
        raise TypeError("Pass either n_fft (ImplicitWNMF's STFT bins) or hz= and sr= (ImplicitWH's frequencies in Hz).")
    if n_fft is not None:
        if sr is not None:
            raise TypeError("sr goes with hz=; frequency_coordinate(n_fft) needs no sample rate.")
        n = check_n_fft(n_fft)
        n_bins = n // 2 + 1
        return np.arange(n_bins) / (n / 2 if aligned else n_bins) - 0.5
    if aligned:
        raise TypeError("aligned= goes with n_fft; hz= coordinates are already hz / (sr / 2).")
    if sr is None:
        raise TypeError("frequency_coordinate(hz=...) needs the sample rate sr= (the coordinate is hz / (sr / 2)).")
    nyquist = check_float(sr, "sr (the sample rate, Hz)", above=0.0) / 2
    f = _finite_real(hz, "hz")
    if f.size and (f.min() < 0 or f.max() > nyquist):
        raise ValueError(f"hz run from {f.min():.6g} to {f.max():.6g} Hz, outside [0, {nyquist:g}] (0 to sr/2 for sr={sr:g}).")
    return f / nyquist


def time_coordinate(t, t_max: float | None = None) -> np.ndarray:
    """:class:`~innmf.models.implicit_wh.ImplicitWH`'s time input: t / t_max, in [0, 1] for 0 <= t <= t_max.

    The paper's hybrid demo divides the points' times by the duration of the cloud
    (:meth:`~innmf.tf.pointcloud.PointCloud.normalised_coordinates` does the same).
    Used by the chapter "Hybrid representations" and the page "Use it on your own audio".

    Args:
        t: times in seconds (non-negative).
        t_max: the time mapped to 1, e.g. the recording's duration (default: the latest of ``t``).

    Returns:
        The coordinates, float64.
    """
    times = _finite_real(t, "t")
    if times.size and times.min() < 0:
        raise ValueError(f"t has negative times (min {times.min():.6g} s); times start at 0.")
    if t_max is None:
        t_max = float(times.max()) if times.size else 0.0
        if not t_max > 0:
            raise ValueError("t has no positive time to scale by; pass t_max (e.g. the recording's duration in seconds).")
    t_max = check_float(t_max, "t_max (seconds)", above=0.0)
    if times.size and times.max() > t_max:
        raise ValueError(f"t reaches {times.max():.6g} s, beyond t_max = {t_max:g} s; pass the duration that covers every time.")
    return times / t_max


def _finite_real(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be real numbers, got dtype {arr.dtype}.")
    arr = np.array(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr


def amplitude_scale(n_fft: int) -> float:
    """Factor that turns |X| of :func:`stft` into the amplitude calibration of this package.

    Multiplying by it makes a stationary sinusoid of amplitude A at a bin centre read
    A/2 (the same calibration as :mod:`innmf.tf.cqt` and :mod:`innmf.tf.sinusoidal`,
    and as ``librosa.cqt(scale=False)`` divided by each filter's length):
    ``sqrt(N) / sum(w)``.
    """
    return float(np.sqrt(n_fft) / analysis_window(n_fft).sum())


def magnitude(x: np.ndarray, n_fft: int, power: float = 0.5, hop: int | None = None) -> np.ndarray:
    """Compressed magnitude spectrogram ``|X|^p`` (p = 0.5 in the paper). Used by every chapter.

    Args:
        x: mono signal, 1-D.
        n_fft: window size N in samples.
        power: the compression exponent p > 0.
        hop: hop in samples (default N//2).

    Returns:
        ``|X|^p``, shape (n_fft//2 + 1, n_frames), non-negative.
    """
    power = check_float(power, "power (the exponent p)", above=0.0)
    return np.abs(stft(x, n_fft, hop)) ** power
