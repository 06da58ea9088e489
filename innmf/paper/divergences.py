"""Beta-divergences between a non-negative matrix V and its model V_hat.

Conventions follow scikit-learn's ``beta_loss`` so that our numbers and
``sklearn.decomposition.NMF`` are directly comparable (chapter "Classic NMF"):

* beta = 1, generalised Kullback-Leibler: ``m log(m / m_hat) - m + m_hat`` with
  ``0 log 0 = 0`` (the paper's objective and its reconstruction metric);
* beta = 0, Itakura-Saito: ``m / m_hat - log(m / m_hat) - 1`` (the published code
  has ``+ 1`` here, see book/paper_setup.md §5);
* beta = 2, Euclidean: ``0.5 (m - m_hat)^2`` (half the squared error, as sklearn);
* any other beta: ``(m^b + (b - 1) m_hat^b - b m m_hat^(b - 1)) / (b (b - 1))``.

``reduction="mean"`` (the default) averages over all entries; the paper's KL
figures (about 5e-4) are such means over compressed magnitudes. ``"sum"`` gives
sklearn's totals. Every function accepts numpy arrays (returns a Python float,
computed in float64) or torch tensors (returns a 0-d tensor that supports autograd).
"""

from __future__ import annotations

from typing import Union

import numpy as np
import torch
from scipy.special import xlogy as _np_xlogy

from innmf.data.validation import check_float

ArrayLike = Union[np.ndarray, torch.Tensor]

TINY = 1e-12
"""Floor applied to V_hat (and to V for Itakura-Saito) so zeros give a large but finite value."""

_NAMES = {
    "kl": 1.0,
    "kullback-leibler": 1.0,
    "is": 0.0,
    "itakura-saito": 0.0,
    "euclidean": 2.0,
    "frobenius": 2.0,
}


def beta_from_name(beta: float | str) -> float:
    """Map ``"kl"``/``"kullback-leibler"``, ``"is"``/``"itakura-saito"`` and
    ``"euclidean"``/``"frobenius"`` (or a number) to the beta of the family."""
    if isinstance(beta, str):
        key = beta.lower()
        if key not in _NAMES:
            raise ValueError(f"Unknown divergence {beta!r}; use one of {sorted(_NAMES)} or a number.")
        return _NAMES[key]
    # a NaN beta gave NaN factors without a word (issue 24)
    return check_float(beta, "beta (the divergence: 1 = KL, 0 = IS, 2 = Euclidean)")


def _check(V: ArrayLike, V_hat: ArrayLike, reduction: str) -> bool:
    """Validate inputs; return True for torch, False for numpy."""
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}.")
    is_torch = isinstance(V, torch.Tensor)
    if is_torch != isinstance(V_hat, torch.Tensor):
        raise ValueError("Pass V and V_hat as the same kind (both numpy arrays or both torch tensors).")
    if tuple(V.shape) != tuple(V_hat.shape):
        raise ValueError(f"V has shape {tuple(V.shape)} but V_hat has shape {tuple(V_hat.shape)}; they must match.")
    if (V.numel() if is_torch else np.size(V)) == 0:
        raise ValueError("V is empty; nothing to compare.")
    lib = torch if is_torch else np
    with torch.no_grad():
        for name, x in (("V", V), ("V_hat", V_hat)):
            x = x if is_torch else np.asarray(x)
            if not bool(lib.isfinite(x).all()):
                raise ValueError(f"{name} contains NaN or infinite values; check the data or the fitted factors.")
            if bool((x < 0).any()):
                raise ValueError("Divergences need non-negative V and V_hat; take magnitudes (|X|^p) first.")
    return is_torch


def _reduce(elementwise: ArrayLike, reduction: str, is_torch: bool):
    if is_torch:
        return elementwise.mean() if reduction == "mean" else elementwise.sum()
    return float(elementwise.mean() if reduction == "mean" else elementwise.sum())


