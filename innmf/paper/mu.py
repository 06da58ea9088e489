"""One multiplicative-update (MU) step of beta-NMF for W and for H, in plain numpy.

V (F x T) ~ W (F x K) H (K x T). Lee & Seung (2001) for KL, generalised to the
beta-divergences by Fevotte & Idier (2011):

    W <- W * ((V (WH)^(beta-2)) H^T / ((WH)^(beta-1) H^T))^gamma
    H <- H * (W^T (V (WH)^(beta-2)) / (W^T (WH)^(beta-1)))^gamma

with gamma = 1/(2 - beta) for beta < 1, 1/(beta - 1) for beta > 2, else 1. The
safeguards are scikit-learn's ``solver="mu"`` as :func:`innmf.models.nmf.nmf` applies
them: W H floored at EPSILON for beta < 2, denominators floored at EPSILON, entries
at or below float64's eps set to zero (W for beta < 1, H for beta <= 1); W is
updated first, then H. This is the definition the fast path
(:mod:`innmf.accel.mu_fused_kl`) is tested against (``tests/test_paper_mu.py``).
Chapter "Classic NMF" (its exercise reads this file).
"""

from __future__ import annotations

import numpy as np

EPSILON = float(np.finfo(np.float32).eps)
"""Floor of W H and of the denominators (scikit-learn's EPSILON)."""

ZERO_BELOW = float(np.finfo(np.float64).eps)
"""Entries at or below this are set to zero for beta <= 1 (they could never grow back)."""


def gamma(beta: float) -> float:
    """The majorisation-minimisation exponent gamma(beta) of Fevotte & Idier (2011)."""
    if beta < 1.0:
        return 1.0 / (2.0 - beta)
    if beta > 2.0:
        return 1.0 / (beta - 1.0)
    return 1.0


def model(W: np.ndarray, H: np.ndarray, beta: float) -> np.ndarray:
    """V_hat = W H, floored at EPSILON where a negative power of it is taken (beta < 2)."""
    WH = W @ H
    return np.maximum(WH, EPSILON) if beta < 2.0 else WH


def update_W(V: np.ndarray, W: np.ndarray, H: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """One MU step on the dictionary W (a new array; W, H unchanged).

    Args:
        V: data (F x T), non-negative.
        W: dictionary (F x K).
        H: activations (K x T).
        beta: the divergence's beta (1 = KL, the paper's).

    Returns:
        The updated W.
    """
    WH = model(W, H, beta)
    numerator = (V * WH ** (beta - 2.0)) @ H.T
    denominator = (WH ** (beta - 1.0)) @ H.T
    W = W * (numerator / np.maximum(denominator, EPSILON)) ** gamma(beta)
    return np.where(W <= ZERO_BELOW, 0.0, W).astype(W.dtype) if beta < 1.0 else W


def update_H(V: np.ndarray, W: np.ndarray, H: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """One MU step on the activations H (a new array; W, H unchanged).

    Args:
        V: data (F x T), non-negative.
        W: dictionary (F x K).
        H: activations (K x T).
        beta: the divergence's beta (1 = KL, the paper's).

    Returns:
        The updated H.
    """
    WH = model(W, H, beta)
    numerator = W.T @ (V * WH ** (beta - 2.0))
    denominator = W.T @ WH ** (beta - 1.0)
    H = H * (numerator / np.maximum(denominator, EPSILON)) ** gamma(beta)
    return np.where(H <= ZERO_BELOW, 0.0, H).astype(H.dtype) if beta <= 1.0 else H


def step(V: np.ndarray, W: np.ndarray, H: np.ndarray, beta: float = 1.0, fix_W: bool = False):
    """One MU iteration: W first (unless ``fix_W``), then H with the new W. Returns (W, H)."""
    if not fix_W:
        W = update_W(V, W, H, beta)
    return W, update_H(V, W, H, beta)
