"""The Rprop activation refit fused into one SIMD pass per block of columns (CPU).

An option of :func:`innmf.accel.activations.fit_activations_fixed_W` (``kernel="fused"``),
the refit of :meth:`innmf.models.implicit.ImplicitWNMF.refit_H` and
:func:`innmf.models.activations.fit_activations`: W (F x K) fixed, H = softplus(L), the
mean generalised KL minimised by Rprop on L.

Why: the BLAS epoch (:mod:`innmf.accel.activations`) is two skinny products and about
twenty elementwise torch passes, so at the paper's shapes (K = 20, a few hundred
frames) it runs far below the FMA limit and pays a fixed cost per operation. Here one
compiled call does it all: for a block of columns, a block of rows of W H is formed in
registers, floored and divided into V, and added into W^T R straight away (the tiles of
the fused MU kernels, :mod:`innmf.accel.simd.fused_kl`); then the gradient
(W^T 1 - W^T R) sigmoid(L) / n, torch's Rprop step and the new softplus(L) and
sigmoid(L) are one elementwise pass over the block's K x T_block entries. The columns
of H are independent given W (the objective is a sum over them and Rprop is per entry),
so a block runs *all* its epochs while its part of V stays in the cache, and threads
take whole column ranges and never wait for each other.

Not the default: the products sum in another order than OpenBLAS and softplus and
sigmoid round differently from torch's, so the refit's numbers differ from the BLAS
path's by float rounding (``results/bench/README.md`` quantifies it) and the recorded
runs would move. The math is the same: the floor 1e-30 of W H, 0 log 0 = 0, the mean
over the F x T entries, ``torch.optim.Rprop``'s update in L's dtype (etas (0.5, 1.2),
step sizes clamped to [1e-6, 50], no step after a sign change). The results do not
depend on the thread count or the blocks (each column sums in a fixed order, the loss
per tile of columns in float64, the tiles in order).
"""

from __future__ import annotations

import numpy as np
import torch

from innmf.accel.checked import fast_path, require_close
from innmf.accel.kl import MODEL_FLOOR
from innmf.accel.mu_fused_kl import _pool, _ranges, default_threads
from innmf.accel.simd.layout import K_BLOCK, LANES_BYTES

L1_BYTES = 12 * 1024
"""Bytes of H, W^T R and the row buffer of a column block kept in the L1 cache (32-48 KB per
core): half the MU kernels' budget, 32 to 64 columns at the paper's shapes (``results/bench/README.md``)."""
L2_BYTES = 512 * 1024
"""Bytes of V's column block kept in the L2 cache across its epochs (0.5-2 MB per core)."""
ETAS, STEP_SIZES = (0.5, 1.2), (1e-6, 50.0)  # torch.optim.Rprop's defaults, the paper's


@fast_path("refit_fused", "the Rprop activation refit (W softplus(L), V / (W H), W^T R, the step) fused in one "
                          "SIMD pass per column block; the BLAS refit runs instead")
def kernels():
    """The compiled kernels (:mod:`innmf.accel.simd.refit`), or None if refused.

    Checked once per process (:mod:`innmf.accel.checked`) against the plain math of
    :mod:`innmf.paper.inmf` (autograd and ``torch.optim.Rprop``, float64) in float64
    and float32, on sizes that exercise every padding (F, T not multiples of the blocks,
    K odd), with zeros in V and a silent frame.
    """
    from innmf.accel.simd import refit as candidate
    from innmf.paper import inmf

    rng = np.random.default_rng(0)
    V, W = rng.gamma(0.5, 1.0, (13, 37)), rng.random((13, 3)) + 0.1
    V[:, 5], V[2, :4] = 0.0, 0.0
    L0 = rng.random((3, 37))
    logits = torch.nn.Parameter(torch.tensor(L0))  # a copy: L0 is the fused run's start too
    opt = inmf.optimizer([logits], "rprop", 1e-3)
    ref_losses = []
    for _ in range(8):
        opt.zero_grad()
        loss = inmf.loss_fixed_W(torch.as_tensor(W), logits, torch.as_tensor(V))
        loss.backward()
        opt.step()
        ref_losses.append(float(loss.detach()))
    for dtype, rtol, atol in ((np.float64, 1e-9, 1e-12), (np.float32, 1e-5, 1e-5)):
        run = FusedRefit(V.astype(dtype), W.astype(dtype), L0.astype(dtype), 1e-3, candidate, threads=1)
        losses = run.run(8, 1)
        require_close(run.L, logits.detach().numpy(), rtol, atol, f"fused refit's L ({dtype.__name__})")
        require_close(losses, ref_losses, rtol, 0.0, f"fused refit's loss ({dtype.__name__})")
    return candidate


