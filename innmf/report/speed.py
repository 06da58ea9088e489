"""Recorded speed measurements (``innmf bench`` outputs) as tables, for the chapter "Reproducing at scale".

``results/bench/`` holds the JSON objects printed by ``innmf bench --json`` (one file
per machine and thread count), by ``innmf bench --trial --json`` and a summary of GPU
trial runs; its README says which command and commit made each. This module reads
them back; it never measures (the book does not time anything while it builds).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

# (label, our key, reference key, reference's description, unit)
MEASUREMENTS = [
    ("iN-NMF training epoch (K=20, h=64, V 1001x319)", "innmf_epoch_ms", "innmf_reference_epoch_ms",
     "published structure (a network per component, point-wise encoding)", "ms"),
    ("KL multiplicative-update iteration (rank 20, same V)", "nmf_iter_ms", "sklearn_nmf_iter_ms",
     "scikit-learn NMF(solver='mu'), float64", "ms"),
    ("hybrid-cloud epoch (99k points, rank 2, h=16)", "hybrid_epoch_ms", "hybrid_naive_epoch_ms",
     "both networks evaluated at every point", "ms"),
    ("one trial: both experiments, N in {1000, 1500, 2000, 2500}", "trial_seconds", "published_trial_seconds",
     "published structure, projected from unit costs measured in the same run", "s"),
]


def machine_label(record: dict) -> str:
    """A short description of where a record was measured."""
    device = str(record.get("device", "cpu"))
    if device == "cpu":
        return f"CPU ({record.get('cpu', '?')}), {record.get('threads', '?')} thread(s)"
    return device


def load_records(folder: str | Path) -> list[dict]:
    """All ``*.json`` bench records in ``folder`` (with their file name under ``file``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"No speed records at {folder}; run `innmf bench --json > {folder}/NAME.json`.")
    return [{**json.loads(p.read_text()), "file": p.name} for p in sorted(folder.glob("*.json"))]


def speed_table(records: list[dict]) -> pd.DataFrame:
    """One row per (measurement, record): ours, the reference, and the ratio.

    Returns:
        Columns ``measurement, machine, ours, reference, unit, speedup, reference_is``.
    """
    rows = []
    for label, ours, ref, ref_desc, unit in MEASUREMENTS:
        for rec in records:
            if ours in rec and ref in rec:  # (trial records have no "device": CPU)
                rows.append({"measurement": label, "machine": machine_label(rec), "ours": rec[ours],
                             "reference": rec[ref], "unit": unit, "speedup": rec[ref] / rec[ours],
                             "reference_is": ref_desc})
    return pd.DataFrame(rows)


def gpu_trial_summary(record: dict, n_trials: int = 500) -> pd.DataFrame:
    """Seconds per trial of the full protocol on a GPU, serial and with several workers.

    Args:
        record: a ``gpu-*-trials.json`` record (see ``results/bench/README.md``).
        n_trials: trials to project the wall time for (the paper: 500).
    """
    serial = pd.Series(record["serial_trial_seconds"], dtype=float)
    per_trial_wall = record["workers_wall_seconds"] / record["workers_trials"]
    return pd.DataFrame([
        {"run": "one process", "trials": len(serial), "wall s per trial": serial.mean(),
         f"hours for {n_trials} trials": n_trials * serial.mean() / 3600},
        {"run": f"{record['workers']} worker processes sharing the GPU", "trials": record["workers_trials"],
         "wall s per trial": per_trial_wall, f"hours for {n_trials} trials": n_trials * per_trial_wall / 3600},
    ])
