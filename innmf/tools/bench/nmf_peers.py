"""KL multiplicative-update NMF, ours against every alternative at hand (``innmf bench``).

Every contender runs the same updates (scikit-learn's ``solver="mu"``,
``beta_loss="kullback-leibler"``: W, then H) from the same initialisation for the
same number of iterations, interleaved in one process:

* ``ours_float32``, ``ours_float64``: :func:`innmf.models.nmf.nmf` (on the CPU the
  fused kernels of :mod:`innmf.accel.mu_fused_kl`, on as many threads as torch);
* ``sklearn_float32``, ``sklearn_float64``: ``sklearn.decomposition.NMF``;
* ``numpy_float32``, ``torch_float32``: the four products and two divisions of an
  iteration written out as a plain loop (what a user would write in ten lines);
* ``torchnmf_float32``: ``torchnmf.nmf.NMF`` with ``beta=1``, where torchnmf is installed.

Our float32 is compared with every float32 peer and our float64 with scikit-learn's
float64 (matched precision); the headline is against the fastest alternative of all.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import torch

from innmf.models.nmf import EPSILON, init_factors, nmf
from innmf.paper.divergences import kl_divergence
from innmf.tools.bench.timing import interleaved_medians


def large_matrix(F: int = 4097, T: int = 2000, rank: int = 20, seed: int = 0) -> np.ndarray:
    """A spectrogram-sized non-negative matrix (F x T, e.g. N = 8192): a rank-``rank``
    product times gamma noise. Only its size matters for the timing."""
    rng = np.random.default_rng(seed)
    return (rng.gamma(0.5, 1.0, (F, rank)) @ rng.gamma(0.5, 1.0, (rank, T)) * rng.gamma(2.0, 0.5, (F, T))) ** 0.5


def numpy_mu(V: np.ndarray, W: np.ndarray, H: np.ndarray, n_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """The KL MU loop in plain numpy, in V's dtype (scikit-learn's floors and order)."""
    W, H = W.copy(), H.copy()
    for _ in range(n_iter):
        W *= ((V / np.maximum(W @ H, EPSILON)) @ H.T) / np.maximum(H.sum(1), EPSILON)
        H *= (W.T @ (V / np.maximum(W @ H, EPSILON))) / np.maximum(W.sum(0), EPSILON)[:, None]
    return W, H


def torch_mu(V: torch.Tensor, W: torch.Tensor, H: torch.Tensor, n_iter: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The same loop in plain torch (its own threads and BLAS)."""
    W, H = W.clone(), H.clone()
    with torch.no_grad():
        for _ in range(n_iter):
            W *= ((V / (W @ H).clamp_min(EPSILON)) @ H.T) / H.sum(1).clamp_min(EPSILON)
            H *= (W.T @ (V / (W @ H).clamp_min(EPSILON))) / W.sum(0).clamp_min(EPSILON)[:, None]
    return W, H


def _torchnmf(V: torch.Tensor, W: torch.Tensor, H: torch.Tensor, n_iter: int) -> Callable[[], tuple]:
    from torchnmf.nmf import NMF as TorchNMF  # optional: not a dependency

    def run():
        # torchnmf factorises V ~ H W^T with its "H" (F x K) and "W" (T x K)
        model = TorchNMF(W=H.T.clone(), H=W.clone(), trainable_W=True, trainable_H=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(V, beta=1, max_iter=n_iter, tol=0)
        return model.H.detach().numpy(), model.W.detach().numpy().T

    return run


def bench_nmf_peers(V: np.ndarray, rank: int, n_iter: int, rounds: int, device=torch.device("cpu")) -> dict:
    """Milliseconds per iteration of every contender (see the module docstring) and the ratios.

    Args:
        V: the matrix (F x T).
        rank: K.
        n_iter: iterations per timed run.
        rounds: interleaved rounds.
        device: where ours runs (the peers run on the CPU).

    Returns:
        ``iter_ms`` {contender: ms}, ``final_kl`` {contender: KL of its factors},
        ``skipped`` {contender: why}, ``speedup`` {peer: peer ms / ours at matched
        precision}, ``fastest`` (the fastest alternative), ``speedup_vs_fastest``,
        ``achieved_gflops`` (ours, float32: the 8 F T K flops of an iteration's products).
    """
    from sklearn.decomposition import NMF

    W0, H0 = init_factors(torch.as_tensor(V, dtype=torch.float64), rank, "paper", seed=0)
    W0, H0 = W0.numpy(), H0.numpy()
    factors: dict[str, tuple] = {}

    def keep(name: str, fn: Callable[[], tuple]) -> Callable[[], None]:
        return lambda: factors.__setitem__(name, fn())

    def ours(dtype):
        res = nmf(V, rank, n_iter, W=W0, H=H0, dtype=dtype, device=device, loss_every=n_iter)
        return res.W, res.H

    def sk(dtype):
        model = NMF(rank, solver="mu", beta_loss="kullback-leibler", init="custom", max_iter=n_iter, tol=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "maximum number of iterations reached"
            W = model.fit_transform(V.astype(dtype), W=W0.astype(dtype), H=H0.astype(dtype))
        return W, model.components_

    V32, W32, H32 = (a.astype(np.float32) for a in (V, W0, H0))
    Vt, Wt, Ht = (torch.from_numpy(a) for a in (V32, W32, H32))
    contenders = {
        "ours_float32": lambda: ours(torch.float32),
        "ours_float64": lambda: ours(torch.float64),
        "sklearn_float32": lambda: sk(np.float32),
        "sklearn_float64": lambda: sk(np.float64),
        "numpy_float32": lambda: numpy_mu(V32, W32, H32, n_iter),
        "torch_float32": lambda: tuple(a.numpy() for a in torch_mu(Vt, Wt, Ht, n_iter)),
    }
    skipped: dict[str, str] = {}
    try:
        contenders["torchnmf_float32"] = _torchnmf(Vt, Wt, Ht, n_iter)
    except ImportError as err:
        skipped["torchnmf_float32"] = f"not installed ({err})"
    times = interleaved_medians({k: (keep(k, fn), 1) for k, fn in contenders.items()}, rounds, 1, device, settle=0.3)
    iter_ms = {k: v / n_iter for k, v in times.items()}
    peers = [k for k in iter_ms if not k.startswith("ours")]
    speedup = {k: iter_ms[k] / iter_ms["ours_float64" if k.endswith("float64") else "ours_float32"] for k in peers}
    fastest = min(peers, key=iter_ms.__getitem__)
    F, T = V.shape
    return {
        "iter_ms": iter_ms,
        "final_kl": {k: kl_divergence(V, np.asarray(W, np.float64) @ np.asarray(H, np.float64))
                     for k, (W, H) in factors.items()},
        "skipped": skipped,
        "speedup": speedup,
        "fastest": fastest,
        "speedup_vs_fastest": iter_ms[fastest] / iter_ms["ours_float32"],
        "achieved_gflops": 8.0 * F * T * rank / iter_ms["ours_float32"] / 1e6,
        "iterations": n_iter,
        "V_shape": [F, T],
    }
