"""Sinusoidal peaks that invert to audio: each peak owns a region of its frame's spectrum.

Chapter "Music and environmental sound" (the ``sinusoidal`` representation of
:mod:`innmf.experiments.music_reps`). The points are the spectral peaks of
:func:`innmf.tf.sinusoidal.spectral_peaks` (parabolic interpolation of the log
magnitude of a zero-padded Blackman-Harris STFT); a separation gives each peak a
gain (its mask), and the inverse applies that gain to the STFT bins the peak stands
for, then inverts the STFT:

* the STFT is the very one the peaks were picked on (window, hop, zero-padding), of
  the signal padded with N zeros at either end, so that every sample lies under N/hop
  windows and the least-squares overlap-add (each inverse frame's first N samples
  times the window, divided by the overlap-added squared window) gives it back exactly;
* a peak's region is the run of bins of its frame from the spectral minimum between it
  and the peak below to the minimum between it and the peak above (the lowest peak
  reaches down to 0 Hz, the highest up to Nyquist). Minima, not midpoints: a strong
  peak's main lobe (±4 bins of N for Blackman-Harris) can reach past the midpoint to a
  weak neighbour, and the neighbour's mask would then act on the strong source's energy;
* a frame with no peak (all below the threshold: silence) takes the regions of the
  nearest frame that has peaks (ties to the earlier), so every bin has one owner.

Hence the inverse is linear in the gains, gains of 1 give the signal back to rounding,
and gains that sum to 1 over the sources at every peak (oracle masks with p = 1) give
estimates that sum to the mixture. Additive resynthesis of the masked partials was the
alternative; it cannot give a known signal back (the residual between partials, onsets
and noise, would need its own rule), whereas the regions tile the STFT exactly.

A peak's coefficient is the complex windowed DTFT at its frame and interpolated
frequency (:func:`innmf.tf.sinusoidal.spectrum_at`): its modulus is the peak's
magnitude (A/2 for a sinusoid of amplitude A, as ``Peaks.m`` to the parabola's bias),
and it is linear in the signal, so the stems' coefficients at a mixture's peaks sum to
the mixture's and the oracle mask is exact in the sense of the other representations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import get_window

from innmf.tf.sinusoidal import Peaks, spectral_peaks, spectrum_at
from innmf.tf.stft import _overlap_add, check_signal, frames


def padded_stft(x: np.ndarray, window_length: int, hop: int, zero_pad: int, window: str) -> np.ndarray:
    """The zero-padded STFT that :func:`~innmf.tf.sinusoidal.spectral_peaks` searches, complex.

    Chapter "Music and environmental sound" (the sinusoidal representation's regions and inverse).

    Args:
        x: mono signal (at least ``window_length`` samples).
        window_length, hop, zero_pad, window: as in :func:`~innmf.tf.sinusoidal.spectral_peaks`.

    Returns:
        (n_frames, zero_pad·N/2 + 1) complex: frame j is the rfft of ``x[j·hop : j·hop + N]``
        times the window, zero-padded to ``zero_pad``·N (unnormalised).
    """
    w = get_window(window, window_length, fftbins=True)
    return np.fft.rfft(frames(check_signal(x, window_length), window_length, hop) * w, n=zero_pad * window_length,
                       axis=1)


def inverse_padded_stft(X: np.ndarray, window_length: int, hop: int, window: str) -> np.ndarray:
    """Least-squares inverse of :func:`padded_stft`: first N samples of each inverse frame, weighted overlap-add.

    The analysis maps x to frames w·x_j zero-padded to n_fft; its least-squares inverse is
    Σ_j w·irfft(X_j)[:N] / Σ_j w² (the padded part of a modified frame is dropped, as the
    analysis never sees it). Samples under no window come back as 0. Chapter "Music and
    environmental sound"; tested against ``scipy.signal.istft``.

    Args:
        X: (n_frames, n_fft/2 + 1) complex spectra, n_fft = zero_pad·N.
        window_length, hop, window: those of the analysis.

    Returns:
        The signal the frames cover, N + hop·(n_frames − 1) samples.
    """
    n_fft = 2 * (X.shape[1] - 1)
    w = get_window(window, window_length, fftbins=True)
    total = window_length + hop * (len(X) - 1)
    y = _overlap_add(np.fft.irfft(X, n=n_fft, axis=1)[:, :window_length] * w, hop, total)
    ola = _overlap_add(np.broadcast_to(w**2, (len(X), window_length)), hop, total)
    return np.where(ola > 0, y / np.where(ola > 0, ola, 1.0), 0.0)


def peak_bins(magnitude: np.ndarray, peaks: Peaks, n_fft: int) -> np.ndarray:
    """The FFT bin (of the zero-padded grid) each peak is the local maximum of (chapter "Music and environmental sound").

    The parabola moves a peak by at most half a bin, so its bin is the floor or the
    ceiling of f·n_fft/sr, whichever is larger in the frame (ties to the floor).

    Args:
        magnitude: (n_frames, n_bins) |STFT| the peaks were found on.
        peaks: the peaks.
        n_fft: that STFT's FFT size.

    Returns:
        (L,) bin indices.
    """
    x = peaks.f * n_fft / peaks.sr
    lo = np.clip(np.floor(x).astype(np.int64), 0, magnitude.shape[1] - 1)
    hi = np.clip(lo + 1, 0, magnitude.shape[1] - 1)
    return np.where(magnitude[peaks.frame, hi] > magnitude[peaks.frame, lo], hi, lo)


def region_owner(magnitude: np.ndarray, frame: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Which peak each bin of each frame belongs to (module docstring: minima between peaks).

    Chapter "Music and environmental sound": the regions a peak's mask scales.

    Args:
        magnitude: (n_frames, n_bins) |STFT|.
        frame: each peak's frame, non-decreasing; bins increasing within a frame.
        bins: each peak's bin.

    Returns:
        (n_frames, n_bins) int32 peak indices; all −1 when there are no peaks.
    """
    n_frames, n_bins = magnitude.shape
    owner = np.full((n_frames, n_bins), -1, dtype=np.int32)
    if len(frame) == 0:
        return owner
    left = np.flatnonzero(frame[1:] == frame[:-1])  # neighbouring peaks (left, left + 1) of one frame
    lengths = bins[left + 1] - bins[left] + 1
    starts = np.cumsum(lengths) - lengths
    pos = np.repeat(bins[left] - starts, lengths) + np.arange(int(lengths.sum()))
    values = magnitude[np.repeat(frame[left], lengths), pos]
    marks = np.zeros((n_frames, n_bins), dtype=np.int32)
    if len(left):
        minima = np.minimum.reduceat(values, starts)
        at_min = np.flatnonzero(values == np.repeat(minima, lengths))
        _, first = np.unique(np.repeat(np.arange(len(left)), lengths)[at_min], return_index=True)
        # the first minimum; never the left peak's own bin (a flat top), so every peak keeps its bin
        valley = np.maximum(pos[at_min[first]], bins[left] + 1)
        np.add.at(marks, (frame[left], valley), 1)  # from the valley on, the next peak's
    has, first_peak = np.unique(frame, return_index=True)
    marks[has, 0] += first_peak.astype(np.int32)
    owner[has] = np.cumsum(marks[has], axis=1)
    # frames without peaks: the regions of the nearest frame with peaks (ties to the earlier)
    j = np.arange(n_frames)
    k = np.clip(np.searchsorted(has, j), 1, len(has) - 1) if len(has) > 1 else np.zeros(n_frames, dtype=np.int64)
    donor = has[k] if len(has) == 1 else np.where(j - has[k - 1] <= has[k] - j, has[k - 1], has[k])
    return owner[donor]


@dataclass(frozen=True)
class PeakRegions:
    """A signal's sinusoidal peaks, their coefficients, and the STFT regions they own.

    Attributes:
        peaks: the peaks, times in seconds of the unpadded signal.
        coefs: (L,) complex windowed DTFT at each peak (calibrated as ``peaks.m``).
        owner: (n_frames, n_bins) the peak each bin of the padded STFT belongs to.
        padded: the analysed signal (N zeros before, N and a hop's remainder after).
        length: samples of the original signal.
        window_length, hop, zero_pad, window: the analysis.
    """

    peaks: Peaks
    coefs: np.ndarray
    owner: np.ndarray
    padded: np.ndarray
    length: int
    window_length: int
    hop: int
    zero_pad: int
    window: str

    @property
    def n_fft(self) -> int:
        return self.zero_pad * self.window_length

    def areas(self) -> np.ndarray:
        """Each peak's time-frequency area (s·Hz): the bins it owns, each hop/sr s by sr/n_fft Hz."""
        return np.bincount(self.owner.ravel(), minlength=len(self.coefs)) * self.hop / self.n_fft

    def bandwidths(self) -> np.ndarray:
        """Each peak's frequency extent in its own frame (Hz)."""
        own = self.owner[np.unique(self.peaks.frame)]  # a frame with peaks holds only its own
        return np.bincount(own.ravel(), minlength=len(self.coefs)) * self.peaks.sr / self.n_fft

    def coefficients_of(self, x: np.ndarray) -> np.ndarray:
        """Another signal's coefficients at these peaks (a stem at its mixture's peaks): (L,) complex."""
        xp = _pad(check_signal(x), self.window_length, self.hop)
        if len(xp) != len(self.padded):
            raise ValueError(f"Need a signal of {self.length} samples, the analysed one's length; got {len(x)}.")
        return spectrum_at(xp, self.peaks.sr, self.peaks.frame, self.peaks.f, self.window_length, self.hop,
                           self.window, complex_values=True)

    def invert(self, masked: np.ndarray) -> np.ndarray:
        """The signal whose peaks carry ``masked`` coefficients: each region scaled by masked/coefs.

        A peak whose coefficient is exactly 0 keeps a gain of 1 (it carries nothing to scale).
        """
        masked = np.asarray(masked).reshape(-1)
        if masked.shape != self.coefs.shape:
            raise ValueError(f"Need one coefficient per peak ({len(self.coefs)}), got {masked.size}.")
        nonzero = self.coefs != 0
        gains = np.where(nonzero, masked / np.where(nonzero, self.coefs, 1.0), 1.0)
        X = padded_stft(self.padded, self.window_length, self.hop, self.zero_pad, self.window)
        if len(gains):
            X = X * gains[self.owner]
        else:  # no peaks at all: the signal was digital silence, and so is any estimate of it
            X = np.zeros_like(X)
        y = inverse_padded_stft(X, self.window_length, self.hop, self.window)
        return y[self.window_length:self.window_length + self.length]


def _pad(x: np.ndarray, window_length: int, hop: int) -> np.ndarray:
    return np.concatenate([np.zeros(window_length), x, np.zeros(window_length + (-len(x)) % hop)])


def peak_regions(x: np.ndarray, sr: float, window_length: int = 1024, hop: int | None = None, zero_pad: int = 4,
                 window: str = "blackmanharris", threshold_db: float = -80.0,
                 max_peaks: int | None = None) -> PeakRegions:
    """Peaks of a signal with the regions they own, ready to be masked and inverted.

    Chapter "Music and environmental sound" (``analyse("sinusoidal", ...)`` of the music experiment).

    Args:
        x: mono signal.
        sr: sample rate (Hz).
        window_length, hop, zero_pad, window, threshold_db, max_peaks: as in
            :func:`~innmf.tf.sinusoidal.spectral_peaks` (hop default N/4).

    Returns:
        :class:`PeakRegions`; ``invert(coefs)`` gives ``x`` back.
    """
    x = check_signal(x)
    hop = window_length // 4 if hop is None else int(hop)
    xp = _pad(x, window_length, hop)
    peaks = spectral_peaks(xp, sr, window_length, hop, zero_pad=zero_pad, window=window, threshold_db=threshold_db,
                           max_peaks=max_peaks)
    magnitude = np.abs(padded_stft(xp, window_length, hop, zero_pad, window))
    owner = region_owner(magnitude, peaks.frame, peak_bins(magnitude, peaks, zero_pad * window_length))
    coefs = spectrum_at(xp, sr, peaks.frame, peaks.f, window_length, hop, window, complex_values=True)
    shifted = Peaks(peaks.frame, peaks.t - window_length / sr, peaks.f, peaks.m, peaks.partial, peaks.sr, len(x) / sr)
    return PeakRegions(shifted, coefs, owner, xp, len(x), window_length, hop, zero_pad, window)
