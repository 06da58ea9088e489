"""Which parts of the implicit networks' fast path pay: one iN-NMF epoch, contenders side by side.

At the paper's speech setting (K=20, h=64, J=10, N=2000 on 20 s at 16 kHz, V is
1001 x 319; :data:`innmf.tools.bench.problems.SPEECH`) and in one process, interleaved
(:func:`innmf.tools.bench.timing.interleaved_medians`), at each requested torch
thread count:

* ``fused``: what :class:`innmf.models.implicit.ImplicitWNMF` runs by default (on a CPU
  in float32 at h = 64, the chunked compiled kernels of :mod:`innmf.accel.grouped_compiled`);
* ``batched``: the networks' ``"batched"`` backend, the hand-written backward pass over
  batched matmuls (the default before the compiled kernels);
* ``bmm_autograd``: the networks' ``"bmm"`` backend (autograd through ``torch.baddbmm``
  and ``torch.sin``): the fused path without its hand-written backward and one-pass sin/cos;
* ``plain_eager``: :class:`PlainBatchedNetworks`, a plain batched PyTorch model of the
  same network with autograd, the plain KL formula and the flat Rprop step;
* ``plain_compiled``: the same under ``torch.compile`` (skipped, with the reason, where
  it fails offline).

All contenders start from the same weights and activations. ``python -m
innmf.tools.bench.network_paths --json`` prints one JSON object (the records of
``results/bench/`` are its output).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn

from innmf.accel.optim import FlatRprop
from innmf.models.implicit import ImplicitWNMF
from innmf.tf.stft import frequency_coordinate
from innmf.tools.bench.timing import interleaved_medians


class PlainBatchedNetworks(nn.Module):
    """The paper's K component networks with batched weights, in plain PyTorch (autograd).

    Args:
        weights: per layer (K, d_in, d_out), copied from a :class:`~innmf.models.inr.ComponentNetworks`.
        biases: per layer (K, d_out).
    """

    def __init__(self, weights, biases):
        super().__init__()
        self.weights = nn.ParameterList([nn.Parameter(w.detach().clone()) for w in weights])
        self.biases = nn.ParameterList([nn.Parameter(b.detach().clone()) for b in biases])

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(P, K, 2J) encodings -> (P, K) non-negative values."""
        W, b = list(self.weights), list(self.biases)
        x = features.transpose(0, 1)  # (K, P, 2J)
        z = torch.baddbmm(b[1][:, None], torch.baddbmm(b[0][:, None], x, W[0]), W[1])  # no activation between
        for w, bias in zip(W[2:-1], b[2:-1]):
            z = torch.baddbmm(bias[:, None], torch.sin(z), w)
        out = torch.baddbmm(b[-1][:, None], torch.sin(z), W[-1])[:, :, 0]
        return nnf.softplus(out.t())


def plain_kl(V: torch.Tensor, V_hat: torch.Tensor) -> torch.Tensor:
    """mean(V log(V / V_hat) - V + V_hat), with 0 log 0 = 0."""
    return (torch.xlogy(V, V) - torch.xlogy(V, V_hat) - V + V_hat).mean()


def _plain_step(model: ImplicitWNMF, Vt: torch.Tensor, features: torch.Tensor, compiled: bool) -> Callable:
    net = PlainBatchedNetworks(list(model.net.weights), list(model.net.biases))
    logits = nn.Parameter(model.logits.detach().clone())
    opt = FlatRprop([*net.parameters(), logits], lr=1e-3)

    def loss_fn(net_features, lg):
        return plain_kl(Vt, net(net_features) @ nnf.softplus(lg))

    fn = torch.compile(loss_fn, fullgraph=True) if compiled else loss_fn

    def step():
        opt.zero_grad()
        loss = fn(features, logits)
        loss.backward()
        opt.step()
        return loss.detach()

    return step


