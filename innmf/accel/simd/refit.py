"""The compiled kernels of :mod:`innmf.accel.refit_fused` (numba + LLVM vector IR).

Kept apart so that importing :mod:`innmf.accel.refit_fused` does not import numba, and at
module level so that numba can cache the machine code between processes. The products
follow the fused MU kernels (:mod:`innmf.accel.simd.fused_kl`: a block of ``ROWS`` rows of
V / max(W H, floor) formed in registers, then W^T of it added into ``num``, every sum in
the same fixed order); here W^T R takes two vectors per pass (two independent sums per
component, each column still summing its rows in order: the same bits, fewer
broadcasts of W, no chain of dependent FMAs alone), and the variant that forms W H
also keeps the floored model for the loss. Then the elementwise gradient and Rprop
step, and the loop over epochs.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from innmf.accel.simd import vmath
from innmf.accel.simd.fused_kl import ROWS
from innmf.accel.simd.ir import Emit, array_parts, c64, require_c_arrays

SOFTPLUS_THRESHOLD = 20.0
"""torch.nn.functional.softplus's default: above it, softplus(x) = x."""


def _wh_tiles(e, b, p, K, Tp, f, t_lo, count, nv, floor) -> None:
    """Emit ``count`` tiles of ROWS rows (from f) x ``nv`` vectors (from t_lo) of W H, each
    entry summed over k in order with FMAs and floored; V / it into rbuf (and it into
    mbuf when p = (V, W, H, rbuf, mbuf))."""
    pV, pW, pH, pR, *pM = p
    acc = e.accumulators(nv * ROWS)  # stay in registers through the K loop
    with cgutils.for_range(b, count) as tile:
        t0 = b.add(t_lo, b.mul(tile.index, c64(nv * e.lanes)))
        for s in acc:
            b.store(ir.Constant(e.vec, None), s)
        with cgutils.for_range(b, K) as comp:
            k = comp.index
            off = b.add(b.mul(k, Tp), t0)
            h = [e.load(pH, b.add(off, c64(j * e.lanes))) for j in range(nv)]
            for i in range(ROWS):  # each vector of H serves ROWS rows
                w = e.broadcast(pW, b.add(b.mul(b.add(f, c64(i)), K), k))
                for j in range(nv):
                    b.store(e.fma(w, h[j], b.load(acc[nv * i + j])), acc[nv * i + j])
        for i in range(ROWS):
            for j in range(nv):
                col = b.add(t0, c64(j * e.lanes))
                wh = b.load(acc[nv * i + j])
                floored = b.select(b.fcmp_ordered(">", wh, floor), wh, floor)
                at = b.add(b.mul(c64(i), Tp), col)
                e.store(b.fdiv(e.load(pV, b.add(b.mul(b.add(f, c64(i)), Tp), col)), floored), pR, at)
                for m in pM:
                    e.store(floored, m, at)


def _pairs_then_one(e, b, t_lo, t_hi):
    """(pairs of vectors, start of the odd vector, 0 or 1 odd vector) in t_lo <= t < t_hi."""
    pairs = b.sdiv(b.sub(t_hi, t_lo), c64(2 * e.lanes))
    rest = b.add(t_lo, b.mul(pairs, c64(2 * e.lanes)))
    return pairs, rest, b.sdiv(b.sub(t_hi, rest), c64(e.lanes))


def _wh_codegen(n_arrays: int):
    def codegen(context, b, sig, args):
        e = Emit(context, b, sig.args[0].dtype)
        p = [array_parts(context, b, t, v)[0] for t, v in zip(sig.args[:n_arrays], args[:n_arrays])]
        K, Tp = array_parts(context, b, sig.args[2], args[2])[1]
        f, t_lo, t_hi, floor = args[n_arrays], args[n_arrays + 1], args[n_arrays + 2], e.splat(args[n_arrays + 3])
        pairs, rest, odd = _pairs_then_one(e, b, t_lo, t_hi)
        _wh_tiles(e, b, p, K, Tp, f, t_lo, pairs, 2, floor)
        _wh_tiles(e, b, p, K, Tp, f, rest, odd, 1, floor)
        return context.get_dummy_value()

    return codegen


