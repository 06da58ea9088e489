"""The three figures of ``innmf bench``, each ours against every alternative in one interleaved run.

Keys follow one pattern per figure (``nmf``, ``nmf_large``, ``innmf``, ``hybrid``):
``<figure>_<contender>_ms`` for every contender, ``<figure>_speedup_vs_<peer>`` for
every alternative, ``<figure>_fastest_peer`` and ``<figure>_speedup_vs_fastest`` (the
headline: against the fastest alternative), ``<figure>_achieved_gflops`` and, with the
FMA peaks of :mod:`innmf.tools.bench.machine` measured in the same run,
``<figure>_of_core_peak`` and ``<figure>_of_machine_peak`` (a roofline line).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from innmf.models.implicit import ImplicitWH, ImplicitWNMF
from innmf.tf.stft import frequency_coordinate
from innmf.tools.bench.nmf_peers import bench_nmf_peers
from innmf.tools.bench.published_structure import ReferenceImplicitW, reference_epoch
from innmf.tools.bench.timing import interleaved_medians


def ratios(figure: str, ours_ms: float, peer_ms: dict[str, float]) -> dict:
    """The ratio of every peer's time to ours, and the fastest peer's, under ``figure``'s keys."""
    out: dict = {f"{figure}_{name}_ms": ms for name, ms in peer_ms.items()}
    out.update({f"{figure}_speedup_vs_{name}": ms / ours_ms for name, ms in peer_ms.items()})
    fastest = min(peer_ms, key=peer_ms.__getitem__)
    out[f"{figure}_fastest_peer"] = fastest
    out[f"{figure}_speedup_vs_fastest"] = peer_ms[fastest] / ours_ms
    return out


def bench_innmf(V: np.ndarray, cfg: dict, device, rounds: int) -> dict:
    """One iN-NMF model-1 epoch: ours, the published structure, a plain batched PyTorch model
    eager and under ``torch.compile``, and our networks through autograd ("bmm")."""
    from innmf.tools.bench.network_paths import measure

    f = frequency_coordinate(cfg["n_fft"])
    Vt = torch.as_tensor(V, dtype=torch.float32, device=device)
    ft = torch.as_tensor(f, dtype=torch.float32, device=device)

    def published(model, v, x) -> Callable:
        ref = ReferenceImplicitW(cfg["rank"], V.shape[1], n_freqs=cfg["n_freqs"], hidden=cfg["hidden"], seed=0)
        ref = ref.to(device)
        opt = torch.optim.Rprop(ref.parameters(), lr=1e-3)
        return lambda: reference_epoch(ref, opt, Vt, ft)

    threads = torch.get_num_threads()
    res = measure(V, cfg, [threads], rounds, extra={"published_structure": published})
    times = res["epoch_ms"][str(threads)]
    ours = times.pop("fused")
    batched = times.pop("batched")  # our own earlier path, not a peer
    model = ImplicitWNMF(cfg["rank"], hidden=cfg["hidden"], n_freqs=cfg["n_freqs"], seed=0, device=device)
    F, T, K = V.shape[0], V.shape[1], cfg["rank"]
    product = 3 * 2.0 * F * K * T  # W H forward, and the gradients for W and H
    work = model.net.flops_per_point(composed=True) * F + product
    out = {"innmf_epoch_ms": ours, **ratios("innmf", ours, times)}
    out["innmf_batched_epoch_ms"] = batched
    out["innmf_speedup_vs_batched"] = batched / ours
    out["innmf_skipped"] = res["skipped"]
    out["innmf_epoch_gflop"] = work / 1e9
    out["innmf_achieved_gflops"] = work / ours / 1e6
    # the published structure's speed-up under its old name, for older records' readers
    out["innmf_reference_epoch_ms"] = times["published_structure"]
    return out


def bench_nmf(figure: str, V: np.ndarray, rank: int, n_iter: int, device, rounds: int) -> dict:
    """KL MU NMF (:mod:`innmf.tools.bench.nmf_peers`) under ``figure``'s keys."""
    res = bench_nmf_peers(V, rank, n_iter, rounds, device)
    ms = res["iter_ms"]
    peers = {k: v for k, v in ms.items() if not k.startswith("ours")}
    out = {f"{figure}_iter_ms": ms["ours_float32"], f"{figure}_iter_ms_float64": ms["ours_float64"]}
    out.update(ratios(figure, ms["ours_float32"], peers))
    # matched precision: our float64 against scikit-learn's float64
    out[f"{figure}_speedup_vs_sklearn_float64"] = ms["sklearn_float64"] / ms["ours_float64"]
    out[f"{figure}_achieved_gflops"] = res["achieved_gflops"]
    out[f"{figure}_final_kl"] = res["final_kl"]["ours_float32"]
    out[f"{figure}_peer_final_kl"] = {k: v for k, v in res["final_kl"].items() if not k.startswith("ours")}
    out[f"{figure}_skipped"] = res["skipped"]
    out[f"{figure}_iterations"] = n_iter
    out[f"{figure}_V_shape"] = res["V_shape"]
    return out


def bench_hybrid(t, f, m, counts: dict, device, rounds: int) -> dict:
    """One model-2 epoch on the hybrid cloud: distinct-coordinate evaluation against
    evaluating both networks at every point (what the published demo does)."""
    models = {name: ImplicitWH(2, hidden=16, evaluation=name, seed=0, device=device) for name in ("distinct", "pointwise")}
    steps = {name: model.epoch_function(t, f, m, fraction=0.5) for name, model in models.items()}
    times = interleaved_medians({name: (step, 1) for name, step in steps.items()}, rounds, 3, device)
    net = models["distinct"]
    # each network once per distinct coordinate (forward and backward)
    work = (net.W_net.flops_per_point() * counts["distinct_freqs"] + net.H_net.flops_per_point() * counts["distinct_times"])
    out = {"hybrid_epoch_ms": times["distinct"], **ratios("hybrid", times["distinct"], {"pointwise": times["pointwise"]})}
    out["hybrid_naive_epoch_ms"] = times["pointwise"]
    out["hybrid_achieved_gflops"] = work / times["distinct"] / 1e6
    out.update({f"hybrid_{k}": v for k, v in counts.items()})
    return out


def roofline(out: dict, core_peak: float, machine_peak: float) -> dict:
    """Each figure's achieved GFLOP/s as a fraction of the FMA peak of one core and of all cores."""
    res = {}
    for key in [k for k in out if k.endswith("_achieved_gflops")]:
        figure = key[: -len("_achieved_gflops")]
        res[f"{figure}_of_core_peak"] = out[key] / core_peak
        res[f"{figure}_of_machine_peak"] = out[key] / machine_peak
    return res
