"""The grouped networks' forward and backward pass as compiled kernels, a chunk of points at a time.

The batched-matmul pass of :mod:`innmf.accel.grouped_mlp` streams each layer's
(K x P x h) buffer through memory once per product (seven 5 MB buffers at the paper's
speech setting, more than the L3 cache holds). Here each component's points are taken
a chunk at a time through every layer (:mod:`innmf.accel.simd.grouped`): the products
are register tiles of vector FMAs, the sine and cosine of each chunk are taken while
it is in the cache, and the backward pass runs down all layers of a chunk (bias and
weight gradients, the product with each layer's transpose, the cosine) in one visit.

It applies on the CPU in float32 when every hidden width is a multiple of 64 (the
paper's h = 64) and the encoding needs no gradient; elsewhere the batched pass runs.
Components are shared between threads (torch's thread count); each component's sums
run in one fixed order, so the results do not depend on the thread count. The threads
are a pool of this module's: a parallel torch op leaves its OpenMP threads spinning
for milliseconds on the cores the pool needs (measured: the forward pass took twice as
long right after a two-thread matrix product), so a training loop runs torch
single-threaded around them (:func:`own_threads`, used by
:func:`innmf.models.training.make_step`). The
numbers equal the batched pass's up to float32 rounding (the products sum in another
order): checked once per process (:mod:`innmf.accel.checked`) and in
``tests/test_grouped_compiled.py`` against the autograd reference. Results stores record
that these kernels made their numbers (``auto/compiled-chunked``,
:func:`innmf.experiments.store.auto_backend`); a change here that moves their rounding
must change that label, or a resumed store would mix two roundings.

Used by :func:`innmf.accel.grouped_mlp.fused_mlp` (chapter "Implicit neural factors").
"""

from __future__ import annotations

import contextlib
import weakref
from contextvars import ContextVar

import numpy as np
import torch

from innmf.accel.checked import NotApplicable, fast_path, require_close
from innmf.accel.runtime import helper_threads

WIDTH_MULTIPLE = 64
"""Hidden widths the kernels take: multiples of this (one register tile of float32 outputs)."""


@fast_path("grouped_mlp", "the networks' layers a chunk of points at a time in compiled kernels; "
           "the batched-matmul pass runs instead")
def compiled_kernels():
    """The module of compiled kernels (:mod:`innmf.accel.simd.grouped`), or None if refused.

    Checked once per process: a small network's output and every gradient against autograd
    through ``torch.baddbmm`` and ``torch.sin`` in float64.
    """
    from innmf.accel.simd import grouped  # ImportError without numba or llvmlite: the path is refused
    from innmf.accel.simd.layout import host_has_avx512

    if not host_has_avx512():
        raise NotApplicable("needs AVX-512 (its register tiles need 32 vector registers)")

    _check(grouped)
    return grouped


def _check(kernels) -> None:
    gen = torch.Generator().manual_seed(0)
    K, P, d0, h = 3, 2 * kernels.CHUNK + 7, 6, 64  # a ragged last chunk and a ragged input tile
    features = torch.rand(P, K, d0, generator=gen) * 4 - 2
    dims = [d0, h, h, 1]
    weights = [(torch.rand(K, a, b, generator=gen) - 0.5) for a, b in zip(dims[:-1], dims[1:])]
    biases = [(torch.rand(K, b, generator=gen) - 0.5) for b in dims[1:]]
    g_out = torch.rand(P, K, generator=gen) - 0.5
    for activation in ("sin", "relu"):
        out, grads = run(kernels, activation, features, weights, biases, g_out, Workspace(), 1)
        ref_out, ref_grads = reference(activation, features, weights, biases, g_out)
        require_close(out, ref_out, 1e-4, 1e-5, f"compiled grouped layers ({activation})")
        for i, (a, e) in enumerate(zip(grads, ref_grads)):
            require_close(a, e, 1e-4, 1e-4 * float(e.abs().max()), f"compiled grouped gradient {i} ({activation})")


def reference(activation: str, features, weights, biases, g_out):
    """Output and parameter gradients by autograd in float64 (the check's reference)."""
    params = [t.double().requires_grad_() for pair in zip(weights, biases) for t in pair]
    K = weights[0].shape[0]
    a = features.double().expand(K, *features.shape) if features.ndim == 2 else features.double().transpose(0, 1)
    for i in range(0, len(params) - 2, 2):
        z = torch.baddbmm(params[i + 1][:, None], a, params[i])
        a = torch.sin(z) if activation == "sin" else torch.relu(z)
    out = torch.baddbmm(params[-1][:, None], a, params[-2])[:, :, 0].t()
    grads = torch.autograd.grad(out, params, g_out.double())
    return out.detach(), list(grads)


def applies(features: torch.Tensor, weights: list[torch.Tensor], activation: str) -> bool:
    """Whether :func:`run` takes these inputs (else the batched pass runs)."""
    w = weights[0]
    return (
        w.device.type == "cpu" and w.dtype == torch.float32 and features.dtype == torch.float32
        and activation in ("sin", "relu") and len(weights) >= 2 and weights[-1].shape[2] == 1
        and all(x.shape[2] % WIDTH_MULTIPLE == 0 and x.shape[2] == w.shape[2] for x in weights[:-1])
        and not features.requires_grad and compiled_kernels() is not None
    )


