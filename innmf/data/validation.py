"""The checks of everything a user hands the public API, shared by every layer and the command line.

Every public function and model of innmf validates its inputs here, so one mistake gets
one message wherever it is made (issue 24): what is wrong, and how to fix it.

* :func:`check_int`, :func:`check_float`, :func:`check_choice`: settings and sizes
  (``rank`` 2.5, ``beta`` nan, ``power`` 0 are refused by name);
* :func:`check_array`: matrices and signals (NaN/inf, negative, complex, empty, wrong
  ``ndim``, integer or float16 dtypes converted, read-only and reversed views copied so
  torch never warns "not writable");
* :func:`check_range`: coordinates outside the range the networks are built for;
* :func:`check_device`: a device that is valid and present (the same message as the
  command line's ``--device``), :func:`check_dtype`, :func:`check_memory`;
* :class:`NotFittedError`, :class:`ModelFileError`: the package's named errors.

This module sits in the lowest layer and imports numpy only; torch is imported inside
the functions that take tensors or devices (by then it is loaded anyway). Used by
:mod:`innmf.tf.stft`, :mod:`innmf.paper`, :mod:`innmf.models` and so by every chapter.
"""

from __future__ import annotations

import math
import numbers
import operator
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

MAGNITUDE_HINT = "pass magnitudes, e.g. np.abs(X) or innmf.magnitude(x, n_fft) (the paper's |X|^0.5)"
"""How to turn a complex or signed spectrogram into what the models fit."""

DEVICES = "cpu, cuda, cuda:N (N a GPU index)"
"""The device names accepted, as the command line's ``device`` setting spells them."""


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit``.

    A subclass of both ``ValueError`` and ``AttributeError``, like scikit-learn's, so
    ``hasattr(model, "components_")`` is False before the fit and either ``except`` catches it.
    """


class ModelFileError(ValueError):
    """A file given to ``load`` is not an innmf model file (truncated, damaged, or written by something else)."""


def not_fitted(model: str, needed_by: str) -> NotFittedError:
    """The error of ``model`` (a class name) when ``needed_by`` (a method or attribute) is used before ``fit``."""
    return NotFittedError(f"This {model} is not fitted yet: call fit() before {needed_by}.")


def check_int(value: Any, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as a Python int, or a clear error naming ``name``.

    Integers of any kind (numpy included) and whole floats (``1024.0``) are accepted.

    Args:
        value: the value given.
        name: how the error names it, e.g. ``"rank (K)"``.
        minimum: smallest value allowed (inclusive), if any.
        maximum: largest value allowed (inclusive), if any.

    Returns:
        The integer.

    Raises:
        TypeError: not a number (a string, None, a bool, a complex number).
        ValueError: not a whole number, or out of range.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}.")
    try:
        number = operator.index(value)
    except TypeError:
        if not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).") from None
        as_float = float(value)
        if not (math.isfinite(as_float) and as_float.is_integer()):
            hint = f"; e.g. {name.split()[0]}={round(as_float)}" if math.isfinite(as_float) else ""
            raise ValueError(f"{name} must be a whole number, got {value!r}{hint}.") from None
        number = int(as_float)
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}.")
    if maximum is not None and number > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {number}.")
    return number


def check_float(
    value: Any,
    name: str,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    above: float | None = None,
) -> float:
    """``value`` as a finite Python float, or a clear error naming ``name``.

    Args:
        value: the value given.
        name: how the error names it, e.g. ``"power (p)"``.
        minimum: smallest value allowed (inclusive), if any.
        maximum: largest value allowed (inclusive), if any.
        above: a bound the value must exceed (exclusive), e.g. 0 for a learning rate.

    Returns:
        The float.

    Raises:
        TypeError: not a real number.
        ValueError: NaN, infinite or out of range.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if above is not None and not number > above:
        raise ValueError(f"{name} must be > {above:g}, got {number:g}.")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be >= {minimum:g}, got {number:g}.")
    if maximum is not None and number > maximum:
        raise ValueError(f"{name} must be <= {maximum:g}, got {number:g}.")
    return number


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else ``ValueError("Unknown <name> ...; use one of ...")``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"Unknown {name} {value!r}; use one of {', '.join(repr(c) for c in choices)}.")
    return value


