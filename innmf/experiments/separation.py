"""Separation experiment: supervised two-speaker separation at every window size.

Chapter "Separating two speakers" (FACTS.md section 3, the paper's separation
table and split-violin figure). At each N the speakers' dictionaries (NMF's learnt
at N, iN-NMF's sampled at N) are fixed, activations are fitted on the mixture,
soft masks separate it and SDR, SIR, SAR (dB) and STOI are measured against the
test sources, each averaged over the two speakers.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import pandas as pd

from innmf.experiments.runner import experiment_results
from innmf.experiments.tables import mean_std_table, paired_differences

SEPARATION_METRICS: tuple[str, ...] = ("sdr", "sir", "sar", "stoi")


def run_separation(
    settings: dict[str, Any],
    out: str | os.PathLike | None = None,
    results_from: str | os.PathLike | None = None,
    workers: int = 1,
    scheduler: Any = None,
    progress: bool = True,
    threads: int | None = None,
) -> pd.DataFrame:
    """Per-trial separation rows (computed, resumed or read from a store).

    Args:
        settings: run settings (``innmf.profiles.get_profile``).
        out: results store to write (and resume from); None computes in memory.
        results_from: an existing results store to read instead of computing.
        workers: local worker processes.
        scheduler: Dask scheduler address or client.
        progress: progress bar over trials.
        threads: torch and BLAS threads per trial (see ``run_experiments``).

    Returns:
        Tidy rows with metrics ``sdr``, ``sir``, ``sar``, ``stoi``.
    """
    return experiment_results("separation", settings, out=out, results_from=results_from,
                              workers=workers, scheduler=scheduler, progress=progress,
                              threads=threads)


def separation_table(df: pd.DataFrame, metrics: Sequence[str] = SEPARATION_METRICS) -> pd.DataFrame:
    """Mean and std per window size (rows) and metric x method (columns)."""
    parts = {m: mean_std_table(df[df["metric"] == m]) for m in metrics if (df["metric"] == m).any()}
    if not parts:
        raise ValueError(f"No rows for metrics {list(metrics)}; is this a separation result?")
    return pd.concat(parts, axis=1, names=["metric"])


def separation_gain(df: pd.DataFrame, metric: str = "sdr") -> pd.DataFrame:
    """Paired difference iN-NMF − NMF of one metric per trial, summarised per N."""
    return paired_differences(df[df["metric"] == metric], relative=False)
