"""The paper's implicit neural representation: one small network W_k(f) per component k.

Component k's network, for ``n_layers=4`` (book/paper_setup.md §2)::

    encoding -> Linear(2J, h) -> Linear(h, h) -> sin -> Linear(h, h) -> sin
             -> Linear(h, h) -> sin -> Linear(h, 1) -> softplus

an ``nn.Sequential`` of plain PyTorch modules; the K networks are called one after
another in a loop and their outputs are the K columns of W (or rows of H). This is
the definition the fast networks (:class:`innmf.models.inr.ComponentNetworks`, K
networks as grouped products) are tested against: for the same seed the weights
are drawn the same way (PyTorch's nn.Linear init U(+-1/sqrt(fan_in)), one draw per
component in component order, from the generator ``seed + 7919``), so both are the
same function. :func:`stacked_parameters` and :func:`load_stacked` read and write
the weights in the fast networks' stacked layout (``innmf.models.networks``
converts both ways). Chapter "Implicit neural factors" (its exercise reads this file).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import skip_init

from innmf.paper.encoding import FourierEncoding, as_coordinates

ACTIVATIONS = ("sin", "relu")
INITS = ("default", "siren")


class Sine(nn.Module):
    """sin(z), the paper's activation."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sin(z)


def component_network(encoding: nn.Module, d_in: int, hidden: int, n_layers: int, activation: str) -> nn.Sequential:
    """One component's network: encoding, ``n_layers`` layers of width h, Linear(h, 1), softplus.

    The first layer has no activation after it (as in the published code).
    """
    act = Sine if activation == "sin" else nn.ReLU
    modules: list[nn.Module] = [encoding, skip_init(nn.Linear, d_in, hidden)]
    for _ in range(n_layers - 1):
        modules += [skip_init(nn.Linear, hidden, hidden), act()]
    return nn.Sequential(*modules, skip_init(nn.Linear, hidden, 1), nn.Softplus())


def _uniform(gen: torch.Generator, shape: tuple[int, ...], bound: float) -> torch.Tensor:
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2.0 - 1.0) * bound


class ReferenceNetworks(nn.Module):
    """K component networks W_k(f), evaluated one after another.

    Args:
        n_components: K, the rank.
        hidden: width h (the paper: 64 for speech, 16 for the hybrid demo).
        n_layers: layers of width h (the paper: 4).
        activation: ``"sin"`` (the paper's) or ``"relu"``.
        init: ``"default"`` (nn.Linear's, the paper's) or ``"siren"`` (U(+-sqrt(6/fan_in)),
            U(+-sqrt(3/fan_in)) after the linear first layer).
        n_freqs: J of the Fourier encoding (2J network inputs).
        encoding: ``"paper"``, ``"gaussian"`` or ``"siren"`` (see :class:`FourierEncoding`).
        encoding_scale: standard deviation of Gaussian encoding frequencies.
        trainable_encoding: learn the encoding too (the paper freezes it).
        shared_encoding: one encoding for all K networks (the published code draws one per network).
        seed: seeds the encoding's phases (generator ``seed``) and the weights (``seed + 7919``).
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
        n_freqs: int = 10,
        encoding: str = "paper",
        encoding_scale: float = 10.0,
        trainable_encoding: bool = False,
        shared_encoding: bool = False,
        seed: int = 0,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__()
        K, h, L = int(n_components), int(hidden), int(n_layers)
        if K < 1 or h < 1 or L < 2:
            raise ValueError(f"Need n_components >= 1, hidden >= 1 and n_layers >= 2; got {K}, {h}, {L}.")
        if activation not in ACTIVATIONS or init not in INITS:
            raise ValueError(f"activation must be one of {ACTIVATIONS} and init one of {INITS}; got {activation!r}, {init!r}.")
        self.n_components, self.hidden, self.n_layers, self.activation = K, h, L, activation
        drawn = FourierEncoding(n_freqs, encoding, encoding_scale, trainable_encoding, seed,
                                n_sets=1 if shared_encoding else K, dtype=dtype)
        self.shared_encoding = bool(shared_encoding)
        encodings = [drawn] * K if shared_encoding else [_one_set(drawn, k) for k in range(K)]
        d_in = drawn.out_features
        self.networks = nn.ModuleList([component_network(e, d_in, h, L, activation) for e in encodings])
        self.to(device=device, dtype=dtype)  # before the draws are copied in: float64 draws rounded once
        dims = [d_in] + [h] * L + [1]
        gen = torch.Generator().manual_seed(int(seed) + 7919)  # independent of the phases' stream
        with torch.no_grad():
            for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:])):
                w_bound = b_bound = 1.0 / math.sqrt(fan_in)
                if init == "siren":
                    w_bound = math.sqrt((3.0 if i == 1 else 6.0) / fan_in)
                layers = [self.linears(k)[i] for k in range(K)]
                for layer in layers:  # all K weights of layer i, then all K biases
                    layer.weight.copy_(_uniform(gen, (fan_out, fan_in), w_bound))
                for layer in layers:
                    layer.bias.copy_(_uniform(gen, (fan_out,), b_bound))

    def linears(self, k: int) -> list[nn.Linear]:
        """Component k's linear layers, first to last."""
        return [m for m in self.networks[k] if isinstance(m, nn.Linear)]

    def encodings(self) -> list[FourierEncoding]:
        """The encoding each network starts with (one object for all when shared)."""
        return [net[0] for net in self.networks]

    def forward(self, coords, raw: bool = False) -> torch.Tensor:
        """W at the coordinates: (P,) -> (P, K), column k = W_k(coords) (before softplus if ``raw``)."""
        p = self.networks[0][1].weight
        x = as_coordinates(coords, device=p.device, dtype=p.dtype)
        columns = [(net[:-1] if raw else net)(x) for net in self.networks]  # a loop over the K networks
        return torch.cat(columns, dim=1)