def _is_tensor(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach")


def _problems(finite_count: int, nan_count: int, size: int) -> str:
    inf_count = size - finite_count - nan_count
    parts = [f"{nan_count} NaN" if nan_count else "", f"{inf_count} infinite" if inf_count else ""]
    return " and ".join(p for p in parts if p)


def check_array(
    x: Any,
    name: str,
    ndim: int | tuple[int, ...] = 2,
    *,
    layout: str = "F x T",
    nonnegative: bool = True,
    allow_empty: bool = False,
    complex_hint: str = MAGNITUDE_HINT,
):
    """``x`` as a real floating array that is safe to hand to torch, or a clear error.

    Numpy input comes back as a numpy array: integer, boolean and float16 data as float64,
    float32/float64 unchanged; a read-only, reversed or non-native-byte-order array is
    copied (torch would warn, or refuse, on those). A torch tensor comes back detached,
    floating, on its own device.

    Args:
        x: the values (numpy array, nested list, or torch tensor).
        name: how the error names it, e.g. ``"V"`` or ``"W_list[1]"``.
        ndim: the number(s) of dimensions accepted.
        layout: the shape in words for the message, e.g. ``"F x T"``.
        nonnegative: refuse negative entries (magnitudes, dictionaries).
        allow_empty: accept arrays with no elements.
        complex_hint: what the complex-input message tells the user to pass instead.

    Returns:
        The checked array or tensor.

    Raises:
        TypeError: None, or not numeric (strings, objects, ragged lists).
        ValueError: complex, wrong number of dimensions, empty, NaN/inf, or negative entries.
    """
    if x is None:
        raise TypeError(f"{name} is None; pass an array ({layout}).")
    if _is_tensor(x):
        return _check_tensor(x, name, ndim, layout, nonnegative, allow_empty, complex_hint)
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as err:  # ragged nested lists
        raise TypeError(f"{name} is not a numeric array ({err}); pass one array of shape {layout}.") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"{name} is complex (dtype {arr.dtype}); {complex_hint}.")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a numeric array ({layout}), got dtype {arr.dtype}.")
    _check_shape(arr.shape, name, ndim, layout, allow_empty)
    if arr.dtype.kind != "f" or arr.dtype.itemsize < 4:
        arr = arr.astype(np.float64)  # integers, booleans, float16: exact in float64
    elif not arr.dtype.isnative or not arr.flags.writeable or any(s < 0 for s in arr.strides):
        arr = np.array(arr, dtype=arr.dtype.newbyteorder("="))  # a private, writable, native copy
    if arr.size:
        finite = np.isfinite(arr)
        n_finite = int(np.count_nonzero(finite))
        if n_finite != arr.size:
            what = _problems(n_finite, int(np.count_nonzero(np.isnan(arr))), arr.size)
            raise ValueError(f"{name} contains {what} values; clean the data (e.g. np.nan_to_num) first.")
        if nonnegative and arr.min() < 0:
            raise ValueError(f"{name} has {int(np.count_nonzero(arr < 0))} negative entries (min {arr.min():.3g}); "
                             f"it must be non-negative: {MAGNITUDE_HINT}.")
    return arr


def _check_shape(shape: tuple[int, ...], name: str, ndim: int | tuple[int, ...], layout: str, allow_empty: bool) -> None:
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if len(shape) not in allowed:
        got = "a scalar" if len(shape) == 0 else f"shape {tuple(shape)}"
        dims = " or ".join(f"{d}-D" for d in allowed)
        raise ValueError(f"{name} must be {dims} ({layout}), got {got}.")
    if not allow_empty and math.prod(shape) == 0:
        raise ValueError(f"{name} is empty (shape {tuple(shape)}); pass at least one value along every axis ({layout}).")


def _check_tensor(t, name: str, ndim, layout: str, nonnegative: bool, allow_empty: bool, complex_hint: str):
    import torch

    t = t.detach()
    if t.is_complex():
        raise ValueError(f"{name} is complex (dtype {t.dtype}); {complex_hint}.")
    _check_shape(tuple(t.shape), name, ndim, layout, allow_empty)
    if not t.dtype.is_floating_point or t.dtype in (torch.float16, torch.bfloat16):
        t = t.to(torch.float64)
    if t.numel():
        finite = torch.isfinite(t)
        n_finite = int(finite.sum())
        if n_finite != t.numel():
            what = _problems(n_finite, int(torch.isnan(t).sum()), t.numel())
            raise ValueError(f"{name} contains {what} values; clean the data (e.g. torch.nan_to_num) first.")
        if nonnegative and bool((t < 0).any()):
            raise ValueError(f"{name} has {int((t < 0).sum())} negative entries (min {float(t.min()):.3g}); "
                             f"it must be non-negative: {MAGNITUDE_HINT}.")
    return t


