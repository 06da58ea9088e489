"""Invertible constant-Q transform as a painless non-stationary Gabor transform (NSGT).

Balazs, Dörfler, Jaillet, Holighaus, Velasco (2011), "Theory, implementation and
applications of nonstationary Gabor frames"; Holighaus et al. (2013) for the
constant-Q case. Computed on the whole signal (one rfft of L samples, bins
ω_j = j·sr/L, j = 0..L//2) for the chapter "Irregular and hybrid representations":
the ragged form (band k has its own M_k coefficients, so its own hop) is the
irregular representation, the matrix form (every M_k = max M_k) the regular one.

Windows (frequency domain). Centres f_i = f_min·2^(i/B) up to f_max, with two edge
bands: a low-pass band at 0 Hz and a high-pass band at Nyquist. Band k's window rises
as half a Hann window from the centre below to its own centre and falls as half a
Hann window to the centre above, so it lives on [f_{k-1}, f_{k+1}] and peaks (1) at f_k.
The low-pass band is 1 on [0, f_min·2^(-1/B)] and falls to 0 at f_min; the high-pass
band rises from the top centre to min(top·2^(1/B), sr/2) and is 1 above. Neighbours
share each transition, so Σ_k g_k(ω) = 1 everywhere (a partition of unity) and
D(ω) = Σ_k g_k(ω)² lies in [1/2, 1]: never 0, so the inverse is well conditioned.

Coefficients. Band k's support bins j (where g_k > 0), multiplied by g_k, go to index
j mod M_k of a length-M_k buffer (M_k ≥ support length: the painless case, no
aliasing); c_k = (2·M_k/L)·ifft(buffer), that is
c_k[m] = (2/L)·Σ_{j=0}^{L//2} g_k(ω_j)·X_j·exp(2πi·j·m/M_k): the analytic band signal
at time m·L/M_k samples, true phase (not demodulated). A sinusoid of amplitude A at
f_k gives |c_k[m]| ≈ A. The 0 Hz and Nyquist bins have no negative-frequency twin, so
they read twice their value (a constant A gives 2A in the low-pass band).

Adjoint and dual. :meth:`NSGTPlan.adjoint` (fft of each band, times g_k, summed into
the spectrum, irfft) is the exact adjoint of :meth:`NSGTPlan.forward` for the
coefficient inner product Σ_k (L/(2·M_k))·Re Σ_m c_k[m]·conj(d_k[m]) (each
coefficient weighted by its hop) and the signal inner product (2/L)·Re Σ_{j=0}^{L//2}
X_j·conj(Y_j) (the usual one, except the 0 Hz and Nyquist bins count twice).
adjoint∘forward multiplies the spectrum by D (a diagonal frame operator), so
:meth:`NSGTPlan.inverse` (adjoint, then divide by D) is the canonical dual: for any
coefficients (masked ones too) it returns the signal whose coefficients are nearest
in the hop-weighted norm.

Bandwidth of a band: ∫ g_k(ω) dω over [0, sr/2] (half the support for a log band:
(f_{k+1} − f_{k-1})/2); the bandwidths tile [0, sr/2] exactly. The area of a
coefficient is hop (s) × bandwidth (Hz), so the areas of all points sum to
duration × sr/2.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from innmf.tf.pointcloud import PointCloud
from innmf.tf.stft import check_signal


def _hann_rise(w: np.ndarray, a: float, b: float) -> np.ndarray:
    """0 at and below a, 1 at and above b (a < b), half a Hann window between."""
    u = np.clip((w - a) / (b - a), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * u)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


class NSGTPlan:
    """Windows and coefficient grids of a constant-Q NSGT for signals of one length.

    Used by the chapter "Irregular and hybrid representations" (ragged vs matrix form).

    Args:
        length: L, signal length in samples (every signal passed must have it).
        sr: sample rate (Hz).
        f_min: lowest log-spaced centre (Hz), > 0.
        f_max: highest allowed centre (Hz), below Nyquist.
        bins_per_octave: B.
        matrix_form: every band gets M = max M_k coefficients (a regular grid).
        redundancy: M_k = support length × redundancy, rounded up to an even integer (≥ 1).

    Attributes:
        freqs: centre of each band (Hz): 0, f_min·2^(i/B)..., sr/2.
        bandwidths: ∫ g_k (Hz), see the module docstring.
        n_coefs: M_k per band.
        hops: L/(M_k·sr), seconds between a band's coefficients.
        times: per band, m·L/M_k/sr (s).
        areas: hops × bandwidths (s·Hz) per band.
        frame_diagonal: D(ω_j) = Σ_k g_k(ω_j)² at each rfft bin.
    """

    def __init__(self, length: int, sr: float, f_min: float, f_max: float, bins_per_octave: int,
                 matrix_form: bool = False, redundancy: float = 1.0) -> None:
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 2:
            raise ValueError(f"length must be an integer number of samples ≥ 2, got {length!r}.")
        if not (np.isfinite(sr) and sr > 0):
            raise ValueError(f"Sample rate must be positive, got {sr}.")
        nyquist = sr / 2
        if not f_min > 0:
            raise ValueError(f"f_min must be positive (the low-pass band covers 0 Hz), got {f_min:g} Hz.")
        if not f_max < nyquist:
            raise ValueError(f"f_max ({f_max:g} Hz) must lie below Nyquist ({nyquist:g} Hz); the high-pass band covers it.")
        if not f_min < f_max:
            raise ValueError(f"f_min ({f_min:g} Hz) must be below f_max ({f_max:g} Hz).")
        if isinstance(bins_per_octave, bool) or int(bins_per_octave) != bins_per_octave or bins_per_octave < 1:
            raise ValueError(f"bins_per_octave must be an integer ≥ 1, got {bins_per_octave!r}.")
        if not (np.isfinite(redundancy) and redundancy >= 1):
            raise ValueError(f"redundancy must be ≥ 1 (M_k below the support length aliases), got {redundancy}.")
        self.length, self.sr, self.f_min, self.f_max = int(length), float(sr), float(f_min), float(f_max)
        self.bins_per_octave, self.matrix_form, self.redundancy = int(bins_per_octave), bool(matrix_form), float(redundancy)
        B = self.bins_per_octave
        n_log = int(np.floor(B * np.log2(f_max / f_min) + 1e-9)) + 1
        logf = f_min * 2.0 ** (np.arange(n_log) / B)
        # Transition points: log band k (1..n_log) rises over [edges[k-1], edges[k]] and falls over [edges[k], edges[k+1]].
        edges = np.concatenate([[f_min * 2.0 ** (-1 / B)], logf, [min(logf[-1] * 2.0 ** (1 / B), nyquist)]])
        self.freqs = _readonly(np.concatenate([[0.0], logf, [nyquist]]))
        n_bands = len(self.freqs)
        L = self.length
        omega = np.arange(L // 2 + 1) * sr / L
        bins, vals, bw = [], [], np.empty(n_bands)
        for k in range(n_bands):
            if k == 0:  # low-pass: plateau to edges[0], falls to f_min
                a, b, c, d = 0.0, 0.0, edges[0], edges[1]
            elif k == n_bands - 1:  # high-pass: rises from the top centre, plateau to Nyquist
                a, b, c, d = edges[-2], edges[-1], nyquist, nyquist
            else:
                a, b, c, d = edges[k - 1], edges[k], edges[k], edges[k + 1]
            bw[k] = (b - a) / 2 + (c - b) + (d - c) / 2
            lo = 0 if k == 0 else int(np.floor(a * L / sr)) + 1  # first bin strictly above a
            hi = L // 2 if k == n_bands - 1 else int(np.ceil(d * L / sr)) - 1  # last bin strictly below d
            j = np.arange(lo, min(hi, L // 2) + 1)
            rise = _hann_rise(omega[j], a, b) if k > 0 else 1.0
            g = rise * (1.0 - _hann_rise(omega[j], c, d)) if k < n_bands - 1 else rise
            keep = g > 0
            j, g = j[keep], g[keep]
            if len(j) == 0:
                raise ValueError(
                    f"Band {k} ({self.freqs[k]:.2f} Hz) holds no rfft bin: it is narrower than the bin spacing "
                    f"{sr / L:.3g} Hz; use a longer signal, fewer bins per octave or a higher f_min."
                )
            bins.append(j)
            vals.append(g)
        support = np.array([len(j) for j in bins])
        M = 2 * np.ceil(support * self.redundancy / 2).astype(np.int64)
        if self.matrix_form:
            M[:] = M.max()
        self.n_coefs = _readonly(M)
        self.bandwidths = _readonly(bw)
        self.hops = _readonly(L / (M * sr))
        self.areas = _readonly(self.hops * bw)
        self.times = [_readonly(np.arange(m) * L / m / sr) for m in M]
        self._bins, self._vals = bins, vals
        self._offsets = np.concatenate([[0], np.cumsum(M)])
        D = np.zeros(L // 2 + 1)
        for j, g in zip(bins, vals):
            D[j] += g * g
        self.frame_diagonal = _readonly(D)
        # Flat gather/scatter indices, and bands grouped by M_k so that equal sizes share one batched FFT.
        self._bin_all = np.concatenate(bins)
        self._g_all = np.concatenate(vals)
        self._groups = []
        bin_offsets = np.concatenate([[0], np.cumsum(support)])
        for m in np.unique(M):
            members = np.flatnonzero(M == m)
            rows = np.concatenate([np.full(len(bins[k]), r) for r, k in enumerate(members)])
            cols = np.concatenate([bins[k] % m for k in members])
            idx = np.concatenate([np.arange(bin_offsets[k], bin_offsets[k + 1]) for k in members])
            self._groups.append((int(m), members, rows, cols, idx))

    # sizes -----------------------------------------------------------------------------
    @property
    def n_bands(self) -> int:
        return len(self.freqs)

    @property
    def n_points(self) -> int:
        """Total number of coefficients Σ_k M_k."""
        return int(self._offsets[-1])

    @property
    def duration(self) -> float:
        return self.length / self.sr

    def window(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(rfft bin indices, g_k at those bins) of band k's support."""
        return self._bins[k].copy(), self._vals[k].copy()

    # transforms ------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> list[np.ndarray]:
        """Analysis: one complex array of M_k coefficients per band (calibrated, module docstring).

        Args:
            x: real signal of exactly ``length`` samples.

        Returns:
            list of ``n_bands`` complex arrays, band k of length M_k.
        """
        x = check_signal(x)
        if len(x) != self.length:
            raise ValueError(f"The signal has {len(x)} samples but the plan was built for {self.length}; build a plan for it.")
        weighted = np.fft.rfft(x)[self._bin_all] * self._g_all
        coefs: list[np.ndarray] = [np.empty(0)] * self.n_bands
        for m, members, rows, cols, idx in self._groups:
            buf = np.zeros((len(members), m), dtype=np.complex128)
            buf[rows, cols] = weighted[idx]
            out = np.fft.ifft(buf, axis=1) * (2.0 * m / self.length)
            for r, k in enumerate(members):
                coefs[k] = out[r]
        return coefs

    def adjoint(self, coefs: Sequence[np.ndarray]) -> np.ndarray:
        """Adjoint of :meth:`forward` (inner products in the module docstring): no division by D.

        Args:
            coefs: one array of M_k coefficients per band.

        Returns:
            real signal of ``length`` samples; its spectrum is D·X when ``coefs = forward(x)``.
        """
        return np.fft.irfft(self._synthesis_spectrum(coefs), n=self.length)

    def inverse(self, coefs: Sequence[np.ndarray]) -> np.ndarray:
        """Synthesis with the canonical dual: adjoint, then divide the spectrum by D.

        Args:
            coefs: one array of M_k coefficients per band (e.g. masked by :meth:`apply_mask`).

        Returns:
            real signal of ``length`` samples (exactly x when ``coefs = forward(x)``).
        """
        return np.fft.irfft(self._synthesis_spectrum(coefs) / self.frame_diagonal, n=self.length)

    def _synthesis_spectrum(self, coefs: Sequence[np.ndarray]) -> np.ndarray:
        coefs = self._check_coefs(coefs)
        weighted = np.empty(len(self._bin_all), dtype=np.complex128)
        for m, members, rows, cols, idx in self._groups:
            spec = np.fft.fft(np.stack([coefs[k] for k in members]).astype(np.complex128), axis=1) * (self.length / (2.0 * m))
            weighted[idx] = spec[rows, cols]
        weighted *= self._g_all
        n = self.length // 2 + 1
        return (np.bincount(self._bin_all, weighted.real, minlength=n)
                + 1j * np.bincount(self._bin_all, weighted.imag, minlength=n))

    def _check_coefs(self, coefs: Sequence[np.ndarray], what: str = "coefficient") -> list[np.ndarray]:
        if isinstance(coefs, np.ndarray) and coefs.ndim == 1:
            raise ValueError(f"Expected one {what} array per band (a list), got one flat array; use plan.unflatten.")
        if len(coefs) != self.n_bands:
            raise ValueError(f"Expected {self.n_bands} {what} arrays (one per band), got {len(coefs)}.")
        out = []
        for k, (c, m) in enumerate(zip(coefs, self.n_coefs)):
            c = np.asarray(c)
            if c.shape != (m,):
                raise ValueError(f"Band {k} needs {m} {what}s (1-D), got shape {c.shape}.")
            if not np.all(np.isfinite(c)):
                raise ValueError(f"Band {k} {what}s contain NaN or infinite values.")
            out.append(c)
        return out

    # flat per-point views (PointCloud.from_bins order: band by band, time ascending) -------
    def flatten(self, values: Sequence[np.ndarray]) -> np.ndarray:
        """Concatenate per-band arrays (coefficients, masks, ...) into one array of ``n_points``.

        Args:
            values: one array of M_k values per band.

        Returns:
            1-D array in the order of :meth:`points` (band by band, time ascending).
        """
        return np.concatenate(self._check_coefs(values, "value"))

    def unflatten(self, values: np.ndarray) -> list[np.ndarray]:
        """Split an array of ``n_points`` values into one array per band (inverse of :meth:`flatten`)."""
        values = np.asarray(values)
        if values.shape != (self.n_points,):
            raise ValueError(f"Expected a 1-D array of {self.n_points} values (one per point), got shape {values.shape}.")
        return [values[self._offsets[k]:self._offsets[k + 1]].copy() for k in range(self.n_bands)]

    def flat_areas(self) -> np.ndarray:
        """Time-frequency area (s·Hz) of each point, in the order of :meth:`points`."""
        return np.repeat(self.areas, self.n_coefs)

    def points(self, coefs: Sequence[np.ndarray], name: str = "nsgt") -> PointCloud:
        """``|c|`` as a :class:`PointCloud` (band centre frequency, coefficient time)."""
        mags = [np.abs(c) for c in self._check_coefs(coefs)]
        return PointCloud.from_bins(self.times, self.freqs, mags, name, self.sr, self.duration)

    def apply_mask(self, coefs: Sequence[np.ndarray], mask_flat: np.ndarray) -> list[np.ndarray]:
        """Multiply each coefficient by a real, non-negative mask value (phase kept).

        Args:
            coefs: one array per band.
            mask_flat: ``n_points`` mask values in the order of :meth:`points`.

        Returns:
            masked coefficients, one array per band (pass to :meth:`inverse`).
        """
        mask_flat = np.asarray(mask_flat)
        if np.iscomplexobj(mask_flat):
            raise ValueError("The mask must be real (a magnitude mask; the phase of the coefficients is kept).")
        mask_flat = mask_flat.astype(np.float64)
        if not np.all(np.isfinite(mask_flat)):
            raise ValueError("The mask contains NaN or infinite values.")
        if np.any(mask_flat < 0):
            raise ValueError("The mask must be non-negative (a magnitude mask); take its absolute value or clip it.")
        return [c * mk for c, mk in zip(self._check_coefs(coefs), self.unflatten(mask_flat))]
