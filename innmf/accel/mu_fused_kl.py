"""KL multiplicative updates fused into one pass per factor, with explicit SIMD (CPU).

Used by :func:`innmf.models.nmf.nmf` (chapters "Classic NMF", "Window-size generalisation",
"Separation") for the paper's KL updates on the CPU in float32 and float64.

Why: an MU iteration is four skinny matrix products (one side of rank K) with
elementwise passes between them (floor W H, divide V by it). Through a BLAS, W H
and V / (W H) go to memory (1.3 MB each at the paper's 1001 x 319) and back, and
a BLAS may not use the CPU's widest vectors (OpenBLAS runs its AVX2 kernels on
CPUs it does not know). Here a block of rows of W H is formed in registers,
floored and divided into V at once, and used straight away for the factor's
update, so neither matrix is ever written; the kernels are written as LLVM vector
IR (numba + llvmlite), so they use AVX-512 where the CPU has it and AVX2 halves
elsewhere. ``innmf bench`` measures them against the alternatives (the records
and their machines are in ``results/bench/``).

Numbers do not depend on the CPU: every vector has 64 bytes (16 float32 or 8
float64 lanes; LLVM splits it on narrower CPUs), products are accumulated with
explicit fused multiply-adds in a fixed order, and sums across lanes follow a
fixed tree. The row block only sets speed.

Padding is exact: T is padded to two vectors, F to the row block and K to an even
number with zeros; a zero row or column gives W H = 0, floored to eps, so
V / (W H) = 0 / eps = 0 there, and fma(0, 0, a) = a leaves every sum unchanged.

Threads split the work so that no sum changes order, which keeps the numbers the
same bit for bit at every thread count: the W update splits the row blocks (each
row of W depends on its own row of V only), the H update splits the columns at
two-vector tiles, every thread going through all rows in the same order. The
threads are a pool calling the compiled kernels, which release the GIL; they wait
on a lock, never spin, so they do not take the cores from torch's or the BLAS's
threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from innmf.accel.checked import fast_path, require_close
from innmf.accel.runtime import helper_threads
from innmf.accel.simd.layout import K_BLOCK, LANES_BYTES
from innmf.paper import mu

@fast_path("fused_kl", "KL multiplicative updates fused into one SIMD pass per factor (NMF); "
                       "the unfused matrix products run instead")
def kernels():
    """The compiled kernels (the :mod:`innmf.accel.simd.fused_kl` module: ``update_W``,
    ``update_H`` and the ``ROWS`` they were compiled for), or None if refused.

    Checked once per process (:mod:`innmf.accel.checked`) against :func:`innmf.paper.mu.step`
    in float32 and float64, on sizes that exercise every padding (F, T not multiples of
    the blocks, K odd).
    """
    from innmf.accel.simd import fused_kl as candidate

    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        V, W, H = (rng.random(s).astype(dtype) for s in ((13, 37), (13, 3), (3, 37)))
        W[2], H[:, 5] = 0.0, 0.0  # zero rows and columns, as sparse spectra have
        fused = FusedKL(V, W, H, mu.EPSILON, mu.ZERO_BELOW, candidate)
        Wr, Hr = W.astype(np.float64), H.astype(np.float64)
        for update_W in (True, False):
            fused.step(update_W)
            Wr, Hr = mu.step(V.astype(np.float64), Wr, Hr, beta=1.0, fix_W=not update_W)
        rtol = 1e-4 if dtype == np.float32 else 1e-10
        require_close(fused.W, Wr, rtol, 0.0, f"fused KL update of W ({dtype.__name__})")
        require_close(fused.H, Hr, rtol, 0.0, f"fused KL update of H ({dtype.__name__})")
    return candidate


def _pool(workers: int) -> ThreadPoolExecutor:
    """The helper threads of runs with ``workers + 1`` threads (the caller is the other)."""
    return helper_threads(workers)


def _ranges(units: int, parts: int, size: int) -> list[tuple[int, int]]:
    """``units`` units of ``size`` elements cut into ``parts`` contiguous ranges (in elements)."""
    return [(p * units // parts * size, (p + 1) * units // parts * size) for p in range(parts)]


def default_threads() -> int:
    """Threads of the fused updates when not given: torch's thread count (``use_threads``)."""
    import torch

    return torch.get_num_threads()