def check_range(values: Any, name: str, low: float, high: float, hint: str) -> None:
    """Refuse coordinates outside ``[low, high]``, the range the networks are built for.

    Args:
        values: the (finite) coordinates, numpy array or torch tensor.
        name: what they are, e.g. ``"freq_coords"``.
        low: smallest coordinate the model accepts.
        high: largest coordinate the model accepts.
        hint: how to make the right ones, e.g. ``"make them with innmf.frequency_coordinate(n_fft)"``.

    Raises:
        ValueError: naming the range found, the range expected and ``hint``.
    """
    lo, hi = (float(values.min()), float(values.max())) if _is_tensor(values) else (float(np.min(values)), float(np.max(values)))
    if lo >= low and hi <= high:
        return
    guess = " (Hz or seconds?)" if max(abs(lo), abs(hi)) > 2 * max(abs(low), abs(high), 1.0) else ""
    raise ValueError(f"{name} run from {lo:.6g} to {hi:.6g}{guess}, outside [{low:g}, {high:g}], the range the networks "
                     f"are built for; {hint}.")


def _spell(option: str, value: Any) -> str:
    """``--device cuda`` for a command-line option, ``device='cuda'`` for a keyword argument."""
    return f"{option} {value}" if option.startswith("-") else f"{option}={value!r}"


def check_device(device: Any, option: str = "device"):
    """A ``torch.device`` that is valid and present here, checked once before any work.

    The command line (``innmf reproduce --device``, ``innmf bench --device``) and every
    model share this check and its message.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or a ``torch.device``.
        option: how the message spells the setting: ``"device"`` (a keyword argument)
            or ``"--device"`` (the command line's option).

    Returns:
        The ``torch.device``.

    Raises:
        TypeError: not a string or ``torch.device``.
        ValueError: an unknown name, or a GPU that torch does not see.
    """
    import torch

    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device)
        except (RuntimeError, ValueError, TypeError):
            raise ValueError(f"{_spell(option, device)}: must be one of {DEVICES}.") from None
    else:
        raise TypeError(f"{_spell(option, device)}: must be a string ({DEVICES}) or a torch.device.")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{_spell(option, device)} asked for a GPU, but torch sees none (torch {torch.__version__}); "
                             f"use {_spell(option, 'cpu')} or a machine with CUDA.")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ValueError(f"{_spell(option, device)} asked for GPU {dev.index}, but torch sees {count} "
                             f"(cuda:0 to cuda:{count - 1}); use one of those.")
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"{_spell(option, device)} asked for Apple's GPU, but torch sees none; use {_spell(option, 'cpu')}.")
    elif dev.type != "cpu":
        raise ValueError(f"{_spell(option, device)}: must be one of {DEVICES}.")
    return dev


def check_dtype(dtype: Any):
    """``torch.float32`` or ``torch.float64`` (also given as ``"float32"``/``"float64"``), else a clear error."""
    import torch

    named = {"float32": torch.float32, "float64": torch.float64}
    if isinstance(dtype, str) and dtype in named:
        return named[dtype]
    if dtype in (torch.float32, torch.float64):
        return dtype
    raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r} "
                     "(half precision is not supported: the KL divergence's logarithms underflow).")


def memory_bytes(device: Any = None) -> int:
    """Total memory of ``device``: a GPU's own memory, else this machine's physical memory."""
    if device is not None and getattr(device, "type", "cpu") == "cuda":
        import torch

        return int(torch.cuda.get_device_properties(device).total_memory)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): do not refuse on a guess
        return 1 << 62


def check_memory(n_bytes: float, what: str, fix: str, device: Any = None) -> None:
    """Refuse work that needs more than the device's whole memory, before allocating any of it.

    Without this, a huge rank is either a crash deep inside torch or, worse, the
    operating system killing the process.

    Args:
        n_bytes: the estimated need.
        what: what needs it, e.g. ``"NMF with rank K=10^9 on V (33 x 20)"``.
        fix: what to change, e.g. ``"use a smaller rank (K)"``.
        device: where it would live (None: this machine's memory).

    Raises:
        ValueError: the estimate and the memory, in GB.
    """
    total = memory_bytes(device)
    if n_bytes > total:
        raise ValueError(f"{what} needs about {n_bytes / 1e9:.3g} GB, more than the {total / 1e9:.3g} GB of memory here; {fix}.")
