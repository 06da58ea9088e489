"""Rprop over all parameters as one flat vector: the same update as ``torch.optim.Rprop``, in fewer kernels.

Reference: ``torch.optim.Rprop`` (what the ``"reference"`` backend uses);
``tests/test_training.py`` checks that both give the same parameters step by step.
"""

from __future__ import annotations

from typing import Iterable

import torch

OPTIMIZERS = ("rprop", "adam")


class FlatRprop:
    """``torch.optim.Rprop``'s update, applied to all parameters as one flat vector.

    Same algorithm and defaults as PyTorch's Rprop (etas (0.5, 1.2), step sizes
    clamped to [1e-6, 50], first step ``lr``): per entry, the step size grows by
    1.2 while the gradient keeps its sign, shrinks by 0.5 when it flips (and that
    entry then skips one update), and each parameter moves by -sign(grad) * step.
    PyTorch's version runs about twenty elementwise kernels per parameter tensor;
    here they run once over a concatenation of all gradients (for model 1: one set
    instead of eleven, the networks' ten tensors and H's logits). Only ``zero_grad``
    and ``step`` are provided (no state_dict).

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
        # on a few 100k entries cost far more)
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