def _with_network_backend(model: ImplicitWNMF, backend: str) -> ImplicitWNMF:
    """The model with its networks' grouped-product backend set (:class:`~innmf.models.inr.ComponentNetworks`)."""
    model.net.backend_name = backend
    return model


def _commit() -> str:
    try:
        root = Path(__file__).resolve().parents[3]
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def measure(V: np.ndarray, cfg: dict, threads: list[int], rounds: int, extra: dict | None = None) -> dict:
    """Median epoch milliseconds of every contender at each thread count (see the module docstring).

    Args:
        V: the magnitudes (F x T).
        cfg: ``rank``, ``hidden``, ``n_freqs``, ``n_fft`` (as :data:`innmf.tools.bench.problems.SPEECH`).
        threads: torch thread counts to measure at, in this order.
        rounds: interleaved rounds per thread count.
        extra: more contenders, name -> factory(model, V tensor, features) returning a step.

    Returns:
        ``{"epoch_ms": {threads: {name: ms}}, "skipped": {name: reason}, "first_loss": {name: loss}}``
        (every contender starts from the same weights and H, so its first loss is the same up to rounding)..
    """
    f = frequency_coordinate(cfg["n_fft"])
    Vt = torch.as_tensor(V, dtype=torch.float32)

    def model():
        return ImplicitWNMF(cfg["rank"], hidden=cfg["hidden"], n_freqs=cfg["n_freqs"], seed=0)

    factories: dict[str, Callable] = {
        "fused": lambda m, v, x: m.epoch_function(V, f),
        "batched": lambda m, v, x: _with_network_backend(m, "batched").epoch_function(V, f),
        "bmm_autograd": lambda m, v, x: _with_network_backend(m, "bmm").epoch_function(V, f),
        "plain_eager": lambda m, v, x: _plain_step(m, v, x, False),
        "plain_compiled": lambda m, v, x: _plain_step(m, v, x, True),
        **(extra or {}),
    }
    contenders: dict[str, Callable] = {}
    skipped: dict[str, str] = {}
    first_loss: dict[str, float] = {}
    for name, factory in factories.items():
        m = model()
        m._objective(V, f)  # H initialised as fit() does
        try:
            step = factory(m, Vt, m._train_features)
            first_loss[name] = float(step())  # the same start: the same loss (and compiles where it compiles)
        except Exception as err:  # noqa: BLE001 - recorded as the reason this contender is missing
            skipped[name] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
            continue
        contenders[name] = step
    previous = torch.get_num_threads()
    epoch_ms: dict[str, dict[str, float]] = {}
    try:
        for n in threads:
            torch.set_num_threads(n)
            epoch_ms[str(n)] = interleaved_medians({k: (fn, 3) for k, fn in contenders.items()}, rounds, 3, torch.device("cpu"))
    finally:
        torch.set_num_threads(previous)
    return {"epoch_ms": epoch_ms, "skipped": skipped, "first_loss": first_loss}


def main(argv: list[str] | None = None) -> int:
    from innmf.tools.bench.machine import blas_kernels as _blas_kernels, cpu_model as _cpu_model
    from innmf.tools.bench.problems import SPEECH, speech_matrix

    p = argparse.ArgumentParser(prog="python -m innmf.tools.bench.network_paths", description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    start = time.perf_counter()
    V, source = speech_matrix(SPEECH["seconds"], SPEECH["n_fft"])
    out = {
        "command": "python -m innmf.tools.bench.network_paths " + " ".join(argv or []),
        "commit": _commit(),
        "cpu_model": _cpu_model(),
        "blas": _blas_kernels(),
        "torch_version": torch.__version__,
        "input": source,
        "V_shape": list(V.shape),
        **{k: SPEECH[k] for k in ("rank", "hidden", "n_freqs", "n_fft")},
    }
    out.update(measure(V, SPEECH, args.threads, args.rounds))
    out["bench_seconds"] = time.perf_counter() - start
    print(json.dumps(out, indent=1) if args.json else out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
