"""What the three iN-NMF models share: input checks, the scikit-learn face, the saved-file format, RNG forking.

Used by :mod:`innmf.models.implicit` (model 1, :class:`~innmf.models.implicit.ImplicitWNMF`),
:mod:`innmf.models.implicit_wh` (model 2, :class:`~innmf.models.implicit_wh.ImplicitWH`) and
:mod:`innmf.models.activations` (model 3, :func:`~innmf.models.activations.fit_activations`),
so by the chapters "Implicit neural factors", "Window-size generalisation", "Separation" and
"Hybrid representations". The checks themselves live in :mod:`innmf.data.validation`.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import torch

from innmf.data.validation import (
    ModelFileError, check_array, check_choice, check_float, check_int, check_memory, check_range, not_fitted,
)
from innmf.paper.encoding import as_coordinates, max_encoding_frequencies

SAVE_FORMAT = 1
"""Version of the file layout written by ``save`` (``load`` refuses other versions)."""

SEED_MAX = 2**62
"""Largest seed accepted (the models derive further seeds by adding small offsets)."""

OPTIMIZERS = ("rprop", "adam")


def as_matrix(V, device: torch.device, dtype: torch.dtype, name: str = "V", layout: str = "F x T") -> torch.Tensor:
    """``V`` (numpy or torch) checked (:func:`~innmf.data.validation.check_array`) as a row-major 2-D tensor on ``device``."""
    checked = check_array(V, name, ndim=2, layout=layout)
    t = torch.as_tensor(checked) if isinstance(checked, np.ndarray) else checked
    # row-major: spectrograms arrive as transposed (column-major) views, and elementwise
    # passes mixing that layout with the model's row-major W H run strided
    t = t.to(device=device, dtype=dtype).contiguous()
    check_converted(t, name, dtype)
    return t


def check_converted(t: torch.Tensor, name: str, dtype: torch.dtype) -> None:
    """Refuse values that were finite but overflowed when cast to ``dtype`` (1e39 is inf in float32)."""
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} has values too large for {dtype} (largest finite {torch.finfo(dtype).max:.3g}); "
                         "rescale it (e.g. V / V.max()) or use dtype=torch.float64.")


def coordinates(x, name: str, device: torch.device, dtype: torch.dtype, bounds: tuple[float, float], hint: str) -> torch.Tensor:
    """Network coordinates as a 1-D tensor, refused outside ``bounds`` (the range the networks are built for)."""
    t = as_coordinates(x, device, dtype, name=name)
    check_range(t, name, bounds[0], bounds[1], hint)
    return t


def check_networks(rank, hidden, n_freqs, n_layers, activation: str, init: str, seed, dtype: torch.dtype,
                   device: torch.device, n_networks: int = 1, encoding: str = "paper") -> dict[str, int]:
    """The design of a model's networks, checked before anything is drawn or allocated.

    Returns:
        ``rank``, ``hidden``, ``n_freqs``, ``n_layers`` and ``seed`` as ints.

    Raises:
        TypeError, ValueError: naming the argument; ValueError too when the networks
            would not fit in the device's memory.
    """
    out = dict(
        rank=check_int(rank, "rank (K)", minimum=1),
        hidden=check_int(hidden, "hidden (the width h)", minimum=1),
        n_freqs=check_int(n_freqs, "n_freqs (J)", minimum=1,
                          maximum=max_encoding_frequencies(dtype) if encoding == "paper" else None),
        n_layers=check_int(n_layers, "n_layers", minimum=2),
        seed=check_int(seed, "seed", minimum=0, maximum=SEED_MAX),
    )
    check_choice(activation, "activation", ("sin", "relu"))
    check_choice(init, "init", ("default", "siren"))
    K, h, J, L = out["rank"], out["hidden"], out["n_freqs"], out["n_layers"]
    n_params = n_networks * K * (2 * J * h + h + (L - 1) * (h * h + h) + h + 1)
    # float64 draws and their stacked copies while building, then weights, gradients and two optimiser buffers
    check_memory(n_params * 32.0, f"{n_networks * K} networks of {L} layers of width {h}", "use a smaller rank (K) or hidden",
                 device)
    return out


def check_training(epochs, optimizer: str, lr, loss_every) -> tuple[int, str, float, int]:
    """The training loop's settings (``epochs`` >= 1, ``optimizer``, ``lr`` > 0, ``loss_every`` >= 1), checked."""
    return (check_int(epochs, "epochs", minimum=1), check_choice(optimizer, "optimizer", OPTIMIZERS),
            check_float(lr, "lr (the learning rate)", above=0.0), check_int(loss_every, "loss_every", minimum=1))


def check_activations_memory(n_rows: int, rank: int, hidden: int, n_layers: int, dtype: torch.dtype, device: torch.device,
                             what: str) -> None:
    """Refuse a fit whose networks' activations (kept for the backward pass) exceed the device's memory."""
    itemsize = torch.finfo(dtype).bits // 8
    check_memory(3.0 * n_rows * rank * hidden * (n_layers + 1) * itemsize, what, "use fewer points, a smaller rank (K) or hidden",
                 device)


def check_finite_fit(history: np.ndarray, tensors, what: str, dtype: torch.dtype) -> None:
    """Refuse a fit whose loss or parameters became NaN or infinite: a NaN model is the silent failure this stops."""
    with torch.no_grad():
        if np.all(np.isfinite(history)) and all(bool(torch.isfinite(t).all()) for t in tensors):
            return
    raise ValueError(f"{what} overflowed: its loss or parameters became NaN or infinite ({dtype}); rescale the magnitudes "
                     "(e.g. V / V.max()), use dtype=torch.float64, or a smaller lr.")


