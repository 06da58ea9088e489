"""Many :class:`~innmf.models.implicit.ImplicitWNMF` fits run as one: S models' K networks as one group of S·K.

A speech run trains two speakers' dictionaries per trial, each K = 20 tiny networks on
the same frequency grid; one model per call leaves an accelerator launch-bound. Here the
S models' stacked weights are concatenated along the network axis, so every layer of all
S·K networks is one grouped product (:func:`innmf.models.inr.grouped_forward`, the very
code each model runs alone), and each model's V ≈ W_s H_s is one batched product.

Why the trajectories are each model's own: the objective is the *sum* of the models'
mean KLs, each divided by its own entry count, so the gradient reaching model s's
parameters is exactly the gradient of its own fit (a mean over all S models' entries
would scale it by 1/S; Rprop ignores that scale, Adam does not). Rprop and Adam act per
entry, so the update of every entry is the lone fit's. What may differ is the float
rounding of the batched products. :func:`refit_grouped` does the same for
:meth:`~innmf.models.implicit.ImplicitWNMF.refit_H`'s Rprop refit (the ``"blas"`` kernel).
Used by :mod:`innmf.experiments.batched` (``innmf reproduce --batched``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn

from innmf.accel.grouped_mlp import Workspaces
from innmf.accel.kl import _VALUE_NEEDED, MODEL_FLOOR, KLTarget, mean_kl
from innmf.accel.optim import make_optimizer
from innmf.models.common import as_matrix, check_activations_memory, check_finite_fit, check_training, fork_rng
from innmf.models.implicit import ImplicitWNMF
from innmf.models.inr import ComponentNetworks, grouped_forward
from innmf.models.training import train


class _SpeakerMeanKL(torch.autograd.Function):
    """Each model's mean generalised KL, (S,) values; the backward pass of :func:`innmf.accel.kl.mean_kl` per model."""

    @staticmethod
    def forward(ctx, m_hat: torch.Tensor, m: torch.Tensor, n: int) -> torch.Tensor:
        mh = m_hat.clamp_min(MODEL_FLOOR)
        r = m / mh
        ctx.save_for_backward(r)
        ctx.n = n
        if not _VALUE_NEEDED.get():
            return r.new_full((r.shape[0],), float("nan"))
        terms = torch.clamp_min(r, MODEL_FLOOR).log_().mul_(m).sub_(m).add_(mh)
        return terms.sum(dim=(1, 2)) / n

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (r,) = ctx.saved_tensors
        # mean_kl's (1 - r) * (grad / n), with model s's own grad: the same numbers as a lone fit
        scale = (grad / ctx.n).view(-1, 1, 1)
        return torch.sub(1.0, r).mul_(scale), None, None


def _per_model(fn, x: torch.Tensor, S: int) -> torch.Tensor:
    """``fn(x)`` for an elementwise ``fn`` of (S, ...) stacked blocks; on a CPU, block by block.

    A CPU's vectorised exp/log handle the last few entries of a tensor in another code
    path: run over all S blocks at once, a model's entries would fall elsewhere in the
    vectors and round differently from its lone fit. Block by block they round the
    same (a GPU computes every entry alike: one launch there).
    """
    if x.device.type != "cpu":
        return fn(x)
    return torch.stack([fn(x[s]) for s in range(S)])


def _check_group(models: Sequence[ImplicitWNMF]) -> tuple[ComponentNetworks, torch.device, torch.dtype]:
    """Refuse models that cannot run as one group (different designs, devices, or the reference backend)."""
    if not models:
        raise ValueError("No models to fit.")
    first = models[0]
    design = {k: v for k, v in first.config_.items() if k != "seed"}
    for m in models:
        if not isinstance(m.net, ComponentNetworks):
            raise ValueError("Grouped fits need the fast path's grouped networks; backend='reference' runs each "
                             "network alone (the plain math of innmf.paper): use backend='auto' or 'fast'.")
        if {k: v for k, v in m.config_.items() if k != "seed"} != design or m.device != first.device:
            raise ValueError("Grouped fits need models of one design (all settings but the seed) on one device.")
        if m.net.encoding.trainable or m.net.encoding.n_sets != m.rank:
            raise ValueError("Grouped fits need a frozen encoding with one set of phases per component.")
    return first.net, first.device, first.dtype


