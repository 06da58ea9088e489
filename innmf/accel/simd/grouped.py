"""The compiled kernels of :mod:`innmf.accel.grouped_compiled` (numba + LLVM vector IR).

K small MLPs evaluated and differentiated one component at a time, a chunk of
``CHUNK`` points at a time: the chunk's activations of every layer are computed while
the previous layer's are still in the L1/L2 cache, and the backward pass runs down
all layers of a chunk before moving on, instead of streaming every layer's
(K x P x h) buffer through memory once per product. The products are register tiles
(``ROWS`` points x 64 outputs, or 4 inputs x 64 outputs for weight gradients) written
as explicit vector IR (:mod:`innmf.accel.simd.ir`), as the fused KL updates are.

Arrays are flat (1-D, C-contiguous) float32; a layer's buffer is laid out (K, P, h),
weights (K, d_in, h), so a component's rows are contiguous. Sums run in a fixed order
(points in order, chunk after chunk), so the results do not depend on how the
components are shared between threads.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.core import cgutils, types
from numba.extending import intrinsic

from innmf.accel.simd.ir import Emit, array_parts, c64, require_c_arrays
from innmf.accel.simd.layout import host_has_avx512
from innmf.accel.simd.vmath import SIN_FLAGS, sin_cos

SLAB_VECTORS = 4
"""Vectors of outputs per register tile: 64 float32, so hidden widths are multiples of 64."""

ROWS = 6 if host_has_avx512() else 1
"""Points per register tile of a layer's product: 6 x 4 accumulators of AVX-512's 32
registers; 1 where a vector takes two AVX2 registers."""

IN_ROWS = 4 if host_has_avx512() else 1
"""Inputs per register tile of a weight gradient."""

CHUNK = 16 * ROWS
"""Points per chunk: one chunk's activations of every layer stay in the cache."""


def _rows_times(rows: int):
    @intrinsic
    def rows_times(typingctx, X, xo, xs, W, wo, din, B, bo, Y, oo, os, ncols):
        """Y[oo + r os + c] = B[bo + c] + sum_j X[xo + r xs + j] W[wo + j ncols + c] for the
        ``rows`` rows r and every column c < ncols (a multiple of 64)."""

        def codegen(context, b, sig, args):
            e = Emit(context, b, sig.args[0].dtype)
            pX, pW, pB, pO = (array_parts(context, b, sig.args[i], args[i])[0] for i in (0, 3, 6, 8))
            xo, xs, wo, din, bo, oo, os, ncols = (args[i] for i in (1, 2, 4, 5, 7, 9, 10, 11))
            nv, width = SLAB_VECTORS, SLAB_VECTORS * e.lanes
            acc = e.accumulators(rows * nv)
            with cgutils.for_range(b, b.sdiv(ncols, c64(width))) as slab:
                c0 = b.mul(slab.index, c64(width))
                for v in range(nv):
                    bias = e.load(pB, b.add(bo, b.add(c0, c64(v * e.lanes))))
                    for r in range(rows):
                        b.store(bias, acc[r * nv + v])
                with cgutils.for_range(b, din) as inner:
                    j = inner.index
                    wrow = b.add(wo, b.add(b.mul(j, ncols), c0))
                    w = [e.load(pW, b.add(wrow, c64(v * e.lanes))) for v in range(nv)]
                    for r in range(rows):
                        x = e.broadcast(pX, b.add(b.add(xo, b.mul(c64(r), xs)), j))
                        for v in range(nv):
                            s = acc[r * nv + v]
                            b.store(e.fma(x, w[v], b.load(s)), s)
                for r in range(rows):
                    orow = b.add(b.add(oo, b.mul(c64(r), os)), c0)
                    for v in range(nv):
                        e.store(b.load(acc[r * nv + v]), pO, b.add(orow, c64(v * e.lanes)))
            return context.get_dummy_value()

        require_c_arrays(1, X, W, B, Y)
        i = types.intp
        return types.void(X, i, i, W, i, i, B, i, Y, i, i, i), codegen

    return rows_times


