"""Speed only: compiled kernels and fused passes, each checked against its plain reference.

Every module here computes something :mod:`innmf.paper` defines, faster; none is needed
for correctness (``backend="reference"`` runs without them). The compiled kernels need
the optional ``fast`` extra (numba, llvmlite) and are switched on only through
:mod:`innmf.accel.checked`; :func:`report` says which path each operation takes on this
machine (``innmf doctor``).
"""

from innmf.accel.checked import FastPathWarning, report

__all__ = ["FastPathWarning", "report"]
