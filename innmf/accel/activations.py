"""Fitting activations H >= 0 under a fixed dictionary W, by Rprop or Adam, as the paper does.

Used by :meth:`innmf.models.implicit.ImplicitWNMF.refit_H` (iN-NMF at a new window size: W
sampled from the networks, H refit, 1000 epochs) and :func:`innmf.models.implicit.fit_activations`
(separation: the stacked dictionaries of two speakers, 100 epochs), i.e. the chapters
"Window-size generalisation" and "Separation".

H = softplus(L) and the objective is the mean generalised KL divergence
D(V || W H) / n, so its gradient has a closed form that needs no logarithm:

    dD/dL = sigmoid(L) * (W^T 1 - W^T R) / n,   R = V / (W H),

where W^T 1 (the column sums of W) is fixed. This module computes it directly into
preallocated buffers instead of through autograd, with the two products through
:func:`innmf.accel.runtime.matmul_into`: a CPU refit epoch then runs a few passes
over V instead of autograd's graph, fewer still when the loss is not recorded at every
epoch (the logarithm in the loss is the most expensive pass). The update
itself is the optimiser's (:class:`innmf.models.training.FlatRprop` or Adam), unchanged.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as nnf
from tqdm.auto import tqdm

from innmf.accel.runtime import matmul_into
from innmf.accel.kl import MODEL_FLOOR, KLTarget, kl_sum_from_ratio
from innmf.accel.optim import make_optimizer

KERNELS = ("blas", "fused")
"""The refit's implementations: the BLAS products (default) or :mod:`innmf.accel.refit_fused`."""


def fit_activations_fixed_W(
    V: torch.Tensor,
    W: torch.Tensor,
    epochs: int,
    optimizer: str = "rprop",
    lr: float = 1e-3,
    seed: int = 0,
    progress: bool = False,
    desc: str = "fit H",
    loss_every: int = 1,
    kernel: str = "blas",
) -> tuple[torch.Tensor, np.ndarray]:
    """Fit H = softplus(L) >= 0 with W fixed; L starts at U[0, 1) like the paper.

    Args:
        V: target magnitudes (F x T) on the computing device.
        W: the fixed dictionary (F x K), same device and dtype.
        epochs: optimiser steps (full batch).
        optimizer: ``"rprop"`` (the paper's) or ``"adam"``.
        lr: learning rate.
        seed: seed of L's initialisation (a private generator).
        progress: tqdm bar.
        desc: the bar's label.
        loss_every: record the objective at the start of every ``loss_every``-th epoch
            (epochs 0, k, 2k, ...); 1 records all, as :func:`innmf.models.training.train`.
        kernel: ``"blas"`` (the default, the recorded runs' path: the products through
            :func:`matmul_into`) or ``"fused"`` (:mod:`innmf.accel.refit_fused`: the whole
            epoch in one compiled pass per column block; Rprop on the CPU only; the same
            math, its numbers differ from ``"blas"`` by float rounding). Where the fused
            kernels are refused (no numba) the BLAS path runs, with a warning.

    Returns:
        (H, losses): H (K x T) and the recorded objectives (float64).
    """
    if W.shape[0] != V.shape[0]:
        raise ValueError(f"W has {W.shape[0]} rows but V has {V.shape[0]} frequency bins; sample W at V's bins.")
    if int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}.")
    if int(loss_every) < 1:
        raise ValueError(f"loss_every must be >= 1, got {loss_every}.")
    if kernel not in KERNELS:
        raise ValueError(f"Unknown kernel {kernel!r}; use one of {', '.join(map(repr, KERNELS))}.")
    if kernel == "fused" and (optimizer != "rprop" or V.device.type != "cpu"):
        raise ValueError(f"kernel='fused' runs Rprop on the CPU only (got optimizer={optimizer!r} on {V.device}); "
                         "use kernel='blas'.")
    V = KLTarget(V.contiguous()).m  # validates: finite, non-negative
    W = W.detach().contiguous()
    K, T = W.shape[1], V.shape[1]
    gen = torch.Generator().manual_seed(int(seed))
    logits = torch.nn.Parameter(torch.rand(K, T, generator=gen, dtype=torch.float64).to(V.device, V.dtype))
    if kernel == "fused":
        from innmf.accel.refit_fused import fit_fused

        done = fit_fused(V, W, logits, int(epochs), lr, int(loss_every), progress, desc)
        if done is not None:
            return done
    opt = make_optimizer([logits], optimizer, lr)
    WH, R, scratch = torch.empty_like(V), torch.empty_like(V), torch.empty_like(V)
    WtR, grad = V.new_empty(K, T), V.new_empty(K, T)
    col_sums = W.sum(dim=0).unsqueeze(1)  # W^T 1
    history: list[torch.Tensor] = []
    bar = tqdm(range(int(epochs)), disable=not progress, desc=desc, leave=False)
    for epoch in bar:
        with torch.no_grad():
            L = logits.detach()
            matmul_into(W, nnf.softplus(L), WH)
            WH.clamp_min_(MODEL_FLOOR)
            torch.div(V, WH, out=R)
            if epoch % int(loss_every) == 0:
                history.append(kl_sum_from_ratio(V, R, WH, out=scratch) / V.numel())
                if progress and epoch % 25 == 0:
                    bar.set_postfix(kl=f"{float(history[-1]):.4g}")
            matmul_into(W.T, R, WtR)
            torch.sub(col_sums, WtR, out=grad).mul_(torch.sigmoid(L)).div_(V.numel())
        logits.grad = grad
        opt.step()
    with torch.no_grad():
        H = nnf.softplus(logits.detach())
    return H, torch.stack(history).double().cpu().numpy()
