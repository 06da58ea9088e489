"""The paper's objective as one autograd function: mean generalised KL with its closed-form gradient.

mean(m log(m / m_hat) - m + m_hat) over the points (or matrix entries) being fitted, as
in the paper. Reference: :func:`innmf.paper.divergences.kl_divergence` (autograd
through the plain formula); ``tests/test_training.py`` checks value and gradient against
it. The forward pass forms r = m / m_hat once and sums the non-negative per-entry
terms (no cancellation between large sums, so the reported loss is accurate even when
it is tiny); the backward pass reuses r for the gradient (1 - r) / n. The published
code adds 1e-8 inside its logarithms; we do not (the model is floored at 1e-30
instead, which only matters if a softplus underflows).
"""

from __future__ import annotations

import contextvars

import torch

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
    :func:`mean_kl`, :mod:`innmf.accel.activations` and :mod:`innmf.models.nmf`.
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
