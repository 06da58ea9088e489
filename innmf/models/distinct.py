"""Evaluating a network once per distinct coordinate and gathering the values to the points (model 2).

:class:`~innmf.models.implicit_wh.ImplicitWH` fits point clouds of about 100k points that
share about 1k frequencies and a few thousand times: each network runs on the distinct
coordinates only (:class:`Side`) and the values are gathered to the points
(:class:`GatherRows`, with a fast backward pass). Chapter "Hybrid representations".
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class GatherRows(torch.autograd.Function):
    """rows = values[index]; the backward pass sums gradients per row with ``bincount``.

    PyTorch's own backward (``index_add_``) is serial at best and, with two CPU
    threads, contends for the same few cache lines, far slower for the hybrid
    cloud's ~50k points gathered from ~7k rows (``results/bench/README.md``).
    """

    @staticmethod
    def forward(ctx, values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.shape = values.shape
        return values.index_select(0, index)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (index,) = ctx.saved_tensors
        n_rows, width = ctx.shape
        flat = (index * width).unsqueeze(1) + torch.arange(width, device=index.device)
        summed = torch.bincount(flat.reshape(-1), weights=grad.reshape(-1), minlength=n_rows * width)
        return summed.view(n_rows, width).to(grad.dtype), None


class Side:
    """One factor of model 2: a network and the coordinates it is evaluated at.

    With ``index`` (distinct evaluation) the network runs on the distinct
    coordinates and ``index`` maps points to them; without it, it runs on the
    points themselves. A frozen encoding is computed once here.
    """

    def __init__(self, net: nn.Module, coords: torch.Tensor, index: torch.Tensor | None):
        self.net, self.coords, self.index = net, coords, index
        self.frozen = not net.encoding.trainable
        if self.frozen:
            with torch.no_grad():
                self.features = net.encoding(coords)

    def _run(self, rows: torch.Tensor | None) -> torch.Tensor:
        if self.frozen:
            feats = self.features if rows is None else self.features.index_select(0, rows)
        else:
            feats = self.net.encoding(self.coords if rows is None else self.coords.index_select(0, rows))
        return self.net.forward_features(feats)

    def values(self, idx: torch.Tensor | None) -> torch.Tensor:
        """(n, K) factor values at the points ``idx`` (all points when None)."""
        if self.index is None:
            return self._run(idx)
        distinct = self._run(None)
        return GatherRows.apply(distinct, self.index if idx is None else self.index.index_select(0, idx))


def distinct_coordinates(x) -> torch.Tensor:
    """``np.unique`` of (already checked) coordinates, in float64: what ``W_``, ``H_`` and ``transform`` are sampled at.

    Taken before any cast to the model's dtype, so the documented ``np.unique(t)`` holds
    even where two times differ only beyond float32's precision.
    """
    values = x.detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)
    return torch.from_numpy(np.unique(values.reshape(-1)))
