"""The hybrid representation of the paper's demo: three analyses of one signal laid one after another in time.

Two piano notes (``data/piano``, rendered by :mod:`innmf.data.piano_render`; see
``data/piano/README.md``) resampled to 4410 Hz are analysed three ways and laid one
after another in time (book/paper_setup.md §4): STFT N=128 hop 32, STFT N=1024 hop 256, and the
constant-Q transform of :mod:`innmf.tf.cqt` (Q=64, 64 bins per octave, 6.7 octaves
from 20 Hz, hop N_k/8); optionally a sinusoidal-model segment. Targets are m^0.5.

Choices that differ from the published notebook (and why):

- Every segment is amplitude-calibrated (a sinusoid of amplitude A reads A/2 in all
  of them). The published code scales the STFTs by 1/sqrt(N) and the CQT by
  1/sqrt(N_k), so the same note had different levels in different segments and,
  within the CQT, levels that fall with frequency; shared templates W_k(f) cannot
  absorb a per-bin scale.
- STFT segments use this package's analysis window (sqrt of a periodic Hann), the
  published demo a symmetric Hann; CQT times are true window centres.
- The CQT zero-pads half a window at both ends (as the published code), with frame
  centres from 0 to the last sample.

Used by the hybrid chapter, which also compares each activation H_k with each note's
energy envelope (:func:`innmf.experiments.hybrid.note_envelopes`). Arrays in, point clouds
out: reading the recording is :mod:`innmf.data.piano`'s job.
"""

from __future__ import annotations

import numpy as np

from innmf.data.piano import HYBRID_SR
from innmf.tf.cqt import cqt
from innmf.tf.pointcloud import PointCloud, concat_in_time
from innmf.tf.sinusoidal import sinusoidal_analysis
from innmf.tf.stft import amplitude_scale, check_signal, stft, stft_frequencies, stft_times

PAPER_STFTS = ((128, 32), (1024, 256))
"""(N, hop) of the two STFT segments of the paper's hybrid demo."""


def energy_envelope(x: np.ndarray, sr: float, times: np.ndarray, window_seconds: float = 0.05) -> np.ndarray:
    """Mean-square energy of ``x`` in a Hann window of ``window_seconds`` centred at each time.

    Times outside the signal see zeros (energy 0 far outside).
    """
    x = check_signal(x)
    n = max(1, int(round(window_seconds * sr)))
    w = np.hanning(n + 2)[1:-1]
    w /= w.sum()
    energy = np.convolve(x**2, w, mode="full")  # energy[i] is centred at sample i - (n-1)/2
    idx = np.round(np.asarray(times, dtype=float) * sr + (n - 1) / 2).astype(int)
    inside = (idx >= 0) & (idx < len(energy))
    out = np.zeros(idx.shape)
    out[inside] = energy[idx[inside]]
    return out


def stft_points(x: np.ndarray, sr: float, n_fft: int, hop: int | None = None, name: str | None = None,
                calibrated: bool = True) -> PointCloud:
    """An STFT (:func:`innmf.tf.stft.stft`) as a regular point cloud.

    Args:
        x: mono signal.
        sr: sample rate (Hz).
        n_fft: window size N.
        hop: hop (default N/2).
        name: source name (default ``stft-N``).
        calibrated: scale so a sinusoid of amplitude A reads A/2 (else the orthonormal ``|X|``).
    """
    X = np.abs(stft(x, n_fft, hop))
    if calibrated:
        X *= amplitude_scale(n_fft)
    times = stft_times(X.shape[1], n_fft, sr, hop)
    return PointCloud.from_matrix(X, times, stft_frequencies(n_fft, sr), name or f"stft-{n_fft}", sr,
                                  duration=len(x) / sr)


def paper_hybrid_cloud(
    x: np.ndarray,
    sr: float = HYBRID_SR,
    power: float = 0.5,
    include_sinusoidal: bool = False,
    gap: float = 0.0,
) -> PointCloud:
    """The paper's hybrid representation: STFT-128, STFT-1024 and CQT laid one after another.

    Args:
        x: mono signal (the chapter passes :func:`innmf.data.piano.load_piano`'s recording).
        sr: its sample rate (4410 Hz in the paper).
        power: targets are m^power (0.5 in the paper).
        include_sinusoidal: append a sinusoidal-model segment (window 1024, hop 256,
            peaks within 60 dB of the strongest, tracked, partials of at least 3 frames).
        gap: silence (s) between segments.

    Returns:
        A :class:`PointCloud` with sources ``stft-128``, ``stft-1024``, ``cqt`` (and
        ``sinusoidal``), each segment as long as the signal.
    """
    x = check_signal(x, max(n for n, _ in PAPER_STFTS))
    duration = len(x) / sr
    parts = [stft_points(x, sr, n, hop) for n, hop in PAPER_STFTS]
    parts.append(cqt(x, sr, f_min=20.0, bins_per_octave=64, n_octaves=6.7, Q=64.0, hop_fraction=1 / 8).points("cqt"))
    if include_sinusoidal:
        parts.append(sinusoidal_analysis(x, sr, window_length=1024, hop=256, threshold_db=-60.0, track=True,
                                           min_partial_frames=3).points("sinusoidal"))
    parts = [PointCloud(p.t, p.f, p.m, p.source, p.source_names, sr, (duration,)) for p in parts]
    return concat_in_time(parts, gap=gap).power(power)
