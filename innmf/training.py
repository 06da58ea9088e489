"""The training loop shared by the iN-NMF models, and the paper's KL objective.

The objective is the generalised KL divergence averaged over the points (or matrix
entries) being fitted, as in the paper: mean(m log(m / m_hat) - m + m_hat). It is
one autograd function: the forward pass forms r = m / m_hat once and sums the
non-negative per-entry terms (no cancellation between large sums, so the reported
loss is accurate even when it is tiny), the backward pass reuses r for the
gradient (1 - r) / n. The published code adds 1e-8 inside its logarithms; we do
not (the model is floored at 1e-30 instead, which only matters if a softplus
underflows). Used by :mod:`innmf.models`.
"""

from __future__ import annotations

import contextvars
from typing import Callable, Iterable

import numpy as np
import torch
from tqdm.auto import tqdm

OPTIMIZERS = ("rprop", "adam")

# Whether mean_kl must compute its value. train() clears it on epochs whose loss is not
# recorded: the gradient needs only r = m / m_hat, the value a logarithm over every
# entry (a few percent of an iN-NMF epoch). A context variable, so threads do not mix.
_VALUE_NEEDED: contextvars.ContextVar[bool] = contextvars.ContextVar("innmf_kl_value_needed", default=True)
MODEL_FLOOR = 1e-30  # floor of the model m_hat (only underflowed softplus outputs reach it)


class KLTarget:
    """A fixed, validated target m (matrix or point magnitudes) for :func:`mean_kl`.

    Args:
        m: the non-negative target tensor (any shape), on the training device.
    """

    def __init__(self, m: torch.Tensor):
        if not bool(torch.isfinite(m).all()):
            raise ValueError("The target contains NaN or infinite values.")
        if bool((m < 0).any()):
            raise ValueError("The target has negative entries; fit magnitudes (|X|^p), not signed values.")
        self.m = m
        self.n = m.numel()

    def subset(self, idx: torch.Tensor) -> "KLTarget":
        """The (1-D) target restricted to the entries ``idx`` (the points of one epoch)."""
        sub = KLTarget.__new__(KLTarget)
        sub.m = self.m.reshape(-1).index_select(0, idx)
        sub.n = sub.m.numel()
        return sub


def kl_sum_from_ratio(m: torch.Tensor, r: torch.Tensor, m_hat: torch.Tensor, out: torch.Tensor | None = None):
    """sum(m log r - m + m_hat) with r = m / m_hat: the generalised KL as a sum of
    non-negative per-entry terms (no cancellation between large sums).

    Where m = 0, r = 0 is floored before the logarithm and the product is 0 (0 log 0 = 0).
    ``out`` is scratch of r's shape (a new tensor when None); r is left intact. Shared by
    :func:`mean_kl`, :mod:`innmf.activations` and :mod:`innmf.nmf`.
    """
    return torch.clamp_min(r, MODEL_FLOOR, out=out).log_().mul_(m).sub_(m).add_(m_hat).sum()


class _MeanKL(torch.autograd.Function):
    @staticmethod
    def forward(ctx, m_hat, m, n):
        mh = m_hat.clamp_min(MODEL_FLOOR)
        m = m.view_as(mh)
        r = m / mh
        ctx.save_for_backward(r)
        ctx.n = n
        if not _VALUE_NEEDED.get():
            return r.new_full((), float("nan"))  # this epoch's value is not recorded
        return kl_sum_from_ratio(m, r, mh) / n

    @staticmethod
    def backward(ctx, grad):
        (r,) = ctx.saved_tensors
        # d/dm_hat mean(m log(m/m_hat) - m + m_hat) = (1 - m/m_hat) / n
        scale = grad / ctx.n
        return torch.sub(1.0, r).mul_(scale), None, None


def mean_kl(m_hat: torch.Tensor, target: KLTarget) -> torch.Tensor:
    """Mean generalised KL divergence between a prepared target and the model ``m_hat``.

    Args:
        m_hat: model values, same number of entries as the target (autograd-aware).
        target: a :class:`KLTarget` (or its ``subset``).

    Returns:
        A 0-d tensor.
    """
    if m_hat.numel() != target.n:
        raise ValueError(f"Model has {m_hat.numel()} entries but the target has {target.n}.")
    return _MeanKL.apply(m_hat, target.m, target.n)


class FlatRprop:
    """``torch.optim.Rprop``'s update, applied to all parameters as one flat vector.

    Same algorithm and defaults as PyTorch's Rprop (etas (0.5, 1.2), step sizes
    clamped to [1e-6, 50], first step ``lr``): per entry, the step size grows by
    1.2 while the gradient keeps its sign, shrinks by 0.5 when it flips (and that
    entry then skips one update), and each parameter moves by -sign(grad) * step.
    PyTorch's version runs about twenty elementwise kernels per parameter tensor;
    here they run once over a concatenation of all gradients, which on a CPU takes
    a tenth of the time for the paper's network. Only ``zero_grad`` and ``step``
    are provided (no state_dict).

    Args:
        params: the parameters (all on one device, one dtype).
        lr: initial step size (the paper: 1e-3).
        etas: (decrease, increase) factors.
        step_sizes: (minimum, maximum) step size.
    """

    def __init__(self, params, lr: float = 1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
        self.params = [p for p in params if p.requires_grad]
        if not self.params:
            raise ValueError("FlatRprop got no parameters that require gradients.")
        first = self.params[0]
        if any(p.device != first.device or p.dtype != first.dtype for p in self.params):
            raise ValueError("FlatRprop needs all parameters on one device with one dtype.")
        self.sizes = [p.numel() for p in self.params]
        total = sum(self.sizes)
        self.etaminus, self.etaplus = float(etas[0]), float(etas[1])
        self.step_min, self.step_max = float(step_sizes[0]), float(step_sizes[1])
        self.prev = torch.zeros(total, device=first.device, dtype=first.dtype)
        self.step_size = torch.full((total,), float(lr), device=first.device, dtype=first.dtype)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        grads = [p.grad.reshape(-1) if p.grad is not None else p.new_zeros(p.numel()) for p in self.params]
        g = torch.cat(grads)
        sign = g.mul(self.prev).sign_()
        # -1 where the gradient changed sign, else 0 (arithmetic: CPU where/masked_fill
        # on a few 100k entries cost 20 times more)
        flipped = sign.clamp_max(0.0)
        factor = sign.clamp_min_(0.0).mul_(self.etaplus - 1.0).add_(1.0).add_(flipped, alpha=1.0 - self.etaminus)
        self.step_size.mul_(factor).clamp_(self.step_min, self.step_max)
        g.addcmul_(g, flipped)  # after a sign change: no step, and forget the gradient
        self.prev.copy_(g)
        update = g.sign_().mul_(self.step_size)
        torch._foreach_sub_(self.params, [u.view_as(p) for u, p in zip(update.split(self.sizes), self.params)])


def make_optimizer(params: Iterable[torch.Tensor], optimizer: str = "rprop", lr: float = 1e-3):
    """Rprop (the paper's, as :class:`FlatRprop`) or Adam (``torch.optim.Adam``), rate ``lr``."""
    params = [p for p in params if p.requires_grad]
    if not lr > 0:
        raise ValueError(f"Learning rate must be positive, got {lr}.")
    if optimizer == "rprop":
        return FlatRprop(params, lr=lr)
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, foreach=True)
    raise ValueError(f"Unknown optimizer {optimizer!r}; use one of {OPTIMIZERS}.")


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
