"""Synthetic test signals: the frequency-modulated tone of the paper's Figure 1 and
sums of sinusoids with known parameters (for tests of every representation).

All generators are deterministic: phases are parameters, never random.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def _check(sr: float, seconds: float) -> int:
    if not sr > 0:
        raise ValueError(f"Sample rate must be positive, got {sr}.")
    n = int(round(seconds * sr))
    if n < 1:
        raise ValueError(f"A signal of {seconds} s at {sr} Hz has no samples; ask for a longer one.")
    return n


def time_axis(sr: float, seconds: float) -> np.ndarray:
    """Sample times (s) of a signal of ``seconds`` at ``sr``."""
    return np.arange(_check(sr, seconds)) / sr


def fm_instantaneous_frequency(
    t: np.ndarray, f_carrier: float, f_mod: float, depth: float, harmonic: int = 1
) -> np.ndarray:
    """Instantaneous frequency (Hz) of harmonic h of :func:`fm_signal` at times ``t``:
    h·(f_carrier + depth·sin(2π f_mod t))."""
    return harmonic * (f_carrier + depth * np.sin(2.0 * np.pi * f_mod * np.asarray(t)))


def fm_signal(
    sr: float,
    seconds: float,
    f_carrier: float = 440.0,
    f_mod: float = 4.0,
    depth: float = 60.0,
    n_harmonics: int = 1,
    rolloff: float = 1.0,
    amplitude: float = 0.5,
) -> np.ndarray:
    """Sinusoidal frequency modulation (vibrato), optionally with harmonics: the
    paper's Figure 1 signal, whose T-F content lies on curves, off any grid.

    Harmonic h has instantaneous frequency h·(f_c + depth·sin(2π f_mod t)) (exactly:
    its phase is the integral of that) and amplitude ``amplitude``/h^rolloff.

    Args:
        sr: sample rate (Hz).
        seconds: duration.
        f_carrier: centre frequency f_c of the fundamental (Hz).
        f_mod: modulation rate (Hz).
        depth: peak frequency deviation of the fundamental (Hz).
        n_harmonics: number of harmonics (1: a pure FM sinusoid).
        rolloff: amplitude of harmonic h is divided by h^rolloff.
        amplitude: amplitude of the fundamental.

    Returns:
        The signal.
    """
    t = time_axis(sr, seconds)
    if n_harmonics < 1:
        raise ValueError(f"n_harmonics must be at least 1, got {n_harmonics}.")
    if f_mod < 0 or depth < 0 or f_carrier <= 0:
        raise ValueError("f_carrier must be positive and f_mod, depth non-negative.")
    top = n_harmonics * (f_carrier + depth)
    if top >= sr / 2:
        raise ValueError(
            f"Harmonic {n_harmonics} reaches {top:g} Hz, at or above Nyquist ({sr / 2:g} Hz); "
            "use fewer harmonics, a lower carrier or a smaller depth."
        )
    if f_mod > 0:
        phase = 2.0 * np.pi * f_carrier * t - (depth / f_mod) * np.cos(2.0 * np.pi * f_mod * t) + depth / f_mod
    else:
        phase = 2.0 * np.pi * f_carrier * t
    return sum(amplitude / h**rolloff * np.sin(h * phase) for h in range(1, n_harmonics + 1))


def sum_of_sinusoids(
    sr: float,
    seconds: float,
    freqs: Sequence[float],
    amps: Sequence[float],
    phases: Sequence[float] | None = None,
) -> np.ndarray:
    """Σ_i A_i cos(2π f_i t + φ_i): stationary sinusoids with known parameters."""
    t = time_axis(sr, seconds)
    freqs, amps = np.asarray(freqs, dtype=float), np.asarray(amps, dtype=float)
    phases = np.zeros(len(freqs)) if phases is None else np.asarray(phases, dtype=float)
    if not (len(freqs) == len(amps) == len(phases)):
        raise ValueError("freqs, amps and phases need the same length.")
    if np.any(freqs >= sr / 2) or np.any(freqs < 0):
        raise ValueError(f"Frequencies must lie in [0, Nyquist = {sr / 2:g} Hz).")
    return (amps[:, None] * np.cos(2.0 * np.pi * freqs[:, None] * t + phases[:, None])).sum(axis=0)


def harmonic_tone(
    sr: float,
    seconds: float,
    f0: float,
    n_harmonics: int = 5,
    rolloff: float = 1.0,
    amplitude: float = 0.5,
    decay: float = 0.0,
) -> np.ndarray:
    """A harmonic tone: harmonics h·f0 with amplitude ``amplitude``/h^rolloff, optionally
    decaying as exp(−decay·t) (a crude struck string for tests)."""
    t = time_axis(sr, seconds)
    n_harmonics = min(n_harmonics, int(np.ceil(sr / 2 / f0)) - 1)
    if n_harmonics < 1:
        raise ValueError(f"f0 = {f0} Hz is at or above Nyquist ({sr / 2:g} Hz).")
    h = np.arange(1, n_harmonics + 1)
    x = sum_of_sinusoids(sr, seconds, h * f0, amplitude / h**rolloff)
    return x * np.exp(-decay * t)
