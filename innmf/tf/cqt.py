"""Constant-Q transform with a window and a hop of its own for every bin.

Bin k has centre frequency f_k = f_min·2^(k/B) (B bins per octave), a periodic Hann
window of N_k = round(sr·Q/f_k) samples (Q periods of f_k) and a hop of
H_k = round(N_k·hop_fraction) samples, so every bin has its own time grid: this is
why the CQT is not a matrix and why iN-NMF (a point-cloud model) can take it whole.
Used by the hybrid chapter (the paper's demo: Q = 64, B = 64, 6.7 octaves from 20 Hz,
hop N_k/8, sr = 4410 Hz; book/paper_setup.md §4).

Differences from the published code, on purpose:

- Time stamps are the true window centres, not times spread evenly over the signal.
- The kernel oscillates at exactly f_k (the published kernel uses Q·sr/N_k, which
  rounding of N_k moves off f_k).
- Calibration: coefficients are divided by the window sum, so a stationary sinusoid
  of amplitude A at f_k gives |C| = A/2 in every bin (as ``librosa.cqt(scale=False)``
  divided by each filter's length, and as :func:`innmf.tf.stft.amplitude_scale`);
  the published code divides by sqrt(N_k), which makes low bins louder than high
  ones by sqrt(N_low/N_high).

Edges (``pad=True``, the default and the published code's choice): the signal is
zero-padded by half a window at both ends and frame centres are 0, H_k, 2·H_k, ...
up to the last sample, so every bin has at least one frame even when its window is
longer than the signal (at 20 Hz, Q = 64 and 4410 Hz, N_k = 14,112 samples > the
11,025 of 2.5 s). With ``pad=False`` only frames fully inside the signal are kept
and a bin whose window is longer than the signal is an error.

Note on Q: here Q is the number of periods in the window (N_k = sr·Q/f_k), as in the
paper. librosa's ``filter_scale`` equals Q·(2^(1/B) − 1) for the same windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from innmf.tf.pointcloud import PointCloud
from innmf.tf.stft import check_signal


@dataclass(frozen=True)
class CQT:
    """Per-bin constant-Q analysis: bin k has ``len(times[k])`` frames.

    Attributes:
        freqs: centre frequency f_k of each bin (Hz).
        window_lengths: N_k (samples).
        hops: H_k (samples).
        times: per bin, the window-centre time of each frame (s).
        coefs: per bin, complex coefficients (calibrated: a sinusoid of amplitude A gives A/2).
        sr: sample rate (Hz).
        duration: signal length (s).
    """

    freqs: np.ndarray
    window_lengths: np.ndarray
    hops: np.ndarray
    times: list[np.ndarray]
    coefs: list[np.ndarray]
    sr: float
    duration: float

    def magnitudes(self) -> list[np.ndarray]:
        """|C| per bin."""
        return [np.abs(c) for c in self.coefs]

    def points(self, name: str = "cqt") -> PointCloud:
        """Magnitudes as a :class:`PointCloud` (one source, its own time grid per bin)."""
        return PointCloud.from_bins(self.times, self.freqs, self.magnitudes(), name, self.sr, self.duration)

    @property
    def n_points(self) -> int:
        return int(sum(len(t) for t in self.times))


def cqt_frequencies(f_min: float, n_bins: int, bins_per_octave: int) -> np.ndarray:
    """Centre frequencies f_k = f_min·2^(k/B), k = 0..n_bins-1 (Hz)."""
    return f_min * 2.0 ** (np.arange(n_bins) / bins_per_octave)


def _periodic_hann(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def _resolve_bins(sr: float, f_min: float, bins_per_octave: int, n_bins: int | None, n_octaves: float) -> int:
    nyquist = sr / 2
    if not sr > 0:
        raise ValueError(f"Sample rate must be positive, got {sr}.")
    if not 0 < f_min < nyquist:
        raise ValueError(f"f_min must lie in (0, Nyquist = {nyquist:g} Hz), got {f_min:g} Hz.")
    if bins_per_octave < 1:
        raise ValueError(f"bins_per_octave must be at least 1, got {bins_per_octave}.")
    if n_bins is None:
        if not n_octaves > 0:
            raise ValueError(f"n_octaves must be positive, got {n_octaves}.")
        n_bins = int(np.floor(bins_per_octave * n_octaves + 1e-9))  # 64 × 6.7 → 428, as published
    if n_bins < 1:
        raise ValueError(f"Need at least one bin, got n_bins={n_bins}.")
    f_top = f_min * 2.0 ** ((n_bins - 1) / bins_per_octave)
    if f_top >= nyquist:
        fit = int(np.floor(bins_per_octave * np.log2(nyquist / f_min) - 1e-9)) + 1
        raise ValueError(
            f"The top bin ({f_top:.1f} Hz) is at or above Nyquist ({nyquist:g} Hz); "
            f"use at most {fit} bins from {f_min:g} Hz, a higher sample rate or a lower f_min."
        )
    return n_bins


def cqt(
    x: np.ndarray,
    sr: float,
    f_min: float = 20.0,
    bins_per_octave: int = 64,
    n_octaves: float = 6.7,
    n_bins: int | None = None,
    Q: float = 64.0,
    hop_fraction: float = 1 / 8,
    pad: bool = True,
) -> CQT:
    """Constant-Q transform with window N_k = round(sr·Q/f_k) and hop N_k·hop_fraction per bin.

    Used by the hybrid chapter (:func:`innmf.tf.hybrid.paper_hybrid_cloud`).

    Args:
        x: mono signal.
        sr: sample rate (Hz).
        f_min: centre frequency of the lowest bin (Hz).
        bins_per_octave: B.
        n_octaves: span in octaves; n_bins = floor(B·n_octaves) unless given.
        n_bins: number of bins (overrides ``n_octaves``).
        Q: periods of f_k per window (the paper: 64 with 64 bins per octave).
        hop_fraction: hop as a fraction of each bin's window (the paper: 1/8).
        pad: zero-pad half a window at both ends (module docstring); else keep only
            frames inside the signal.

    Returns:
        A :class:`CQT`.
    """
    if not Q > 0:
        raise ValueError(f"Q must be positive (periods of f_k per window), got {Q}.")
    if not 0 < hop_fraction <= 1:
        raise ValueError(f"hop_fraction must lie in (0, 1], got {hop_fraction}.")
    n_bins = _resolve_bins(sr, f_min, bins_per_octave, n_bins, n_octaves)
    x = check_signal(x)
    length = len(x)
    freqs = cqt_frequencies(f_min, n_bins, bins_per_octave)
    lengths = np.round(sr * Q / freqs).astype(int)
    if lengths.min() < 2:
        raise ValueError(f"Q={Q} gives windows under 2 samples at the top bin; raise Q.")
    hops = np.maximum(1, np.round(lengths * hop_fraction).astype(int))
    if not pad and lengths.max() > length:
        too_long = int(np.sum(lengths > length))
        raise ValueError(
            f"{too_long} bin window(s) (up to {lengths.max()} samples, at {freqs[0]:.1f} Hz) are longer "
            f"than the signal ({length} samples); use pad=True, a higher f_min or a smaller Q."
        )
    left = int(lengths.max()) // 2 if pad else 0
    right = int(lengths.max()) if pad else 0
    xp = np.concatenate([np.zeros(left), x, np.zeros(right)])
    times, coefs = [], []
    for f_k, n_k, h_k in zip(freqs, lengths, hops):
        if pad:  # centres at 0, H_k, ... ≤ length - 1; window starts half a window earlier
            n_frames = (length - 1) // h_k + 1
            first = left - n_k // 2
        else:
            n_frames = (length - n_k) // h_k + 1
            first = 0
        view = np.lib.stride_tricks.as_strided(
            xp[first:], shape=(n_frames, n_k), strides=(xp.strides[0] * h_k, xp.strides[0]), writeable=False
        )
        window = _periodic_hann(n_k)
        # Phase referenced to the window centre; one real matrix product per bin.
        phase = 2.0 * np.pi * f_k * (np.arange(n_k) - n_k / 2) / sr
        kernel = np.stack([window * np.cos(phase), -window * np.sin(phase)], axis=1) / window.sum()
        re_im = view @ kernel
        coefs.append(re_im[:, 0] + 1j * re_im[:, 1])
        start = first - left + np.arange(n_frames) * h_k
        times.append((start + n_k / 2) / sr)
    return CQT(freqs, lengths, hops, times, coefs, float(sr), length / sr)
