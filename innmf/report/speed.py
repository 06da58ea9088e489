"""Recorded speed measurements (``innmf bench`` outputs) as tables and sentences, for the chapter "Reproducing at scale".

``results/bench/`` holds the JSON objects printed by ``innmf bench --json`` (one file
per machine and thread count), by ``innmf bench --trial --json`` and a summary of GPU
trial runs; its README says which command and commit made each. This module reads
them back and never measures (the book does not time anything while it builds). Every
ratio the chapter states comes from here, out of a record (:func:`speed_sentences`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

# (figure, what is timed, our key, unit); peers are the record's "<figure>_<peer>_ms" keys
FIGURES = [
    ("innmf", "iN-NMF training epoch (K=20, h=64, V 1001x319)", "innmf_epoch_ms", "ms"),
    ("nmf", "KL-MU NMF iteration (K=20, V 1001x319)", "nmf_iter_ms", "ms"),
    ("nmf_large", "KL-MU NMF iteration (K=20, V 4097x2000)", "nmf_large_iter_ms", "ms"),
    ("hybrid", "hybrid-cloud epoch (99k points, rank 2, h=16)", "hybrid_epoch_ms", "ms"),
]

PEERS = {
    "published_structure": "the published code's structure (a network per component, point-wise encoding)",
    "plain_compiled": "plain batched PyTorch under torch.compile",
    "plain_eager": "plain batched PyTorch, eager",
    "bmm_autograd": "our networks through autograd (no fused pass)",
    "sklearn_float32": "scikit-learn NMF(solver='mu'), float32",
    "sklearn_float64": "scikit-learn NMF(solver='mu'), float64, against our float64",
    "numpy_float32": "a plain numpy MU loop, float32",
    "torch_float32": "a plain torch MU loop, float32",
    "torchnmf_float32": "torchnmf, float32",
    "pointwise": "both networks evaluated at every point",
}

# records made before the peers had keys of their own: (new key, old key)
_LEGACY = [("innmf_published_structure_ms", "innmf_reference_epoch_ms"),
           ("nmf_sklearn_float64_ms", "sklearn_nmf_iter_ms"),
           ("nmf_sklearn_float32_ms", "sklearn_nmf_iter_ms_float32"),
           ("hybrid_pointwise_ms", "hybrid_naive_epoch_ms")]


def machine_label(record: dict, commit: bool = False) -> str:
    """A short description of where a record was measured (CPU model, threads; the commit with ``commit``).

    The book shows readers the machine only; which commit made a record is in
    ``results/bench/README.md`` and in the record itself.
    """
    device = str(record.get("device", "cpu"))
    where = f"CPU {record.get('cpu_model', record.get('cpu', '?'))}" if device == "cpu" else device
    parts = [where, f"{record.get('threads', '?')} thread(s)"]
    if commit and "commit" in record:
        parts.append(f"commit {record['commit']}")
    return ", ".join(parts)


def load_records(folder: str | Path) -> list[dict]:
    """All ``innmf bench`` JSON records in ``folder`` (with their file name under ``file``).

    Files of other commands (``"command"`` key, e.g. ``network-paths-*.json``) and GPU
    trial summaries (``*-trials.json``) are read by their own sections, not here.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"No speed records at {folder}; run `innmf bench --json > {folder}/NAME.json`.")
    records = [{**json.loads(p.read_text()), "file": p.name} for p in sorted(folder.glob("*.json"))
               if not p.name.endswith("-trials.json")]
    return [_with_peer_keys(r) for r in records if "command" not in r]


def _with_peer_keys(record: dict) -> dict:
    rec = dict(record)
    for new, old in _LEGACY:
        if new not in rec and old in rec:
            rec[new] = rec[old]
    return rec


def _ours(record: dict, figure: str, peer: str, key: str):
    if peer.endswith("float64") and f"{figure}_iter_ms_float64" in record:
        return record[f"{figure}_iter_ms_float64"]  # matched precision
    return record[key]


def peer_table(records: list[dict]) -> pd.DataFrame:
    """One row per (figure, record, peer): ours, the peer, the ratio, and whether the peer is the fastest.

    Returns:
        Columns ``measurement, machine, peer, ours, reference, unit, speedup, fastest``.
    """
    rows = []
    for figure, label, key, unit in FIGURES:
        for rec in records:
            if key not in rec:
                continue
            peers = {p: rec[f"{figure}_{p}_ms"] for p in PEERS if f"{figure}_{p}_ms" in rec}
            if not peers:
                continue
            fastest = min(peers, key=peers.__getitem__)
            for peer, ms in peers.items():
                ours = _ours(rec, figure, peer, key)
                rows.append({"measurement": label, "machine": machine_label(rec), "peer": PEERS[peer],
                             "ours": ours, "reference": ms, "unit": unit, "speedup": ms / ours,
                             "fastest": peer == fastest})
    return pd.DataFrame(rows)


