"""``innmf bench``: how fast the factorisations run, side by side with every alternative at hand.

Each figure is the median of repeated runs after warm-up, taken in one process with
the contenders interleaved (so a burst of load from elsewhere hits all alike), and
its headline is the ratio against the *fastest* alternative
(:mod:`innmf.tools.bench.figures` names the keys):

* ``innmf``: one Rprop epoch of iN-NMF model 1 at the paper's speech setting (K=20,
  h=64, J=10, N=2000 on 20 s at 16 kHz, V is 1001 x 319) against the published
  code's structure (:mod:`innmf.tools.bench.published_structure`), a plain batched
  PyTorch model eager and under ``torch.compile``, and our networks through autograd;
* ``nmf`` (same V, rank 20) and ``nmf_large`` (4097 x 2000): KL multiplicative
  updates from the same initialisation against scikit-learn in float32 and float64,
  plain numpy and torch loops and torchnmf where installed
  (:mod:`innmf.tools.bench.nmf_peers`);
* ``hybrid``: one epoch of model 2 on a cloud with the paper's hybrid coordinate
  structure (about 99k points, rank 2, h=16, half the points per epoch),
  distinct-coordinate evaluation against evaluating both networks at every point;
* ``startup_s``: median wall seconds of ``python -m innmf --help`` in fresh processes
  (:func:`innmf.tools.bench.timing.startup_seconds`), what every command pays first.

Every record names the machine (:mod:`innmf.tools.bench.machine`: CPU model with
family/model, BLAS and its kernels, torch's threads, the commit) and carries a
roofline line: each figure's GFLOP/s against the FMA peak of one core and of all
cores, measured in the same run. Used by the chapter "Reproducing at scale" (through
the records of ``results/bench/``); ``--json`` prints one JSON object. The command
line itself is :mod:`innmf.tools.bench.command`.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from innmf.experiments.settings import check_device
from innmf.tools.bench import figures
from innmf.tools.bench.machine import blas_kernels, commit, cpu_model, cpu_name, fma_peak_gflops, usable_cores
from innmf.tools.bench.nmf_peers import large_matrix
from innmf.tools.bench.problems import QUICK_SPEECH, SPEECH, speech_matrix, synthetic_hybrid_coordinates  # noqa: F401 - re-exported
from innmf.tools.bench.timing import interleaved_medians, startup_seconds

def _peak_gflops(device: torch.device, quick: bool) -> dict[str, float]:
    """Matrix-product throughput of this machine, measured now."""
    n = 512 if quick else (8192 if device.type == "cuda" else 2048)
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    flop = 2.0 * n**3
    out = {"peak_gflops_matmul": flop / interleaved_medians({"mm": (lambda: a @ b, 3)}, 3, 1, device)["mm"] / 1e6}
    if device.type == "cpu" and torch.backends.mkldnn.is_available():
        # the same product as a 1x1 convolution: PyTorch hands it to oneDNN
        image = a.T.reshape(1, n, 1, n).contiguous(memory_format=torch.channels_last)
        kernel = b.reshape(n, n, 1, 1)
        conv = lambda: torch.nn.functional.conv2d(image, kernel)  # noqa: E731
        out["peak_gflops_onednn"] = flop / interleaved_medians({"conv": (conv, 3)}, 3, 1, device)["conv"] / 1e6
    # the batched 1001 x 64 x 64 products of one hidden layer of the paper's network
    K, P, h = (4, 129, 16) if quick else (20, 1001, 64)
    x, w, bias = torch.randn(P, K, h, device=device), torch.randn(K, h, h, device=device), torch.randn(K, h, device=device)
    flop_b = 2.0 * K * P * h * h
    x_kpd, out_kpd = x.transpose(0, 1).contiguous(), torch.empty(K, P, h, device=device)
    kernels = {"bmm": lambda: torch.baddbmm(bias[:, None, :], x_kpd, w, out=out_kpd)}  # what the fused backend runs
    for name, kernel in kernels.items():
        ms = interleaved_medians({"b": (kernel, 5)}, 3, 1, device)["b"]
        out[f"batched_gflops_{name}"] = flop_b / ms / 1e6
    out["peak_gflops"] = max(v for k, v in out.items() if k.startswith("peak_gflops_"))
    return out




def run_benchmarks(
    device: str = "cpu", repeats: int | None = None, quick: bool = False, synthetic: bool = False
) -> dict:
    """Run all measurements and return them as one flat dictionary (see the module docstring).

    Args:
        device: "cpu" or "cuda".
        repeats: timing rounds per measurement (default 15, quick 2).
        quick: tiny sizes (seconds; for tests), same keys.
        synthetic: skip the corpus and use the synthetic speech-like signal.

    Returns:
        The results, JSON-serialisable.
    """
    from innmf.data.validation import check_device as check_present

    dev = check_present(check_device(device), option="--device")
    rounds = int(repeats) if repeats is not None else (2 if quick else 15)
    if rounds < 1:
        raise ValueError(f"--repeats must be >= 1, got {repeats}.")
    cfg = QUICK_SPEECH if quick else SPEECH
    start = time.perf_counter()
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    V, source = speech_matrix(cfg["seconds"], cfg["n_fft"], synthetic=synthetic or quick)
    out: dict = {
        "device": str(dev) if dev.type == "cpu" else torch.cuda.get_device_name(dev),
        "threads": torch.get_num_threads(),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "cpu": cpu_name(),
        "cpu_model": cpu_model(),
        "cores": usable_cores(),
        "blas": blas_kernels(),
        "commit": commit(),
        "quick": bool(quick),
        "repeats": rounds,
        "input": source,
        "V_shape": list(V.shape),
        "rank": cfg["rank"],
        "hidden": cfg["hidden"],
    }
    out["fma_peak_gflops_core"] = fma_peak_gflops(1)
    out["fma_peak_gflops_machine"] = fma_peak_gflops(out["cores"])
    out.update(figures.bench_innmf(V, cfg, dev, rounds))
    out.update(_peak_gflops(dev, quick))
    nmf_rounds = max(1, rounds // 2)
    out.update(figures.bench_nmf("nmf", V, cfg["rank"], 10 if quick else 200, dev, nmf_rounds))
    big = large_matrix(129, 200, cfg["rank"]) if quick else large_matrix(4097, 2000, cfg["rank"])
    # 20 iterations: a call's fixed costs (casting, padding, the final loss) at this size
    # would otherwise weigh on every iteration, where the plain loops have none
    out.update(figures.bench_nmf("nmf_large", big, cfg["rank"], 2 if quick else 20, dev, max(1, rounds // 4)))
    out.update(figures.bench_hybrid(*synthetic_hybrid_coordinates(0.25 if quick else 2.5), dev, rounds))
    out.update(figures.roofline(out, out["fma_peak_gflops_core"], out["fma_peak_gflops_machine"]))
    out["load_average_before"] = load_before
    out["load_average_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    out["startup_s"] = startup_seconds(3 if quick else 7)
    out["bench_seconds"] = time.perf_counter() - start
    from innmf.accel.checked import report  # which compiled paths these timings took

    out["fast_paths"] = {s.name: "fast" if s.fast else f"refused: {s.reason}" for s in report()}
    return _plain(out)


def _plain(value):
    """numpy scalars as Python numbers, inside dictionaries too (for JSON)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return float(value) if isinstance(value, (np.floating, np.integer)) else value
