"""NMF-interp and NMF-resample: baselines a user without implicit networks would try across window sizes.

iN-NMF's window-size claim (chapters "Reconstruction across window sizes" and
"Separating two speakers") is that a dictionary learned at one window size N_0 serves
every other N without retraining, because the networks W_k(f) can be sampled at any
frequency. A plain NMF dictionary can be "sampled" too: interpolate each column
linearly in Hz (on the compressed magnitudes it models) from N_0's bin frequencies
k·sr/N_0 to N's bin frequencies k·sr/N. This module does exactly that
(:func:`interpolate_dictionary`); the activations are then refitted exactly as
iN-NMF's are (:func:`refit_activations`: the same Rprop, epochs and U[0, 1) init of
:meth:`innmf.models.implicit.ImplicitWNMF.refit_H`, through the same
:func:`innmf.models.implicit.fit_activations`), so the two methods differ in the
dictionary only.

Every STFT here runs from 0 Hz to the Nyquist frequency, so the target bins always
lie inside the training bins' range and the interpolation never extrapolates; at
N = N_0 it is the identity.

NMF-resample (:func:`resample_dictionary`) is the anti-aliased transfer: going to
coarser bins, linear interpolation point-samples sharp harmonics, while an STFT at N
sees every component through N's window. So the N_0 templates are first uncompressed
(``|X|^2 = W^(2/p)``), smoothed in frequency by the power spectrum of N's analysis window
(what a stationary source with that power spectrum gives at N, on average), resampled
linearly in Hz onto N's bins, and recompressed; H is refitted as for NMF-interp.
"""

from __future__ import annotations

import numpy as np

from innmf.tf.stft import analysis_window, stft_frequencies

INTERP_METHOD = "NMF-interp"
"""Method name of this baseline in the results (rows, tables, figures)."""
RESAMPLE_METHOD = "NMF-resample"
"""Method name of the anti-aliased transfer (:func:`resample_dictionary`) in the results."""



def _check_dictionary(W: np.ndarray, n_fft_from: int) -> np.ndarray:
    """W as float64, refused unless it is a finite non-negative (bins of ``n_fft_from``) x K dictionary."""
    W = np.asarray(W, dtype=np.float64)
    n_from = int(n_fft_from)
    if W.ndim != 2 or W.shape[0] != n_from // 2 + 1:
        raise ValueError(
            f"W has shape {W.shape} but an N={n_from} STFT has {n_from // 2 + 1} bins; "
            "pass the dictionary learned at n_fft_from (bins x K)."
        )
    if not np.all(np.isfinite(W)) or np.any(W < 0):
        raise ValueError("W must be finite and non-negative (an NMF dictionary).")
    return W

def interpolate_dictionary(W: np.ndarray, n_fft_from: int, n_fft_to: int) -> np.ndarray:
    """Resample an STFT dictionary from one window size's bins to another's, linearly in Hz.

    Args:
        W: templates (n_fft_from // 2 + 1, K) on the compressed magnitudes (K the rank).
        n_fft_from: the window size N_0 W was learned at (the training N).
        n_fft_to: the window size N to sample it at.

    Returns:
        (n_fft_to // 2 + 1, K) non-negative templates; W itself (a copy) when N = N_0.

    Raises:
        ValueError: W's rows do not match ``n_fft_from``'s bins, or W is negative or not finite.
    """
    W = _check_dictionary(W, n_fft_from)
    n_from, n_to = int(n_fft_from), int(n_fft_to)
    if n_to < 2:
        raise ValueError(f"n_fft_to must be at least 2, got {n_to}.")
    # Hz with sr = 1 (cycles per sample): the sample rate cancels from a linear interpolation
    f_from, f_to = stft_frequencies(n_from, 1.0), stft_frequencies(n_to, 1.0)
    return np.stack([np.interp(f_to, f_from, W[:, k]) for k in range(W.shape[1])], axis=1)


def window_kernel(n_fft: int, n_fft_from: int) -> np.ndarray:
    """Power spectrum ``|w_N(f)|^2`` of N's analysis window at the offsets m / N_0 (cycles per sample).

    The smoothing kernel of :func:`resample_dictionary` (chapters "Reconstruction across
    window sizes" and "Separating two speakers", method ``NMF-resample``).

    Args:
        n_fft: the window size N whose window (:func:`innmf.tf.stft.analysis_window`) is transformed.
        n_fft_from: N_0; the kernel is evaluated at f = m / N_0, m = 0 .. N_0 - 1 (one period).

    Returns:
        (N_0,) non-negative weights summing to 1 (the DTFT is exact: the window is folded
        modulo N_0 before a length-N_0 DFT, so N > N_0 needs no approximation).
    """
    n, n_from = int(n_fft), int(n_fft_from)
    folded = np.bincount(np.arange(n) % n_from, weights=analysis_window(n), minlength=n_from)
    kernel = np.abs(np.fft.fft(folded)) ** 2
    return kernel / kernel.sum()


