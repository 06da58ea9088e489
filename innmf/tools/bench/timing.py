"""Timing helpers of the benchmarks: interleaved runs, medians, device synchronisation.

Benchmarks compare contenders measured side by side in one run (these machines are
noisy), so every figure is a median over rounds in which each contender runs in turn.
"""

from __future__ import annotations

import statistics
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
