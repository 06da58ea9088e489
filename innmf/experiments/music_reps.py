"""The representations of the music experiment, each as weighted points that invert to audio.

Chapter "Music and environmental sound". Every representation of a signal is a flat
set of L complex coefficients with a time (s), a frequency (Hz) and a weight (the
time-frequency area the coefficient stands for, normalised to mean 1 over the points
of a regular grid of the same kind) per point, and an inverse that turns L masked
coefficients back into a signal. All are linear, so a mixture's coefficients are
the sum of its stems' coefficients and the oracle mask is exact.

* ``stft-N``: the paper's STFT (square-root periodic Hann, hop N/2; :mod:`innmf.tf.stft`)
  of the signal padded with N zeros at either end, so that it inverts exactly; a
  regular grid; every point stands for the same area, N/2 samples x sr/N Hz.
* ``cqt``: the non-stationary Gabor constant-Q transform with a hop per band
  (:mod:`innmf.tf.nsgt`, ragged): the irregular representation of the paper's
  central claim.
* ``cqt-matrix``: the same transform with one hop for every band, a regular grid
  (what a user of a matrix method would take).
* ``multires``: the points of two STFTs at once (N = 256 and 2048 at 8 kHz: the
  shortest and longest window of the STFT family); its inverse averages the two
  resyntheses.
* ``sinusoidal``: the spectral peaks of a zero-padded Blackman-Harris STFT
  (:mod:`innmf.tf.peak_regions`, :data:`SINUSOIDAL`), each at its interpolated
  frequency, with its complex DTFT there as coefficient (linear: a stem's coefficients
  at the mixture's peaks sum to the mixture's; the oracle reads them with ``Analysis.at``).
  Its frequencies are continuous, so the point methods' W lives on the nodes
  ``freq_grid`` (the zero-padded FFT's bins, 1.95 Hz apart at 8 kHz: the parabola puts
  each peak between two of them) and is read at a peak by linear interpolation. Its inverse scales the STFT bins each
  peak owns (from the spectral minimum below it to the one above it) by the peak's
  mask and inverts that STFT, exactly for masks of 1. A peak's weight is the area of
  those bins, for the reason every point is weighted by its area: the mask acts on
  that area, so the weighted fit spends its effort where the masks act, and the
  weights of all points sum to the analysed plane as for the other representations.

:func:`analyse` is the one entry point; :func:`time_grid` is H's time grid for the
point methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from innmf.tf.nsgt import NSGTPlan
from innmf.tf.peak_regions import peak_regions
from innmf.tf.stft import istft, stft, stft_frequencies, stft_times

MULTIRES_WINDOWS = (256, 2048)
"""Window sizes of the two-resolution cloud (samples at the experiment's 8 kHz)."""
SINUSOIDAL: dict[str, Any] = {"window_length": 1024, "hop": 256, "zero_pad": 4, "threshold_db": -80.0}
"""The peaks' analysis (:func:`innmf.tf.peak_regions.peak_regions`): 128 ms Blackman-Harris windows at
8 kHz (its main lobe, ±31 Hz, resolves partials 62 Hz apart), hop N/4, FFT 4N, peaks down to 80 dB
below the signal's strongest (the window's side lobes lie 92 dB down). Fixed here, not a setting, so
that the recorded runs' settings and store keys are unchanged; change it only with a new name."""


@dataclass(frozen=True)
class Analysis:
    """A signal's coefficients in one representation, as flat points.

    Attributes:
        name: the representation (``stft-1024``, ``cqt``, ``cqt-matrix``, ``multires``).
        coefs: (L,) complex coefficients.
        t: (L,) time of each point (s).
        f: (L,) frequency of each point (Hz).
        weights: (L,) time-frequency area of each point, in units of the area of one
            STFT point (N/2 samples x sr/N Hz = half a second-Hz), so STFT points weigh 1.
        bandwidth: (L,) the frequency extent of each point's band (Hz), for rasters.
        regular: whether the points form a full (frequency x time) grid.
        invert: masked coefficients (L,) -> signal of the analysed length.
        freq_grid: for continuous frequencies (``sinusoidal``): the nodes the point methods'
            W lives on, read at the points by linear interpolation; None: W at each distinct f.
        at: another signal of the same length -> its coefficients at these points, where
            they depend on the analysed signal (``sinusoidal``); None: :func:`analyse` it.
    """

    name: str
    coefs: np.ndarray
    t: np.ndarray
    f: np.ndarray
    weights: np.ndarray
    bandwidth: np.ndarray
    regular: bool
    invert: Callable[[np.ndarray], np.ndarray]
    freq_grid: np.ndarray | None = None
    at: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def magnitudes(self) -> np.ndarray:
        return np.abs(self.coefs)


def _stft(x: np.ndarray, sr: float, n_fft: int) -> Analysis:
    # N zeros on either side: every sample then lies under two windows, so the
    # inverse is exact to the edges (the paper's unpadded STFT loses half a window at each end)
    pad = n_fft
    xp = np.concatenate([np.zeros(pad), x, np.zeros(pad + (-len(x)) % (n_fft // 2))])
    X = stft(xp, n_fft)
    freqs, times = stft_frequencies(n_fft, sr), stft_times(X.shape[1], n_fft, sr) - pad / sr
    shape, length, padded = X.shape, len(x), len(xp)

    def invert(c: np.ndarray) -> np.ndarray:
        return istft(np.asarray(c).reshape(shape), n_fft, length=padded)[pad:pad + length]

    return Analysis(f"stft-{n_fft}", X.ravel(), np.tile(times, shape[0]), np.repeat(freqs, shape[1]),
                    np.ones(X.size), np.full(X.size, sr / n_fft), True, invert)


@lru_cache(maxsize=8)
def _plan(length: int, sr: float, matrix_form: bool, params: tuple[tuple[str, Any], ...]) -> NSGTPlan:
    return NSGTPlan(length, sr, matrix_form=matrix_form, **dict(params))


def _cqt(x: np.ndarray, sr: float, matrix_form: bool, cqt_params: dict[str, Any]) -> Analysis:
    plan = _plan(len(x), float(sr), matrix_form, tuple(sorted(cqt_params.items())))
    coefs = plan.flatten(plan.forward(x))
    t = np.concatenate(plan.times)
    f = np.repeat(plan.freqs, [len(tk) for tk in plan.times])
    weights = plan.flat_areas() / 0.5
    bandwidth = np.repeat(plan.bandwidths, [len(tk) for tk in plan.times])

    def invert(c: np.ndarray) -> np.ndarray:
        return plan.inverse(plan.unflatten(np.asarray(c)))

    return Analysis("cqt-matrix" if matrix_form else "cqt", coefs, t, f, weights, bandwidth, matrix_form, invert)


def _multires(x: np.ndarray, sr: float) -> Analysis:
    parts = [_stft(x, sr, n) for n in MULTIRES_WINDOWS]
    sizes = np.cumsum([0] + [len(p.coefs) for p in parts])

    def invert(c: np.ndarray) -> np.ndarray:
        c = np.asarray(c)
        return np.mean([p.invert(c[a:b]) for p, a, b in zip(parts, sizes[:-1], sizes[1:])], axis=0)

    cat = [np.concatenate([getattr(p, k) for p in parts]) for k in ("coefs", "t", "f", "weights", "bandwidth")]
    return Analysis("multires", *cat, False, invert)


def _sinusoidal(x: np.ndarray, sr: float) -> Analysis:
    regions = peak_regions(x, sr, **SINUSOIDAL)
    n_fft = regions.n_fft
    return Analysis("sinusoidal", regions.coefs, regions.peaks.t, regions.peaks.f, regions.areas() / 0.5,
                    regions.bandwidths(), False, regions.invert, freq_grid=np.arange(n_fft // 2 + 1) * sr / n_fft,
                    at=regions.coefficients_of)


def analyse(name: str, x: np.ndarray, sr: float, cqt_params: dict[str, Any]) -> Analysis:
    """One representation of a signal as weighted points with an inverse.

    Args:
        name: ``stft-N`` (N a power of two), ``cqt``, ``cqt-matrix``, ``multires`` or ``sinusoidal``.
        x: mono signal.
        sr: its sample rate (Hz).
        cqt_params: :class:`innmf.tf.nsgt.NSGTPlan`'s band parameters (``f_min``,
            ``f_max``, ``bins_per_octave``, ``redundancy``).

    Returns:
        The :class:`Analysis`.
    """
    x = np.asarray(x, dtype=np.float64)
    if name.startswith("stft-"):
        n = name.split("-", 1)[1]
        if not n.isdigit() or int(n) < 16:
            raise ValueError(f"Unknown representation {name!r}: stft-N needs a window N >= 16 samples.")
        return _stft(x, sr, int(n))
    if name in ("cqt", "cqt-matrix"):
        return _cqt(x, sr, name == "cqt-matrix", cqt_params)
    if name == "multires":
        return _multires(x, sr)
    if name == "sinusoidal":
        return _sinusoidal(x, sr)
    raise ValueError(f"Unknown representation {name!r}; use stft-N, cqt, cqt-matrix, multires or sinusoidal.")


def stem_coefficients(an: Analysis, x: np.ndarray, sr: float, cqt_params: dict[str, Any]) -> np.ndarray:
    """A stem's coefficients at the points of its mixture's analysis ``an`` (the oracle's magnitudes).

    Chapter "Music and environmental sound". Where the points do not depend on the
    signal (STFTs, constant-Q), the stem's own analysis; for the sinusoidal peaks, the
    stem read at the mixture's peaks.

    Args:
        an: the mixture's :class:`Analysis`.
        x: a stem, as long as the mixture.
        sr: sample rate (Hz).
        cqt_params: as in :func:`analyse`.

    Returns:
        (L,) complex coefficients, summing over the stems to ``an.coefs``.
    """
    return an.at(x) if an.at is not None else analyse(an.name, x, sr, cqt_params).coefs


def time_grid(duration: float, step: float) -> np.ndarray:
    """H's time grid for the point methods: 0, step, 2·step, ... covering ``duration`` seconds."""
    if not step > 0:
        raise ValueError(f"The time grid's step must be positive, got {step}.")
    return np.arange(0.0, duration + step, step)