class EstimatorFace:
    """The scikit-learn conventions both implicit models follow (mixed into ``nn.Module`` subclasses).

    ``get_params``/``set_params`` over the constructor's arguments (so ``sklearn.base.clone``
    works), ``n_components`` (= ``rank``, K), and a :class:`~innmf.data.validation.NotFittedError`
    from every fitted attribute (``W_``, ``H_``, ``components_``, ``history_``) before ``fit``.
    """

    _fitted_attributes: tuple[str, ...] = ()

    def _remember_params(self, params: dict[str, Any]) -> None:
        self._params = dict(params)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments, as given (scikit-learn's ``get_params``; ``deep`` has no effect)."""
        return dict(self._params)

    def set_params(self, **params: Any):
        """Rebuild the model with some constructor arguments changed (scikit-learn's ``set_params``).

        The networks are drawn afresh, so the model is unfitted afterwards, as a clone
        with those parameters would be. Unknown names and bad values raise before anything changes.

        Returns:
            The model itself.
        """
        unknown = sorted(set(params) - set(self._params))
        if unknown:
            raise ValueError(f"Invalid parameter(s) {unknown} for {type(self).__name__}; valid: {sorted(self._params)}.")
        fresh = type(self)(**{**self._params, **params})
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__)
        return self

    @property
    def n_components(self) -> int:
        """K, the number of components (scikit-learn's name for ``rank``)."""
        return self.rank

    def _check_fitted(self, needed_by: str) -> None:
        if not self.__dict__.get("_fitted", False):
            raise not_fitted(type(self).__name__, needed_by)

    def __getattr__(self, name: str):
        # A fitted attribute's property raised NotFittedError, an AttributeError: Python then
        # asks __getattr__, and nn.Module's would answer "has no attribute". Say it again.
        if name in type(self)._fitted_attributes:
            raise not_fitted(type(self).__name__, name)
        return super().__getattr__(name)


def dtype_name(dtype: torch.dtype) -> str:
    """The dtype as saved in a model's settings (``torch.float32`` -> ``"float32"``)."""
    return str(dtype).removeprefix("torch.")


def save_model_file(path: str | os.PathLike, kind: str, config: dict, state: dict) -> None:
    """Write a model of class ``kind``: its settings ``config`` and tensors ``state`` (layout ``SAVE_FORMAT``)."""
    torch.save({"format": SAVE_FORMAT, "class": kind, "config": config, "state": state}, path)


def load_model_file(path: str | os.PathLike, kind: str) -> tuple[dict, dict]:
    """Read a file written by :func:`save_model_file` for class ``kind``: (settings, tensors).

    Only tensors and plain containers are unpickled (``torch.load(weights_only=True)``), so a
    foreign file cannot run code; whatever fails to read is one :class:`ModelFileError`.

    Raises:
        FileNotFoundError: no such file.
        ModelFileError: truncated, damaged, foreign, another model class or another format.
    """
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise FileNotFoundError(f"No model file at {name}" + (" (it is a folder)." if os.path.isdir(name) else "."))
    fix = f"save the model with {kind}.save(path) and load that file"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on old pickle protocols; the error below says what matters
            saved = torch.load(name, map_location="cpu", weights_only=True)
    # whatever fails to read (a truncated zip, a foreign pickle, text) is one answer, without torch's advice to unpickle anyway
    except Exception as err:  # noqa: BLE001
        raise ModelFileError(f"{name} is not an innmf model file (it cannot be read as one: {type(err).__name__}; "
                             f"truncated, damaged or written by something else); {fix}.") from None
    if not isinstance(saved, dict) or "format" not in saved or "class" not in saved:
        raise ModelFileError(f"{name} is not an innmf model file: not a saved {kind} (format {SAVE_FORMAT}); {fix}.")
    if saved["class"] != kind:
        raise ModelFileError(f"{name} holds an innmf {saved['class']!s}, not a saved {kind}; load it with {saved['class']!s}.load(path).")
    if saved["format"] != SAVE_FORMAT:
        raise ModelFileError(f"{name} is a saved {kind} in format {saved['format']!r}, but this innmf reads format {SAVE_FORMAT}; "
                             "load it with the innmf version that wrote it, or refit.")
    config, state = saved.get("config"), saved.get("state")
    if not isinstance(config, dict) or not isinstance(state, dict) or config.get("dtype") not in ("float32", "float64"):
        raise ModelFileError(f"{name} is a damaged innmf model file (its settings or tensors are missing); {fix}.")
    config = dict(config)
    config["dtype"] = getattr(torch, config["dtype"])
    return config, state


def rebuilt(path: str | os.PathLike, kind: str, build):
    """``build()`` (the model from a file's settings and tensors), a damaged file's failure as :class:`ModelFileError`."""
    try:
        return build()
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as err:
        raise ModelFileError(f"{os.fspath(path)} is a damaged innmf model file: its {kind} cannot be rebuilt ({err}); "
                             f"save the model again with {kind}.save(path).") from None


def fork_rng(device: torch.device):
    """Fork the global RNGs (CPU, and this CUDA device) so fitting leaves them untouched."""
    if device.type != "cuda":
        return torch.random.fork_rng(devices=[])
    index = device.index if device.index is not None else torch.cuda.current_device()
    return torch.random.fork_rng(devices=[index])
