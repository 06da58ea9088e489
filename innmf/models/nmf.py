"""Classic NMF by multiplicative updates (MU) for the beta-divergence family, in PyTorch.

V (F x T) ~ W (F x K) H (K x T), K the rank. The updates are those of Lee & Seung
(2001) generalised by Fevotte & Idier (2011), in the same order and with the same
safeguards as scikit-learn's ``solver="mu"`` (W first, then H; the MM exponent
gamma for beta outside [1, 2]; tiny entries set to zero for beta <= 1), so both
libraries give the same factors for the same initialisation. Used by the chapters
"Classic NMF", "Window-size generalisation" and "Separation" (the paper's baseline:
KL, 3000 iterations, init 10 + N(0, 1)).

Speed: all work stays on ``device`` in preallocated buffers (no array is allocated
inside the loop), W H is formed once per factor update, and the loss of iteration
i is read off the W H that iteration i + 1 forms anyway. With ``loss_every > 1``
the loss is only computed at every ``loss_every``-th iteration (and the last);
``NMFResult.loss_iterations`` says which iterations ``losses`` belong to.

KL on the CPU (float32 or float64) runs the fused updates of :mod:`innmf.accel.mu_fused_kl`:
each factor's update is one pass that never stores W H, with explicit AVX-512 or
AVX2 vectors and the same numbers on every CPU (faster than the products through a
BLAS, ``innmf bench``). The other cases, and every GPU, use the matrix products below.
``backend="reference"`` runs the plain numpy steps of :mod:`innmf.paper.mu` instead
(the definition the fast path is tested against, ``tests/test_paper_mu.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from innmf.accel import mu_fused_kl as fused_kl
from innmf.accel.kl import kl_sum_from_ratio
from innmf.accel.runtime import matmul_into
from innmf.accel.simd.sincos import kl_ratio_kernel
from innmf.data.validation import check_array, check_choice, check_device, check_dtype, check_int, check_memory
from innmf.models.backends import check_backend
from innmf.models.common import SEED_MAX, check_converted
from innmf.paper import mu
from innmf.paper.divergences import beta_divergence, beta_from_name
from innmf.paper.mu import EPSILON
from innmf.paper.mu import ZERO_BELOW as _ZERO_BELOW


@dataclass
class NMFResult:
    """Output of :func:`nmf`.

    Attributes:
        W: dictionary, shape (F, K).
        H: activations, shape (K, T).
        losses: mean divergence D(V || W H) after each recorded iteration.
        loss_iterations: 1-based iteration numbers the losses belong to (0 = the
            initialisation is never included).
        n_iter: number of iterations run.
        beta: the divergence's beta (1 = KL, 0 = IS, 2 = Euclidean).
    """

    W: np.ndarray
    H: np.ndarray
    losses: np.ndarray
    loss_iterations: np.ndarray
    n_iter: int
    beta: float

    @property
    def history_(self) -> np.ndarray:
        """``losses`` under the name the models use (``ImplicitWNMF.history_``)."""
        return self.losses

    @property
    def components_(self) -> np.ndarray:
        """The dictionary as scikit-learn orients it, K x F (``W.T``; ``W`` is the paper's F x K)."""
        return np.ascontiguousarray(self.W.T)


def _to_tensor(x, name: str, layout: str, device, dtype) -> torch.Tensor:
    """A checked (:func:`~innmf.data.validation.check_array`) private row-major copy on ``device``: MU updates it in place."""
    checked = check_array(x, name, ndim=2, layout=layout)
    t = torch.as_tensor(checked) if isinstance(checked, np.ndarray) else checked
    t = t.to(device=device, dtype=dtype).clone(memory_format=torch.contiguous_format)  # row-major buffers
    check_converted(t, name, dtype)
    return t


def init_factors(
    V: torch.Tensor, rank: int, init: str = "paper", seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial W (F x K) and H (K x T) on V's device and dtype.

    Args:
        V: the matrix to factorise (only its shape and mean are used).
        rank: K in the paper.
        init: ``"paper"``: 10 + N(0, 1) clipped to be positive (the published code);
            ``"random"``: sqrt(mean(V) / K) |N(0, 1)| (scikit-learn's ``init="random"``).
        seed: seeds a private generator (draws are made on the CPU in float64, so
            every device and dtype starts from the same numbers).

    Returns:
        (W, H).
    """
    F, T = V.shape
    gen = torch.Generator().manual_seed(int(seed))
    W = torch.randn(F, rank, generator=gen, dtype=torch.float64)
    H = torch.randn(rank, T, generator=gen, dtype=torch.float64)
    if init == "paper":
        W, H = (10.0 + W).clamp_min(1e-6), (10.0 + H).clamp_min(1e-6)
    elif init == "random":
        scale = float(np.sqrt(max(float(V.double().mean()), 1e-12) / rank))
        W, H = scale * W.abs(), scale * H.abs()
    else:
        raise ValueError(f"Unknown init {init!r}; use 'paper' or 'random'.")
    return W.to(V.device, V.dtype), H.to(V.device, V.dtype)


class _Workspace:
    """Preallocated buffers and the loss bookkeeping for one MU run.

    For KL on a single-threaded CPU, W H is floored and V / (W H) formed in one compiled
    pass (:func:`innmf.accel.simd.sincos.kl_ratio_kernel`). With the fused updates
    (:mod:`innmf.accel.mu_fused_kl`) only the loss is computed here.
    """

    def __init__(self, V: torch.Tensor, beta: float, rank: int):
        self.V = V
        self.beta = beta
        self.WH = torch.empty_like(V)
        self.R = torch.empty_like(V)
        self.S = torch.empty_like(V) if beta != 2.0 else None
        self.n = V.numel()
        F, T = V.shape
        self.num_W = V.new_empty(F, rank)
        self.num_H = V.new_empty(rank, T)
        self.sum_K = V.new_empty(rank)
        # single-threaded only, like matmul_into: next to torch's multi-threaded products
        # the serial kernels made an iteration slower (results/bench/README.md)
        serial_cpu = V.device.type == "cpu" and torch.get_num_threads() == 1
        self.kl_ratio = kl_ratio_kernel() if beta == 1.0 and serial_cpu else None
        if self.kl_ratio is not None:
            self.eps = V.numpy().dtype.type(EPSILON)  # the kernel's scalar, in V's dtype
        self.ratio_valid = False  # R holds V / WH for the current WH

    def product(self, W: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
        matmul_into(W, H, self.WH)
        self.ratio_valid = False
        if self.kl_ratio is not None:  # floored together with the ratio
            self.kl_ratio(self.V.view(-1).numpy(), self.WH.view(-1).numpy(), self.R.view(-1).numpy(), self.eps)
            self.ratio_valid = True
        elif self.beta < 2.0:
            self.WH.clamp_min_(EPSILON)
        return self.WH

    def loss(self) -> torch.Tensor:
        """Mean divergence between V and the current contents of ``WH`` (R, S are scratch)."""
        V, WH, R = self.V, self.WH, self.R
        if self.beta == 1.0:
            total = kl_sum_from_ratio(V, self._kl_ratio(), WH, out=self.S)
        elif self.beta == 2.0:
            torch.sub(V, WH, out=R)
            total = 0.5 * torch.dot(R.reshape(-1), R.reshape(-1))
        elif self.beta == 0.0:
            torch.div(V.clamp_min(EPSILON), WH, out=R)
            total = R.sum() - torch.log(R, out=self.S).sum() - self.n
        else:
            b = self.beta
            total = ((V**b).sum() + (b - 1.0) * (WH**b).sum() - b * (V * WH ** (b - 1.0)).sum()) / (b * (b - 1.0))
        return total / self.n

    def ratios(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(V WH^(beta-2), WH^(beta-1)) from ``WH``; the second is None for KL (all ones)."""
        V, WH, R = self.V, self.WH, self.R
        if self.beta == 1.0:
            return self._kl_ratio(), None
        if self.beta == 0.0:
            torch.reciprocal(WH, out=self.S)
            torch.mul(self.S, self.S, out=R)
            return R.mul_(V), self.S
        torch.pow(WH, self.beta - 2.0, out=R)
        R.mul_(V)
        torch.pow(WH, self.beta - 1.0, out=self.S)
        return R, self.S


    def _kl_ratio(self) -> torch.Tensor:
        if not self.ratio_valid:
            torch.div(self.V, self.WH, out=self.R)
            self.ratio_valid = True
        return self.R


def _apply_step(X: torch.Tensor, num: torch.Tensor, den: torch.Tensor, gamma: float) -> None:
    """X *= (num / den)^gamma, with denominators floored at EPSILON (sklearn replaces
    exact zeros by EPSILON; the two differ only for denominators in (0, EPSILON))."""
    num.div_(den.clamp_min_(EPSILON))
    if gamma != 1.0:
        num.pow_(gamma)
    X.mul_(num)


def _update_W(ws: _Workspace, W: torch.Tensor, H: torch.Tensor, gamma: float, fresh_product: bool) -> None:
    """One MU step on W (in place). ``fresh_product`` says ws.WH already holds W H."""
    if ws.beta == 2.0:
        matmul_into(ws.V, H.T, ws.num_W)
        den = W @ (H @ H.T)
    else:
        if not fresh_product:
            ws.product(W, H)
        A, B = ws.ratios()
        matmul_into(A, H.T, ws.num_W)
        # KL: the denominator is 1 H^T, the (K,) row sums of H, broadcast over rows
        den = torch.sum(H, dim=1, out=ws.sum_K) if B is None else B @ H.T
    _apply_step(W, ws.num_W, den, gamma)
    if ws.beta < 1.0:
        torch.nn.functional.threshold_(W, _ZERO_BELOW, 0.0)


def _update_H(ws: _Workspace, W: torch.Tensor, H: torch.Tensor, gamma: float, fresh_product: bool) -> None:
    """One MU step on H (in place). ``fresh_product`` says ws.WH already holds W H."""
    if ws.beta == 2.0:
        matmul_into(W.T, ws.V, ws.num_H)
        den = (W.T @ W) @ H
    else:
        if not fresh_product:
            ws.product(W, H)
        A, B = ws.ratios()
        matmul_into(W.T, A, ws.num_H)
        if B is None:
            # W^T 1: column sums of W. An all-zero column has a zero numerator too, so
            # its activations become 0 whatever the (floored) denominator, as in sklearn
            den = torch.sum(W, dim=0, out=ws.sum_K)[:, None]
        else:
            den = W.T @ B
    _apply_step(H, ws.num_H, den, gamma)
    if ws.beta <= 1.0:
        # sklearn zeroes entries below float64 eps: they can never grow back anyway
        torch.nn.functional.threshold_(H, _ZERO_BELOW, 0.0)


def _fused_run(V: torch.Tensor, W: torch.Tensor, H: torch.Tensor, beta: float) -> fused_kl.FusedKL | None:
    """The fused KL updates (:mod:`innmf.accel.mu_fused_kl`) for this run, where they apply.

    KL on the CPU in float32 or float64: they run on torch's thread count, with the
    same numbers at every count (``innmf bench`` measures them against the BLAS).
    """
    if beta != 1.0 or V.device.type != "cpu" or V.dtype not in (torch.float32, torch.float64):
        return None
    compiled = fused_kl.kernels()
    if compiled is None:
        return None
    return fused_kl.FusedKL(V.numpy(), W.numpy(), H.numpy(), EPSILON, _ZERO_BELOW, compiled)


def nmf(
    V,
    rank: int,
    n_iter: int,
    beta: float | str = 1.0,
    W=None,
    H=None,
    fix_W: bool = False,
    init: str = "paper",
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    progress: bool = False,
    loss_every: int = 1,
    backend: str = "auto",
) -> NMFResult:
    """Factorise V ~ W H by multiplicative updates.

    Used by the chapters "Classic NMF" (reconstruction at every window size N),
    "Window-size generalisation" (the NMF baseline) and "Separation" (``fix_W=True``
    with the two speakers' dictionaries stacked side by side).

    Args:
        V: non-negative matrix (F x T), numpy or torch.
        rank: number of components, K in the paper.
        n_iter: number of MU iterations (the paper: 3000).
        beta: 1 / "kl" (the paper's), 2 / "euclidean", 0 / "is", or any float.
        W: initial (or, with ``fix_W``, fixed) dictionary (F x K'); K' may differ
            from ``rank`` only when ``fix_W`` is true (then K' wins).
        H: initial activations (K x T); drawn with ``init`` when omitted.
        fix_W: learn H only, keeping the given W (supervised separation).
        init: ``"paper"`` (10 + N(0,1), clipped positive) or ``"random"``; see
            :func:`init_factors`.
        seed: seed of the initialisation.
        device: where to compute ("cpu", "cuda", "cuda:N"; checked before any work).
        dtype: torch.float32 (default, fast) or torch.float64.
        progress: show a tqdm bar.
        loss_every: record the mean divergence every this many iterations (and at
            the last one); 1 records every iteration.
        backend: ``"auto"`` (the fused KL updates where they apply, else torch
            products), ``"fast"`` (the same, but an error where the compiled kernels
            are missing) or ``"reference"`` (:mod:`innmf.paper.mu` in numpy, CPU only).

    Returns:
        :class:`NMFResult` with numpy W, H and the loss history.

    Raises:
        TypeError, ValueError: bad input, named (:mod:`innmf.data.validation`): an empty,
            complex, negative or non-finite V, ``rank`` 2.5, ``beta`` nan, a missing GPU, ...;
            also a run that overflowed to NaN or infinity.
    """
    check_backend(backend)
    b = beta_from_name(beta)
    n_iter = check_int(n_iter, "n_iter", minimum=0)
    loss_every = check_int(loss_every, "loss_every", minimum=1)
    check_choice(init, "init", ("paper", "random"))
    seed = check_int(seed, "seed", minimum=0, maximum=SEED_MAX)
    device, dtype = check_device(device), check_dtype(dtype)
    if fix_W and W is None:
        raise ValueError("fix_W=True needs the dictionary W (F x K) to keep fixed.")
    Vt = _to_tensor(V, "V", "F x T", device, dtype)
    Wt = _to_tensor(W, "W", "F x K", device, dtype) if W is not None else None
    rank = Wt.shape[1] if fix_W else check_int(rank, "rank (K)", minimum=1)
    F, T = Vt.shape
    # the factors, their float64 draws and the MU buffers: refuse before allocating what cannot fit
    check_memory((4.0 * (F + T) * rank + 4.0 * F * T) * 8, f"NMF with rank K={rank} on V ({F} x {T})",
                 "use a smaller rank (K)", device)
    Ht = _to_tensor(H, "H", "K x T", device, dtype) if H is not None else None
    if Wt is None or Ht is None:
        W0, H0 = init_factors(Vt, rank, init, seed)
        Wt = W0 if Wt is None else Wt
        Ht = H0 if Ht is None else Ht
    if Wt.shape != (F, rank) or Ht.shape != (rank, T):
        raise ValueError(
            f"Shapes do not fit: V {tuple(Vt.shape)}, W {tuple(Wt.shape)}, H {tuple(Ht.shape)}; "
            f"need W (F, K) and H (K, T) with K = {rank}."
        )
    if b <= 0.0 and bool((Vt == 0).any()):
        # sklearn refuses this too: IS (and beta < 0) are infinite at V = 0
        Vt = Vt.clamp_min(EPSILON)
    if backend == "reference":
        if device.type != "cpu":
            raise ValueError(f"backend='reference' runs numpy on the CPU; use backend='auto' for device={device}.")
        return _finite(_reference_run(Vt.numpy(), Wt.numpy().copy(), Ht.numpy().copy(), b, n_iter, fix_W, loss_every), dtype)

    ws = _Workspace(Vt, b, int(rank))
    fused = _fused_run(Vt, Wt, Ht, b)
    if fused is None and backend == "fast" and b == 1.0 and device.type == "cpu" and dtype in (torch.float32, torch.float64):
        raise RuntimeError(
            "backend='fast' needs the fused KL kernels (numba and llvmlite: pip install 'innmf[fast]'), "
            "which are not available here; use backend='auto' to run without them."
        )
    if fused is not None:  # Wt, Ht become views of its padded factors, updated in place
        Wt, Ht = torch.from_numpy(fused.W), torch.from_numpy(fused.H)
    gamma = mu.gamma(b)
    losses: list[torch.Tensor] = []
    loss_iters: list[int] = []
    bar = tqdm(range(1, int(n_iter) + 1), disable=not progress, desc=f"NMF (beta={b:g})", leave=False)
    with torch.no_grad():
        pending = False  # the loss of the previous iteration is still to be read
        for it in bar:
            need_product = pending or (b != 2.0 and fused is None)
            if need_product:
                ws.product(Wt, Ht)  # W H of the previous iteration
                if pending:
                    losses.append(ws.loss())  # overwrites scratch R, never WH
                    pending = False
            if fused is not None:
                fused.step(update_W=not fix_W)
            else:
                fresh = need_product and b != 2.0
                if not fix_W:
                    _update_W(ws, Wt, Ht, gamma, fresh_product=fresh)
                    fresh = False
                _update_H(ws, Wt, Ht, gamma, fresh_product=fresh)
            if it % int(loss_every) == 0 or it == int(n_iter):
                loss_iters.append(it)
                pending = True
            if progress and losses and it % 50 == 0:
                bar.set_postfix(loss=float(losses[-1]))
        if pending:
            ws.product(Wt, Ht)
            losses.append(ws.loss())
    loss_arr = torch.stack(losses).double().cpu().numpy() if losses else np.zeros(0)
    return _finite(NMFResult(
        W=Wt.cpu().numpy().copy(),  # copies: never views of a workspace's buffers
        H=Ht.cpu().numpy().copy(),
        losses=loss_arr,
        loss_iterations=np.asarray(loss_iters, dtype=np.int64),
        n_iter=int(n_iter),
        beta=b,
    ), dtype)


def _finite(result: NMFResult, dtype) -> NMFResult:
    """The result, or an error where the updates overflowed (a silent NaN loss is the failure this refuses)."""
    bad = [name for name in ("W", "H", "losses") if not np.all(np.isfinite(getattr(result, name)))]
    if bad:
        raise ValueError(f"NMF overflowed: {', '.join(bad)} became NaN or infinite (beta={result.beta:g}, {dtype}); "
                         "rescale V (e.g. V / V.max()), use dtype=torch.float64, or a beta closer to 1.")
    return result


def _reference_run(V: np.ndarray, W: np.ndarray, H: np.ndarray, beta: float, n_iter: int, fix_W: bool,
                   loss_every: int) -> NMFResult:
    """:func:`nmf` by the plain numpy steps of :mod:`innmf.paper.mu` (``backend="reference"``)."""
    losses, loss_iters = [], []
    for it in range(1, n_iter + 1):
        W, H = mu.step(V, W, H, beta, fix_W)
        if it % loss_every == 0 or it == n_iter:
            loss_iters.append(it)
            losses.append(beta_divergence(V, mu.model(W, H, beta), beta))
    return NMFResult(W=W, H=H, losses=np.asarray(losses, dtype=np.float64),
                     loss_iterations=np.asarray(loss_iters, dtype=np.int64), n_iter=n_iter, beta=beta)
