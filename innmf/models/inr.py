"""K component networks (implicit neural representations) evaluated in one batched call.

The paper models each column W_k(f) (or row H_k(t)) with its own small MLP and the
published code calls the K networks one after another in a Python loop. Here the
K networks' weights are stacked, layer by layer, into tensors of shape
(K, d_in, d_out), and every layer of all K networks is one grouped matrix product
over all points: no Python loop over components or points. Activations live in a
(P, K, d) layout (points, components, features).

Layout of the paper's network (book/paper_setup.md §2), for ``n_layers=4``:
Linear(2J -> h), Linear(h -> h), sin, Linear(h -> h), sin, Linear(h -> h), sin,
Linear(h -> 1), softplus. There is no activation after the first layer, so the
first two layers compose to one affine map: the forward pass multiplies their
(tiny) weight matrices first and applies the product to the points, which is the
same function with the same parameters and gradients at 2J/h of the cost.

The grouped products and the backward pass live in :mod:`innmf.accel.grouped_mlp`
(backends ``"fused"``, the default, ``"batched"`` and ``"bmm"``); the plain definition they are
tested against is :mod:`innmf.paper.inr` (one ``nn.Sequential`` per component).
Used by :mod:`innmf.models.implicit` and the chapter "Implicit neural factors".
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as nnf
from torch import nn

from innmf.paper.encoding import FourierEncoding, as_coordinates
from innmf.accel.grouped_mlp import BACKENDS, Workspaces, fused_mlp, grouped_linear, resolve_backend

__all__ = ["BACKENDS", "ComponentNetworks", "grouped_forward"]

def _uniform(gen: torch.Generator, shape: tuple[int, ...], bound: float) -> torch.Tensor:
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2.0 - 1.0) * bound


class ComponentNetworks(nn.Module):
    """K independent MLPs mapping a scalar coordinate to K non-negative values.

    Args:
        n_components: K, the rank.
        hidden: width h (the paper: 64 for speech, 16 for the hybrid demo).
        n_layers: number of layers of width h (the paper: 4, the first without an
            activation, see the module docstring).
        activation: ``"sin"`` (the paper's) or ``"relu"``.
        init: ``"default"``: PyTorch's nn.Linear init, U(+-1/sqrt(fan_in)) for weights
            and biases, drawn per component (the paper's network); ``"siren"``:
            Sitzmann et al.'s rule with omega_0 folded into the weights, so every
            pre-activation has about unit variance (U(+-sqrt(6/fan_in)) for layers
            fed by sines or the encoding, U(+-sqrt(3/fan_in)) after the linear first layer).
        encoding: a :class:`FourierEncoding`; default: the paper's, J = ``n_freqs``,
            one draw of phases per component (``n_sets=K``) as in the published code,
            or one shared draw when ``shared_encoding``.
        n_freqs: J for the default encoding.
        shared_encoding: all components see the same encoding (one set of phases).
        seed: seeds the weights (and the default encoding's phases).
        backend: ``"auto"`` (= ``"fused"``), ``"fused"``, ``"batched"`` or ``"bmm"``
            (see :mod:`innmf.accel.grouped_mlp`; all compute the same function).
        device: where the parameters live.
        dtype: parameter dtype.
    """

    def __init__(
        self,
        n_components: int,
        hidden: int = 64,
        n_layers: int = 4,
        activation: str = "sin",
        init: str = "default",
        encoding: FourierEncoding | None = None,
        n_freqs: int = 10,
        shared_encoding: bool = False,
        seed: int = 0,
        backend: str = "auto",
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__()
        K, h, L = int(n_components), int(hidden), int(n_layers)
        if K < 1 or h < 1:
            raise ValueError(f"Need n_components and hidden >= 1, got {K} and {h}.")
        if L < 2:
            raise ValueError(f"n_layers must be >= 2 (a linear first layer, then activated ones), got {L}.")
        if activation not in ("sin", "relu"):
            raise ValueError(f"Unknown activation {activation!r}; use 'sin' or 'relu'.")
        if init not in ("default", "siren"):
            raise ValueError(f"Unknown init {init!r}; use 'default' or 'siren'.")
        if encoding is None:
            encoding = FourierEncoding(n_freqs, "paper", seed=seed, n_sets=1 if shared_encoding else K, dtype=dtype)
        if encoding.n_sets not in (1, K):
            raise ValueError(f"The encoding has {encoding.n_sets} sets of phases; use 1 (shared) or K = {K}.")
        self.n_components, self.hidden, self.n_layers = K, h, L
        self.activation, self.init = activation, init
        self.encoding = encoding
        dims = [encoding.out_features] + [h] * L + [1]
        gen = torch.Generator().manual_seed(int(seed) + 7919)  # independent of the phases' stream
        weights, biases = [], []
        for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
            w_bound = b_bound = 1.0 / math.sqrt(d_in)
            if init == "siren":
                w_bound = math.sqrt((3.0 if i == 1 else 6.0) / d_in)
            # one draw per component, in component order, as K separate nn.Linear would
            w = torch.stack([_uniform(gen, (d_out, d_in), w_bound).T for _ in range(K)])
            b = torch.stack([_uniform(gen, (d_out,), b_bound) for _ in range(K)])
            weights.append(nn.Parameter(w.to(dtype)))
            biases.append(nn.Parameter(b.to(dtype)))
        self.weights = nn.ParameterList(weights)
        self.biases = nn.ParameterList(biases)
        self.backend_name = backend
        resolve_backend(backend, torch.device(device), dtype)  # fail early on an unknown name
        self._workspace = Workspaces()
        self.to(device)

    @property
    def backend(self) -> str:
        """The grouped-product backend in use for the parameters' device and dtype."""
        p = self.weights[0]
        return resolve_backend(self.backend_name, p.device, p.dtype)

    def _act(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sin(z) if self.activation == "sin" else torch.relu(z)

    def forward_features(self, features: torch.Tensor, raw: bool = False) -> torch.Tensor:
        """Evaluate all K networks on encoded coordinates.

        Args:
            features: (P, 2J) shared or (P, K, 2J) per-component encodings
                (the output of ``self.encoding``; cache it when the encoding is frozen).
            raw: return the last layer's output without the softplus.

        Returns:
            (P, K): component k's value at each point (non-negative unless ``raw``).
        """
        return grouped_forward(features, list(self.weights), list(self.biases), self.activation, self.backend,
                               self._workspace, raw)

    def forward(self, coords, raw: bool = False) -> torch.Tensor:
        """Encode coordinates (P,) or (P, 1) and evaluate: returns (P, K)."""
        p = self.weights[0]
        x = as_coordinates(coords, device=p.device, dtype=p.dtype)
        return self.forward_features(self.encoding(x), raw=raw)

    def flops_per_point(self, backward: bool = True, composed: bool = True) -> int:
        """Floating-point operations of the matrix products per coordinate.

        Args:
            backward: include the backward pass (weight gradients of every layer,
                input gradients of every layer but the first, whose input is the
                frozen encoding).
            composed: count the work done here (first two layers composed); False
                counts the paper's network layer by layer, i.e. the work the
                published implementation does.

        Returns:
            FLOPs per coordinate for all K components.
        """
        K, h, L, d0 = self.n_components, self.hidden, self.n_layers, self.encoding.out_features
        first = 2 * d0 * h  # the (composed) first layer: its input needs no gradient
        n_hidden = L - 2 if composed else L - 1  # h x h layers, which also pass gradients on
        hidden = 2 * h * h * n_hidden
        last = 2 * h
        fwd = K * (first + hidden + last)
        if not backward:
            return fwd
        return fwd + K * (first + 2 * hidden + 2 * last)

    def extra_repr(self) -> str:
        return (
            f"n_components={self.n_components}, hidden={self.hidden}, n_layers={self.n_layers}, "
            f"activation={self.activation!r}, init={self.init!r}, backend={self.backend_name!r}"
        )


def grouped_forward(
    features: torch.Tensor, weights: list[torch.Tensor], biases: list[torch.Tensor], activation: str, backend: str,
    workspace: Workspaces, raw: bool = False,
) -> torch.Tensor:
    """Evaluate a stack of grouped networks (:meth:`ComponentNetworks.forward_features`'s computation).

    Shared with :mod:`innmf.models.grouped_fit`, which trains the networks of many
    models as one group: the same code, hence the same numbers, whatever the group.

    Args:
        features: (P, 2J) shared or (P, G, 2J) per-network encodings.
        weights: per layer (G, d_in, d_out), the last with d_out = 1.
        biases: per layer (G, d_out).
        activation: ``"sin"`` or ``"relu"``.
        backend: ``"fused"``, ``"batched"`` or ``"bmm"`` (resolved, see :func:`resolve_backend`).
        workspace: the fused backends' buffers for this group.
        raw: return the last layer's output without the softplus.

    Returns:
        (P, G): network g's value at each point.
    """
    W, b = weights, biases
    K = W[0].shape[0]
    # the first two layers have no activation between them: compose them (tiny
    # K x 2J x h products) before touching the P points
    w01 = torch.bmm(W[0], W[1])
    b01 = torch.baddbmm(b[1][:, None, :], b[0][:, None, :], W[1])[:, 0, :]
    if not (features.ndim == 2 or (features.ndim == 3 and features.shape[1] == K)):
        raise ValueError(f"Features must be (P, 2J) or (P, {K}, 2J), got {tuple(features.shape)}.")
    if backend in ("fused", "batched"):
        out = fused_mlp(workspace, activation, features, [w01, *W[2:]], [b01, *b[2:]], compiled=backend == "fused")
        return out if raw else nnf.softplus(out)

    def act(z: torch.Tensor) -> torch.Tensor:
        return torch.sin(z) if activation == "sin" else torch.relu(z)

    if features.ndim == 2:
        P = features.shape[0]
        flat = w01.permute(1, 0, 2).reshape(w01.shape[1], -1)
        z = torch.addmm(b01.reshape(1, -1), features, flat).view(P, K, -1)
    else:
        z = grouped_linear(features, w01, b01)
    a = act(z)
    for i in range(2, len(W) - 1):
        a = act(grouped_linear(a, W[i], b[i]))
    out = grouped_linear(a, W[-1], b[-1])[:, :, 0]
    return out if raw else nnf.softplus(out)
