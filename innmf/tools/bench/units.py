"""``innmf bench``: how fast the factorisations run, side by side with their references.

Three measurements, each the median of repeated runs after warm-up, taken in one
process with the contenders interleaved (so a burst of load from elsewhere hits
both alike):

* one Rprop epoch of iN-NMF model 1 at the paper's speech setting (K=20, h=64,
  J=10, N=2000 on 20 s at 16 kHz, V is 1001 x 319) against
  :mod:`innmf.tools.bench.published_structure` (the published code's structure), with the work
  done in GFLOP/s next to the machine's measured matrix-product peak;
* KL multiplicative updates (rank 20, same V, same init, same iteration count)
  against scikit-learn's ``NMF(solver="mu")``, with the work of the four matrix
  products an iteration amounts to in GFLOP/s (``nmf_achieved_gflops``; on the
  CPU our updates are the fused kernels of :mod:`innmf.accel.mu_fused_kl`, which can pass
  the BLAS's product measured as ``peak_gflops_matmul``);
* one epoch of model 2 on a cloud with the paper's hybrid coordinate structure
  (about 99k points, rank 2, h=16, half the points per epoch), distinct-coordinate
  evaluation against evaluating both networks at every point.

Used by the chapter "Speed" and the README; ``--json`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np
import torch

from innmf.tools.bench.timing import interleaved_medians
from innmf import SAMPLE_RATE
from innmf.paper.divergences import kl_divergence
from innmf.models.implicit import ImplicitWH, ImplicitWNMF
from innmf.models.nmf import init_factors, nmf
from innmf.tools.bench.published_structure import ReferenceImplicitW, reference_epoch
from innmf.tf.stft import frequency_coordinate, magnitude

SPEECH = dict(rank=20, hidden=64, n_freqs=10, n_fft=2000, seconds=20.0)
QUICK_SPEECH = dict(rank=4, hidden=16, n_freqs=10, n_fft=256, seconds=1.3)


def synthetic_hybrid_coordinates(
    seconds: float = 2.5, sr: int = 4410, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """The coordinate structure of the paper's hybrid cloud, with random magnitudes.

    Reproduces the point and distinct-coordinate counts of the published demo
    (book/paper_setup.md §4) without the piano recording: three analyses of a
    ``seconds``-long signal at ``sr`` laid one after another in time, an STFT with
    N=128, hop 32; an STFT with N=1024, hop 256 (frames at the published code's
    grid, centres N/2, N/2 + hop, ... < L - N); a CQT with Q=64, 64 bins per
    octave over 6.7 octaves from 20 Hz, window N_k = sr Q / f_k (rounded up to
    even), hop N_k / 8 and centres 0, hop, ... < L - N_k / 2 (the published grid
    on a signal padded by N_k / 2; each bin its own time grid, at true window
    centres). Coordinates are normalised as in the demo: t / t_max
    and Hz / (sr / 2). For timing only (``innmf bench``); the real cloud is built
    by :mod:`innmf.tf.hybrid`.

    Args:
        seconds: signal length per segment.
        sr: sample rate.
        seed: seeds the random magnitudes.

    Returns:
        (t, f, m, counts) with float32 arrays and counts = {"points",
        "distinct_freqs", "distinct_times"} as the models see them (float32).
    """
    L = int(round(seconds * sr))
    times, freqs = [], []
    for segment, (n_fft, hop) in enumerate([(128, 32), (1024, 256)]):
        centres = np.arange(n_fft // 2, L - n_fft, hop)
        bins = np.arange(n_fft // 2 + 1) * sr / n_fft
        times.append(np.repeat(segment * seconds + centres / sr, len(bins)))
        freqs.append(np.tile(bins, len(centres)))
    for k in range(int(64 * 6.7)):
        f_k = 20.0 * 2.0 ** (k / 64)
        n_k = int(sr * 64 / f_k)
        n_k += n_k % 2
        centres = np.arange(0, L - n_k // 2, n_k // 8)  # the published frame grid
        times.append(2 * seconds + centres / sr)
        freqs.append(np.full(len(centres), f_k))
    t = (np.concatenate(times) / (3 * seconds)).astype(np.float32)
    f = (np.concatenate(freqs) / (sr / 2)).astype(np.float32)
    m = np.sqrt(np.random.default_rng(seed).exponential(size=t.shape)).astype(np.float32)
    counts = {"points": int(t.size), "distinct_freqs": int(np.unique(f).size), "distinct_times": int(np.unique(t).size)}
    return t, f, m, counts


def _synthetic_speech(seconds: float, seed: int = 0) -> np.ndarray:
    """A voiced, speech-like test signal: harmonics of a gliding pitch with formant-shaped amplitudes."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    tt = np.arange(n) / SAMPLE_RATE
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * tt) + 10 * np.sin(2 * np.pi * 5.3 * tt)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    x = np.zeros(n)
    for h in range(1, 30):
        freq = h * 140.0
        amp = sum(np.exp(-(((freq - c) / 150.0) ** 2)) for c in (500, 1500, 2500)) + 0.02
        x += amp / h**0.5 * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    x *= 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * tt) ** 2  # syllable-rate envelope
    x += 1e-3 * rng.standard_normal(n)
    return x / np.linalg.norm(x)