def _outer_acc(rows: int):
    @intrinsic
    def outer_acc(typingctx, X, xo, xs, G, gs, n, D, do, ncols):
        """D[do + j ncols + c] += sum_{p < n} X[xo + p xs + j] G[p gs + c] for the ``rows``
        inputs j and every column c < ncols (a multiple of 64), p in order."""

        def codegen(context, b, sig, args):
            e = Emit(context, b, sig.args[0].dtype)
            pX, pG, pD = (array_parts(context, b, sig.args[i], args[i])[0] for i in (0, 3, 6))
            xo, xs, gs, n, do, ncols = (args[i] for i in (1, 2, 4, 5, 7, 8))
            nv, width = SLAB_VECTORS, SLAB_VECTORS * e.lanes
            acc = e.accumulators(rows * nv)
            with cgutils.for_range(b, b.sdiv(ncols, c64(width))) as slab:
                c0 = b.mul(slab.index, c64(width))
                for j in range(rows):
                    for v in range(nv):
                        b.store(e.load(pD, b.add(do, b.add(b.mul(c64(j), ncols), b.add(c0, c64(v * e.lanes))))),
                                acc[j * nv + v])
                with cgutils.for_range(b, n) as point:
                    p = point.index
                    grow = b.add(b.mul(p, gs), c0)
                    g = [e.load(pG, b.add(grow, c64(v * e.lanes))) for v in range(nv)]
                    xrow = b.add(xo, b.mul(p, xs))
                    for j in range(rows):
                        x = e.broadcast(pX, b.add(xrow, c64(j)))
                        for v in range(nv):
                            s = acc[j * nv + v]
                            b.store(e.fma(x, g[v], b.load(s)), s)
                for j in range(rows):
                    for v in range(nv):
                        e.store(b.load(acc[j * nv + v]), pD, b.add(do, b.add(b.mul(c64(j), ncols), b.add(c0, c64(v * e.lanes)))))
            return context.get_dummy_value()

        require_c_arrays(1, X, G, D)
        i = types.intp
        return types.void(X, i, i, G, i, i, D, i, i), codegen

    return outer_acc


rows_tile, rows_one = _rows_times(ROWS), _rows_times(1)
outer_tile, outer_one = _outer_acc(IN_ROWS), _outer_acc(1)

_OPTS = dict(boundscheck=False, nogil=True, cache=True, error_model="numpy")


@numba.njit(**_OPTS)
def layer_rows(X, xo, xs, W, wo, din, B, bo, Y, oo, ncols, n):  # pragma: no cover - compiled
    # Y's n rows from oo (stride ncols) = X's n rows from xo (stride xs) times W (din x ncols) + B
    r = 0
    while r + ROWS <= n:
        rows_tile(X, xo + r * xs, xs, W, wo, din, B, bo, Y, oo + r * ncols, ncols, ncols)
        r += ROWS
    while r < n:
        rows_one(X, xo + r * xs, xs, W, wo, din, B, bo, Y, oo + r * ncols, ncols, ncols)
        r += 1


@numba.njit(**_OPTS)
def weight_grad_rows(X, xo, xs, din, G, n, D, do, ncols):  # pragma: no cover - compiled
    # D (din x ncols from do) += X's n rows (din inputs from xo, stride xs)^T G's n rows
    j = 0
    while j + IN_ROWS <= din:
        outer_tile(X, xo + j, xs, G, ncols, n, D, do + j * ncols, ncols)
        j += IN_ROWS
    while j < din:
        outer_one(X, xo + j, xs, G, ncols, n, D, do + j * ncols, ncols)
        j += 1


@numba.njit(fastmath=SIN_FLAGS, **_OPTS)
def activate(Z, A, lo, hi, relu):  # pragma: no cover - compiled
    # A = act(Z) on [lo, hi); Z <- act'(Z): cos for the sine, the 0/1 mask for the ReLU.
    # Slices, not offsets: LLVM vectorises a loop over a slice, not one from lo to hi
    z, a = Z[lo:hi], A[lo:hi]
    if relu:
        for i in range(z.shape[0]):
            x = z[i]
            a[i] = x if x > 0.0 else np.float32(0.0)
            z[i] = np.float32(1.0) if x > 0.0 else np.float32(0.0)
    else:
        for i in range(z.shape[0]):
            s, c = sin_cos(np.float64(z[i]))
            a[i] = np.float32(s)
            z[i] = np.float32(c)