def _stacked(mats: Sequence, device: torch.device, dtype: torch.dtype, what: str) -> torch.Tensor:
    tensors = [as_matrix(V, device, dtype) for V in mats]
    if len({tuple(t.shape) for t in tensors}) != 1:
        raise ValueError(f"Grouped fits need {what} of one shape, got {sorted({tuple(t.shape) for t in tensors})}.")
    return KLTarget(torch.stack(tensors)).m  # validates: finite, non-negative


def fit_grouped(
    models: Sequence[ImplicitWNMF], Vs: Sequence, freq_coords, epochs: int = 1000, optimizer: str = "rprop",
    lr: float = 1e-3, progress: bool = False, loss_every: int = 1, per_model: bool | None = None,
) -> list[ImplicitWNMF]:
    """Fit every model on its own V, as ``model.fit(V, freq_coords, ...)`` would, all in one grouped loop.

    Args:
        models: untrained (or partly trained) models of one design, e.g. two per trial.
        Vs: one magnitude matrix per model, all F x T (the same F and T).
        freq_coords: the F coordinates of the rows, shared by all (``innmf.frequency_coordinate(N)``).
        epochs, optimizer, lr, progress, loss_every: as :meth:`ImplicitWNMF.fit`.
        per_model: after the grouped networks, each model's W H and KL by its own ops
            (S small products: the lone fits' numbers bit for bit) rather than one batched
            product and KL (one launch each, the same up to float rounding). Default: on a
            CPU, where the S small products cost nothing beside the networks.

    Returns:
        The models, fitted: each holds its own weights, H and loss history (``history_``).
    """
    net, device, dtype = _check_group(models)
    if len(Vs) != len(models):
        raise ValueError(f"Got {len(Vs)} matrices for {len(models)} models; give one V per model.")
    epochs, optimizer, lr, loss_every = check_training(epochs, optimizer, lr, loss_every)
    S, K = len(models), models[0].rank
    V = _stacked(Vs, device, dtype, "V's")
    per_model = device.type == "cpu" if per_model is None else bool(per_model)
    targets = [KLTarget(V[s]) for s in range(S)]
    check_activations_memory(V.shape[1], S * K, net.hidden, net.n_layers, dtype, device,
                             f"Fitting {S} x {K} networks on V's {tuple(V.shape[1:])}")
    with fork_rng(device):
        for m, V_s in zip(models, Vs):
            m._objective(V_s, freq_coords)  # each model's own H start and cached encoding, as its fit draws them
        weights = [nn.Parameter(torch.cat([m.net.weights[i].detach() for m in models]))
                   for i in range(len(net.weights))]
        biases = [nn.Parameter(torch.cat([m.net.biases[i].detach() for m in models])) for i in range(len(net.biases))]
        logits = nn.Parameter(torch.stack([m.logits.detach() for m in models]))
        features = torch.cat([m._train_features for m in models], dim=1)  # (F, S·K, 2J)
        workspace, records = Workspaces(), []

        def loss_fn() -> torch.Tensor:
            out = grouped_forward(features, weights, biases, net.activation, net.backend, workspace, raw=per_model)
            if per_model:  # each model's own ops on its own block (views laid out as a lone fit's)
                losses = [mean_kl(nnf.softplus(out[:, s * K:(s + 1) * K]) @ nnf.softplus(logits[s]), targets[s])
                          for s in range(S)]
                values = torch.stack(losses)
            else:
                W = out.unflatten(1, (S, K)).permute(1, 0, 2)  # (S, F, K): each block the layout a lone fit multiplies
                values = _SpeakerMeanKL.apply(torch.bmm(W, nnf.softplus(logits)), V, V[0].numel())
            if _VALUE_NEEDED.get():
                records.append(values.detach())
            return values.sum()

        total = train(loss_fn, [*weights, *biases, logits], epochs, optimizer, lr, progress,
                      f"iN-NMF fit x{S}", loss_every)
    check_finite_fit(total, [*weights, *biases, logits], "fit_grouped", dtype)
    history = torch.stack(records).double().cpu().numpy()
    with torch.no_grad():
        for s, m in enumerate(models):
            for dst, src in zip([*m.net.weights, *m.net.biases], [*weights, *biases]):
                dst.copy_(src[s * K:(s + 1) * K])
            m.logits.copy_(logits[s])
            # what ImplicitWNMF.fit leaves behind: the model is then used exactly as after its own fit
            m._history = history[:, s].copy()
            m._fitted = True
    return list(models)


