"""The one conversion of user arrays for the paper's metrics and masks.

Used by :mod:`innmf.paper.metrics` and :mod:`innmf.paper.separation` (chapters
"Reconstruction across window sizes" and "Separating two speakers").
"""

from __future__ import annotations

from typing import Any

import numpy as np


def as_finite_array(x: Any, name: str) -> np.ndarray:
    """``x`` (numpy, list, or a torch tensor, possibly requiring grad) as a float64 array.

    Args:
        x: the values.
        name: what they are, for the error message (e.g. ``"V_hat"``, ``"Mixture"``).

    Returns:
        A float64 numpy array.

    Raises:
        ValueError: NaN or infinite values (named, with where they usually come from).
    """
    if hasattr(x, "detach"):  # runners hand over torch tensors as models
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values; check the fitted factors or the input signal.")
    return arr
