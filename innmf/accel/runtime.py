"""Process-wide runtime settings: how many CPU threads torch and BLAS may use.

Used at the top of every chapter (``use_threads(P["threads"])``). The models in this
package multiply small matrices (K = 20 components, a few hundred frames); on a
small machine torch's default of one thread per core can make an iN-NMF epoch
*slower* than one thread, because the threads spin-wait on each other (measured
in ``results/bench/README.md``). The
thread count also decides the order of floating-point sums, so fixing it makes a
chapter's numbers the same on every re-execution.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

_blas_limits: Any = None


def use_threads(threads: int | None) -> None:
    """Let torch and the BLAS libraries use ``threads`` threads (None: leave as is).

    Args:
        threads: a positive number of threads, the ``threads`` setting of a profile.

    Raises:
        ValueError: ``threads`` is not a positive integer.
    """
    global _blas_limits
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}.")
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    _blas_limits = threadpool_limits(limits=threads)


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
    if out.device.type == "cpu" and torch.get_num_threads() == 1:
        np.matmul(a.numpy(), b.numpy(), out=out.numpy())
    else:
        torch.mm(a, b, out=out)
