"""Weight gradients of the K component networks' grouped layers, as LLVM vector IR.

Used by :class:`innmf.accel.grouped_mlp._OneDNNOps` (the fused backend on CPUs with
AVX-512, float32; chapter "Implicit neural factors"). For activations x (P, K, d_in)
and output gradients g (P, K, d_out), both in the (points, components, features)
layout of the fused backend, it computes

    G[k] = x[:, k, :]^T g[:, k, :]        (d_in x d_out, summed over the P points)

Why: torch's batched product reads these strided slices at 80-110 GFLOP/s per core
(MKL, AVX2 on the AMD Zen 5 we measured); here a tile of 12 rows x 2 vectors of
G[k] stays in 24 AVX-512 registers while the points stream past, about 200 GFLOP/s
(``innmf bench``: two thirds of the paper's epoch are these products). The sum over
points runs in point order, one fused multiply-add per point and entry.
"""

from __future__ import annotations

import numba
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from innmf.accel.simd.ir import LANES_BYTES, Emit, array_parts, c64, require_c_arrays

ROW_TILE = 12
"""Rows of G per tile (a multiple of 4: the remainder runs as tiles of 4 rows)."""
COL_VECTORS = 2
"""Vectors of G's columns per tile: 12 x 2 accumulators, 24 of AVX-512's 32 registers."""


def _tile(rows: int):
    """An intrinsic computing one rows x COL_VECTORS tile of G[k] at (i0, j0)."""

    @intrinsic
    def tile(typingctx, x, g, out, k, i0, j0):
        def codegen(context, b, sig, args):
            e = Emit(context, b, sig.args[0].dtype)
            px, (P, K, d_in) = array_parts(context, b, sig.args[0], args[0])
            pg, (_, _, d_out) = array_parts(context, b, sig.args[1], args[1])
            po = array_parts(context, b, sig.args[2], args[2])[0]
            k, i0, j0 = args[3], args[4], args[5]
            acc = e.accumulators(rows * COL_VECTORS)
            for s in acc:
                b.store(ir.Constant(e.vec, None), s)
            x_at = b.add(b.mul(k, d_in), i0)  # offset of x[0, k, i0], then one row of x per point
            g_at = b.add(b.mul(k, d_out), j0)
            with cgutils.for_range(b, P) as point:
                p = point.index
                g_off = b.add(b.mul(p, b.mul(K, d_out)), g_at)
                gv = [e.load(pg, b.add(g_off, c64(c * e.lanes))) for c in range(COL_VECTORS)]
                x_off = b.add(b.mul(p, b.mul(K, d_in)), x_at)
                for i in range(rows):
                    xi = e.broadcast(px, b.add(x_off, c64(i)))
                    for c in range(COL_VECTORS):
                        s = acc[i * COL_VECTORS + c]
                        b.store(e.fma(xi, gv[c], b.load(s)), s)
            o_at = b.add(b.mul(b.add(b.mul(k, d_in), i0), d_out), j0)
            for i in range(rows):
                for c in range(COL_VECTORS):
                    at = b.add(o_at, b.add(b.mul(c64(i), d_out), c64(c * e.lanes)))
                    e.store(b.load(acc[i * COL_VECTORS + c]), po, at)
            return context.get_dummy_value()

        require_c_arrays(3, x, g, out)
        return types.void(x, g, out, types.intp, types.intp, types.intp), codegen

    return tile


def applies(d_in: int, d_out: int) -> bool:
    """Whether :func:`weight_grad` handles these float32 layer sizes: rows in tiles of 4,
    columns in whole tiles of COL_VECTORS vectors."""
    return d_in % 4 == 0 and d_out % (COL_VECTORS * LANES_BYTES // 4) == 0


_full_tile = _tile(ROW_TILE)
_small_tile = _tile(4)


@numba.njit(boundscheck=False, nogil=True, cache=True)
def weight_grad(x, g, out):  # pragma: no cover - compiled
    # out[k] = x[:, k, :]^T g[:, k, :]; needs d_in % 4 == 0 and d_out % (COL_VECTORS * lanes) == 0
    d_in = x.shape[2]
    width = COL_VECTORS * (LANES_BYTES // g.itemsize)
    full = d_in - d_in % ROW_TILE
    for k in range(x.shape[1]):
        for j0 in range(0, g.shape[2], width):
            for i0 in range(0, full, ROW_TILE):
                _full_tile(x, g, out, k, i0, j0)
            for i0 in range(full, d_in, 4):
                _small_tile(x, g, out, k, i0, j0)