def speech_matrix(seconds: float, n_fft: int, synthetic: bool = False) -> tuple[np.ndarray, str]:
    """The benchmark's V: compressed STFT magnitudes (p = 0.5) of ``seconds`` of speech.

    Uses the first speaker of the default corpus (``innmf.data``) when it can be
    loaded and is long enough, else a synthetic voiced signal.

    Returns:
        (V, description of the input).
    """
    if not synthetic:
        try:
            from innmf.data import load_corpus

            speaker = load_corpus("default").speakers[0]
            x = np.asarray(speaker.audio(), dtype=np.float64)[: int(seconds * SAMPLE_RATE)]
            if len(x) == int(seconds * SAMPLE_RATE):
                return magnitude(x / np.linalg.norm(x), n_fft), f"corpus default, speaker {speaker.id}"
        except Exception:  # noqa: BLE001 - any failure means: use the synthetic signal
            pass
    return magnitude(_synthetic_speech(seconds), n_fft), "synthetic voiced signal"


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


def _bench_innmf(V: np.ndarray, cfg: dict, device, rounds: int) -> dict:
    f = frequency_coordinate(cfg["n_fft"])
    model = ImplicitWNMF(cfg["rank"], hidden=cfg["hidden"], n_freqs=cfg["n_freqs"], seed=0, device=device)
    step = model.epoch_function(V, f)
    ref = ReferenceImplicitW(cfg["rank"], V.shape[1], n_freqs=cfg["n_freqs"], hidden=cfg["hidden"], seed=0).to(device)
    ref_opt = torch.optim.Rprop(ref.parameters(), lr=1e-3)
    Vt = torch.as_tensor(V, dtype=torch.float32, device=device)
    ft = torch.as_tensor(f, dtype=torch.float32, device=device)
    times = interleaved_medians(
        {"ours": (step, 3), "reference": (lambda: reference_epoch(ref, ref_opt, Vt, ft), 1)}, rounds, 3, device
    )
    F, T, K = V.shape[0], V.shape[1], cfg["rank"]
    product = 3 * 2.0 * F * K * T  # W H forward, and the gradients for W and H
    work = model.net.flops_per_point(composed=True) * F + product
    paper_work = model.net.flops_per_point(composed=False) * F + product
    return {
        "innmf_epoch_ms": times["ours"],
        "innmf_reference_epoch_ms": times["reference"],
        "innmf_speedup": times["reference"] / times["ours"],
        "innmf_epoch_gflop": work / 1e9,
        "innmf_achieved_gflops": work / times["ours"] / 1e6,
        "innmf_effective_gflops": paper_work / times["ours"] / 1e6,
        "innmf_backend": model.net.backend,
    }