def _as64(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def kl_divergence(V: ArrayLike, V_hat: ArrayLike, reduction: str = "mean", floor: float | None = None):
    """Generalised Kullback-Leibler divergence D(V || V_hat) = v log(v / v_hat) - v + v_hat (beta = 1).

    The one KL of the package: the paper's objective (autograd through it is the
    ``"reference"`` backend's gradient) and its reconstruction metric. ``0 log 0 = 0``.
    The per-entry terms equal :func:`scipy.special.kl_div`'s bit for bit.

    Args:
        V: target, non-negative (matrix or point magnitudes m_i).
        V_hat: model, non-negative, same shape.
        reduction: ``"mean"`` over entries (the paper's figure) or ``"sum"`` (sklearn's).
        floor: ``None`` (strict, the metric): a model that is zero where the data are
            positive has an infinite divergence, and a ValueError says so. A positive
            number: V_hat is floored at it first, so every model gets a finite value
            (the training objectives floor at 1e-30; :data:`TINY` for the beta family).

    Returns:
        A float (numpy input, computed in float64) or a 0-d tensor (torch input).

    Raises:
        ValueError: shapes differ, empty, negative or non-finite values, a non-positive
            floor, or (strict) a zero model under positive data.
    """
    is_torch = _check(V, V_hat, reduction)
    if floor is not None and not floor > 0:
        raise ValueError(f"floor must be positive (or None for the strict divergence), got {floor}.")
    if is_torch:
        Vh = V_hat if floor is None else V_hat.clamp_min(floor)
        where, positive = torch.where, Vh > 0
    else:
        V = _as64(V)
        Vh = _as64(V_hat) if floor is None else np.maximum(_as64(V_hat), floor)
        where, positive = np.where, Vh > 0
    if floor is None:
        with torch.no_grad():
            bad = int(((V > 0) & ~positive).sum())
        if bad:
            raise ValueError(
                f"The model is zero in {bad} bin(s) where the data are positive, so the KL "
                "divergence is infinite; keep the factors strictly positive (softplus) or pass a floor."
            )
    ratio = V / where(positive, Vh, 1.0)  # V = 0 wherever V_hat = 0 here: the term is V_hat = 0
    if not is_torch:  # scipy's xlogy: the same floats as scipy.special.kl_div
        return _reduce(_np_xlogy(V, ratio) - V + Vh, reduction, is_torch)
    # 0 log 0 = 0 with a finite gradient: log(1) where m = 0 (xlogy's backward is 0 / 0 there)
    return _reduce(V * torch.log(torch.where(V > 0, ratio, 1.0)) - V + Vh, reduction, is_torch)


def is_divergence(V: ArrayLike, V_hat: ArrayLike, reduction: str = "mean", eps: float = TINY):
    """Itakura-Saito divergence (beta = 0): V/V_hat - log(V/V_hat) - 1.

    IS is infinite where exactly one of the two is zero, so both are floored at
    ``eps`` (document your eps when you report IS on spectra with exact zeros).

    Args:
        V: target, non-negative.
        V_hat: model, non-negative, same shape.
        reduction: ``"mean"`` or ``"sum"``.
        eps: floor applied to both V and V_hat.

    Returns:
        A float (numpy input) or a 0-d tensor (torch input).
    """
    is_torch = _check(V, V_hat, reduction)
    if is_torch:
        ratio = V.clamp_min(eps) / V_hat.clamp_min(eps)
        elem = ratio - torch.log(ratio) - 1.0
    else:
        ratio = np.maximum(_as64(V), eps) / np.maximum(_as64(V_hat), eps)
        elem = ratio - np.log(ratio) - 1.0
    return _reduce(elem, reduction, is_torch)


def euclidean(V: ArrayLike, V_hat: ArrayLike, reduction: str = "mean"):
    """Half squared error 0.5 (V - V_hat)^2 (beta = 2, sklearn's "frobenius" loss).

    Args:
        V: target, non-negative.
        V_hat: model, same shape.
        reduction: ``"mean"`` or ``"sum"`` (the sum equals sklearn's beta-divergence).

    Returns:
        A float (numpy input) or a 0-d tensor (torch input).
    """
    is_torch = _check(V, V_hat, reduction)
    diff = (V - V_hat) if is_torch else (_as64(V) - _as64(V_hat))
    return _reduce(0.5 * diff * diff, reduction, is_torch)


def beta_divergence(V: ArrayLike, V_hat: ArrayLike, beta: float | str, reduction: str = "mean", eps: float = TINY):
    """Any member of the beta-divergence family (KL, IS and Euclidean included).

    Args:
        V: target, non-negative.
        V_hat: model, non-negative, same shape.
        beta: the family parameter, or a name ("kl", "is", "euclidean").
        reduction: ``"mean"`` or ``"sum"``.
        eps: floor for V_hat (and V when beta <= 0).

    Returns:
        A float (numpy input) or a 0-d tensor (torch input).
    """
    b = beta_from_name(beta)
    if b == 1.0:
        return kl_divergence(V, V_hat, reduction, floor=eps)
    if b == 0.0:
        return is_divergence(V, V_hat, reduction, eps)
    if b == 2.0:
        return euclidean(V, V_hat, reduction)
    is_torch = _check(V, V_hat, reduction)
    if is_torch:
        Vh = V_hat.clamp_min(eps)
        Vt = V.clamp_min(eps) if b < 0 else V
        elem = (Vt**b + (b - 1.0) * Vh**b - b * Vt * Vh ** (b - 1.0)) / (b * (b - 1.0))
    else:
        Vh = np.maximum(_as64(V_hat), eps)
        Vt = np.maximum(_as64(V), eps) if b < 0 else _as64(V)
        elem = (Vt**b + (b - 1.0) * Vh**b - b * Vt * Vh ** (b - 1.0)) / (b * (b - 1.0))
    return _reduce(elem, reduction, is_torch)