class Workspace:
    """A network's pre-activation and activation buffers, (K * P * h) each, kept between calls."""

    def __init__(self):
        self.key: tuple | None = None
        self.z: tuple[np.ndarray, ...] = ()
        self.a: tuple[np.ndarray, ...] = ()
        self.owner: weakref.ref | None = None

    def busy(self) -> bool:
        return self.owner is not None and self.owner() is not None

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    def ensure(self, size: int, layers: int) -> None:
        if self.key != (size, layers):
            self.z = tuple(np.empty(size, np.float32) for _ in range(layers))
            self.a = tuple(np.empty(size, np.float32) for _ in range(layers))
            self.key = (size, layers)


_THREADS: ContextVar[int | None] = ContextVar("innmf_grouped_threads", default=None)
_RUNS = [0]  # forward passes run by the kernels in this process (make_step asks)


def kernel_threads() -> int:
    """The kernels' thread count: torch's, or the count :func:`own_threads` kept."""
    return _THREADS.get() or torch.get_num_threads()


def runs() -> int:
    """How many forward passes the compiled kernels have run in this process."""
    return _RUNS[0]


@contextlib.contextmanager
def own_threads():
    """Inside: torch runs single-threaded and the kernels keep torch's thread count from before.

    A no-op at one thread. Torch's thread count is restored on leaving, also on errors.
    """
    n = torch.get_num_threads()
    if n == 1 or _THREADS.get() is not None:
        yield
        return
    token = _THREADS.set(n)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)
        _THREADS.reset(token)


def _split(fn, K: int, threads: int) -> None:
    """Run ``fn(k_lo, k_hi)`` over contiguous ranges of components: the first here, the rest in a pool."""
    parts = max(1, min(threads, K))
    bounds = [(p * K // parts, (p + 1) * K // parts) for p in range(parts)]
    futures = [helper_threads(parts - 1).submit(fn, *b) for b in bounds[1:]] if parts > 1 else []
    fn(*bounds[0])
    for f in futures:
        f.result()


def _flat(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().view(-1).numpy()


def _features(features: torch.Tensor, K: int) -> tuple[np.ndarray, int, int, int]:
    """Flat features with the strides of point p and component k: (P, d0) shared or (P, K, d0)."""
    d0 = features.shape[-1]
    if features.ndim == 2:
        return _flat(features), d0, 0, d0
    return _flat(features), K * d0, d0, d0


def forward(kernels, ws: Workspace, activation: str, features, weights, biases, threads: int) -> torch.Tensor:
    """The last layer's (P, K) outputs; ws keeps act'(z) and act(z) of every hidden layer."""
    K, _, h = weights[0].shape
    P = features.shape[0]
    feat, f_ps, f_ks, d0 = _features(features, K)
    ws.ensure(K * P * h, len(weights) - 1)
    W = tuple(_flat(w) for w in weights[:-1])
    B = tuple(_flat(b) for b in biases[:-1])
    w_last, b_last = _flat(weights[-1]), _flat(biases[-1])
    out = np.empty(P * K, np.float32)
    relu = activation == "relu"
    _RUNS[0] += 1
    _split(lambda lo, hi: kernels.forward(feat, f_ps, f_ks, d0, W, B, ws.z, ws.a, w_last, b_last, out,
                                          lo, hi, K, P, h, relu), K, threads)
    # (P, K) as a view of (K, P), the layout of the batched pass's output: the products that
    # take it (W H) then run the same BLAS kernels on it, whatever the number of networks
    return torch.from_numpy(out).view(K, P).t()


def backward(kernels, ws: Workspace, features, weights, g_out: torch.Tensor, threads: int) -> list[torch.Tensor]:
    """Gradients of every weight and bias (in the order weight 0, bias 0, weight 1, ...)."""
    K, d0, h = weights[0].shape
    P = features.shape[0]
    feat, f_ps, f_ks, _ = _features(features, K)
    L = len(weights) - 1
    # numpy, not torch, for the small copies here: a parallel torch op leaves its OpenMP
    # threads spinning on the cores the kernels' threads need
    Wt = tuple(np.ascontiguousarray(_flat(w).reshape(K, -1, h).transpose(0, 2, 1)).reshape(-1) if i else np.zeros(1, np.float32)
               for i, w in enumerate(weights[:-1]))
    zeros = np.zeros(h, np.float32)
    dW = tuple(np.zeros(w.numel(), np.float32) for w in weights[:-1])
    dB = tuple(np.zeros(K * h, np.float32) for _ in range(L))
    dw_last, db_last = np.zeros(K * h, np.float32), np.zeros(K, np.float32)
    g, w_last = _flat(g_out.t()), _flat(weights[-1])  # (K, P)
    _split(lambda lo, hi: kernels.backward(feat, f_ps, f_ks, d0, Wt, zeros, ws.z, ws.a, w_last, g, dW, dB, dw_last, db_last,
                                           lo, hi, K, P, h), K, threads)
    dW_t = [torch.from_numpy(d).view(w.shape) for d, w in zip(dW, weights[:-1])]
    dB_t = [torch.from_numpy(d).view(K, h) for d in dB]
    dW_t.append(torch.from_numpy(dw_last).view(K, h, 1))
    dB_t.append(torch.from_numpy(db_last).view(K, 1))
    return [t for pair in zip(dW_t, dB_t) for t in pair]


def run(kernels, activation, features, weights, biases, g_out, ws: Workspace, threads: int):
    """Forward, then backward with the output gradient ``g_out`` (the check and the tests)."""
    out = forward(kernels, ws, activation, features, weights, biases, threads)
    return out, backward(kernels, ws, features, weights, g_out, threads)
