"""KL multiplicative updates fused into one pass per factor, with explicit SIMD (CPU).

Used by :func:`innmf.models.nmf.nmf` (chapters "Classic NMF", "Window-size generalisation",
"Separation") for the paper's KL updates on the CPU in float32 and float64.

Why: an MU iteration is four skinny matrix products (one side of rank K) with
elementwise passes between them (floor W H, divide V by it). Through a BLAS, W H
and V / (W H) go to memory (1.3 MB each at the paper's 1001 x 319) and back, and
numpy's OpenBLAS (0.3.31) runs its AVX2 kernels on the AMD Zen 5 CPU we measured,
about 100 GFLOP/s per core. Here a block of rows of W H is formed in registers,
floored and divided into V at once, and used straight away for the factor's
update, so neither matrix is ever written; the kernels are written as LLVM vector
IR (numba + llvmlite), so they use AVX-512 where the CPU has it (170-185 GFLOP/s
per core there, ``innmf bench``) and AVX2 halves elsewhere.

Numbers do not depend on the CPU: every vector has 64 bytes (16 float32 or 8
float64 lanes; LLVM splits it on narrower CPUs), products are accumulated with
explicit fused multiply-adds in a fixed order, and sums across lanes follow a
fixed tree. The row block only sets speed.

Padding is exact: T is padded to two vectors, F to the row block and K to an even
number with zeros; a zero row or column gives W H = 0, floored to eps, so
V / (W H) = 0 / eps = 0 there, and fma(0, 0, a) = a leaves every sum unchanged.
"""

from __future__ import annotations

import numpy as np

from innmf.accel.simd.layout import K_BLOCK, LANES_BYTES

_BUILT: list = []  # [the fused_kl_kernels module or None] once compiled and checked


def _reference_step(V, W, H, eps, zero_below, update_W):
    """The same MU step in plain numpy (float64 sums), for the first-use check."""
    if update_W:
        W *= ((V / np.maximum(W @ H, eps)) @ H.T) / np.maximum(H.sum(1), eps)
    H *= (W.T @ (V / np.maximum(W @ H, eps))) / np.maximum(W.sum(0), eps)[:, None]
    H[H <= zero_below] = 0.0


def kernels():
    """The compiled kernels (the :mod:`innmf.accel.simd.fused_kl` module: ``update_W``,
    ``update_H`` and the ``ROWS`` they were compiled for), or None without numba or when
    a check fails.

    Checked once per process against :func:`_reference_step` in float32 and float64, on
    sizes that exercise every padding (F, T not multiples of the blocks, K odd).
    """
    if not _BUILT:
        built = None
        try:
            from innmf.accel.simd import fused_kl as candidate

            rng = np.random.default_rng(0)
            for dtype in (np.float32, np.float64):
                V, W, H = (rng.random(s).astype(dtype) for s in ((13, 37), (13, 3), (3, 37)))
                W[2], H[:, 5] = 0.0, 0.0  # zero rows and columns, as sparse spectra have
                fused = FusedKL(V, W, H, 1e-7, 1e-16, candidate)
                Wr, Hr = W.astype(np.float64), H.astype(np.float64)
                for update_W in (True, False):
                    fused.step(update_W)
                    _reference_step(V.astype(np.float64), Wr, Hr, 1e-7, 1e-16, update_W)
                rtol = 1e-4 if dtype == np.float32 else 1e-10
                if not (np.allclose(fused.W, Wr, rtol=rtol, atol=0) and np.allclose(fused.H, Hr, rtol=rtol, atol=0)):
                    raise ArithmeticError("fused KL kernels disagree with numpy")
            built = candidate
        except Exception:  # noqa: BLE001 - no numba, or a broken build: the unfused updates are used
            built = None
        _BUILT.append(built)
    return _BUILT[0]


class FusedKL:
    """Padded factors and buffers of one KL MU run with the fused kernels.

    Args:
        V: non-negative matrix (F x T), float32 or float64.
        W: initial dictionary (F x K), same dtype.
        H: initial activations (K x T), same dtype.
        eps: floor of W H and of the denominators (sklearn's EPSILON).
        zero_below: activations at or below this become 0 (sklearn zeroes float64 eps).
        compiled: the kernels from :func:`kernels` (not None).

    ``W`` and ``H`` are views of the unpadded parts: updated in place by :meth:`step`.
    """

    def __init__(self, V: np.ndarray, W: np.ndarray, H: np.ndarray, eps: float, zero_below: float, compiled):
        (F, T), K = V.shape, W.shape[1]
        dtype = V.dtype
        lanes = LANES_BYTES // dtype.itemsize
        rows = compiled.ROWS
        Fp, Tp, Kp = -(-F // rows) * rows, -(-T // (2 * lanes)) * 2 * lanes, K + K % K_BLOCK
        self._V = np.zeros((Fp, Tp), dtype)
        self._W = np.zeros((Fp, Kp), dtype)
        self._H = np.zeros((Kp, Tp), dtype)
        self._V[:F, :T], self._W[:F, :K], self._H[:K, :T] = V, W, H
        self.W, self.H = self._W[:F, :K], self._H[:K, :T]
        self._rbuf = np.empty((rows, Tp), dtype)
        self._dots = np.empty((rows, Kp), dtype)
        self._num = np.empty((Kp, Tp), dtype)
        self._eps, self._zero_below = dtype.type(eps), dtype.type(zero_below)
        self._update_W, self._update_H = compiled.update_W, compiled.update_H

    def step(self, update_W: bool = True) -> None:
        """One MU iteration: W (unless ``update_W`` is false), then H, as scikit-learn."""
        if update_W:
            self._update_W(self._V, self._W, self._H, self._rbuf, self._dots, self._eps)
        self._update_H(self._V, self._W, self._H, self._rbuf, self._num, self._eps, self._zero_below)
