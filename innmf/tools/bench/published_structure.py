"""A re-implementation of the published iN-NMF code's *structure*, for comparison only.

It mirrors how the authors' ``models.py`` computes (book/paper_setup.md §2): one
``nn.Module`` per component, called one after another in a Python loop; each
component owns its Fourier encoding, built point by point in a Python loop on
every forward pass; the loss has the published ``+1e-8`` terms. It is the
baseline of ``innmf bench`` (the speed-up of :mod:`innmf.models.inr` is measured against
it) and, with :func:`batched_from_reference`, the independent reference the tests
use to check that the batched networks compute the same function. Not used by
the experiments.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as nnf
from torch import nn

from innmf.paper.encoding import FourierEncoding
from innmf.models.inr import ComponentNetworks


class ReferenceFourierFeatures(nn.Module):
    """The paper's encoding, computed one coordinate at a time as in the published code."""

    def __init__(self, n_freqs: int = 10, trainable: bool = False):
        super().__init__()
        self.B = nn.Parameter(2.0 ** torch.arange(n_freqs, dtype=torch.float32), requires_grad=trainable)
        self.bias = nn.Parameter(torch.randn(n_freqs), requires_grad=trainable)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = [self.B * math.pi * x[i] + self.bias for i in range(x.shape[0])]
        arg = torch.vstack(rows)
        return torch.hstack([torch.cos(arg), torch.sin(arg)])


class ReferenceComponentNetwork(nn.Module):
    """One component's MLP: Linear(2J, h), then (Linear(h, h), sin) x 3, Linear(h, 1)."""

    def __init__(self, n_freqs: int = 10, hidden: int = 64, n_layers: int = 4, trainable: bool = False):
        super().__init__()
        self.rff = ReferenceFourierFeatures(n_freqs, trainable)
        dims = [2 * n_freqs] + [hidden] * n_layers + [1]
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:])])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.layers[0](self.rff(x))
        for i in range(1, len(self.layers)):
            y = self.layers[i](y)
            if i < len(self.layers) - 1:
                y = torch.sin(y)
        return y.permute(1, 0)  # (1, P)


class ReferenceImplicitW(nn.Module):
    """Model 1 as published: a list of K component networks and a free matrix H.

    Args:
        rank: K.
        n_frames: T, the number of columns of H.
        n_freqs: J.
        hidden: h.
        seed: seeds the construction (inside a forked RNG, global state untouched).
    """

    def __init__(self, rank: int, n_frames: int, n_freqs: int = 10, hidden: int = 64, seed: int = 0):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.W = nn.ModuleList([ReferenceComponentNetwork(n_freqs, hidden) for _ in range(rank)])
            self.H = nn.Parameter(torch.rand(rank, n_frames))

    def get_W(self, freq_coords: torch.Tensor) -> torch.Tensor:
        columns = [net(freq_coords) for net in self.W]  # Python loop over components
        return nnf.softplus(torch.cat(columns).permute(1, 0))

    def forward(self, freq_coords: torch.Tensor) -> torch.Tensor:
        return self.get_W(freq_coords) @ nnf.softplus(self.H)


def reference_kl(V: torch.Tensor, V_hat: torch.Tensor) -> torch.Tensor:
    """The published loss: mean(V log((V + 1e-8) / (V_hat + 1e-8)) - V + V_hat)."""
    return torch.mean(V * torch.log((V + 1.0e-8) / (V_hat + 1.0e-8)) - V + V_hat)


def reference_epoch(model: ReferenceImplicitW, optimizer: torch.optim.Optimizer, V: torch.Tensor, freq_coords: torch.Tensor) -> float:
    """One full-batch training step exactly as the published training loop does it."""
    optimizer.zero_grad(set_to_none=True)
    loss = reference_kl(V, model(freq_coords))
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def batched_from_reference(networks, backend: str = "auto") -> ComponentNetworks:
    """Copy K reference component networks into one :class:`ComponentNetworks`.

    Args:
        networks: a sequence of :class:`ReferenceComponentNetwork` (e.g. ``model.W``).
        backend: backend of the returned batched networks.

    Returns:
        Batched networks computing the same K functions (same encodings and weights).
    """
    nets = list(networks)
    K = len(nets)
    first = nets[0]
    J = first.rff.B.numel()
    hidden = first.layers[0].out_features
    n_layers = len(first.layers) - 1
    dtype = first.layers[0].weight.dtype
    device = first.layers[0].weight.device
    encoding = FourierEncoding(J, "paper", n_sets=K, dtype=dtype)
    batched = ComponentNetworks(K, hidden, n_layers, encoding=encoding, backend=backend, dtype=dtype, device=device)
    with torch.no_grad():
        batched.encoding.frequencies.copy_(torch.stack([n.rff.B for n in nets]))
        batched.encoding.phases.copy_(torch.stack([n.rff.bias for n in nets]))
        for i in range(len(first.layers)):
            batched.weights[i].copy_(torch.stack([n.layers[i].weight.T for n in nets]))
            batched.biases[i].copy_(torch.stack([n.layers[i].bias for n in nets]))
    return batched
