"""``python -m innmf.tools.bench.refit_paths``: the Rprop activation refit, BLAS epoch against the fused one.

At the paper's shapes (K = 20, the speakers' 20 s training excerpts at N in {1000,
1500, 2000, 2500}: the refits of iN-NMF and NMF-interp; K = 40 on 5 s at the same N:
the mixtures' activation fits), in one process, interleaved
(:func:`innmf.tools.bench.timing.interleaved_medians`), at each requested thread count
(torch's and the BLAS's, :func:`innmf.accel.runtime.use_threads`):

* ``blas``: :func:`innmf.accel.activations.fit_activations_fixed_W` as the recorded
  runs call it (the products through the BLAS, about twenty torch passes per epoch);
* ``fused``: the same with ``kernel="fused"`` (:mod:`innmf.accel.refit_fused`).

Each timed call is a whole refit of ``--epochs`` epochs recording the first loss only,
as the experiments do, from the same start; W is an NMF dictionary of that V (what
NMF-interp refits with). Per shape: ms per epoch, the achieved GFLOP/s of the two
products (4 F K T flops per epoch) and their fraction of the FMA peak measured in the
same run (:func:`innmf.tools.bench.machine.fma_peak_gflops`). ``agreement``: at the
recorded size (N = 2000), the fused, BLAS and :mod:`innmf.paper` refits of 1000 epochs
from the same start, in float32 and float64: how far their H and loss trajectories are
apart. Prints (or writes, ``--out``) one JSON object (``results/bench/refit-fused.json``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

from innmf.tools.bench.timing import interleaved_medians

N_FFTS = (1000, 1500, 2000, 2500)


def _dictionary(V: np.ndarray, rank: int, seed: int) -> torch.Tensor:
    from innmf.models.nmf import nmf

    return torch.as_tensor(nmf(V, rank, 100, seed=seed, loss_every=100).W, dtype=torch.float32)


def shapes(quick: bool = False) -> list[dict]:
    """The problems timed: (name, V, W) at every N, the refit's and the mixture fit's."""
    from innmf.tools.bench.problems import speech_matrix

    out = []
    for n in (256,) if quick else N_FFTS:
        for what, seconds, rank in (("refit", 1.0 if quick else 20.0, 20), ("mixture", 0.5 if quick else 5.0, 40)):
            V, source = speech_matrix(seconds, n)
            W = torch.cat([_dictionary(V, rank // 2, s) for s in (0, 1)], dim=1)
            out.append({"name": f"{what}_N{n}", "V": torch.as_tensor(V, dtype=torch.float32), "W": W, "input": source})
    return out


def time_paths(problems: list[dict], threads: list[int], epochs: int, rounds: int) -> dict:
    """ms per epoch of both paths for every problem at every thread count, with their GFLOP/s."""
    from innmf.accel.activations import fit_activations_fixed_W
    from innmf.accel.runtime import use_threads

    out: dict = {}
    previous = torch.get_num_threads()
    try:
        for n in threads:
            use_threads(n)
            for p in problems:
                V, W = p["V"], p["W"]
                calls = {k: (lambda k=k: fit_activations_fixed_W(V, W, epochs, loss_every=epochs, kernel=k), 1)
                         for k in ("blas", "fused")}
                ms = {k: v / epochs for k, v in interleaved_medians(calls, rounds, 1, torch.device("cpu")).items()}
                (F, T), K = V.shape, W.shape[1]
                gflops = {k: 4.0 * F * K * T / v / 1e6 for k, v in ms.items()}
                out.setdefault(str(n), {})[p["name"]] = {
                    "shape_FKT": [F, K, T], "epoch_ms": ms, "speedup": ms["blas"] / ms["fused"], "gflops": gflops}
    finally:
        use_threads(previous)
    return out


def _apart(a: tuple, b: tuple) -> dict:
    (Ha, la), (Hb, lb) = a, b
    d = (Ha.double() - Hb.double()).abs()
    return {"H_max_abs": float(d.max()), "H_max_abs_over_max_H": float(d.max() / Hb.double().abs().max()),
            "H_rel_frobenius": float((Ha.double() - Hb.double()).norm() / Hb.double().norm()),
            "loss_max_rel": float(np.max(np.abs(la - lb) / np.abs(lb))), "loss_first_rel": float(abs(la[0] - lb[0]) / lb[0]),
            "loss_final_rel": float(abs(la[-1] - lb[-1]) / lb[-1])}


def agreement(problem: dict, epochs: int = 1000) -> dict:
    """How far the fused, BLAS and reference refits are apart after ``epochs`` epochs (1 thread)."""
    from innmf.accel.runtime import use_threads
    from innmf.models.training import fit_H

    previous = torch.get_num_threads()
    use_threads(1)
    out: dict = {}
    try:
        for dtype in (torch.float32, torch.float64):
            V, W = problem["V"].to(dtype), problem["W"].to(dtype)
            fits = {"blas": fit_H(V, W, epochs, seed=2), "fused": fit_H(V, W, epochs, seed=2, kernel="fused"),
                    "reference": fit_H(V, W, epochs, seed=2, reference=True)}
            out[str(dtype).split(".")[-1]] = {f"{a}_vs_{b}": _apart(fits[a], fits[b])
                                              for a, b in (("fused", "blas"), ("reference", "blas"), ("fused", "reference"))}
    finally:
        use_threads(previous)
    return {"problem": problem["name"], "shape_FKT": [*problem["V"].shape[:1], problem["W"].shape[1],
                                                     problem["V"].shape[1]], "epochs": epochs, **out}


def main(argv: list[str] | None = None) -> int:
    from innmf.tools.bench.costs import _machine, _write
    from innmf.tools.bench.machine import fma_peak_gflops, usable_cores

    p = argparse.ArgumentParser(prog="python -m innmf.tools.bench.refit_paths", description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--epochs", type=int, default=200, help="epochs per timed call")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="tiny shapes, no agreement run (tests)")
    p.add_argument("--out", default=None, help="write the JSON record here (default: print it)")
    p.add_argument("--shared", action="store_true", help="record that other jobs shared the machine")
    p.add_argument("--note", default="", help="a note kept in the record")
    args = p.parse_args(argv)
    start = time.perf_counter()
    record = {"command": "python -m innmf.tools.bench.refit_paths " + " ".join(sys.argv[1:] if argv is None else argv)}
    record.update(_machine(args.shared, args.note))
    record["fma_peak_gflops_core"] = fma_peak_gflops(1)
    record["fma_peak_gflops_machine"] = fma_peak_gflops(usable_cores())
    problems = shapes(args.quick)
    record["input"] = problems[0]["input"]
    record.update(epochs_per_call=args.epochs, rounds=args.rounds, threads=args.threads)
    record["per_threads"] = time_paths(problems, args.threads, args.epochs, args.rounds)
    for n, rows in record["per_threads"].items():
        peak = record["fma_peak_gflops_core"] if n == "1" else record["fma_peak_gflops_machine"]
        for row in rows.values():
            row["of_fma_peak"] = {k: v / peak for k, v in row["gflops"].items()}
    if not args.quick:
        record["agreement"] = agreement(next(q for q in problems if q["name"] == "refit_N2000"))
    record["load_average_after"] = list(os.getloadavg())
    record["bench_seconds"] = time.perf_counter() - start
    _write(record, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
