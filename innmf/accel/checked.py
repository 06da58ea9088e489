"""Compile once, check against the reference, cache: the one way a fast path is switched on.

Every compiled kernel of :mod:`innmf.accel` is built by a function decorated with
:func:`fast_path`. On first use the builder compiles the kernel, runs it on small
inputs that exercise its edge cases and compares it with its plain reference (with
:func:`require_close`); the kernel, or None, is cached for the process. When a fast
path is refused the plain code runs instead (same math, slower) and the refusal is
never silent: one :class:`FastPathWarning` per path names it and says why (one per
missing package, e.g. numba, for all the paths that need it). A path that does not
apply to this machine (:class:`NotApplicable`) is reported but not warned about.
:func:`report` (``innmf doctor``, ``innmf bench``) says which path each operation takes.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

import numpy as np

K = TypeVar("K")

INSTALL_HINT = "pip install 'innmf[fast]'"
"""How to get the optional compilers (numba, llvmlite) that the compiled paths need."""


class FastPathWarning(RuntimeWarning):
    """A fast path was refused: the plain code runs instead (same math, slower)."""


class NotApplicable(Exception):
    """Raised by a builder whose fast path does not apply on this machine (reported, not warned)."""


@dataclass(frozen=True)
class PathStatus:
    """Which way one operation runs on this machine.

    Attributes:
        name: the fast path's short name.
        description: what it computes, and what runs instead when it is refused.
        fast: whether the fast path is taken.
        reason: why not (empty when ``fast``).
    """

    name: str
    description: str
    fast: bool
    reason: str = ""


_PATHS: dict[str, "FastPath"] = {}
_WARNED_MODULES: set[str] = set()


class FastPath(Generic[K]):
    """A cached, checked kernel: call it to get the kernel, or None where it was refused."""

    def __init__(self, name: str, description: str, build: Callable[[], K]):
        self.name, self.description, self._build = name, description, build
        self._resolved = False
        self._kernel: K | None = None
        self.reason = ""
        functools.update_wrapper(self, build)

    def __call__(self) -> K | None:
        if not self._resolved:
            self._resolve()
        return self._kernel

    def _resolve(self) -> None:
        try:
            self._kernel = self._build()
        except NotApplicable as why:
            self.reason = str(why)
        except ImportError as err:  # numba or llvmlite missing (or broken): one notice per package
            module = (err.name or "numba").split(".")[0]
            self.reason = f"{module} is not installed ({INSTALL_HINT})"
            if module not in _WARNED_MODULES:
                _WARNED_MODULES.add(module)
                _warn(f"innmf: {module} is not installed, so the compiled fast paths are off (first: {self.name}); "
                      f"the plain code runs instead, slower. {INSTALL_HINT} adds them.")
        except Exception as err:  # noqa: BLE001 - any failure to build or check refuses the path, loudly
            self.reason = f"{type(err).__name__}: {err}"
            _warn(f"innmf: fast path {self.name!r} refused ({self.reason}); {self.description.split(';')[-1].strip()}.")
        self._resolved = True

    def status(self) -> PathStatus:
        """Resolve (compile and check) if needed, and say which way this operation runs."""
        kernel = self()
        return PathStatus(self.name, self.description, kernel is not None, "" if kernel is not None else self.reason)

    def reset(self) -> None:
        """Forget the cached result (tests)."""
        self._resolved, self._kernel, self.reason = False, None, ""


def _warn(message: str) -> None:
    warnings.warn(message, FastPathWarning, stacklevel=4)


def fast_path(name: str, description: str) -> Callable[[Callable[[], K]], FastPath[K]]:
    """Register a builder as the fast path ``name``.

    The builder compiles the kernel, checks it (:func:`require_close`) and returns it;
    it raises :class:`NotApplicable` where the path does not apply here, and any other
    exception refuses the path with a :class:`FastPathWarning`.

    Args:
        name: short name (shown by ``innmf doctor``).
        description: "what it computes; what runs instead".
    """

    def register(build: Callable[[], K]) -> FastPath[K]:
        path = FastPath(name, description, build)
        _PATHS[name] = path
        return path

    return register


def require_close(actual, expected, rtol: float, atol: float, what: str) -> None:
    """Raise ArithmeticError naming ``what`` and the worst error unless ``actual`` matches ``expected``."""
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        raise ArithmeticError(f"{what}: shape {a.shape}, expected {e.shape}")
    err = np.abs(a - e)
    if not bool(np.all(err <= atol + rtol * np.abs(e))):  # NaN fails too
        raise ArithmeticError(f"{what} disagrees with its reference (max abs error {np.where(np.isnan(err), np.inf, err).max():.3g})")


# the modules whose import registers the fast paths (report() imports them)
_PATH_MODULES = ("innmf.accel.simd.sincos", "innmf.accel.mu_fused_kl", "innmf.accel.refit_fused", "innmf.accel.grouped_compiled")


def report() -> list[PathStatus]:
    """Which path each compiled operation takes on this machine (compiling and checking each once)."""
    import importlib

    for module in _PATH_MODULES:
        importlib.import_module(module)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FastPathWarning)  # the report says it
        return [path.status() for path in _PATHS.values()]
