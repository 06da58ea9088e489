"""Layout facts of the compiled kernels, readable without loading numba or llvmlite.

The fused KL updates (:mod:`innmf.accel.mu_fused_kl`, kernels in
:mod:`innmf.accel.simd.fused_kl`) pad their arrays to these sizes; keeping them here
lets the driver pad without importing the compiler, and lets the kernels import them
without a cycle.
"""

from __future__ import annotations

import functools

LANES_BYTES = 64
"""Bytes per vector: 16 float32 or 8 float64 lanes, on every CPU."""


@functools.cache
def host_has_avx512() -> bool:
    """Whether LLVM sees AVX-512 (avx512f) on this CPU; False if it cannot tell."""
    try:
        import llvmlite.binding as ll
    except ImportError:  # no compiled kernels then, so nothing depends on the answer
        return False
    try:
        return bool(ll.get_host_cpu_features().get("avx512f", False))
    except RuntimeError:  # LLVM cannot read this CPU's features: the portable AVX2-sized blocks
        return False

K_BLOCK = 2
"""Components per pass when forming (V / W H) H^T: two rows of H shared by a block of rows."""


def row_block() -> int:
    """Rows per block: 8 with AVX-512's 32 vector registers, 2 with AVX2's 16.

    Read once, when :mod:`innmf.accel.simd.fused_kl` compiles (its ``ROWS``). A block
    of 4 rows spills AVX2's registers; the measurements behind these choices are in
    ``results/bench/README.md``.
    """
    return 8 if host_has_avx512() else 2
