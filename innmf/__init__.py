"""innmf: Non-negative matrix factorisation with implicit neural representations.

Companion package to Subramani, Smaragdis, Higuchi & Souden (2024),
"Rethinking Non-Negative Matrix Factorization with Implicit Neural Representations",
arXiv:2404.04439.

The public API, in the order of the data flow (corpus -> representation -> model ->
experiment):

* :func:`load_corpus` — speech: ``"default"`` (embedded), ``"timit:PATH"``, ``"folder:PATH"``;
* :func:`stft`, :func:`istft`, :func:`magnitude` — the paper's STFT, its inverse, and
  compressed magnitudes ``|X|^p``; :class:`PointCloud` — any representation as points
  (t_i, f_i, m_i);
* :func:`nmf` — classic NMF (KL multiplicative updates, the paper's baseline);
* :class:`ImplicitWNMF` (W(f) implicit, H free), :class:`ImplicitWH` (both implicit, on a
  point cloud), :func:`fit_activations` (H for fixed dictionaries) — the iN-NMF models;
* :func:`separate` — Wiener-mask separation of a mixture from per-source models;
* :func:`run_experiments`, :func:`get_profile` — the paper's two speech experiments and
  their typed settings (profiles ``smoke``, ``quick``, ``paper``);
* :data:`SAMPLE_RATE` — 16 kHz, the speech experiments' rate.

Names are loaded on first use (PEP 562), so ``import innmf`` stays light and imports
nothing from the layers below it: ``innmf.data`` may read ``innmf.SAMPLE_RATE`` without
a cycle. ``innmf doctor`` says which compiled fast paths run on this machine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

SAMPLE_RATE = 16_000
"""Sample rate (Hz) of all speech in the paper's experiments."""

# public name -> the module defining it (imported on first access)
_EXPORTS = {
    "load_corpus": "innmf.data",
    "stft": "innmf.tf.stft",
    "istft": "innmf.tf.stft",
    "magnitude": "innmf.tf.stft",
    "PointCloud": "innmf.tf.pointcloud",
    "nmf": "innmf.models.nmf",
    "ImplicitWNMF": "innmf.models.implicit",
    "ImplicitWH": "innmf.models.implicit_wh",
    "fit_activations": "innmf.models.activations",
    "separate": "innmf.paper.separation",
    "run_experiments": "innmf.experiments",
    "get_profile": "innmf.experiments",
}

__all__ = [
    "SAMPLE_RATE", "__version__", "load_corpus", "stft", "istft", "magnitude", "PointCloud", "nmf",
    "ImplicitWNMF", "ImplicitWH", "fit_activations", "separate", "run_experiments", "get_profile",
]

if TYPE_CHECKING:  # for type checkers and editors; not an import at run time
    from innmf.data import load_corpus
    from innmf.experiments import get_profile, run_experiments
    from innmf.models.implicit import ImplicitWH, ImplicitWNMF, fit_activations
    from innmf.models.nmf import nmf
    from innmf.paper.separation import separate
    from innmf.tf.pointcloud import PointCloud
    from innmf.tf.stft import istft, magnitude, stft


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'innmf' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
