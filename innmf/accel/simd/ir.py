"""Helpers for writing CPU kernels as LLVM vector IR inside numba intrinsics.

numba compiles loops well but leaves register blocking to LLVM's auto-vectoriser,
which does not keep a tile of accumulators in registers across an inner loop; the
kernels that need that (:mod:`innmf.accel.simd.fused_kl`) write their inner loops
as explicit ``<lanes x float>`` IR with these helpers. LLVM compiles the IR for the host: AVX-512 registers where the CPU has them, two AVX2
halves per vector otherwise.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from innmf.accel.simd.layout import LANES_BYTES  # noqa: F401 - re-exported for the kernels

I32, I64 = ir.IntType(32), ir.IntType(64)


def c64(v: int):
    """An i64 constant (indices and sizes in the IR are 64-bit)."""
    return ir.Constant(I64, v)


class Emit:
    """Vector helpers for one codegen call; ``lanes`` from the array's dtype (LANES_BYTES wide)."""

    def __init__(self, context, b, dtype):
        from numba.core import cgutils

        self.b = b
        self.scalar = context.get_data_type(dtype)
        self.lanes = LANES_BYTES // np.dtype(str(dtype)).itemsize
        self.vec = ir.VectorType(self.scalar, self.lanes)
        name = f"llvm.fma.v{self.lanes}{'f32' if self.lanes == 16 else 'f64'}"
        self.fma_fn = cgutils.get_or_insert_function(b.module, ir.FunctionType(self.vec, [self.vec] * 3), name)

    def ptr(self, base, idx):
        return self.b.bitcast(self.b.gep(base, [idx], inbounds=True), self.vec.as_pointer())

    def load(self, base, idx):
        return self.b.load(self.ptr(base, idx), align=1)

    def store(self, v, base, idx):
        self.b.store(v, self.ptr(base, idx), align=1)

    def splat(self, s):
        b, undef = self.b, ir.Constant(self.vec, ir.Undefined)
        v = b.insert_element(undef, s, ir.Constant(I32, 0))
        return b.shuffle_vector(v, undef, ir.Constant(ir.VectorType(I32, self.lanes), [0] * self.lanes))

    def broadcast(self, base, idx):
        return self.splat(self.b.load(self.b.gep(base, [idx], inbounds=True)))

    def fma(self, x, y, z):
        return self.b.call(self.fma_fn, [x, y, z])

    def hsum(self, v):  # fixed pairwise tree: the same sum on every CPU
        n, b = self.lanes, self.b
        while n > 1:
            h = n // 2
            lo = b.shuffle_vector(v, v, ir.Constant(ir.VectorType(I32, h), list(range(h))))
            hi = b.shuffle_vector(v, v, ir.Constant(ir.VectorType(I32, h), list(range(h, n))))
            v, n = b.fadd(lo, hi), h
        return b.extract_element(v, ir.Constant(I32, 0))

    def accumulators(self, n):  # allocas that LLVM promotes to registers
        from numba.core import cgutils

        return [cgutils.alloca_once(self.b, self.vec) for _ in range(n)]


def array_parts(context, b, aryty, val):
    """(data pointer, shape tuple) of a numba array argument."""
    from numba.core import cgutils

    ary = context.make_array(aryty)(context, b, val)
    return ary.data, cgutils.unpack_tuple(b, ary.shape, aryty.ndim)


def require_c_arrays(ndim: int, *arrays) -> None:
    """Refuse at compile time anything but C-contiguous arrays of ``ndim`` dimensions:
    the kernels index rows as base + row * width."""
    from numba.core import types
    from numba.core.errors import TypingError

    for a in arrays:
        if not (isinstance(a, types.Array) and a.ndim == ndim and a.layout == "C"):
            raise TypingError(f"these SIMD kernels need C-contiguous {ndim}-D arrays, got {a}")
