"""What the three iN-NMF models share: input checks, the saved-file format, and RNG forking.

Used by :mod:`innmf.models.implicit` (model 1, :class:`~innmf.models.implicit.ImplicitWNMF`),
:mod:`innmf.models.implicit_wh` (model 2, :class:`~innmf.models.implicit_wh.ImplicitWH`) and
:mod:`innmf.models.activations` (model 3, :func:`~innmf.models.activations.fit_activations`),
so by the chapters "Implicit neural factors", "Window-size generalisation", "Separation" and
"Hybrid representations".
"""

from __future__ import annotations

import os

import numpy as np
import torch

SAVE_FORMAT = 1
"""Version of the file layout written by ``save`` (``load`` refuses other versions)."""


def as_matrix(V, device: torch.device, dtype: torch.dtype, name: str = "V") -> torch.Tensor:
    """``V`` (numpy or torch) as a row-major 2-D tensor on ``device``; ``name`` is used in the error."""
    t = V if isinstance(V, torch.Tensor) else torch.as_tensor(np.asarray(V))
    if t.ndim != 2:
        raise ValueError(f"{name} must be a 2-D magnitude matrix (F x T), got shape {tuple(t.shape)}.")
    # row-major: spectrograms arrive as transposed (column-major) views, and elementwise
    # passes mixing that layout with the model's row-major W H run strided
    return t.to(device=device, dtype=dtype).contiguous()


def dtype_name(dtype: torch.dtype) -> str:
    """The dtype as saved in a model's settings (``torch.float32`` -> ``"float32"``)."""
    return str(dtype).removeprefix("torch.")


def save_model_file(path: str | os.PathLike, kind: str, config: dict, state: dict) -> None:
    """Write a model of class ``kind``: its settings ``config`` and tensors ``state`` (layout ``SAVE_FORMAT``)."""
    torch.save({"format": SAVE_FORMAT, "class": kind, "config": config, "state": state}, path)


def load_model_file(path: str | os.PathLike, kind: str) -> tuple[dict, dict]:
    """Read a file written by :func:`save_model_file` for class ``kind``: (settings, tensors); refuse others."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(saved, dict) or saved.get("format") != SAVE_FORMAT or saved.get("class") != kind:
        raise ValueError(
            f"{os.fspath(path)} is not a saved {kind} (format {SAVE_FORMAT}); save the model with {kind}.save(path)."
        )
    config = dict(saved["config"])
    config["dtype"] = getattr(torch, config["dtype"])
    return config, saved["state"]


def fork_rng(device: torch.device):
    """Fork the global RNGs (CPU, and this CUDA device) so fitting leaves them untouched."""
    if device.type != "cuda":
        return torch.random.fork_rng(devices=[])
    index = device.index if device.index is not None else torch.cuda.current_device()
    return torch.random.fork_rng(devices=[index])