@numba.njit(fastmath={"nsz", "arcp", "contract", "reassoc"}, **_OPTS)
def last_layer(A, base, n, h, w, b, out, o, stride):  # pragma: no cover - compiled
    # out[o + r stride] = A's row r (from base, h wide) . w + b for r < n (a vectorised sum)
    for r in range(n):
        a = A[base + r * h:base + (r + 1) * h]
        s = np.float32(0.0)
        for c in range(h):
            s += a[c] * w[c]
        out[o + r * stride] = s + b


@numba.njit(**_OPTS)
def forward(feat, f_ps, f_ks, d0, weights, biases, zs, acts, w_last, b_last, out, k_lo, k_hi, K, P, h, relu):  # pragma: no cover
    # components k_lo <= k < k_hi: every layer of a chunk of points, chunk after chunk;
    # out[k P + p] = the last layer's (linear) output; features of (p, k) at p f_ps + k f_ks
    L = len(weights)
    for k in range(k_lo, k_hi):
        for p0 in range(0, P, CHUNK):
            n = min(CHUNK, P - p0)
            base = (k * P + p0) * h
            for i in range(L):
                if i == 0:
                    layer_rows(feat, p0 * f_ps + k * f_ks, f_ps, weights[0], k * d0 * h, d0, biases[0], k * h,
                               zs[0], base, h, n)
                else:
                    layer_rows(acts[i - 1], base, h, weights[i], k * h * h, h, biases[i], k * h, zs[i], base, h, n)
                activate(zs[i], acts[i], base, base + n * h, relu)
            last_layer(acts[L - 1], base, n, h, w_last[k * h:(k + 1) * h], b_last[k], out, k * P + p0, 1)


@numba.njit(**_OPTS)
def backward(feat, f_ps, f_ks, d0, weights_t, zeros, zs, acts, w_last, g_out, d_weights, d_biases, d_w_last, d_b_last,
             k_lo, k_hi, K, P, h):  # pragma: no cover - compiled
    # gradients of components k_lo <= k < k_hi (g_out laid out (K, P)), accumulated into the zeroed d_* buffers;
    # zs hold act'(z) from forward; weights_t[i] is layer i's (K, h, d_in) transpose
    L = len(weights_t)
    gz = np.empty(CHUNK * h, dtype=np.float32)
    gp = np.empty(CHUNK * h, dtype=np.float32)
    for k in range(k_lo, k_hi):
        for p0 in range(0, P, CHUNK):
            n = min(CHUNK, P - p0)
            base = (k * P + p0) * h
            top_a, top_z, wl = acts[L - 1], zs[L - 1], w_last[k * h:(k + 1) * h]
            dwl = d_w_last[k * h:(k + 1) * h]
            for r in range(n):
                go = g_out[k * P + p0 + r]
                d_b_last[k] += go
                a, z, g = top_a[base + r * h:base + (r + 1) * h], top_z[base + r * h:base + (r + 1) * h], gz[r * h:(r + 1) * h]
                for c in range(h):
                    dwl[c] += a[c] * go
                    g[c] = go * wl[c] * z[c]
            for i in range(L - 1, -1, -1):
                db = d_biases[i][k * h:(k + 1) * h]
                for r in range(n):
                    g = gz[r * h:(r + 1) * h]
                    for c in range(h):
                        db[c] += g[c]
                if i == 0:
                    weight_grad_rows(feat, p0 * f_ps + k * f_ks, f_ps, d0, gz, n, d_weights[0], k * d0 * h, h)
                else:
                    weight_grad_rows(acts[i - 1], base, h, h, gz, n, d_weights[i], k * h * h, h)
                    layer_rows(gz, 0, h, weights_t[i], k * h * h, h, zeros, 0, gp, 0, h, n)
                    z = zs[i - 1][base:base + n * h]
                    for m in range(n * h):
                        gz[m] = gp[m] * z[m]
