"""How two worker processes share the machine: iN-NMF epochs per second with one worker and with two.

The paper protocol runs trials in worker processes of one thread each (``innmf reproduce
--workers N``), so what counts on a 2-core machine is the throughput of two workers training
at once, not one epoch's time: a pass that streams large buffers through memory slows
beside its twin. Each worker builds the model of :data:`innmf.tools.bench.problems.SPEECH`,
warms up, waits at a barrier so that the workers start together, and times ``epochs`` epochs
at one thread. Rounds alternate between the backends and between one and two workers;
the ratio is the two workers' epochs per second over the lone worker's (2.0: no slowdown).

``python -m innmf.tools.bench.workers --json`` prints one JSON object (``results/bench/``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import time


def _worker(backend: str, epochs: int, warmup: int, quick: bool, barrier, results) -> None:
    import torch

    torch.set_num_threads(1)
    from innmf.models.implicit import ImplicitWNMF
    from innmf.tf.stft import frequency_coordinate
    from innmf.tools.bench.problems import SPEECH, speech_matrix

    seconds, n_fft = (2.0, 256) if quick else (SPEECH["seconds"], SPEECH["n_fft"])
    V, _ = speech_matrix(seconds, n_fft)
    f = frequency_coordinate(n_fft)
    model = ImplicitWNMF(4 if quick else SPEECH["rank"], hidden=SPEECH["hidden"], n_freqs=SPEECH["n_freqs"], seed=0)
    model.net.backend_name = backend
    step = model.epoch_function(V, f)
    for _ in range(warmup):
        step()
    barrier.wait()
    start = time.perf_counter()
    for _ in range(epochs):
        step()
    results.put((time.perf_counter() - start) / epochs * 1e3)


def _run(backend: str, workers: int, epochs: int, warmup: int, quick: bool) -> list[float]:
    """Milliseconds per epoch of each of ``workers`` processes training at once."""
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(backend, epochs, warmup, quick, barrier, results)) for _ in range(workers)]
    for p in procs:
        p.start()
    times = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"a bench worker ({backend}) exited with code {p.exitcode}")
    return times


def measure(backends: list[str], rounds: int, epochs: int, warmup: int = 10, quick: bool = False) -> dict:
    """Per backend: the lone worker's and the two workers' ms per epoch (medians over rounds) and the ratio.

    Returns:
        ``{backend: {"one_worker_ms", "two_workers_ms" (both workers), "throughput_ratio"}}``, the
        ratio the median over rounds of (1/a + 1/b) / (1/lone) within each round.
    """
    raw: dict[str, dict[str, list]] = {b: {"one": [], "two": [], "ratio": []} for b in backends}
    for _ in range(rounds):
        for b in backends:
            (one,) = _run(b, 1, epochs, warmup, quick)
            two = _run(b, 2, epochs, warmup, quick)
            raw[b]["one"].append(one)
            raw[b]["two"].append(two)
            raw[b]["ratio"].append(sum(1.0 / t for t in two) * one)
    return {
        b: {
            "one_worker_ms": statistics.median(r["one"]),
            "two_workers_ms": [statistics.median(t[i] for t in r["two"]) for i in range(2)],
            "throughput_ratio": statistics.median(r["ratio"]),
            "ratios": r["ratio"],
        }
        for b, r in raw.items()
    }


def main(argv: list[str] | None = None) -> int:
    from innmf.tools.bench.machine import cpu_model
    from innmf.tools.bench.network_paths import _commit

    p = argparse.ArgumentParser(prog="python -m innmf.tools.bench.workers", description=__doc__.split("\n")[0])
    p.add_argument("--backends", nargs="+", default=["fused", "batched"], help="the networks' backends to compare")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--quick", action="store_true", help="a tiny problem, a few seconds (for tests)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.epochs < 1:
        p.error("--rounds and --epochs must be at least 1")
    start = time.perf_counter()
    out = {"command": "python -m innmf.tools.bench.workers " + " ".join(argv or []), "commit": _commit(),
           "cpu_model": cpu_model(), "cores": mp.cpu_count(), "epochs": args.epochs, "rounds": args.rounds,
           "workers": measure(args.backends, args.rounds, args.epochs, quick=args.quick)}
    out["bench_seconds"] = time.perf_counter() - start
    print(json.dumps(out, indent=1) if args.json else out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