def _matmul_into(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> None:
    """Batched ``out = a @ b``: numpy's BLAS on a one-thread CPU, as :func:`innmf.accel.runtime.matmul_into`."""
    if out.device.type == "cpu" and torch.get_num_threads() == 1:
        np.matmul(a.numpy(), b.numpy(), out=out.numpy())
    else:
        torch.matmul(a, b, out=out)


def refit_grouped(
    models: Sequence[ImplicitWNMF], Vs: Sequence, freq_coords, epochs: int = 1000, optimizer: str = "rprop",
    lr: float = 1e-3,
) -> list[np.ndarray]:
    """Each model's :meth:`~ImplicitWNMF.refit_H` (Rprop or Adam, kernel ``"blas"``, default seed), in one loop.

    The closed-form gradient of :func:`innmf.accel.activations.fit_activations_fixed_W`,
    with S dictionaries and activations stacked; every H starts from its model's own draw.

    Args:
        models: fitted models of one design.
        Vs: one magnitude matrix per model, all F' x T'.
        freq_coords: the F' coordinates of the rows (``innmf.frequency_coordinate(N')``).
        epochs, optimizer, lr: as :meth:`ImplicitWNMF.refit_H`.

    Returns:
        One H (K x T') per model.
    """
    _, device, dtype = _check_group(models)
    epochs, optimizer, lr, _ = check_training(epochs, optimizer, lr, 1)
    V = _stacked(Vs, device, dtype, "V's")
    W = torch.stack([m.sample_W_tensor(freq_coords) for m in models])  # what each model's refit_H samples
    if W.shape[1] != V.shape[1]:
        raise ValueError(f"Got {W.shape[1]} frequency coordinates for {V.shape[1]} rows of V; pass one per row.")
    S, K, T = W.shape[0], W.shape[2], V.shape[2]
    starts = [torch.rand(K, T, generator=torch.Generator().manual_seed(m.seed + 2), dtype=torch.float64)
              for m in models]
    logits = nn.Parameter(torch.stack(starts).to(device, dtype))
    opt = make_optimizer([logits], optimizer, lr)
    WH, R, WtR, grad = torch.empty_like(V), torch.empty_like(V), V.new_empty(S, K, T), V.new_empty(S, K, T)
    Wt, col_sums = W.transpose(1, 2), W.sum(dim=1).unsqueeze(2)  # W_s^T and W_s^T 1
    first_kl = None
    for epoch in range(epochs):
        with torch.no_grad():
            L = logits.detach()
            _matmul_into(W, _per_model(nnf.softplus, L, S), WH)
            WH.clamp_min_(MODEL_FLOOR)
            torch.div(V, WH, out=R)
            if epoch == 0:  # the lone refit records its first loss; here only to refuse a fit that overflowed
                first_kl = torch.clamp_min(R, MODEL_FLOOR).log_().mul_(V).sub_(V).add_(WH).sum(dim=(1, 2))
            _matmul_into(Wt, R, WtR)
            torch.sub(col_sums, WtR, out=grad).mul_(_per_model(torch.sigmoid, L, S)).div_(V[0].numel())
        logits.grad = grad
        opt.step()
    with torch.no_grad():
        H = _per_model(nnf.softplus, logits.detach(), S)
    check_finite_fit(first_kl.double().cpu().numpy(), [H], "refit_grouped", dtype)
    return list(H.cpu().numpy())
