"""Fourier encoding of a scalar coordinate (a frequency or a time) for the INRs.

The paper's encoding (book/paper_setup.md §2) uses J fixed frequencies 2^j, j < J, and
random phases b_j ~ N(0, 1): features [cos(pi 2^j x + b_j), sin(pi 2^j x + b_j)], so
2J network inputs. The published code calls this "random Fourier features" and
keeps it frozen; each component network draws its own phases. ``n_sets`` reproduces
that: one set of phases per component, all drawn here in one tensor. Gaussian
random Fourier features (Tancik et al. 2020) are offered as an alternative, and a
SIREN first layer (Sitzmann et al. 2020), sin(omega_0 (a u + c)) on u = 2x in [-1, 1)
with a, c ~ U(-1, 1) and omega_0 = 30, meant to be trained (``trainable=True``).
Used by the chapters "Implicit neural factors" and "Design of the INR".
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from innmf.data.validation import check_array, check_int


def as_coordinates(coords, device=None, dtype=torch.float32, name: str = "Coordinates") -> torch.Tensor:
    """Validate and flatten coordinates of shape (P,) or (P, 1) into a (P,) tensor.

    Args:
        coords: numpy array, list or tensor of scalar coordinates (a tensor keeps its
            autograd graph; numpy input is copied when read-only, so torch never warns).
        device: target device (default: keep a tensor's own device, else CPU).
        dtype: target floating dtype.
        name: what the coordinates are, for the error messages (e.g. ``"freq_coords"``).

    Returns:
        A 1-D tensor.

    Raises:
        TypeError: not numeric.
        ValueError: complex, wrong shape, empty, NaN or infinite.
    """
    if isinstance(coords, torch.Tensor):
        if coords.is_complex():
            raise ValueError(f"{name} are complex; coordinates are real numbers.")
        t = coords
    else:
        arr = check_array(coords, name, ndim=(0, 1, 2), layout="(P,) or (P, 1)", nonnegative=False, allow_empty=True,
                          complex_hint="coordinates are real numbers")
        t = torch.as_tensor(np.ascontiguousarray(arr))
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 1:
        raise ValueError(f"{name} must have shape (P,) or (P, 1), got {tuple(t.shape)}.")
    if t.numel() == 0:
        raise ValueError(f"{name} are empty; pass at least one coordinate.")
    t = t.to(device=device if device is not None else t.device, dtype=dtype)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contain NaN or infinite values.")
    return t


def max_encoding_frequencies(dtype: torch.dtype = torch.float32) -> int:
    """The largest J whose top feature pi 2^(J-1) x (|x| <= 1) is finite in ``dtype``.

    Beyond it cos and sin of an overflowed argument are NaN: the networks would train on
    NaN features (126 in float32, 1022 in float64).
    """
    return int(math.floor(math.log2(torch.finfo(dtype).max / (2 * math.pi)))) + 1


SIREN_OMEGA = 30.0
"""omega_0 of a SIREN first layer (Sitzmann et al. 2020's value for inputs in [-1, 1])."""


class FourierEncoding(nn.Module):
    """Map scalar coordinates x (P,) to 2J Fourier features.

    Features are ``[cos(pi B_j x + b_j) for j < J] + [sin(pi B_j x + b_j) for j < J]``
    (cosines first, as in the published code).

    Args:
        n_freqs: J, the number of frequencies (the paper: 10, so 20 features).
        kind: ``"paper"``: B_j = 2^j and phases b_j ~ N(0, 1);
            ``"gaussian"``: B_j ~ N(0, scale^2) and zero phases (Tancik et al.'s
            cos(2 pi B' x) with B' ~ N(0, (scale / 2)^2));
            ``"siren"``: a SIREN first layer sin(omega_0 (a u + c)) on u = 2x, a, c ~ U(-1, 1),
            i.e. B_j = 2 omega_0 a_j / pi and b_j = omega_0 c_j; its cosine half is the
            same units shifted by pi/2 (the ladder's layout), so 2J sine units share J
            frequencies. Train it (``trainable=True``), as SIREN does.
        scale: standard deviation of the Gaussian frequencies (``kind="gaussian"``).
        trainable: learn B and b too (the paper keeps them frozen).
        seed: seeds the random draws (phases or Gaussian frequencies).
        n_sets: independent draws of the random part, e.g. one per component as in
            the published code (K networks, K encodings). With n_sets > 1 the output
            has shape (P, n_sets, 2J), otherwise (P, 2J).
        dtype: parameter dtype.
    """

    def __init__(
        self,
        n_freqs: int = 10,
        kind: str = "paper",
        scale: float = 10.0,
        trainable: bool = False,
        seed: int = 0,
        n_sets: int = 1,
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__()
        # the paper's frequencies 2^j overflow past a dtype's range; Gaussian ones are drawn at ``scale``
        J = check_int(n_freqs, "n_freqs (J)", minimum=1, maximum=max_encoding_frequencies(dtype) if kind == "paper" else None)
        S = check_int(n_sets, "n_sets", minimum=1)
        gen = torch.Generator().manual_seed(check_int(seed, "seed", minimum=0))
        if kind == "paper":
            freqs = (2.0 ** torch.arange(J, dtype=torch.float64)).expand(S, J).clone()
            phases = torch.randn(S, J, generator=gen, dtype=torch.float64)
        elif kind == "siren":  # U(-1, 1) draws in float64, as nn.Linear(1, J)'s weight and bias
            freqs = (2.0 * SIREN_OMEGA / math.pi) * (torch.rand(S, J, generator=gen, dtype=torch.float64) * 2.0 - 1.0)
            phases = SIREN_OMEGA * (torch.rand(S, J, generator=gen, dtype=torch.float64) * 2.0 - 1.0)
        elif kind == "gaussian":
            if not scale > 0:
                raise ValueError(f"scale must be positive, got {scale}.")
            freqs = float(scale) * torch.randn(S, J, generator=gen, dtype=torch.float64)
            phases = torch.zeros(S, J, dtype=torch.float64)
        else:
            raise ValueError(f"Unknown encoding kind {kind!r}; use 'paper', 'gaussian' or 'siren'.")
        self.kind = kind
        self.n_freqs = J
        self.n_sets = S
        self.trainable = bool(trainable)
        self.frequencies = nn.Parameter(freqs.to(dtype), requires_grad=self.trainable)
        self.phases = nn.Parameter(phases.to(dtype), requires_grad=self.trainable)

    @property
    def out_features(self) -> int:
        """2J, the number of features per coordinate."""
        return 2 * self.n_freqs

    def forward(self, coords) -> torch.Tensor:
        """Encode coordinates.

        Args:
            coords: shape (P,) or (P, 1).

        Returns:
            (P, 2J) when ``n_sets == 1``, else (P, n_sets, 2J).
        """
        x = as_coordinates(coords, device=self.frequencies.device, dtype=self.frequencies.dtype)
        arg = torch.addcmul(self.phases, self.frequencies, x[:, None, None], value=math.pi)
        features = torch.cat([torch.cos(arg), torch.sin(arg)], dim=-1)
        return features[:, 0] if self.n_sets == 1 else features

    def extra_repr(self) -> str:
        return f"n_freqs={self.n_freqs}, kind={self.kind!r}, n_sets={self.n_sets}, trainable={self.trainable}"