@intrinsic
def wh_ratio(typingctx, V, W, H, rbuf, f, t_lo, t_hi, floor):
    """rbuf[i, t] = V[f + i, t] / max((W H)[f + i, t], floor) for the ROWS rows from f and
    the columns t_lo <= t < t_hi (multiples of a vector): tiles of two vectors, then one."""
    require_c_arrays(2, V, W, H, rbuf)
    return types.void(V, W, H, rbuf, types.intp, types.intp, types.intp, V.dtype), _wh_codegen(4)


@intrinsic
def wh_ratio_model(typingctx, V, W, H, rbuf, mbuf, f, t_lo, t_hi, floor):
    """As :func:`wh_ratio`, and mbuf = max(W H, floor) too: the model, for the loss."""
    require_c_arrays(2, V, W, H, rbuf, mbuf)
    return types.void(V, W, H, rbuf, mbuf, types.intp, types.intp, types.intp, V.dtype), _wh_codegen(5)


def _outer_vectors(e, b, pR, pW, pN, K, Tp, f, t_lo, count, nv) -> None:
    """Emit ``count`` passes of ``nv`` vectors from t_lo: num[k, t] += W[f + i, k] rbuf[i, t]
    for the ROWS rows in order (``nv`` independent sums per component)."""
    with cgutils.for_range(b, count) as vec:
        t = b.add(t_lo, b.mul(vec.index, c64(nv * e.lanes)))
        r = [[e.load(pR, b.add(b.mul(c64(i), Tp), b.add(t, c64(j * e.lanes)))) for j in range(nv)] for i in range(ROWS)]
        with cgutils.for_range(b, K) as comp:
            off = b.add(b.mul(comp.index, Tp), t)
            a = [e.load(pN, b.add(off, c64(j * e.lanes))) for j in range(nv)]
            for i in range(ROWS):
                w = e.broadcast(pW, b.add(b.mul(b.add(f, c64(i)), K), comp.index))
                a = [e.fma(w, r[i][j], a[j]) for j in range(nv)]
            for j in range(nv):
                e.store(a[j], pN, b.add(off, c64(j * e.lanes)))


@intrinsic
def outer_acc(typingctx, rbuf, W, f, num, t_lo, t_hi):
    """num[k, t] += sum_i W[f + i, k] rbuf[i, t] for t_lo <= t < t_hi (multiples of a
    vector), rows in order: as ``fused_kl.outer_acc``, two vectors per pass."""

    def codegen(context, b, sig, args):
        e = Emit(context, b, sig.args[0].dtype)
        pR, pW = array_parts(context, b, sig.args[0], args[0])[0], array_parts(context, b, sig.args[1], args[1])[0]
        pN, (K, Tp) = array_parts(context, b, sig.args[3], args[3])
        f, t_lo, t_hi = args[2], args[4], args[5]
        pairs, rest, odd = _pairs_then_one(e, b, t_lo, t_hi)
        _outer_vectors(e, b, pR, pW, pN, K, Tp, f, t_lo, pairs, 2)
        _outer_vectors(e, b, pR, pW, pN, K, Tp, f, rest, odd, 1)
        return context.get_dummy_value()

    require_c_arrays(2, rbuf, W, num)
    return types.void(rbuf, W, types.intp, num, types.intp, types.intp), codegen


# error_model="numpy": no ZeroDivisionError checks, which keep LLVM from vectorising.
# The elementwise loops run over row slices from index 0: LLVM vectorises those, not a
# loop from t_lo that reads and writes one array (numba 0.6x, LLVM 15-20).
_OPTS = dict(boundscheck=False, nogil=True, cache=True, error_model="numpy")


@numba.njit(**_OPTS, inline="always")
def _activate(x):  # pragma: no cover - compiled
    # (softplus(x), sigmoid(x)) from one exp(-|x|) in float64, each rounded once by the
    # caller; softplus(x) = x above torch's threshold, as torch
    e = vmath.exp(-abs(x))
    soft = max(x, 0.0) + vmath.log1p_unit(e)
    return (x if x > SOFTPLUS_THRESHOLD else soft), (1.0 if x >= 0.0 else e) / (1.0 + e)


