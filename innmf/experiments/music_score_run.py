"""The score-informed task of the music experiment: each mixture factorised alone under its score.

Chapter "Music and environmental sound"; ``innmf reproduce --experiment music --set
task=score-informed`` (or ``run_music(..., task="score-informed")``). For every validation and
test piece of a corpus whose pieces carry their scores (``<piece>/notes.json``: the rendered
Bach chorales, :func:`innmf.data.stems.read_notes`), every system of
:mod:`innmf.experiments.music_score` separates the mixture with no training piece; the floor and
the oracle ceiling of each representation are scored as in the supervised task. The rows have the
supervised task's columns and a ``task`` column (``score-informed``), so the supervised report
(:func:`innmf.report.music.endpoint`: comparator chosen among the grid systems on the validation
pieces, iN-NMF per irregular representation against it, Holm) judges them unchanged; results/music/
ADDENDUM-3.md pre-registers that.

The store is the supervised task's (:func:`innmf.experiments.music._open_store`): a manifest whose
key hashes the settings (task and score settings included) and the corpus, one JSON file per
finished piece written atomically, so a killed run resumes losing nothing and other settings are
refused.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pandas as pd

from innmf.data.stems import StemsCorpus, read_notes
from innmf.experiments.music_fit import System
from innmf.experiments.music_score import score_models
from innmf.experiments.parallel import map_unordered
from innmf.experiments.store_files import atomic_write_text

TASK = "score-informed"
SCORE: dict[str, Any] = {"tolerance": 0.05, "score_iter": 200, "harmonics": 20, "comb_cents": 50.0,
                         "comb_floor": 0.0, "comb_epochs": 300}
"""The task's own settings, fixed before its recorded run (results/music/ADDENDUM-3.md): note spans widened by
50 ms either side; 200 KL multiplicative updates of W and H for the NMF methods; a comb of 20 partials (heights
1/h), each at least ±50 cents wide, on a floor of 0.01; iN-NMF's networks fitted to it by 300 Rprop steps,
then trained with H for ``inr_epochs`` (the paper's 1000)."""
SCORE_PROFILES: dict[str, dict[str, Any]] = {
    "paper": {"stft_windows": [256, 512, 1024, 2048], "matrix_cqt": False, "raster_steps_ms": [], "irregular": ["cqt"]},
    "quick": {"stft_windows": [1024], "matrix_cqt": False, "raster_steps_ms": [], "irregular": ["cqt"],
              "inr_epochs": 300, "score_iter": 100, "comb_epochs": 150, "max_validation": 0, "max_test": 2},
    "smoke": {"stft_windows": [512], "matrix_cqt": False, "raster_steps_ms": [], "irregular": ["cqt"], "hidden": 8,
              "inr_epochs": 10, "score_iter": 10, "comb_epochs": 10, "seconds": 2.0, "max_validation": 0,
              "max_test": 1},
}
"""``paper``: the four STFTs (NMF) and the ragged constant-Q (NMF-grid, iN-NMF) with the supervised task's
networks, time step, power and sample rate; ``quick`` (the book) and ``smoke`` (the tests) smaller."""


def score_settings(profile: str, paper: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The score-informed task's settings: ``paper`` (the supervised :data:`PAPER`), :data:`SCORE`, the profile, overrides.

    Args:
        profile: ``paper``, ``quick`` or ``smoke``.
        paper: the supervised task's settings (their names and values for what both share).
        **overrides: any of those settings or of :data:`SCORE`.

    Returns:
        The settings, with ``profile`` and ``task``.
    """
    if profile not in SCORE_PROFILES:
        raise ValueError(f"Unknown profile {profile!r}; use one of {sorted(SCORE_PROFILES)}.")
    unknown = sorted(set(overrides) - set(paper) - set(SCORE))
    if unknown:
        raise ValueError(f"Unknown music setting(s) {unknown}; the settings are {sorted({*paper, *SCORE, 'task'})}.")
    settings = {**paper, **SCORE, **SCORE_PROFILES[profile], **overrides, "profile": profile, "task": TASK}
    if settings["raster_steps_ms"]:
        raise ValueError("The score-informed task has no raster systems: set raster_steps_ms=[].")
    if "sinusoidal" in settings["irregular"]:
        raise ValueError("The score-informed task does not run on the sinusoidal peaks: drop it from irregular.")
    if not settings["tolerance"] >= 0 or int(settings["score_iter"]) < 0 or int(settings["comb_epochs"]) < 1:
        raise ValueError("tolerance must be >= 0 s, score_iter >= 0 and comb_epochs >= 1.")
    return settings


def score_systems(settings: dict[str, Any]) -> list[System]:
    """The task's systems: NMF on each regular representation, then NMF-grid and iN-NMF on each irregular one."""
    out = [System("NMF", f"stft-{n}") for n in settings["stft_windows"]]
    out += [System("NMF", "cqt-matrix")] if settings["matrix_cqt"] else []
    for rep in settings["irregular"]:
        out += [System("NMF-grid", rep), System("iN-NMF", rep)]
    return out


def separate_scored_piece(task: tuple[str, str, dict[str, np.ndarray], dict[str, list], dict[str, Any]]
                          ) -> list[dict[str, Any]]:
    """Rows of one piece: the floor, then per representation its oracle and every system (one row per source, metric)."""
    from innmf.experiments.music import piece_rows

    name, part, stems, notes, settings = task

    def models_of(system: System, an: Any, sources: list[str], duration: float) -> list[np.ndarray]:
        return score_models(system, an, notes, sources, duration, settings, seed=int(settings["seed"]))[0]

    return piece_rows(name, part, stems, settings, score_systems(settings), models_of)


def run_score(corpus: StemsCorpus, settings: dict[str, Any], out: str | os.PathLike | None = None, workers: int = 1,
              progress: bool = True, dataset: str | None = None) -> pd.DataFrame:
    """Run the score-informed task on a corpus's validation and test pieces (called by ``run_music``).

    Args:
        corpus: a stems corpus whose pieces have ``notes.json``.
        settings: from :func:`score_settings`.
        out: a store folder (resumable); None keeps nothing.
        workers: local processes.
        progress: progress bars.
        dataset: the name of the data set in the rows (default: the corpus spec).

    Returns:
        Tidy rows: ``dataset``, ``task``, ``split``, ``piece``, ``method``, ``representation``, ``source``,
        ``metric`` (``sdr``, ``sir``, ``sar``, ``si_sdr``) and ``value`` (dB).
    """
    from innmf.experiments.music import _load, _open_store, _pieces, _safe, _store_key

    sr = int(settings["sr"])
    pieces = [(part, piece) for part in ("validation", "test")
              for piece in _pieces(corpus, part, settings[f"max_{part}"])]
    notes = {piece.name: read_notes(corpus, piece) for _, piece in pieces}  # a corpus without scores fails here
    root = _open_store(out, _store_key(settings, corpus), settings, corpus.spec) if out is not None else None
    rows: list[dict[str, Any]] = []
    tasks = []
    for part, piece in pieces:
        path = root / "pieces" / f"{_safe(piece.name)}.json" if root else None
        if path is not None and path.exists():
            rows += json.loads(path.read_text())
        else:
            tasks.append((piece.name, part, _load(piece, settings["seconds"], sr), notes[piece.name], settings))
    for task, piece_rows in map_unordered(separate_scored_piece, tasks, workers=workers, progress=progress,
                                          desc="pieces (score-informed)"):
        if root:
            atomic_write_text(root / "pieces" / f"{_safe(task[0])}.json", json.dumps(piece_rows))
        rows += piece_rows
    columns = ["dataset", "task", "split", "piece", "method", "representation", "source", "metric", "value"]
    df = pd.DataFrame([{**r, "dataset": dataset or corpus.spec, "task": TASK} for r in rows], columns=columns)
    return df.sort_values(columns[:8], kind="stable").reset_index(drop=True)