class FusedKL:
    """Padded factors and buffers of one KL MU run with the fused kernels.

    Args:
        V: non-negative matrix (F x T), float32 or float64.
        W: initial dictionary (F x K), same dtype.
        H: initial activations (K x T), same dtype.
        eps: floor of W H and of the denominators (sklearn's EPSILON).
        zero_below: activations at or below this become 0 (sklearn zeroes float64 eps).
        compiled: the kernels from :func:`kernels` (not None).
        threads: threads to share each update (default :func:`default_threads`); the
            results do not depend on it.

    ``W`` and ``H`` are views of the unpadded parts: updated in place by :meth:`step`.
    """

    def __init__(
        self, V: np.ndarray, W: np.ndarray, H: np.ndarray, eps: float, zero_below: float, compiled,
        threads: int | None = None,
    ):
        (F, T), K = V.shape, W.shape[1]
        dtype = V.dtype
        lanes = LANES_BYTES // dtype.itemsize
        rows = compiled.ROWS
        Fp, Tp, Kp = -(-F // rows) * rows, -(-T // (2 * lanes)) * 2 * lanes, K + K % K_BLOCK
        threads = default_threads() if threads is None else int(threads)
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}.")
        self._V = np.zeros((Fp, Tp), dtype)
        self._W = np.zeros((Fp, Kp), dtype)
        self._H = np.zeros((Kp, Tp), dtype)
        self._V[:F, :T], self._W[:F, :K], self._H[:K, :T] = V, W, H
        self.W, self.H = self._W[:F, :K], self._H[:K, :T]
        # a thread gets at least 8 row blocks of W and one column tile of H
        self._rows = _ranges(Fp // rows, max(1, min(threads, Fp // rows // 8)), rows)
        self._cols = _ranges(Tp // (2 * lanes), max(1, min(threads, Tp // (2 * lanes))), 2 * lanes)
        parts = max(len(self._rows), len(self._cols))
        self._rbuf = np.empty((parts, rows, Tp), dtype)  # one per thread
        self._dots = np.empty((parts, rows, Kp), dtype)
        self._num = np.empty((Kp, Tp), dtype)
        self._eps, self._zero_below = dtype.type(eps), dtype.type(zero_below)
        self._k = compiled
        self._pool = _pool(parts - 1) if parts > 1 else None

    def _split(self, kernel, ranges) -> None:
        """Run ``kernel(i, lo, hi)`` on every range: the first here, the others in the pool."""
        futures = [self._pool.submit(kernel, i, lo, hi) for i, (lo, hi) in enumerate(ranges) if i]
        kernel(0, *ranges[0])
        for future in futures:
            future.result()

    def step(self, update_W: bool = True) -> None:
        """One MU iteration: W (unless ``update_W`` is false), then H, as scikit-learn."""
        k, V, W, H, eps = self._k, self._V, self._W, self._H, self._eps
        if update_W:
            if len(self._rows) == 1:
                k.update_W(V, W, H, self._rbuf[0], self._dots[0], eps)
            else:
                den = k.w_denominators(H, eps)
                self._split(lambda i, lo, hi: k.update_W_rows(V, W, H, self._rbuf[i], self._dots[i], den, lo, hi, eps),
                            self._rows)
        if len(self._cols) == 1:
            k.update_H(V, W, H, self._rbuf[0], self._num, eps, self._zero_below)
        else:
            den = k.h_denominators(W)
            self._split(lambda i, lo, hi: k.update_H_cols(V, W, H, self._rbuf[i], self._num, den, lo, hi, eps,
                                                          self._zero_below), self._cols)
