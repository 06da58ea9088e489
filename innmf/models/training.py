"""The training loop shared by the iN-NMF models (chapter "Implicit neural factors").

:func:`train` runs full-batch optimiser steps of a loss function and records the
loss. On the fast path the objective is :func:`innmf.accel.kl.mean_kl` and the
optimiser :func:`innmf.accel.optim.make_optimizer`'s flat Rprop; with
``reference=True`` (``backend="reference"``) the objectives of :mod:`innmf.paper.inmf`
through autograd and PyTorch's own ``torch.optim.Rprop`` (:func:`innmf.paper.inmf.optimizer`).
:func:`fit_H` fits activations under a fixed dictionary on either path.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch
from tqdm.auto import tqdm

from innmf.accel import grouped_compiled
from innmf.accel.activations import fit_activations_fixed_W
from innmf.accel.kl import _VALUE_NEEDED
from innmf.accel.optim import make_optimizer
from innmf.paper import inmf


def make_step(
    loss_fn: Callable[[], torch.Tensor],
    params: Iterable[torch.Tensor],
    optimizer: str = "rprop",
    lr: float = 1e-3,
    reference: bool = False,
) -> Callable[[], torch.Tensor]:
    """One training epoch as a callable: zero the gradients, evaluate, backpropagate, step.

    :func:`train` calls it ``epochs`` times; ``innmf bench`` times it. Where the first epoch
    shows that the networks ran in the compiled kernels at more than one thread, later epochs
    run torch's own ops single-threaded and leave the cores to the kernels' threads
    (:func:`innmf.accel.grouped_compiled.own_threads`; torch's thread count is restored after each).

    Args:
        loss_fn: computes the objective (and draws the epoch's points, if any).
        params: parameters to optimise.
        optimizer: ``"rprop"`` (the paper's) or ``"adam"``.
        lr: learning rate (the paper: 1e-3).
        reference: use PyTorch's own optimiser (the ``"reference"`` backend).

    Returns:
        A function that runs one epoch and returns its (detached) loss tensor.
    """
    opt = inmf.optimizer(params, optimizer, lr) if reference else make_optimizer(params, optimizer, lr)
    own_threads: list[bool] = []  # decided after the first epoch

    def epoch() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.detach()

    def step() -> torch.Tensor:
        if own_threads and own_threads[0]:
            with grouped_compiled.own_threads():
                return epoch()
        before = grouped_compiled.runs()
        loss = epoch()
        if not own_threads:
            # where the networks ran in the compiled kernels, later epochs give them the
            # cores and run torch's own (small) ops single-threaded: see grouped_compiled
            own_threads.append(grouped_compiled.runs() > before and torch.get_num_threads() > 1)
        return loss

    return step


def train(
    loss_fn: Callable[[], torch.Tensor],
    params: Iterable[torch.Tensor],
    epochs: int,
    optimizer: str = "rprop",
    lr: float = 1e-3,
    progress: bool = False,
    desc: str = "training",
    loss_every: int = 1,
    reference: bool = False,
) -> np.ndarray:
    """Run ``epochs`` optimisation steps of ``loss_fn`` and return the loss history.

    Args:
        loss_fn: computes the objective (and draws the epoch's points, if any).
        params: parameters to optimise.
        epochs: number of steps (one per epoch: full batch or one random subset).
        optimizer: ``"rprop"`` (the paper's) or ``"adam"``.
        lr: learning rate (the paper: 1e-3).
        progress: show a tqdm bar with the current loss.
        desc: the bar's label.
        loss_every: record the objective at epochs 0, k, 2k, ... (k = ``loss_every``);
            on the other epochs :func:`mean_kl` skips computing its value (the
            gradient does not need it). 1 records every epoch.
        reference: use PyTorch's own optimiser (the ``"reference"`` backend).

    Returns:
        The objective at the start of each recorded epoch, before its update
        (float64 numpy array; length ``epochs`` when ``loss_every`` is 1).
    """
    if int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}.")
    if int(loss_every) < 1:
        raise ValueError(f"loss_every must be >= 1, got {loss_every}.")
    step = make_step(loss_fn, params, optimizer, lr, reference)
    history: list[torch.Tensor] = []
    bar = tqdm(range(int(epochs)), disable=not progress, desc=desc, leave=False)
    for epoch in bar:
        if epoch % int(loss_every) == 0:
            history.append(step())  # stays on the device: no synchronisation per epoch
            if progress and epoch % 25 == 0:
                bar.set_postfix(kl=f"{float(history[-1]):.4g}")
        else:
            token = _VALUE_NEEDED.set(False)
            try:
                step()
            finally:
                _VALUE_NEEDED.reset(token)
    return torch.stack(history).double().cpu().numpy()


def fit_H(
    V: torch.Tensor,
    W: torch.Tensor,
    epochs: int,
    optimizer: str = "rprop",
    lr: float = 1e-3,
    seed: int = 0,
    progress: bool = False,
    desc: str = "fit H",
    loss_every: int = 1,
    reference: bool = False,
    kernel: str = "blas",
) -> tuple[torch.Tensor, np.ndarray]:
    """Fit H = softplus(L) >= 0 on V with the dictionary W fixed; L starts at U[0, 1) (seeded).

    The fast path is :func:`innmf.accel.activations.fit_activations_fixed_W` (closed-form
    gradient); ``reference=True`` minimises :func:`innmf.paper.inmf.loss_fixed_W` through
    autograd with ``torch.optim`` and the same initial L. Used by ``refit_H`` and
    ``fit_activations`` (chapters "Window-size generalisation" and "Separation").

    Args:
        V: target magnitudes (F x T) on the computing device.
        W: the fixed dictionary (F x K), same device and dtype.
        epochs: optimiser steps (full batch).
        optimizer: ``"rprop"`` (the paper's) or ``"adam"``.
        lr: learning rate.
        seed: seed of L's initialisation.
        progress: tqdm bar.
        desc: the bar's label.
        loss_every: record the objective every this many epochs.
        reference: run the plain math of :mod:`innmf.paper.inmf`.
        kernel: the fast path's ``"blas"`` (default) or ``"fused"`` refit
            (:func:`~innmf.accel.activations.fit_activations_fixed_W`); not with ``reference``.

    Returns:
        (H, losses): H (K x T) and the recorded objectives (float64).
    """
    if not reference:
        return fit_activations_fixed_W(V, W, epochs, optimizer, lr, seed, progress, desc, loss_every, kernel)
    if kernel != "blas":
        raise ValueError(f"kernel={kernel!r} is a fast path; backend='reference' runs the plain math of innmf.paper.")
    if W.shape[0] != V.shape[0]:
        raise ValueError(f"W has {W.shape[0]} rows but V has {V.shape[0]} frequency bins; sample W at V's bins.")
    W = W.detach()
    gen = torch.Generator().manual_seed(int(seed))
    init = torch.rand(W.shape[1], V.shape[1], generator=gen, dtype=torch.float64)
    logits = torch.nn.Parameter(init.to(V.device, V.dtype))
    history = train(lambda: inmf.loss_fixed_W(W, logits, V), [logits], epochs, optimizer, lr, progress, desc,
                    loss_every, reference=True)
    with torch.no_grad():
        return torch.nn.functional.softplus(logits.detach()), history
