"""The training loop shared by the iN-NMF models (chapter "Implicit neural factors").

:func:`train` runs full-batch optimiser steps of a loss function and records the
loss; the objective is :func:`innmf.accel.kl.mean_kl` and the optimiser comes from
:func:`innmf.accel.optim.make_optimizer`.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch
from tqdm.auto import tqdm

from innmf.accel.kl import _VALUE_NEEDED
from innmf.accel.optim import make_optimizer


def make_step(
    loss_fn: Callable[[], torch.Tensor],
    params: Iterable[torch.Tensor],
    optimizer: str = "rprop",
    lr: float = 1e-3,
) -> Callable[[], torch.Tensor]:
    """One training epoch as a callable: zero the gradients, evaluate, backpropagate, step.

    :func:`train` calls it ``epochs`` times; ``innmf bench`` times it.

    Args:
        loss_fn: computes the objective (and draws the epoch's points, if any).
        params: parameters to optimise.
        optimizer: ``"rprop"`` (the paper's) or ``"adam"``.
        lr: learning rate (the paper: 1e-3).

    Returns:
        A function that runs one epoch and returns its (detached) loss tensor.
    """
    opt = make_optimizer(params, optimizer, lr)

    def step() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.detach()

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

    Returns:
        The objective at the start of each recorded epoch, before its update
        (float64 numpy array; length ``epochs`` when ``loss_every`` is 1).
    """
    if int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}.")
    if int(loss_every) < 1:
        raise ValueError(f"loss_every must be >= 1, got {loss_every}.")
    step = make_step(loss_fn, params, optimizer, lr)
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
