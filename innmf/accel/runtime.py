"""Process-wide runtime settings: how many CPU threads torch and BLAS may use.

Used at the top of every chapter (``use_threads(P["threads"])``). The models in this
package multiply small matrices (K = 20 components, a few hundred frames); on a
small machine torch's default of one thread per core can make an iN-NMF epoch
*slower* than one thread, because the threads spin-wait on each other (measured
in ``results/bench/README.md``). The
thread count also decides the order of floating-point sums, so fixing it makes a
chapter's numbers the same on every re-execution.

Importing torch takes seconds, and some chapters never use it (they read results
computed elsewhere), so this module does not import it: :func:`use_threads` limits
torch when it is imported, whenever that is.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from typing import Any

import numpy as np

_blas_limits: Any = None
_threads: int | None = None


def use_threads(threads: int | None) -> None:
    """Let torch and the BLAS libraries use ``threads`` threads (None: leave as is).

    Args:
        threads: a positive number of threads, the ``threads`` setting of a profile.

    Raises:
        ValueError: ``threads`` is not a positive integer.
    """
    global _blas_limits, _threads
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}.")
    from threadpoolctl import threadpool_limits

    _threads = threads
    if "torch" in sys.modules:
        _limit_torch(sys.modules["torch"])
    else:
        if not any(isinstance(finder, _LimitTorchOnImport) for finder in sys.meta_path):
            sys.meta_path.insert(0, _LimitTorchOnImport())
        _blas_limits = threadpool_limits(limits=threads)


def _limit_torch(torch: Any) -> None:
    """Give torch the chosen thread count, and the BLAS and OpenMP libraries it loaded too."""
    global _blas_limits
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(_threads)
    _blas_limits = threadpool_limits(limits=_threads)


class _LimitTorchOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when torch is first imported, it limits torch's threads once torch is loaded."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "torch":
            return None
        sys.meta_path.remove(self)  # once, and the search below must not find this finder again
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenLimit(spec.loader)
        return spec


class _ThenLimit(importlib.abc.Loader):
    """torch's own loader, followed by :func:`_limit_torch`; torch keeps its own loader afterwards."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        module.__spec__.loader = module.__loader__ = self.loader
        self.loader.exec_module(module)
        if _threads is not None:
            _limit_torch(module)


def matmul_into(a, b, out) -> None:
    """``out = a @ b`` for 2-D torch tensors; on a single-threaded CPU through numpy's BLAS.

    OpenBLAS runs the skinny products of NMF and of the activation fits (one side of
    rank K) faster than ``torch.mm`` where we measured, but only when torch runs one
    thread: with several, OpenBLAS's spinning worker threads and torch's OpenMP
    threads take turns on the same cores and an NMF iteration becomes many times
    slower (``results/bench/README.md``). So numpy is used when torch has one thread (the
    profiles' setting), ``torch.mm`` otherwise and on GPUs. Used by :mod:`innmf.models.nmf`
    and :mod:`innmf.accel.activations`.
    """
    import torch  # imported already: a and b are its tensors

    if out.device.type == "cpu" and torch.get_num_threads() == 1:
        np.matmul(a.numpy(), b.numpy(), out=out.numpy())
    else:
        torch.mm(a, b, out=out)


_POOLS: dict[tuple[int, int], Any] = {}


def helper_threads(workers: int) -> Any:
    """A ``ThreadPoolExecutor`` of ``workers`` threads for the compiled kernels, one per process.

    Kept per process id: a pool created before ``fork`` has no threads in the child, and
    a task submitted to it there would wait forever.
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    key = (os.getpid(), int(workers))
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(int(workers), thread_name_prefix="innmf-kernels")
    return _POOLS[key]
