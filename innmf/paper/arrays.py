"""The one conversion of user arrays for the paper's metrics and masks.

Used by :mod:`innmf.paper.metrics` and :mod:`innmf.paper.separation` (chapters
"Reconstruction across window sizes" and "Separating two speakers").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from innmf.data.validation import MAGNITUDE_HINT


def as_finite_array(x: Any, name: str) -> np.ndarray:
    """``x`` (numpy, list, or a torch tensor, possibly requiring grad) as a float64 array.

    Args:
        x: the values.
        name: what they are, for the error message (e.g. ``"V_hat"``, ``"Mixture"``).

    Returns:
        A float64 numpy array.

    Raises:
        TypeError: not numeric.
        ValueError: complex, NaN or infinite values (named, with where they usually come from).
    """
    if hasattr(x, "detach"):  # runners hand over torch tensors as models
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if np.iscomplexobj(arr):  # np.asarray(x, float) would drop the imaginary part with only a warning
        raise ValueError(f"{name} is complex; pass real values ({MAGNITUDE_HINT} for a spectrogram).")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}.")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values; check the fitted factors or the input signal.")
    return arr
