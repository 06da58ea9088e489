"""The problems ``innmf bench`` times: the paper's speech matrix and a hybrid-like point cloud.

Shared by the figures of :mod:`innmf.tools.bench.units` and the network-paths
measurement (:mod:`innmf.tools.bench.network_paths`), so neither imports the other.
"""

from __future__ import annotations

import numpy as np

from innmf import SAMPLE_RATE
from innmf.tf.stft import magnitude

SPEECH = dict(rank=20, hidden=64, n_freqs=10, n_fft=2000, seconds=20.0)
QUICK_SPEECH = dict(rank=4, hidden=16, n_freqs=10, n_fft=256, seconds=1.3)


def synthetic_hybrid_coordinates(
    seconds: float = 2.5, sr: int = 4410, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """The coordinate structure of the paper's hybrid cloud, with random magnitudes.

    Reproduces the point and distinct-coordinate counts of the published demo
    (book/paper_setup.md §4) without the piano recording: three analyses of a
    ``seconds``-long signal at ``sr`` laid one after another in time, an STFT with
    N=128, hop 32; an STFT with N=1024, hop 256 (frames at the published code's
    grid, centres N/2, N/2 + hop, ... < L - N); a CQT with Q=64, 64 bins per
    octave over 6.7 octaves from 20 Hz, window N_k = sr Q / f_k (rounded up to
    even), hop N_k / 8 and centres 0, hop, ... < L - N_k / 2 (the published grid
    on a signal padded by N_k / 2; each bin its own time grid, at true window
    centres). Coordinates are normalised as in the demo: t / t_max
    and Hz / (sr / 2). For timing only (``innmf bench``); the real cloud is built
    by :mod:`innmf.tf.hybrid`.

    Args:
        seconds: signal length per segment.
        sr: sample rate.
        seed: seeds the random magnitudes.

    Returns:
        (t, f, m, counts) with float32 arrays and counts = {"points",
        "distinct_freqs", "distinct_times"} as the models see them (float32).
    """
    L = int(round(seconds * sr))
    times, freqs = [], []
    for segment, (n_fft, hop) in enumerate([(128, 32), (1024, 256)]):
        centres = np.arange(n_fft // 2, L - n_fft, hop)
        bins = np.arange(n_fft // 2 + 1) * sr / n_fft
        times.append(np.repeat(segment * seconds + centres / sr, len(bins)))
        freqs.append(np.tile(bins, len(centres)))
    for k in range(int(64 * 6.7)):
        f_k = 20.0 * 2.0 ** (k / 64)
        n_k = int(sr * 64 / f_k)
        n_k += n_k % 2
        centres = np.arange(0, L - n_k // 2, n_k // 8)  # the published frame grid
        times.append(2 * seconds + centres / sr)
        freqs.append(np.full(len(centres), f_k))
    t = (np.concatenate(times) / (3 * seconds)).astype(np.float32)
    f = (np.concatenate(freqs) / (sr / 2)).astype(np.float32)
    m = np.sqrt(np.random.default_rng(seed).exponential(size=t.shape)).astype(np.float32)
    counts = {"points": int(t.size), "distinct_freqs": int(np.unique(f).size), "distinct_times": int(np.unique(t).size)}
    return t, f, m, counts


def _synthetic_speech(seconds: float, seed: int = 0) -> np.ndarray:
    """A voiced, speech-like test signal: harmonics of a gliding pitch with formant-shaped amplitudes."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    tt = np.arange(n) / SAMPLE_RATE
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * tt) + 10 * np.sin(2 * np.pi * 5.3 * tt)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    x = np.zeros(n)
    for h in range(1, 30):
        freq = h * 140.0
        amp = sum(np.exp(-(((freq - c) / 150.0) ** 2)) for c in (500, 1500, 2500)) + 0.02
        x += amp / h**0.5 * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    x *= 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * tt) ** 2  # syllable-rate envelope
    x += 1e-3 * rng.standard_normal(n)
    return x / np.linalg.norm(x)


def speech_matrix(seconds: float, n_fft: int, synthetic: bool = False) -> tuple[np.ndarray, str]:
    """The benchmark's V: compressed STFT magnitudes (p = 0.5) of ``seconds`` of speech.

    Uses the first speaker of the default corpus (``innmf.data``) when it can be
    loaded and is long enough, else a synthetic voiced signal.

    Returns:
        (V, description of the input).
    """
    if not synthetic:
        try:
            from innmf.data import load_corpus

            speaker = load_corpus("default").speakers[0]
            x = np.asarray(speaker.audio(), dtype=np.float64)[: int(seconds * SAMPLE_RATE)]
            if len(x) == int(seconds * SAMPLE_RATE):
                return magnitude(x / np.linalg.norm(x), n_fft), f"corpus default, speaker {speaker.id}"
        except Exception:  # noqa: BLE001 - any failure means: use the synthetic signal
            pass
    return magnitude(_synthetic_speech(seconds), n_fft), "synthetic voiced signal"