class FusedRefit:
    """Padded arrays and the Rprop state of one refit with the fused kernels.

    Args:
        V: non-negative target (F x T), float32 or float64.
        W: the fixed dictionary (F x K), same dtype.
        L: initial logits (K x T), same dtype (H = softplus(L)).
        lr: Rprop's initial step size.
        compiled: the kernels from :func:`kernels` (not None).
        threads: threads sharing the columns (default :func:`default_threads`); the
            results do not depend on it.

    ``L`` is a view of the unpadded logits, updated in place by :meth:`run`.
    """

    def __init__(self, V: np.ndarray, W: np.ndarray, L: np.ndarray, lr: float, compiled, threads: int | None = None):
        (F, T), K = V.shape, W.shape[1]
        dtype = V.dtype
        self._tile = LANES_BYTES // dtype.itemsize  # columns come in vectors (the kernels pair them)
        rows = compiled.ROWS
        Fp, Tp, Kp = -(-F // rows) * rows, -(-T // self._tile) * self._tile, K + K % K_BLOCK
        threads = default_threads() if threads is None else int(threads)
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}.")
        self.F, self.K, self.T, self.n = F, K, T, F * T
        self._V, self._W = np.zeros((Fp, Tp), dtype), np.zeros((Fp, Kp), dtype)
        self._V[:F, :T], self._W[:F, :K] = V, W
        self._L = np.zeros((Kp, Tp), dtype)
        self._L[:K, :T] = L
        self.L = self._L[:K, :T]
        self._H, self._S = np.zeros_like(self._L), np.zeros_like(self._L)  # padding stays 0: no model there
        self._prev, self._step = np.zeros_like(self._L), np.full_like(self._L, lr)
        self._num = np.zeros_like(self._L)
        # W^T 1 as the BLAS path sums it (torch), so the two differ in the products only
        self._colsum = torch.from_numpy(np.ascontiguousarray(W)).sum(dim=0).numpy().astype(dtype)
        pairs = -(-Tp // (2 * self._tile))  # threads split at pairs of vectors, the odd one last
        self._cols = [(lo, min(hi, Tp)) for lo, hi in _ranges(pairs, max(1, min(threads, pairs)), 2 * self._tile)]
        self._rbuf = np.empty((len(self._cols), 2, rows, Tp), dtype)  # per thread: V / W H, and W H
        # a column block: its H, W^T R and row buffer in L1, its part of V in L2
        width = min(L1_BYTES // (dtype.itemsize * (2 * Kp + rows)), L2_BYTES // (dtype.itemsize * Fp))
        self._chunk = max(1, width // (2 * self._tile)) * 2 * self._tile
        self._k = compiled
        self._pool = _pool(len(self._cols) - 1) if len(self._cols) > 1 else None
        one = dtype.type
        self._consts = (one(MODEL_FLOOR), one(self.n), one(ETAS[1]), one(ETAS[0]), one(STEP_SIZES[0]),
                        one(STEP_SIZES[1]))
        compiled.activate(self._L, self._H, self._S, K, 0, T)
        self.epoch = 0

    def run(self, epochs: int, loss_every: int) -> np.ndarray:
        """Run ``epochs`` more epochs; return the mean KL at the start of every epoch
        whose index (counted from the first call) is a multiple of ``loss_every`` (float64)."""
        e_lo, e_hi = self.epoch, self.epoch + int(epochs)
        row0 = -(-e_lo // loss_every)  # the first recorded epoch of this call: e = row0 * loss_every
        losses = np.zeros((-(-e_hi // loss_every) - row0, self._L.shape[1]))  # one sum per column
        k, c = self._k, self._consts

        def part(i: int, lo: int, hi: int) -> None:
            k.fit_cols(self._V, self._W, self._L, self._H, self._S, self._prev, self._step, self._num,
                       self._rbuf[i, 0], self._rbuf[i, 1], self._colsum, losses, self.F, self.K, self.T, lo, hi,
                       e_lo, e_hi, loss_every, row0, self._chunk, *c)

        futures = [self._pool.submit(part, i, lo, hi) for i, (lo, hi) in enumerate(self._cols) if i]
        part(0, *self._cols[0])
        for future in futures:
            future.result()
        self.epoch = e_hi
        return losses.sum(axis=1) / self.n


def fit_fused(
    V: torch.Tensor, W: torch.Tensor, L: torch.Tensor, epochs: int, lr: float, loss_every: int,
    progress: bool = False, desc: str = "fit H",
) -> tuple[torch.Tensor, np.ndarray] | None:
    """The Rprop refit from the logits ``L`` with the fused kernels, or None where they were refused.

    Args:
        V: target (F x T), CPU, float32 or float64, validated (finite, non-negative).
        W: the fixed dictionary (F x K), same dtype.
        L: initial logits (K x T), same dtype.
        epochs: Rprop steps.
        lr: Rprop's initial step size.
        loss_every: record the mean KL at the start of every ``loss_every``-th epoch.
        progress: tqdm bar (the epochs then run in slices of 25: the same numbers).
        desc: the bar's label.

    Returns:
        (H, losses) as :func:`innmf.accel.activations.fit_activations_fixed_W`, or None.
    """
    from tqdm.auto import tqdm

    compiled = kernels()
    if compiled is None:
        return None
    run = FusedRefit(V.numpy(), W.numpy(), L.detach().numpy(), lr, compiled)
    history = []
    with tqdm(total=int(epochs), disable=not progress, desc=desc, leave=False) as bar:
        while run.epoch < epochs:
            n = min(25 if progress else int(epochs), int(epochs) - run.epoch)
            history.append(run.run(n, loss_every))
            bar.update(n)
            if progress and history[-1].size:
                bar.set_postfix(kl=f"{history[-1][-1]:.4g}")
    return torch.nn.functional.softplus(torch.from_numpy(run.L.copy())), np.concatenate(history)