@numba.njit(**_OPTS)
def activate(L, H, S, K, t_lo, t_hi):  # pragma: no cover - compiled
    # H = softplus(L), S = sigmoid(L) for k < K, t_lo <= t < t_hi
    for k in range(K):
        x, h, s = L[k, t_lo:t_hi], H[k, t_lo:t_hi], S[k, t_lo:t_hi]
        for t in range(x.shape[0]):
            h[t], s[t] = _activate(np.float64(x[t]))


@numba.njit(**_OPTS)
def rprop_step(L, H, S, prev, step, num, colsum, K, t_lo, t_hi, n, etaplus, etaminus, smin, smax):  # pragma: no cover
    # the gradient (W^T 1 - W^T R) sigmoid(L) / n and torch.optim.Rprop's update of L, in
    # L's dtype and innmf.accel.optim.FlatRprop's operation order; then H, S at the new L.
    # Selects, not branches, so that the loop vectorises.
    for k in range(K):
        c = colsum[k]
        x, h, sg = L[k, t_lo:t_hi], H[k, t_lo:t_hi], S[k, t_lo:t_hi]
        p, st, wr = prev[k, t_lo:t_hi], step[k, t_lo:t_hi], num[k, t_lo:t_hi]
        for t in range(x.shape[0]):
            g = ((c - wr[t]) * sg[t]) / n
            same = g * p[t]  # the product's sign, as torch (it may underflow to 0)
            s = st[t]
            s = s * etaplus if same > 0 else (s * etaminus if same < 0 else s)
            s = min(max(s, smin), smax)
            g = g - g if same < 0 else g  # a sign change: no step, and the gradient is forgotten
            st[t], p[t] = s, g
            y = x[t]
            y = y - s if g > 0 else (y + s if g < 0 else y)
            x[t] = y
            h[t], sg[t] = _activate(np.float64(y))


@numba.njit(**_OPTS)
def add_kl_terms(V, rbuf, mbuf, losses, row, f, rows, c_lo, c_hi, floor):  # pragma: no cover - compiled
    # losses[row, t] += m_hat - v + v log(max(r, floor)) over the rows f <= f + i < f + rows
    # (float64, one sum per column, rows in order: the same sums however the columns are
    # split); v log r = 0 where v = 0 (0 log 0 = 0), as r >= floor > 0 there
    lo = np.float64(floor)
    out = losses[row, c_lo:c_hi]
    for i in range(rows):
        v, r, m = V[f + i, c_lo:c_hi], rbuf[i, c_lo:c_hi], mbuf[i, c_lo:c_hi]
        for t in range(out.shape[0]):
            x = np.float64(v[t])
            out[t] += (np.float64(m[t]) - x) + x * vmath.log(max(np.float64(r[t]), lo))


@numba.njit(**_OPTS)
def fit_cols(V, W, L, H, S, prev, step, num, rbuf, mbuf, colsum, losses, F, K, T, t_lo, t_hi, e_lo, e_hi,
             loss_every, row0, chunk, floor, n, etaplus, etaminus, smin, smax):  # pragma: no cover - compiled
    # epochs e_lo <= e < e_hi of the refit on the columns t_lo <= t < t_hi (multiples of
    # a vector; ``chunk`` a multiple of two): the columns of H are independent given W, so a block of them
    # runs all its epochs while its part of V stays in the cache. Epochs whose loss is
    # recorded add each column's KL terms to losses[e // loss_every - row0, t].
    for c_lo in range(t_lo, t_hi, chunk):
        c_hi = min(c_lo + chunk, t_hi)
        u_hi = min(c_hi, T)
        for epoch in range(e_lo, e_hi):
            record = epoch % loss_every == 0
            num[:, c_lo:c_hi] = 0.0
            for f in range(0, V.shape[0], ROWS):
                if record:
                    wh_ratio_model(V, W, H, rbuf, mbuf, f, c_lo, c_hi, floor)
                    add_kl_terms(V, rbuf, mbuf, losses, epoch // loss_every - row0, f, min(ROWS, F - f), c_lo, u_hi,
                                 floor)
                else:
                    wh_ratio(V, W, H, rbuf, f, c_lo, c_hi, floor)
                outer_acc(rbuf, W, f, num, c_lo, c_hi)
            rprop_step(L, H, S, prev, step, num, colsum, K, c_lo, u_hi, n, etaplus, etaminus, smin, smax)