def _bench_nmf(V: np.ndarray, rank: int, n_iter: int, device, rounds: int) -> dict:
    from sklearn.decomposition import NMF

    W0, H0 = init_factors(torch.as_tensor(V, dtype=torch.float64), rank, "paper", seed=0)
    W0, H0 = W0.numpy(), H0.numpy()
    results: dict[str, tuple] = {}

    def ours(dtype):
        results[f"ours_{dtype}"] = nmf(V, rank, n_iter, W=W0, H=H0, dtype=dtype, device=device, loss_every=n_iter)

    def sk(dtype):
        model = NMF(rank, solver="mu", beta_loss="kullback-leibler", init="custom", max_iter=n_iter, tol=0)
        X = V.astype(dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "maximum number of iterations reached"
            W = model.fit_transform(X, W=W0.astype(dtype), H=H0.astype(dtype))
        results[f"sk_{dtype.__name__}"] = (W, model.components_)

    times = interleaved_medians(
        {
            "ours32": (lambda: ours(torch.float32), 1),
            "ours64": (lambda: ours(torch.float64), 1),
            "sk64": (lambda: sk(np.float64), 1),
            "sk32": (lambda: sk(np.float32), 1),
        },
        rounds,
        1,
        device,
        settle=0.3,
    )
    per_iter = {k: v / n_iter for k, v in times.items()}
    r32 = results[f"ours_{torch.float32}"]
    W_sk, H_sk = results["sk_float64"]
    return {
        "nmf_iter_ms": per_iter["ours32"],
        "sklearn_nmf_iter_ms": per_iter["sk64"],
        "nmf_speedup": per_iter["sk64"] / per_iter["ours32"],
        # W H twice, (V / W H) H^T and W^T (V / W H): 2 F T K flops each
        "nmf_achieved_gflops": 4 * 2.0 * V.shape[0] * V.shape[1] * rank / per_iter["ours32"] / 1e6,
        "nmf_final_kl": kl_divergence(V, r32.W.astype(np.float64) @ r32.H),
        "sklearn_final_kl": kl_divergence(V, W_sk @ H_sk),
        "nmf_iter_ms_float64": per_iter["ours64"],
        "sklearn_nmf_iter_ms_float32": per_iter["sk32"],
        "nmf_speedup_float64": per_iter["sk64"] / per_iter["ours64"],
        "nmf_speedup_float32": per_iter["sk32"] / per_iter["ours32"],
        "nmf_iterations": n_iter,
    }


def _bench_hybrid(seconds: float, device, rounds: int) -> dict:
    t, f, m, counts = synthetic_hybrid_coordinates(seconds)
    steps = {
        name: ImplicitWH(2, hidden=16, evaluation=name, seed=0, device=device).epoch_function(t, f, m, fraction=0.5)
        for name in ("distinct", "pointwise")
    }
    times = interleaved_medians({name: (step, 1) for name, step in steps.items()}, rounds, 3, device)
    return {
        "hybrid_epoch_ms": times["distinct"],
        "hybrid_naive_epoch_ms": times["pointwise"],
        "hybrid_speedup": times["pointwise"] / times["distinct"],
        "hybrid_points": counts["points"],
        "hybrid_distinct_freqs": counts["distinct_freqs"],
        "hybrid_distinct_times": counts["distinct_times"],
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas_kernels() -> str:
    """The BLAS behind numpy (and scikit-learn) and the kernels it chose for this CPU.

    OpenBLAS picks its kernels by CPU model; one it does not know gets an older set
    (numpy's OpenBLAS 0.3.31 runs AVX2 "Haswell" kernels on AMD Zen 5, which has
    AVX-512: ``OPENBLAS_CORETYPE=SKYLAKEX`` doubles its matrix products there, for
    scikit-learn and our products through numpy; our KL updates on the CPU do not
    use a BLAS). Recorded so that results from different machines can be compared.
    """
    try:
        from threadpoolctl import threadpool_info

        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    except Exception:  # noqa: BLE001 - informative only
        return "unknown"
    return ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})" for i in infos) or "none"


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
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but PyTorch sees no CUDA device; use --device cpu.")
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
        "torch_version": torch.__version__,
        "cpu": _cpu_model(),
        "blas": _blas_kernels(),
        "quick": bool(quick),
        "repeats": rounds,
        "input": source,
        "V_shape": list(V.shape),
        "rank": cfg["rank"],
        "hidden": cfg["hidden"],
    }
    out.update(_bench_innmf(V, cfg, dev, rounds))
    out.update(_peak_gflops(dev, quick))
    out.update(_bench_nmf(V, cfg["rank"], 10 if quick else 200, dev, max(1, rounds // 2)))
    out.update(_bench_hybrid(0.25 if quick else 2.5, dev, rounds))
    out["load_average_before"] = load_before
    out["load_average_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    out["bench_seconds"] = time.perf_counter() - start
    return {k: (float(v) if isinstance(v, (np.floating, np.integer)) else v) for k, v in out.items()}


def format_table(results: dict) -> str:
    """A two-column text table of the results."""
    width = max(len(k) for k in results)
    lines = []
    for key, value in results.items():
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        lines.append(f"{key:<{width}}  {text}")
    return "\n".join(lines)


def _measure(args: argparse.Namespace) -> dict:
    if not args.trial:
        return run_benchmarks(args.device, args.repeats, args.quick, args.synthetic)
    from innmf.tools.bench.trial import run_trial_benchmark

    if args.device != "cpu" or args.quick or args.synthetic:
        raise ValueError("--trial compares CPU timings on the embedded corpus: drop --device/--quick/--synthetic.")
    out = {"threads": torch.get_num_threads(), "torch_version": torch.__version__, "cpu": _cpu_model()}
    out.update(run_trial_benchmark(args.repeats or 5))
    return out


def _run(args: argparse.Namespace) -> int:
    threads = args.threads if args.threads is not None else (1 if args.trial else None)
    if threads is None:
        results = _measure(args)
    else:
        if threads < 1:
            raise ValueError(f"--threads must be >= 1, got {threads}.")
        from threadpoolctl import threadpool_limits  # installed with scikit-learn

        torch.set_num_threads(threads)  # asked for on the command line only
        with threadpool_limits(limits=threads):  # numpy's BLAS too, for scikit-learn
            results = _measure(args)
    print(json.dumps(results) if args.json else format_table(results))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``innmf bench`` to the command line."""
    p = subparsers.add_parser(
        "bench",
        help="time NMF and iN-NMF against their references",
        description=(
            "Time one iN-NMF training epoch against the published code's structure, KL "
            "multiplicative updates against scikit-learn, and distinct-coordinate evaluation "
            "on the hybrid cloud against point-wise evaluation (medians after warm-up)."
        ),
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--repeats", type=int, default=None, help="timing rounds (default 15; 2 with --quick)")
    p.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds (for tests)")
    p.add_argument("--synthetic", action="store_true", help="use the synthetic signal, not the corpus")
    p.add_argument(
        "--threads", type=int, default=None, help="threads for torch and numpy's BLAS (default: the libraries' choice)"
    )
    p.add_argument(
        "--trial", action="store_true",
        help="time one whole trial of the paper protocol (4 window sizes, both experiments) against the "
        "published structure's unit costs measured in the same run (about 3 minutes; 1 thread unless --threads)",
    )
    p.set_defaults(func=_run)
