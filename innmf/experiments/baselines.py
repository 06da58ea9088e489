"""NMF-interp: the baseline a user without implicit networks would try across window sizes.

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
"""

from __future__ import annotations

import numpy as np

from innmf.tf.stft import stft_frequencies

INTERP_METHOD = "NMF-interp"
"""Method name of this baseline in the results (rows, tables, figures)."""


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
    W = np.asarray(W, dtype=np.float64)
    n_from, n_to = int(n_fft_from), int(n_fft_to)
    if W.ndim != 2 or W.shape[0] != n_from // 2 + 1:
        raise ValueError(
            f"W has shape {W.shape} but an N={n_from} STFT has {n_from // 2 + 1} bins; "
            "pass the dictionary learned at n_fft_from (bins x K)."
        )
    if not np.all(np.isfinite(W)) or np.any(W < 0):
        raise ValueError("W must be finite and non-negative (an NMF dictionary).")
    if n_to < 2:
        raise ValueError(f"n_fft_to must be at least 2, got {n_to}.")
    # Hz with sr = 1 (cycles per sample): the sample rate cancels from a linear interpolation
    f_from, f_to = stft_frequencies(n_from, 1.0), stft_frequencies(n_to, 1.0)
    return np.stack([np.interp(f_to, f_from, W[:, k]) for k in range(W.shape[1])], axis=1)


def refit_activations(
    V: np.ndarray,
    W: np.ndarray,
    epochs: int,
    optimizer: str = "rprop",
    lr: float = 1e-3,
    seed: int = 0,
    device: str = "cpu",
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

    Returns:
        H, shape (K, T).
    """
    from innmf.models.activations import fit_activations

    fitted = fit_activations(V, [W], epochs=int(epochs), optimizer=optimizer, lr=float(lr), seed=int(seed),
                             device=device, loss_every=int(epochs))
    return fitted.H[0]
