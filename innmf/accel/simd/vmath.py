"""exp, log1p and log as float64 polynomials that LLVM can vectorise (numba).

numba calls libm for ``math.exp`` and ``math.log`` one element at a time (it has no
vector math library here), and the fused activation refit (:mod:`innmf.accel.simd.refit`)
needs softplus and sigmoid of every logit at every epoch, and logarithms of every
entry of V / (W H) when it records the loss (``results/bench/README.md``). These are
straight-line float64 code (range reduction by bit manipulation, then a polynomial), so
a loop calling them compiles to vector instructions. Their error is a few float64 ulps on the ranges the refit uses
(``tests/test_refit_fused.py`` checks them against numpy): far below float32's rounding,
and close enough in float64 that the float64 refit matches autograd to 1e-10.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.core import types
from numba.extending import intrinsic

_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10  # fdlibm's split of ln 2
_SQRT2 = 1.4142135623730951
EXP_MIN = -708.0
"""exp(x) below this is returned as 0 (2^k of the reduction must stay a normal float64)."""


@intrinsic
def f64_from_bits(typingctx, i):
    """The float64 whose bits are the int64 ``i``."""

    def codegen(context, b, sig, args):
        return b.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.int64), codegen


@intrinsic
def bits_from_f64(typingctx, x):
    """The bits of the float64 ``x`` as an int64."""

    def codegen(context, b, sig, args):
        return b.bitcast(args[0], context.get_value_type(types.int64))

    return types.int64(types.float64), codegen


_OPTS = dict(boundscheck=False, nogil=True, cache=True, inline="always", error_model="numpy")


def _series(s):  # pragma: no cover - compiled
    # atanh(s) for |s| <= (sqrt2 - 1) / (sqrt2 + 1) = 0.172, its series to s^21
    # (truncation < 1e-17 relative)
    z = s * s
    p = 1.0 / 21.0
    p = p * z + 1.0 / 19.0
    p = p * z + 1.0 / 17.0
    p = p * z + 1.0 / 15.0
    p = p * z + 1.0 / 13.0
    p = p * z + 1.0 / 11.0
    p = p * z + 1.0 / 9.0
    p = p * z + 1.0 / 7.0
    p = p * z + 1.0 / 5.0
    p = p * z + 1.0 / 3.0
    return s + s * (z * p)


_atanh = numba.njit(**_OPTS)(_series)


@numba.njit(**_OPTS)
def exp(x):  # pragma: no cover - compiled
    # exp(x) for x <= 0 (0 at or below EXP_MIN): x = k ln2 + r, |r| <= ln2 / 2, exp(r) by
    # its Taylor polynomial to degree 12 (truncation < 1e-16), times 2^k built from bits
    xc = max(x, EXP_MIN)
    k = np.floor(xc * 1.4426950408889634 + 0.5)
    r = (xc - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    y = p * f64_from_bits((np.int64(k) + 1023) << 52)
    return y if x > EXP_MIN else 0.0


@numba.njit(**_OPTS)
def log1p_unit(e):  # pragma: no cover - compiled
    # log(1 + e) for 0 <= e <= 1: 2 atanh(e / (2 + e)) (no cancellation for small e);
    # above sqrt2 - 1, ln2 + log((1 + e) / 2) = ln2 + 2 atanh((e - 1) / (e + 3))
    high = e > _SQRT2 - 1.0
    r = 2.0 * _atanh((e - 1.0) / (e + 3.0) if high else e / (2.0 + e))
    return _LN2_HI + (_LN2_LO + r) if high else r


@numba.njit(**_OPTS)
def log(x):  # pragma: no cover - compiled
    # log(x) for a positive normal float64: x = 2^k m, m in [1/sqrt2, sqrt2), and
    # log(m) = 2 atanh((m - 1) / (m + 1))
    bits = bits_from_f64(x)
    k = ((bits >> 52) & 0x7FF) - 1023
    m = f64_from_bits((bits & 0xFFFFFFFFFFFFF) | 0x3FF0000000000000)
    big = m > _SQRT2
    m = 0.5 * m if big else m
    kf = np.float64(k + 1 if big else k)
    return kf * _LN2_HI + (kf * _LN2_LO + 2.0 * _atanh((m - 1.0) / (m + 1.0)))


_PIO2_HI = 1.5707963267341256  # pi/2 = HI + LO (fdlibm's split): k * HI is exact for |k| < 2^20
_PIO2_LO = 6.077100506506192e-11
SIN_FLAGS = {"nsz", "arcp", "contract", "afn"}
"""fastmath flags of the loops calling :func:`sin_cos`: no ``reassoc``, since the two-step
reduction (x - k HI) - k LO must keep its order (inlined code compiles under the caller's flags)."""


@numba.njit(**_OPTS)
def sin_cos(x):  # pragma: no cover - compiled
    # (sin x, cos x) of a float64: x = k pi/2 + r, |r| <= pi/4, by the Taylor polynomials of
    # sin r and cos r to degree 13 and 12 (truncation < 1e-11, far below float32 rounding)
    k = np.floor(x * (2.0 / np.pi) + 0.5)
    r = (x - k * _PIO2_HI) - k * _PIO2_LO
    r2 = r * r
    sp = r + r * r2 * (-1.0 / 6 + r2 * (1.0 / 120 + r2 * (-1.0 / 5040 + r2 * (
        1.0 / 362880 + r2 * (-1.0 / 39916800 + r2 * (1.0 / 6227020800))))))
    cp = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24 + r2 * (-1.0 / 720 + r2 * (
        1.0 / 40320 + r2 * (-1.0 / 3628800 + r2 * (1.0 / 479001600))))))
    q = np.int64(k)
    odd = (q & 1) == 1  # quadrant q: sin(x) = (s, c, -s, -c)[q % 4], cos(x) = (c, -s, -c, s)[q % 4]
    a = cp if odd else sp
    b = sp if odd else cp
    return (1.0 - 2.0 * np.float64((q >> 1) & 1)) * a, (1.0 - 2.0 * np.float64(((q + 1) >> 1) & 1)) * b
