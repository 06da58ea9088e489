"""A fast refit of the activations H with the dictionary W fixed: KL multiplicative updates (MU).

The paper refits H at a new window size N by 1000 Rprop epochs on H = softplus(L)
(:func:`innmf.models.training.fit_H`, :meth:`innmf.models.implicit.ImplicitWNMF.refit_H`).
With W fixed the KL objective is convex in H, and Lee & Seung's multiplicative update
of H alone,

    H <- H * (W^T (V / W H)) / (W^T 1),

decreases it at every step without a learning rate. :func:`fit_H_mu` runs it through
:func:`innmf.models.nmf.nmf` with ``fix_W=True`` (the fused CPU kernels of
:mod:`innmf.accel.mu_fused_kl`, the same updates as NMF's separation), from the *same*
start as the Rprop refit: H = softplus(U[0, 1)) drawn from the same seed
(:func:`initial_activations`), so the two refits differ in the solver only.
``ImplicitWNMF.refit_H(..., optimizer="mu")`` is this refit; :data:`MU_REFIT_ITER`
is its default number of iterations. Chapter "Reproducing at scale" ("What not
retraining costs") measures its time and its effect on the scores against the Rprop
refit (:mod:`innmf.experiments.costs`).
"""

from __future__ import annotations

import numpy as np
import torch

from innmf.data.validation import check_int
from innmf.models.common import SEED_MAX

MU_REFIT_ITER = 300
"""Default MU iterations of the fast refit: "a few hundred", fixed once before the scores were
compared, from how close the refit's KL came to the Rprop refit's on one speaker
(``results/bench/README.md``, "What not retraining costs")."""


def initial_activations(rank: int, n_frames: int, seed: int) -> np.ndarray:
    """The refits' start, H = softplus(U[0, 1)) (K x T, float64), drawn as the Rprop refit draws it.

    :func:`innmf.accel.activations.fit_activations_fixed_W` draws its logits L with
    ``torch.rand(K, T, generator=Generator().manual_seed(seed), dtype=float64)`` and
    starts from softplus(L); this is that H.
    """
    gen = torch.Generator().manual_seed(int(seed))
    logits = torch.rand(int(rank), int(n_frames), generator=gen, dtype=torch.float64)
    return torch.nn.functional.softplus(logits).numpy()


def fit_H_mu(
    V,
    W,
    n_iter: int = MU_REFIT_ITER,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    loss_every: int | None = None,
    backend: str = "auto",
    H=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit H >= 0 on V with W fixed by KL multiplicative updates, from the Rprop refit's start.

    Args:
        V: magnitudes (F x T), numpy or torch.
        W: the fixed dictionary (F x K), e.g. iN-NMF's W sampled at V's bins, or two
            speakers' dictionaries side by side (separation).
        n_iter: MU iterations (default :data:`MU_REFIT_ITER`).
        seed: seed of the start (the Rprop refit's ``seed``: the same H).
        device: where to compute.
        dtype: torch.float32 (default) or torch.float64.
        loss_every: record the mean KL every this many iterations (and at the last);
            default: only at the last.
        backend: ``"auto"``, ``"fast"`` or ``"reference"`` (:func:`innmf.models.nmf.nmf`'s).
        H: another start (K x T, positive); default the Rprop refit's,
            :func:`initial_activations` of ``seed``.

    Returns:
        (H, losses): H (K x T, numpy) and the recorded mean KL divergences (float64),
        the objective of the Rprop refit's history.
    """
    from innmf.models.nmf import nmf

    n_iter = check_int(n_iter, "n_iter", minimum=1)
    seed = check_int(seed, "seed", minimum=0, maximum=SEED_MAX)
    if W.ndim != 2 or V.ndim != 2:
        raise ValueError(f"V (F x T) and W (F x K) must be matrices; got shapes {tuple(V.shape)} and {tuple(W.shape)}.")
    if W.shape[0] != V.shape[0]:
        raise ValueError(f"W has {W.shape[0]} rows but V has {V.shape[0]} frequency bins; sample W at V's bins.")
    H0 = initial_activations(W.shape[1], V.shape[1], seed) if H is None else H
    every = n_iter if loss_every is None else check_int(loss_every, "loss_every", minimum=1)
    res = nmf(V, W.shape[1], n_iter, W=W, H=H0, fix_W=True, device=device, dtype=dtype, loss_every=every,
              backend=backend)
    return res.H, res.losses
