"""The compiled kernels of :mod:`innmf.accel.mu_fused_kl` (numba + LLVM vector IR).

Kept apart so that importing :mod:`innmf.accel.mu_fused_kl` does not import numba, and at
module level so that numba can cache the machine code between processes. The
vectors, padding and summation order are described in :mod:`innmf.accel.mu_fused_kl`.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from innmf.accel.simd.layout import K_BLOCK, row_block
from innmf.accel.simd.ir import Emit, array_parts, c64, require_c_arrays

ROWS = row_block()
"""Rows of V per block, fixed when this module compiles (:func:`innmf.accel.simd.layout.row_block`)."""

H_CHUNK_BYTES = 24 * 1024
"""Bytes of num, H and rbuf columns the H update keeps in the L1 cache (32-48 KB per core)."""

@intrinsic
def wh_ratio(typingctx, V, W, H, rbuf, f, t_lo, t_hi, eps):
    """rbuf[i, t] = V[f + i, t] / max((W H)[f + i, t], eps) for the ROWS rows from f and
    the columns t_lo <= t < t_hi (multiples of two vectors)."""

    def codegen(context, b, sig, args):
        e = Emit(context, b, sig.args[0].dtype)
        pV, pW, pH, pR = (array_parts(context, b, t, v)[0] for t, v in zip(sig.args[:4], args[:4]))
        K, Tp = array_parts(context, b, sig.args[2], args[2])[1]
        f, t_lo, t_hi, eps = args[4], args[5], args[6], e.splat(args[7])
        # a tile is ROWS rows x 2 vectors of W H: its 2 ROWS accumulators stay in registers
        # through the K loop, and each vector of H loaded serves ROWS rows
        acc = e.accumulators(2 * ROWS)
        with cgutils.for_range(b, b.sdiv(b.sub(t_hi, t_lo), c64(2 * e.lanes))) as tile:
            t0 = b.add(t_lo, b.mul(tile.index, c64(2 * e.lanes)))
            for s in acc:
                b.store(ir.Constant(e.vec, None), s)
            with cgutils.for_range(b, K) as comp:
                k = comp.index
                off = b.add(b.mul(k, Tp), t0)
                h = (e.load(pH, off), e.load(pH, b.add(off, c64(e.lanes))))
                for i in range(ROWS):
                    w = e.broadcast(pW, b.add(b.mul(b.add(f, c64(i)), K), k))
                    for j in range(2):
                        b.store(e.fma(w, h[j], b.load(acc[2 * i + j])), acc[2 * i + j])
            for i in range(ROWS):
                for j in range(2):
                    col = b.add(t0, c64(j * e.lanes))
                    wh = b.load(acc[2 * i + j])
                    floored = b.select(b.fcmp_ordered(">", wh, eps), wh, eps)
                    ratio = b.fdiv(e.load(pV, b.add(b.mul(b.add(f, c64(i)), Tp), col)), floored)
                    e.store(ratio, pR, b.add(b.mul(c64(i), Tp), col))
        return context.get_dummy_value()

    require_c_arrays(2, V, W, H, rbuf)
    return types.void(V, W, H, rbuf, types.intp, types.intp, types.intp, V.dtype), codegen


@intrinsic
def row_dots(typingctx, rbuf, H, out):
    """out[i, k] = sum_t rbuf[i, t] H[k, t] (the rows of (V / W H) H^T); K even."""

    def codegen(context, b, sig, args):
        e = Emit(context, b, sig.args[0].dtype)
        pR, pO = array_parts(context, b, sig.args[0], args[0])[0], array_parts(context, b, sig.args[2], args[2])[0]
        pH, (K, Tp) = array_parts(context, b, sig.args[1], args[1])
        # ROWS x K_BLOCK dot products at once: each vector of rbuf loaded serves K_BLOCK of them
        acc = e.accumulators(K_BLOCK * ROWS)
        with cgutils.for_range(b, b.sdiv(K, c64(K_BLOCK))) as pair:
            k0 = b.mul(pair.index, c64(K_BLOCK))
            for s in acc:
                b.store(ir.Constant(e.vec, None), s)
            with cgutils.for_range(b, b.sdiv(Tp, c64(e.lanes))) as vec:
                t = b.mul(vec.index, c64(e.lanes))
                h = [e.load(pH, b.add(b.mul(b.add(k0, c64(j)), Tp), t)) for j in range(K_BLOCK)]
                for i in range(ROWS):
                    r = e.load(pR, b.add(b.mul(c64(i), Tp), t))
                    for j in range(K_BLOCK):
                        s = acc[K_BLOCK * i + j]
                        b.store(e.fma(r, h[j], b.load(s)), s)
            for i in range(ROWS):
                for j in range(K_BLOCK):
                    dst = b.gep(pO, [b.add(b.mul(c64(i), K), b.add(k0, c64(j)))], inbounds=True)
                    b.store(e.hsum(b.load(acc[K_BLOCK * i + j])), dst)
        return context.get_dummy_value()

    require_c_arrays(2, rbuf, H, out)
    return types.void(rbuf, H, out), codegen


@intrinsic
def outer_acc(typingctx, rbuf, W, f, num, t_lo, t_hi):
    """num[k, t] += sum_i W[f + i, k] rbuf[i, t] for t_lo <= t < t_hi (W^T (V / W H), a
    block of rows at a time)."""

    def codegen(context, b, sig, args):
        e = Emit(context, b, sig.args[0].dtype)
        pR, pW = array_parts(context, b, sig.args[0], args[0])[0], array_parts(context, b, sig.args[1], args[1])[0]
        pN, (K, Tp) = array_parts(context, b, sig.args[3], args[3])
        f, t_lo, t_hi = args[2], args[4], args[5]
        with cgutils.for_range(b, b.sdiv(b.sub(t_hi, t_lo), c64(e.lanes))) as vec:
            t = b.add(t_lo, b.mul(vec.index, c64(e.lanes)))
            r = [e.load(pR, b.add(b.mul(c64(i), Tp), t)) for i in range(ROWS)]
            with cgutils.for_range(b, K) as comp:
                k = comp.index
                off = b.add(b.mul(k, Tp), t)
                a = e.load(pN, off)
                for i in range(ROWS):  # rows in order: the same sum as one row at a time
                    a = e.fma(e.broadcast(pW, b.add(b.mul(b.add(f, c64(i)), K), k)), r[i], a)
                e.store(a, pN, off)
        return context.get_dummy_value()

    require_c_arrays(2, rbuf, W, num)
    return types.void(rbuf, W, types.intp, num, types.intp, types.intp), codegen


_OPTS = dict(boundscheck=False, nogil=True, cache=True)


@numba.njit(**_OPTS)
def w_denominators(H, eps):  # pragma: no cover - compiled
    # max(sum_t H[k, t], eps), the W update's denominators
    K = H.shape[0]
    den = np.empty(K, dtype=H.dtype)
    for k in range(K):
        den[k] = max(H[k].sum(), eps)
    return den


@numba.njit(**_OPTS)
def h_denominators(W):  # pragma: no cover - compiled
    # sum_f W[f, k] in row order (floored where used)
    den = np.zeros(W.shape[1], dtype=W.dtype)
    for f in range(W.shape[0]):
        for k in range(W.shape[1]):
            den[k] += W[f, k]
    return den


@numba.njit(**_OPTS)
def update_W_rows(V, W, H, rbuf, dots, den, f_lo, f_hi, eps):  # pragma: no cover - compiled
    # W[f, k] *= ((V / W H) H^T)[f, k] / den[k] for the row blocks from f_lo to f_hi: rows
    # are independent, so any split of them into ranges gives the same bits
    K = H.shape[0]
    for f in range(f_lo, f_hi, ROWS):
        wh_ratio(V, W, H, rbuf, f, 0, H.shape[1], eps)
        row_dots(rbuf, H, dots)
        for i in range(ROWS):
            for k in range(K):
                W[f + i, k] *= dots[i, k] / den[k]


@numba.njit(**_OPTS)
def update_H_cols(V, W, H, rbuf, num, den, t_lo, t_hi, eps, zero_below):  # pragma: no cover - compiled
    # H[k, t] *= (W^T (V / W H))[k, t] / max(den[k], eps) for t_lo <= t < t_hi; entries at
    # or below zero_below -> 0. Every column sums over all rows in row order, so any
    # split of the columns gives the same bits
    K = H.shape[0]
    num[:, t_lo:t_hi] = 0.0
    # columns in chunks whose rows of num, H and rbuf stay in the L1 cache while all
    # row blocks pass (the chunks do not change any column's sum)
    tile = 128 // V.itemsize
    chunk = max(tile, H_CHUNK_BYTES // (V.itemsize * (2 * K + ROWS)) // tile * tile)
    for c_lo in range(t_lo, t_hi, chunk):
        c_hi = min(c_lo + chunk, t_hi)
        for f in range(0, V.shape[0], ROWS):
            wh_ratio(V, W, H, rbuf, f, c_lo, c_hi, eps)
            outer_acc(rbuf, W, f, num, c_lo, c_hi)
    for k in range(K):
        d = max(den[k], eps)
        for t in range(t_lo, t_hi):
            x = H[k, t] * (num[k, t] / d)
            H[k, t] = x if x > zero_below else 0.0


@numba.njit(**_OPTS)
def update_W(V, W, H, rbuf, dots, eps):  # pragma: no cover - compiled
    # W[f, k] *= ((V / W H) H^T)[f, k] / max(sum_t H[k, t], eps), a block of rows at a time
    update_W_rows(V, W, H, rbuf, dots, w_denominators(H, eps), 0, V.shape[0], eps)


@numba.njit(**_OPTS)
def update_H(V, W, H, rbuf, num, eps, zero_below):  # pragma: no cover - compiled
    # H[k, t] *= (W^T (V / W H))[k, t] / max(sum_f W[f, k], eps); entries below zero_below -> 0
    update_H_cols(V, W, H, rbuf, num, h_denominators(W), 0, H.shape[1], eps, zero_below)

