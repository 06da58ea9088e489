"""Timing helpers of the benchmarks: interleaved runs, medians, device synchronisation.

Benchmarks compare contenders measured side by side in one run (these machines are
noisy), so every figure is a median over rounds in which each contender runs in turn.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Callable

import torch


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], object], device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return (time.perf_counter() - start) * 1e3


def interleaved_medians(
    contenders: dict[str, tuple[Callable, int]], rounds: int, warmup: int, device, settle: float = 0.0
) -> dict[str, float]:
    """Median milliseconds of each contender; every round runs each ``count`` times.

    ``settle`` seconds of pause before each contender's turn let another library's
    idle worker threads stop spinning (OpenBLAS's spin for about 0.1 s after a
    call), so that neither side is timed while the other's threads hold the cores.
    """
    for fn, count in contenders.values():
        for _ in range(warmup * count if count > 1 else max(1, warmup // 2)):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, (fn, count) in contenders.items():
            if settle:
                time.sleep(settle)
            samples[name].extend(_timed(fn, device) for _ in range(count))
    return {name: statistics.median(v) for name, v in samples.items()}


def startup_seconds(runs: int = 7) -> float:
    """Median wall seconds of ``python -m innmf --help`` in a fresh process (the ``startup_s`` figure).

    Every command pays this before it starts; one untimed run first fills the file
    cache, as for a user who ran a command a moment ago.

    Args:
        runs: timed runs (at least 1).

    Returns:
        The median, in seconds.

    Raises:
        ValueError: ``runs`` < 1.
        RuntimeError: the command failed (its error output is in the message).
    """
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}.")
    command = [sys.executable, "-m", "innmf", "--help"]
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"`{' '.join(command)}` failed ({done.returncode}): {done.stderr.strip()}")
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)