def _one_set(encoding: FourierEncoding, k: int) -> FourierEncoding:
    """A one-set encoding holding set k of a per-component ``encoding``."""
    one = FourierEncoding(encoding.n_freqs, encoding.kind, trainable=encoding.trainable, dtype=encoding.frequencies.dtype)
    with torch.no_grad():
        one.frequencies.copy_(encoding.frequencies[k : k + 1])
        one.phases.copy_(encoding.phases[k : k + 1])
    return one


def stacked_parameters(nets: ReferenceNetworks) -> dict[str, object]:
    """The weights in the fast networks' layout (detached copies).

    Returns:
        ``{"frequencies": (S, J), "phases": (S, J), "weights": [(K, d_in, d_out) per layer],
        "biases": [(K, d_out) per layer]}`` with S = 1 (shared encoding) or K.
    """
    encs = nets.encodings()[:1] if nets.shared_encoding else nets.encodings()
    K = nets.n_components
    n_linear = len(nets.linears(0))
    with torch.no_grad():
        return {
            "frequencies": torch.cat([e.frequencies for e in encs]).clone(),
            "phases": torch.cat([e.phases for e in encs]).clone(),
            "weights": [torch.stack([nets.linears(k)[i].weight.T for k in range(K)]).clone() for i in range(n_linear)],
            "biases": [torch.stack([nets.linears(k)[i].bias for k in range(K)]).clone() for i in range(n_linear)],
        }


def load_stacked(nets: ReferenceNetworks, frequencies, phases, weights, biases) -> ReferenceNetworks:
    """Write weights given in the fast networks' layout (see :func:`stacked_parameters`) into ``nets``."""
    encs = nets.encodings()[:1] if nets.shared_encoding else nets.encodings()
    if len(encs) != frequencies.shape[0] or len(weights) != len(nets.linears(0)):
        raise ValueError("The stacked parameters do not fit these networks (encoding sets or number of layers differ).")
    with torch.no_grad():
        for s, e in enumerate(encs):
            e.frequencies.copy_(frequencies[s : s + 1])
            e.phases.copy_(phases[s : s + 1])
        for i, (w, b) in enumerate(zip(weights, biases)):
            for k in range(nets.n_components):
                nets.linears(k)[i].weight.copy_(w[k].T)
                nets.linears(k)[i].bias.copy_(b[k])
    return nets