def speed_table(records: list[dict]) -> pd.DataFrame:
    """One row per (figure, record): ours against the *fastest* peer measured in that record,
    and (the trial) ours against the published structure doing the same work.

    Returns:
        Columns ``measurement, machine, ours, reference, unit, speedup, reference_is``.
    """
    peers = peer_table(records)
    rows = [{"measurement": r.measurement, "machine": r.machine, "ours": r.ours, "reference": r.reference,
             "unit": r.unit, "speedup": r.speedup, "reference_is": r.peer}
            for r in peers[peers["fastest"]].itertuples()] if len(peers) else []
    for rec in records:
        if "trial_seconds" in rec and "published_like_for_like_seconds" in rec:
            rows.append({"measurement": "one trial: both experiments, N in {1000, 1500, 2000, 2500}",
                         "machine": machine_label(rec), "ours": rec["trial_seconds"],
                         "reference": rec["published_like_for_like_seconds"], "unit": "s",
                         "speedup": rec["published_like_for_like_seconds"] / rec["trial_seconds"],
                         "reference_is": "the published structure doing our trial's work (projected from unit costs "
                                         "measured in the same run)"})
    return pd.DataFrame(rows)


def _x(ratio: float) -> str:
    """How every ratio is printed (the test of the chapter parses this form)."""
    return f"{ratio:.2f}x"


def speed_sentences(records: list[dict]) -> list[str]:
    """Per record, one sentence of what was measured against what, with the ratios it holds.

    Every ratio is printed by :func:`_x` from a value of the record (ours and the peer's
    times, or the trial's projected seconds); nothing else is stated.
    """
    out = []
    for rec in records:
        machine = machine_label(rec)
        if "trial_seconds" in rec and "published_like_for_like_seconds" in rec:
            out.append(
                f"{machine}: one trial took {rec['trial_seconds']:.0f} s; the published structure would take "
                f"{rec['published_like_for_like_seconds']:.0f} s for the same work "
                f"({_x(rec['published_like_for_like_seconds'] / rec['trial_seconds'])}) and "
                f"{rec['published_trial_seconds']:.0f} s for its own scripts' work "
                f"({_x(rec['published_trial_seconds'] / rec['trial_seconds'])}), of which sharing the dictionaries "
                f"between the experiments, as we do, would save a factor "
                f"{_x(rec['published_trial_seconds'] / rec['published_shared_trial_seconds'])}.")
            continue
        mine = peer_table([rec])
        parts = []
        for label in mine["measurement"].unique() if len(mine) else []:
            rows = mine[mine["measurement"] == label]
            best = rows[rows["fastest"]].iloc[0]
            others = "; ".join(f"{r.peer} {_x(r.speedup)}" for r in rows.itertuples() if not r.fastest)
            parts.append(f"{label}: {best.ours:.3g} {best.unit}, {_x(best.speedup)} against the fastest "
                         f"alternative measured, {best.peer} ({best.reference:.3g} {best.unit})"
                         + (f" (others: {others})" if others else ""))
        if parts:
            out.append(f"{machine}: " + ". ".join(parts) + ".")
    return out


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


def speedup_figure(peers: pd.DataFrame) -> Any:
    """Every measured speed-up: one panel per measurement, a row per alternative, a bar per machine.

    Chapter "Reproducing at scale". The speed-up is the alternative's time over ours
    (log scale; dotted: equal speed); on each machine the fastest alternative's bar is
    solid, the others pale. The machines take :mod:`innmf.report.style`'s palette (they
    are not methods).

    Args:
        peers: :func:`peer_table`.

    Returns:
        A standalone figure, one axes per measurement.
    """
    import textwrap

    from matplotlib.patches import Patch

    from innmf.report import style

    measurements = list(dict.fromkeys(peers["measurement"]))
    machines = list(dict.fromkeys(peers["machine"]))
    colors = dict(zip(machines, style.PALETTE))
    counts = [peers.loc[peers["measurement"] == m, "peer"].nunique() for m in measurements]
    bar = 0.8 / len(machines)
    fig = style.figure(height=0.9 + 0.25 * len(machines) + sum(0.45 + 0.16 * len(machines) * n for n in counts))
    axes = fig.subplots(len(measurements), 1, sharex=True, squeeze=False, height_ratios=counts)[:, 0]
    for ax, measurement in zip(axes, measurements):
        part = peers[peers["measurement"] == measurement]
        names = list(dict.fromkeys(part["peer"]))
        for j, machine in enumerate(machines):
            for fastest in (True, False):
                rows = part[(part["machine"] == machine) & (part["fastest"] == fastest)]
                y = [names.index(p) - 0.4 + (j + 0.5) * bar for p in rows["peer"]]
                ax.barh(y, rows["speedup"], height=0.9 * bar, color=colors[machine], alpha=1.0 if fastest else 0.4,
                        label=machine if fastest else None)
        ax.set_yticks(range(len(names)), [textwrap.fill(n, 34) for n in names])
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.set_xscale("log")
        ax.axvline(1.0, color=style.REFERENCE, ls=":", lw=1)
        ax.set_title(measurement, fontsize=style.FONT_PT, loc="left")
    axes[-1].set_xlabel("speed-up: the alternative's time / ours (log scale)")
    handles = [Patch(color=colors[m], label=m) for m in machines]
    handles.append(Patch(color="0.6", alpha=0.4, label="pale: not the fastest alternative on that machine"))
    style.legend(axes[-1], "below", handles=handles, ncols=1)
    return fig
