"""innmf: Non-negative matrix factorisation with implicit neural representations.

Companion package to Subramani, Smaragdis, Higuchi & Souden (2024),
"Rethinking Non-Negative Matrix Factorization with Implicit Neural Representations",
arXiv:2404.04439.

The public API, in the order of the data flow (corpus -> representation -> model ->
experiment):

* :func:`load_corpus` — speech: ``"default"`` (embedded), ``"timit:PATH"``, ``"folder:PATH"``;
  :func:`read_audio` — one recording of your own, as 16 kHz mono;
* :func:`stft`, :func:`istft`, :func:`magnitude` — the paper's STFT, its inverse, and
  compressed magnitudes ``|X|^p``; :func:`stft_frequencies` (Hz of each bin); :func:`cqt`
  — a constant-Q transform; :class:`PointCloud` — any representation as points (t_i, f_i, m_i);
* :func:`frequency_coordinate`, :func:`time_coordinate` — the coordinates the networks
  are built for (anything outside their range is refused);
* :func:`nmf` — classic NMF (KL multiplicative updates, the paper's baseline), giving an
  :class:`NMFResult`;
* :class:`ImplicitWNMF` (W(f) implicit, H free), :class:`ImplicitWH` (both implicit, on a
  point cloud), :func:`fit_activations` (H for fixed dictionaries, giving an
  :class:`ActivationFit`) — the iN-NMF models, with scikit-learn's face (``fit`` -> self,
  ``transform``, ``fit_transform``, ``components_`` K x F, ``history_``, ``get_params``);
* :func:`separate` — Wiener-mask separation of a mixture from per-source models;
* :class:`NotFittedError` (a method that needs ``fit`` called before it),
  :class:`ModelFileError` (``load`` on a file that is not an innmf model) — the named
  errors; every other bad input is a ``ValueError`` or ``TypeError`` saying what to change;
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
    "read_audio": "innmf.data.audio",
    "stft": "innmf.tf.stft",
    "istft": "innmf.tf.stft",
    "magnitude": "innmf.tf.stft",
    "stft_frequencies": "innmf.tf.stft",
    "frequency_coordinate": "innmf.tf.stft",
    "time_coordinate": "innmf.tf.stft",
    "cqt": "innmf.tf.cqt",
    "PointCloud": "innmf.tf.pointcloud",
    "nmf": "innmf.models.nmf",
    "NMFResult": "innmf.models.nmf",
    "ImplicitWNMF": "innmf.models.implicit",
    "ImplicitWH": "innmf.models.implicit_wh",
    "fit_activations": "innmf.models.activations",
    "ActivationFit": "innmf.models.activations",
    "separate": "innmf.paper.separation",
    "NotFittedError": "innmf.data.validation",
    "ModelFileError": "innmf.data.validation",
    "run_experiments": "innmf.experiments",
    "get_profile": "innmf.experiments",
}

__all__ = [
    "SAMPLE_RATE", "__version__", "load_corpus", "read_audio", "stft", "istft", "magnitude", "stft_frequencies",
    "frequency_coordinate", "time_coordinate", "cqt", "PointCloud", "nmf", "NMFResult", "ImplicitWNMF", "ImplicitWH",
    "fit_activations", "ActivationFit", "separate", "NotFittedError", "ModelFileError", "run_experiments", "get_profile",
]

if TYPE_CHECKING:  # for type checkers and editors; not an import at run time
    from innmf.data import load_corpus
    from innmf.data.audio import read_audio
    from innmf.data.validation import ModelFileError, NotFittedError
    from innmf.experiments import get_profile, run_experiments
    from innmf.models.activations import ActivationFit
    from innmf.models.implicit import ImplicitWH, ImplicitWNMF, fit_activations
    from innmf.models.nmf import NMFResult, nmf
    from innmf.paper.separation import separate
    from innmf.tf.cqt import cqt
    from innmf.tf.pointcloud import PointCloud
    from innmf.tf.stft import frequency_coordinate, istft, magnitude, stft, stft_frequencies, time_coordinate


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'innmf' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