def resample_dictionary(W: np.ndarray, n_fft_from: int, n_fft_to: int, power: float) -> np.ndarray:
    """Carry an STFT dictionary from N_0's bins to N's, anti-aliased by N's window (NMF-resample).

    Chapters "Reconstruction across window sizes" and "Separating two speakers" (the
    method ``NMF-resample``). Each template W_k models compressed magnitudes ``|X|^p``. It
    is uncompressed to power ``P = W^(2/p)`` on N_0's bins, extended to the full circle of
    frequencies (a real signal's spectrum is even and periodic in the sample rate),
    smoothed by circular convolution with :func:`window_kernel` (N's window, evaluated
    at the N_0 bin offsets, normalised to sum 1), resampled linearly in Hz onto N's bin
    frequencies and recompressed, ``P^(p/2)``.

    What this is at each N:

    * N < N_0 (coarser bins): the kernel's main lobe (±1.5 bins of N for the paper's
      square-root Hann window) spans several N_0 bins, so a sharp harmonic is spread
      as N's own window would spread it instead of being point-sampled.
    * N = N_0: not the identity. W comes back smoothed by N_0's own kernel; for the
      square-root Hann window the power weights are about 8/pi^2 = 0.81 on the bin and
      0.09 on each neighbour (the N_0 dictionary already holds one such smoothing).
    * N > N_0 (finer bins): the kernel is narrower than the N_0 bin spacing (its first
      zero lies at 1.5 / N < 1 / N_0 for N > 1.5 N_0), so the smoothing is nearly the
      identity (centre weight above 0.96 at N = 2500, 0.99 at 4096 from N_0 = 2000)
      and the transfer is linear interpolation of the powers in Hz.

    A flat template stays flat at every N; the sample rate cancels (Hz are taken in
    cycles per sample).

    Args:
        W: templates (n_fft_from // 2 + 1, K) on the compressed magnitudes, K the rank.
        n_fft_from: N_0, the window size W was learned at.
        n_fft_to: N, the window size to carry W to.
        power: the paper's exponent p of ``V = |STFT|^p`` (0.5 in its settings).

    Returns:
        (n_fft_to // 2 + 1, K) finite non-negative templates on the same compressed scale.

    Raises:
        ValueError: W's rows do not match ``n_fft_from``'s bins, W is negative or not
            finite, ``power`` is not positive, or ``n_fft_to`` is below 2.
    """
    W = _check_dictionary(W, n_fft_from)
    n_from = int(n_fft_from)
    p = float(power)
    if not np.isfinite(p) or p <= 0:
        raise ValueError(f"power (the exponent p of |STFT|^p) must be positive and finite, got {power!r}.")
    if int(n_fft_to) < 2:
        raise ValueError(f"n_fft_to must be at least 2, got {n_fft_to}.")
    P = W ** (2.0 / p)
    kernel = window_kernel(int(n_fft_to), n_from)
    # circular convolution over the full circle as one sum of non-negative terms (no FFT
    # rounding, which the recompression would magnify near 0): bin k stands for k and N_0 - k
    i, k = np.arange(P.shape[0])[:, None], np.arange(P.shape[0])[None, :]
    mirrored = (k > 0) & (2 * k != n_from)
    smoothing = kernel[(i - k) % n_from] + np.where(mirrored, kernel[(i + k) % n_from], 0.0)
    return interpolate_dictionary(smoothing @ P, n_from, int(n_fft_to)) ** (p / 2.0)


def refit_activations(
    V: np.ndarray,
    W: np.ndarray,
    epochs: int,
    optimizer: str = "rprop",
    lr: float = 1e-3,
    seed: int = 0,
    device: str = "cpu",
    kernel: str = "blas",
) -> np.ndarray:
    """Fit H on V with W fixed, exactly as iN-NMF's refit (``ImplicitWNMF.refit_H``).

    Args:
        V: compressed magnitudes at the new window size (F x T).
        W: the fixed dictionary at V's bins (F x K), e.g. from :func:`interpolate_dictionary`.
        epochs: optimiser steps (the paper's refit: 1000; the profiles' ``refit_epochs``).
        optimizer: ``"rprop"`` (the paper's) or ``"adam"``.
        lr: learning rate.
        seed: seed of H's U[0, 1) initialisation (the runner passes iN-NMF's, so both
            methods start their refit from the same H).
        device: where to compute.
        kernel: the Rprop fit's implementation, ``"blas"`` (the recorded runs') or ``"fused"``
            (:mod:`innmf.accel.refit_fused`, the same steps within rounding), as iN-NMF's.

    Returns:
        H, shape (K, T).
    """
    from innmf.models.activations import fit_activations

    fitted = fit_activations(V, [W], epochs=int(epochs), optimizer=optimizer, lr=float(lr), seed=int(seed),
                             device=device, loss_every=int(epochs), kernel=kernel)
    return fitted.H[0]
