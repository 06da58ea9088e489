"""The iN-NMF model and its three objectives (arXiv:2404.04439), plain PyTorch with autograd.

The model of a magnitude m at time t and frequency f is

    m_hat(t, f) = sum_k W_k(f) H_k(t),

and every model minimises the mean generalised KL divergence between the data and
m_hat, by Rprop (lr 1e-3) in the paper. The three models differ in what is implicit:

1. :func:`loss_implicit_W`: W_k(f) are networks, H = softplus(L) a free matrix
   (the speech experiments; sampled at another window size's bins, H refit);
2. :func:`loss_implicit_WH`: W_k(f) and H_k(t) both networks, fitted on a point
   cloud (t_i, f_i, m_i) (the hybrid / irregular representations);
3. :func:`loss_fixed_W`: fixed (sampled) dictionaries, free H (supervised
   separation, and model 1's refit of H).

This is what ``backend="reference"`` of :mod:`innmf.models.implicit` runs, and what
the fast path (closed-form gradients, grouped networks, flat Rprop) is tested
against. Chapters "Implicit neural factors", "Separation", "Hybrid representations".
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
import torch.nn.functional as nnf

from innmf.paper.divergences import kl_divergence

MODEL_FLOOR = 1e-30
"""Floor of m_hat inside the objective (reached only by an underflowed softplus)."""

OPTIMIZERS = ("rprop", "adam")


def model_matrix(W: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """m_hat on a grid: (F, K) @ (K, T) -> (F, T), entry (f, t) = sum_k W_k(f) H_k(t)."""
    return W @ H


def model_points(W_at_f: torch.Tensor, H_at_t: torch.Tensor) -> torch.Tensor:
    """m_hat at points: row i of (P, K) W_k(f_i) and (P, K) H_k(t_i) -> (P,) sum_k W_k(f_i) H_k(t_i)."""
    return (W_at_f * H_at_t).sum(dim=1)


def objective(m: torch.Tensor, m_hat: torch.Tensor) -> torch.Tensor:
    """The paper's loss: mean over entries of m log(m / m_hat) - m + m_hat (m_hat floored at MODEL_FLOOR)."""
    return kl_divergence(m, m_hat.reshape(m.shape), floor=MODEL_FLOOR)


def loss_implicit_W(W_net: Callable, logits: torch.Tensor, V: torch.Tensor, freq_coords: torch.Tensor) -> torch.Tensor:
    """Model 1: D(V || W(f) softplus(L)), W(f) the (F, K) networks' output at V's rows."""
    return objective(V, model_matrix(W_net(freq_coords), nnf.softplus(logits)))


def loss_implicit_WH(W_net: Callable, H_net: Callable, t: torch.Tensor, f: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Model 2: D(m || sum_k W_k(f_i) H_k(t_i)) over the points (t_i, f_i, m_i) given."""
    return objective(m, model_points(W_net(f), H_net(t)))


def loss_fixed_W(W: torch.Tensor, logits: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """Model 3: D(V || W softplus(L)) with the dictionary W (F, K) fixed."""
    return objective(V, model_matrix(W, nnf.softplus(logits)))


def optimizer(params: Iterable[torch.Tensor], name: str = "rprop", lr: float = 1e-3) -> torch.optim.Optimizer:
    """PyTorch's own ``Rprop`` (the paper's) or ``Adam`` at learning rate ``lr``."""
    params = [p for p in params if p.requires_grad]
    if not lr > 0:
        raise ValueError(f"Learning rate must be positive, got {lr}.")
    if name == "rprop":
        return torch.optim.Rprop(params, lr=lr)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"Unknown optimizer {name!r}; use one of {OPTIMIZERS}.")
