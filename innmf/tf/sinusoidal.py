"""Sinusoidal (peak) model: spectral peaks with interpolated frequency and amplitude.

Each frame of a zero-padded STFT (Blackman-Harris window by default: its side lobes
lie 92 dB down, so a side lobe is never taken for a sinusoid) is searched for local
maxima; a parabola through the log magnitude of the three bins around each maximum
gives the peak's frequency and amplitude off the FFT grid. Peaks more than
``threshold_db`` below the strongest peak of the whole signal are dropped. Optional
partial tracking links peaks from frame to frame (McAulay & Quatieri style: nearest
frequency, greedy, within ``max_jump_cents``). The resulting points fall off any
time-frequency grid: the irregular chapter feeds them to iN-NMF.

Calibration: a stationary sinusoid of amplitude A gives m = A/2, as in
:mod:`innmf.tf.cqt` and :func:`innmf.tf.stft.amplitude_scale`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import get_window

from innmf.tf.pointcloud import PointCloud
from innmf.tf.stft import check_signal, frames


@dataclass(frozen=True)
class Peaks:
    """Spectral peaks, one entry per peak, ordered by frame then frequency.

    Attributes:
        frame: frame index of each peak.
        t: window-centre time (s).
        f: interpolated frequency (Hz).
        m: interpolated magnitude (A/2 for a sinusoid of amplitude A).
        partial: partial id of each peak (−1 when not tracked).
        sr: sample rate (Hz).
        duration: signal length (s).
    """

    frame: np.ndarray
    t: np.ndarray
    f: np.ndarray
    m: np.ndarray
    partial: np.ndarray
    sr: float
    duration: float

    def points(self, name: str = "sinusoidal") -> PointCloud:
        """The peaks as a one-source :class:`PointCloud`."""
        return PointCloud(self.t, self.f, self.m, np.zeros(len(self.m), dtype=np.int64), (name,), self.sr,
                          (self.duration,))


def spectral_peaks(
    x: np.ndarray,
    sr: float,
    window_length: int = 1024,
    hop: int | None = None,
    zero_pad: int = 4,
    window: str = "blackmanharris",
    threshold_db: float = -80.0,
    max_peaks: int | None = None,
    f_min: float = 0.0,
    f_max: float | None = None,
) -> Peaks:
    """Peaks of every frame with parabolic interpolation of the log magnitude.

    Args:
        x: mono signal.
        sr: sample rate (Hz).
        window_length: analysis window N (samples).
        hop: hop (default N/4).
        zero_pad: FFT size is ``zero_pad``·N (finer grid, smaller interpolation bias).
        window: any ``scipy.signal.get_window`` name (periodic).
        threshold_db: drop peaks this many dB below the strongest peak of the signal.
        max_peaks: keep at most this many peaks per frame (the strongest).
        f_min, f_max: frequency range searched (Hz; default 0 to Nyquist).

    Returns:
        :class:`Peaks`, untracked (``partial`` all −1).
    """
    if window_length < 4:
        raise ValueError(f"window_length must be at least 4 samples, got {window_length}.")
    hop = window_length // 4 if hop is None else int(hop)
    if not 1 <= hop <= window_length:
        raise ValueError(f"Hop must lie in [1, {window_length}], got {hop}.")
    if zero_pad < 1:
        raise ValueError(f"zero_pad must be at least 1, got {zero_pad}.")
    if threshold_db > 0:
        raise ValueError(f"threshold_db is relative to the strongest peak and must be ≤ 0, got {threshold_db}.")
    if not sr > 0:
        raise ValueError(f"Sample rate must be positive, got {sr}.")
    f_max = sr / 2 if f_max is None else f_max
    if not 0 <= f_min < f_max <= sr / 2:
        raise ValueError(f"Need 0 ≤ f_min < f_max ≤ Nyquist ({sr / 2:g} Hz), got {f_min}, {f_max}.")
    x = check_signal(x, window_length)
    w = get_window(window, window_length, fftbins=True)
    n_fft = zero_pad * window_length
    spec = np.abs(np.fft.rfft(frames(x, window_length, hop) * w, n=n_fft, axis=1))
    # Log magnitude; the floor keeps exact zeros (digital silence) finite.
    log_mag = np.log(np.maximum(spec, 1e-300))
    a, b, c = log_mag[:, :-2], log_mag[:, 1:-1], log_mag[:, 2:]
    is_peak = (b > a) & (b >= c)
    fi, ki = np.nonzero(is_peak)
    a, b, c = a[fi, ki], b[fi, ki], c[fi, ki]
    curvature = a - 2.0 * b + c
    p = np.where(curvature < 0, 0.5 * (a - c) / np.where(curvature < 0, curvature, -1.0), 0.0)
    log_peak = b - 0.25 * (a - c) * p
    freq = (ki + 1 + p) * sr / n_fft
    mag = np.exp(log_peak) / w.sum()
    keep = (freq >= f_min) & (freq <= f_max)
    fi, freq, mag = fi[keep], freq[keep], mag[keep]
    if mag.size:
        keep = 20.0 * np.log10(np.maximum(mag, 1e-300) / mag.max()) >= threshold_db
        fi, freq, mag = fi[keep], freq[keep], mag[keep]
    if max_peaks is not None:
        if max_peaks < 1:
            raise ValueError(f"max_peaks must be at least 1, got {max_peaks}.")
        order = np.lexsort((-mag, fi))  # by frame, strongest first
        fi, freq, mag = fi[order], freq[order], mag[order]
        first = np.searchsorted(fi, fi)  # index of each frame's first peak
        keep = np.arange(len(fi)) - first < max_peaks
        fi, freq, mag = fi[keep], freq[keep], mag[keep]
        order = np.lexsort((freq, fi))
        fi, freq, mag = fi[order], freq[order], mag[order]
    t = (fi * hop + window_length / 2) / sr
    return Peaks(fi, t, freq, mag, np.full(len(fi), -1), float(sr), len(x) / sr)


def track_partials(frame: np.ndarray, f: np.ndarray, max_jump_cents: float = 100.0, max_gap: int = 0) -> np.ndarray:
    """Link peaks into partials by nearest frequency from frame to frame.

    At each frame, every (live partial, new peak) pair closer than ``max_jump_cents``
    is a candidate; pairs are accepted greedily, closest first, each partial and peak
    used once. Unmatched peaks start new partials; a partial with no match for more
    than ``max_gap`` frames ends.

    Args:
        frame: frame index of each peak (non-decreasing).
        f: frequency of each peak (Hz, positive).
        max_jump_cents: largest frequency change between linked peaks (100 = a semitone).
        max_gap: frames a partial may skip and still continue.

    Returns:
        Partial id of each peak (0, 1, ... in order of birth).
    """
    frame, f = np.asarray(frame), np.asarray(f, dtype=np.float64)
    if len(frame) != len(f):
        raise ValueError("frame and f need one entry per peak.")
    if len(frame) and np.any(np.diff(frame) < 0):
        raise ValueError("Peaks must be ordered by frame.")
    if np.any(f <= 0):
        raise ValueError("Peak frequencies must be positive to be compared in cents.")
    ids = np.full(len(f), -1, dtype=np.int64)
    live_f, live_id, live_last = np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    n_partials = 0
    bounds = np.flatnonzero(np.diff(frame)) + 1
    for idx in np.split(np.arange(len(f)), bounds) if len(f) else []:
        j = frame[idx[0]]
        alive = j - live_last <= max_gap + 1
        live_f, live_id, live_last = live_f[alive], live_id[alive], live_last[alive]
        taken_live = np.zeros(len(live_f), dtype=bool)
        if len(live_f):
            cents = np.abs(1200.0 * np.log2(f[idx][:, None] / live_f[None, :]))
            rows, cols = np.nonzero(cents <= max_jump_cents)
            taken_peak = np.zeros(len(idx), dtype=bool)
            for r, c in zip(*(a[np.argsort(cents[rows, cols], kind="stable")] for a in (rows, cols))):
                if not taken_peak[r] and not taken_live[c]:
                    taken_peak[r] = taken_live[c] = True
                    ids[idx[r]] = live_id[c]
                    live_f[c], live_last[c] = f[idx[r]], j
        new = idx[ids[idx] < 0]
        ids[new] = np.arange(n_partials, n_partials + len(new))
        n_partials += len(new)
        live_f = np.concatenate([live_f, f[new]])
        live_id = np.concatenate([live_id, ids[new]])
        live_last = np.concatenate([live_last, np.full(len(new), j)])
    return ids


def sinusoidal_analysis(
    x: np.ndarray,
    sr: float,
    window_length: int = 1024,
    hop: int | None = None,
    threshold_db: float = -80.0,
    max_peaks: int | None = None,
    track: bool = False,
    max_jump_cents: float = 100.0,
    min_partial_frames: int = 1,
    **kwargs,  # noqa: ANN003
) -> Peaks:
    """:func:`spectral_peaks`, then optionally :func:`track_partials`.

    Args:
        x, sr, window_length, hop, threshold_db, max_peaks: as in :func:`spectral_peaks`.
        track: link peaks into partials (``Peaks.partial``).
        max_jump_cents: largest frequency change between linked peaks.
        min_partial_frames: with ``track``, drop partials shorter than this many
            frames (spurious peaks rarely persist).
        **kwargs: ``zero_pad``, ``window``, ``f_min``, ``f_max`` of :func:`spectral_peaks`.
    """
    peaks = spectral_peaks(x, sr, window_length, hop, threshold_db=threshold_db, max_peaks=max_peaks, **kwargs)
    if not track:
        return peaks
    ids = track_partials(peaks.frame, peaks.f, max_jump_cents)
    counts = np.bincount(ids, minlength=1) if len(ids) else np.zeros(0, dtype=int)
    keep = counts[ids] >= min_partial_frames if len(ids) else np.zeros(0, dtype=bool)
    _, ids = np.unique(ids[keep], return_inverse=True)
    return Peaks(peaks.frame[keep], peaks.t[keep], peaks.f[keep], peaks.m[keep], ids.reshape(-1), peaks.sr,
                 peaks.duration)


def spectrum_at(
    x: np.ndarray,
    sr: float,
    frame: np.ndarray,
    f: np.ndarray,
    window_length: int = 1024,
    hop: int | None = None,
    window: str = "blackmanharris",
    complex_values: bool = False,
) -> np.ndarray:
    """|windowed DTFT| of ``x`` at given (frame, frequency) points, calibrated as the peaks.

    The ground truth of a source at a mixture's sinusoidal points: evaluated on a
    stem with the mixture's frames and peak frequencies, it is that stem's
    magnitude at each point (the ground truth a separation on sinusoidal points is
    scored against). Same frames, window and calibration
    (a sinusoid of amplitude A at f gives A/2) as :func:`spectral_peaks`.

    Args:
        x: mono signal.
        sr: sample rate (Hz).
        frame: frame index of each point (:attr:`Peaks.frame`).
        f: frequency of each point (Hz).
        window_length, hop, window: as in :func:`spectral_peaks`.
        complex_values: return the complex DTFT values (phase relative to each frame's
            first sample), linear in ``x``: what :mod:`innmf.tf.peak_regions` keeps as the
            peaks' coefficients (chapter "Music and environmental sound").

    Returns:
        (n_points,) magnitudes, or complex values with ``complex_values``.
    """
    hop = window_length // 4 if hop is None else int(hop)
    x = check_signal(x, window_length)
    frame, f = np.asarray(frame, dtype=np.int64).reshape(-1), np.asarray(f, dtype=np.float64).reshape(-1)
    if frame.shape != f.shape:
        raise ValueError(f"Need one frame index per frequency; got {frame.size} and {f.size}.")
    framed = frames(x, window_length, hop)
    if frame.size and (frame.min() < 0 or frame.max() >= len(framed)):
        raise ValueError(f"Frame indices must lie in [0, {len(framed) - 1}] for this signal, window and hop.")
    w = get_window(window, window_length, fftbins=True)
    # e^{-iωn} with n = R·b + r: R + N/R exponentials per point instead of N (the exponentials
    # dominated the cost), and one small product per frame for all of its points
    R = int(np.ceil(np.sqrt(window_length)))
    nb = -(-window_length // R)
    out = np.empty(frame.size, dtype=np.complex128)
    order = np.argsort(frame, kind="stable")
    bounds = np.flatnonzero(np.diff(frame[order])) + 1
    for idx in np.split(order, bounds) if frame.size else []:
        seg = np.zeros(nb * R)
        seg[:window_length] = framed[frame[idx[0]]] * w
        omega = -2j * np.pi * f[idx, None] / sr
        E, S = np.exp(omega * np.arange(R)), seg.reshape(nb, R).T
        inner = E.real @ S + 1j * (E.imag @ S)  # (points, nb); two real products: a complex one can be far slower
        out[idx] = np.sum(inner * np.exp(omega * (R * np.arange(nb))), axis=1) / w.sum()
    return out if complex_values else np.abs(out)
