"""Supervised two-speaker separation by soft (Wiener-like) masking.

Implements the separation step of the paper (book/paper_setup.md §3 "Separation";
Subramani et al. 2024, arXiv:2404.04439): each speaker i has a model V̂_i = W_i H_i
of the *compressed* mixture magnitude |X|^p; the masks M_i = V̂_i / Σ_j V̂_j are
applied to |X|^p, the result is raised back to the power 1/p, the mixture phase is
reused and the inverse STFT gives the speaker's signal.

Used by the separation experiment runner and the chapters "Separating two
speakers" and "Window-size generalisation".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from innmf.data.validation import check_float
from innmf.paper.arrays import as_finite_array
from innmf.tf.stft import check_n_fft, istft, stft


def wiener_masks(V_hats: Sequence[np.ndarray], eps: float = 0.0) -> list[np.ndarray]:
    """Soft masks M_i = V̂_i / Σ_j V̂_j, one per source model.

    Where every model is (numerically) zero the bin is split equally between the
    sources, so the masks always sum to exactly one and never produce NaN.

    Args:
        V_hats: source models V̂_i (non-negative, all the same shape), e.g. W_i @ H_i.
        eps: a bin whose total Σ_j V̂_j is at most ``eps`` counts as silent.

    Returns:
        One mask per source, same shape as the models, values in [0, 1].

    Raises:
        ValueError: empty list, shape mismatch, negative, NaN or infinite values.
    """
    if len(V_hats) == 0:
        raise ValueError("wiener_masks needs at least one source model; got an empty list.")
    eps = check_float(eps, "eps", minimum=0.0)
    models = [as_finite_array(v, f"Source model {i}") for i, v in enumerate(V_hats)]
    shape = models[0].shape
    for i, v in enumerate(models):
        if v.shape != shape:
            raise ValueError(
                f"Source model {i} has shape {v.shape} but source model 0 has shape {shape}; "
                "all models must cover the same time-frequency grid."
            )
        if np.any(v < 0):
            raise ValueError(
                f"Source model {i} has negative entries (min {v.min():.3g}); models of "
                "magnitudes must be non-negative."
            )
    total = np.sum(models, axis=0)
    silent = total <= eps
    safe_total = np.where(silent, 1.0, total)
    equal = 1.0 / len(models)
    return [np.where(silent, equal, v / safe_total) for v in models]


def separate(
    mixture: np.ndarray,
    n_fft: int,
    source_models: Sequence[np.ndarray],
    power: float = 0.5,
    eps: float = 0.0,
) -> list[np.ndarray]:
    """Separate a mixture into one signal per source model.

    Args:
        mixture: the mixture signal, 1-D (16 kHz in the paper).
        n_fft: window size N of the paper's STFT (hop N/2).
        source_models: V̂_i = W_i @ H_i for each source, each of shape
            (n_fft//2 + 1, n_frames), modelling the compressed magnitude ``|X|^p``.
        power: the compression exponent p (0.5 in the paper).
        eps: silence threshold passed to :func:`wiener_masks`.

    Returns:
        One separated signal per source, each of length ``len(mixture)``.

    Raises:
        ValueError: models not matching the mixture's STFT grid, bad power,
            NaN/negative models or a bad mixture.
    """
    power = check_float(power, "power p (0.5 in the paper)", above=0.0)
    n_fft = check_n_fft(n_fft)
    mixture = as_finite_array(mixture, "Mixture")
    if mixture.ndim != 1:
        raise ValueError(f"Mixture must be a 1-D signal, got shape {mixture.shape}.")
    X = stft(mixture, n_fft)
    if isinstance(source_models, np.ndarray) and source_models.ndim == 2:
        raise TypeError("source_models is one matrix; pass a list with one model per source, e.g. [W_1 @ H_1, W_2 @ H_2].")
    masks = wiener_masks(source_models, eps=eps)
    if masks[0].shape != X.shape:
        raise ValueError(
            f"Source models have shape {masks[0].shape} but the mixture's STFT at N={n_fft} "
            f"has shape {X.shape} (bins, frames); fit the activations on this mixture at this N."
        )
    compressed = np.abs(X) ** power
    phase = np.exp(1j * np.angle(X))
    return [
        istft(((mask * compressed) ** (1.0 / power)) * phase, n_fft, length=len(mixture))
        for mask in masks
    ]


def separate_from_factors(
    mixture: np.ndarray,
    n_fft: int,
    W_list: Sequence[np.ndarray],
    H_list: Sequence[np.ndarray],
    power: float = 0.5,
    eps: float = 0.0,
) -> list[np.ndarray]:
    """:func:`separate` with source models given as factors, V̂_i = W_i @ H_i.

    Args:
        mixture: the mixture signal, 1-D.
        n_fft: window size N.
        W_list: templates W_i, each (n_fft//2 + 1, K) (K the rank per speaker).
        H_list: activations H_i fitted on the mixture, each (K, n_frames).
        power: compression exponent p.
        eps: silence threshold passed to :func:`wiener_masks`.

    Returns:
        One separated signal per source, each of length ``len(mixture)``.
    """
    if len(W_list) != len(H_list):
        raise ValueError(
            f"Got {len(W_list)} template matrices but {len(H_list)} activation matrices; "
            "give one (W_i, H_i) pair per source."
        )
    models = []
    for i, (W, H) in enumerate(zip(W_list, H_list)):
        W = as_finite_array(W, f"W_{i}")
        H = as_finite_array(H, f"H_{i}")
        if W.ndim != 2 or H.ndim != 2 or W.shape[1] != H.shape[0]:
            raise ValueError(
                f"W_{i} has shape {W.shape} and H_{i} has shape {H.shape}; expected "
                "(bins, K) and (K, frames) with the same rank K."
            )
        models.append(W @ H)
    return separate(mixture, n_fft, models, power=power, eps=eps)
