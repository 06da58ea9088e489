"""The music experiment: supervised separation of stems on regular and irregular representations.

Chapter "Music and environmental sound"; ``innmf reproduce --experiment music``.
For a corpus of pieces with exact stems (:mod:`innmf.data.stems`: rendered Bach
chorales, any user's ``stems:PATH``), each source gets one dictionary per system
(:mod:`innmf.experiments.music_fit`), learnt from the ``fit`` pieces' stems of that
source laid one after another; every ``validation`` and ``test`` piece's mixture is
then separated by every system, and by the floor and the oracle, and scored per
source after inversion. One row per (piece, system, source, metric): the piece is
the unit of inference (:mod:`innmf.report.music` aggregates, selects the grid
comparator on the validation pieces and judges the pre-registered endpoint).

A run with ``out`` keeps a store: ``manifest.json`` (the settings and corpus it
belongs to), one ``.npz`` per learnt dictionary and one JSON file per finished
piece, each written atomically, so an interrupted run resumes losing nothing and a
run with other settings is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from innmf.data.stems import StemsCorpus, load_stems
from innmf.experiments.music_fit import Dictionary, System, learn_dictionary, masked_estimates, score
from innmf.experiments.music_fit import source_models
from innmf.experiments.music_reps import analyse, stem_coefficients
from innmf.experiments.parallel import map_unordered
from innmf.experiments.store_files import StoreError, atomic_write_text, check_out_folder

PAPER: dict[str, Any] = {
    "sr": 8000, "power": 0.5, "rank": 16, "time_step": 0.008, "train_iter": 300, "test_iter": 100,
    "inr_epochs": 1000, "hidden": 64, "n_freqs": 10,
    "cqt": {"f_min": 50.0, "f_max": 3800.0, "bins_per_octave": 24, "redundancy": 1.0},
    "stft_windows": [256, 512, 1024, 2048], "matrix_cqt": True, "raster_steps_ms": [16, 32],
    "irregular": ["cqt", "multires"],
    "seed": 0, "seconds": None, "train_seconds": 8.0, "max_fit": None, "max_validation": None, "max_test": None,
}
"""The recorded run's settings, fixed before it (results/music/PREREGISTRATION.md): rank 16 per source,
p = 0.5 (the paper's), H on an 8 ms grid, 300 MU iterations to learn a dictionary and 100 to fit a mixture's
activations, the paper's networks (h = 64, J = 10, 1000 Rprop epochs), constant-Q from 50 Hz to 3.8 kHz at
24 bands per octave; dictionaries learn from the first ``train_seconds`` of each fit piece, mixtures are whole
test pieces (``seconds``: None)."""

PROFILES: dict[str, dict[str, Any]] = {
    "paper": {},
    "quick": {"inr_epochs": 300, "train_iter": 200, "stft_windows": [1024], "matrix_cqt": False,
              "raster_steps_ms": [32], "irregular": ["cqt"], "train_seconds": 6.0, "max_validation": 0, "max_test": 2},
    "smoke": {"rank": 4, "inr_epochs": 10, "hidden": 8, "train_iter": 10, "test_iter": 10, "stft_windows": [512],
              "matrix_cqt": False, "raster_steps_ms": [32], "irregular": ["cqt"], "seconds": 2.0, "max_fit": 1,
              "max_validation": 0, "max_test": 1},
}
"""``paper`` is the pre-registered design; ``quick`` (the book) and ``smoke`` (the tests) are smaller."""


TASKS = ("supervised", "score-informed")
"""``supervised``: dictionaries learnt on the fit pieces (the recorded runs); ``score-informed``: each mixture
factorised alone under its score (:mod:`innmf.experiments.music_score_run`, results/music/ADDENDUM-3.md)."""


def music_settings(profile: str = "quick", **overrides: Any) -> dict[str, Any]:
    """The settings of a profile with overrides; unknown names are an error.

    ``task`` (:data:`TASKS`) chooses the task; the supervised task's settings carry no ``task`` key, so its
    store keys and numbers are those of the runs recorded before the score-informed task existed.
    """
    task = overrides.pop("task", TASKS[0])
    if task not in TASKS:
        raise ValueError(f"Unknown music task {task!r}; use one of {list(TASKS)}.")
    if task == "score-informed":
        from innmf.experiments.music_score_run import score_settings

        return score_settings(profile, PAPER, **overrides)
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}; use one of {sorted(PROFILES)}.")
    unknown = sorted(set(overrides) - set(PAPER))
    if unknown:
        raise ValueError(f"Unknown music setting(s) {unknown}; the settings are {sorted(PAPER)}.")
    return {**PAPER, **PROFILES[profile], **overrides, "profile": profile}


def systems(settings: dict[str, Any]) -> list[System]:
    """Every system a run fits: the grid candidates first, then the point methods."""
    out = [System("NMF", f"stft-{n}") for n in settings["stft_windows"]]
    out += [System("NMF", "cqt-matrix")] if settings["matrix_cqt"] else []
    out += [System(f"NMF-raster-{s}ms", "cqt") for s in settings["raster_steps_ms"] if "cqt" in settings["irregular"]]
    for rep in settings["irregular"]:
        out += [System("NMF-grid", rep), System("iN-NMF", rep)]
    return out


def _pieces(corpus: StemsCorpus, part: str, limit: int | None) -> list[Any]:
    pieces = corpus.pieces_in(part)
    return pieces if limit is None else pieces[: int(limit)]


def _load(piece: Any, seconds: float | None, sr: int) -> dict[str, np.ndarray]:
    stems = piece.load()
    return {k: v[: int(round(seconds * sr))] if seconds else v for k, v in stems.items()}


def _shorter(a: float | None, b: float | None) -> float | None:
    return min(x for x in (a, b) if x) if (a or b) else None


def _learn(task: tuple[System, str, np.ndarray, dict[str, Any]]) -> Dictionary:
    system, _, x, settings = task
    return learn_dictionary(system, x, settings, seed=int(settings["seed"]))


def piece_rows(name: str, part: str, stems: dict[str, np.ndarray], settings: dict[str, Any],
               chosen: Sequence[System], models_of: Callable[[System, Any, list[str], float], list[np.ndarray]],
               ) -> list[dict[str, Any]]:
    """Rows of one piece: the floor, then per representation its oracle and every chosen system.

    The supervised task and the score-informed one (:mod:`innmf.experiments.music_score_run`)
    differ only in how a system models each source (``models_of(system, analysis, sources,
    duration)``, one compressed-magnitude model per source); masks, inversion and scores
    are shared. One row per (method, representation, source, metric).
    """
    sr, p = float(settings["sr"]), float(settings["power"])
    sources = list(stems)
    S = np.stack([stems[s] for s in sources])
    mixture = S.sum(axis=0)
    duration = len(mixture) / sr
    rows: list[dict[str, Any]] = []

    def add(method: str, rep: str, estimates: list[np.ndarray]) -> None:
        for metric, values in score(S, estimates, sr).items():
            rows.extend({"split": part, "piece": name, "method": method, "representation": rep, "source": src,
                         "metric": metric, "value": float(v)} for src, v in zip(sources, values))

    add("floor", "none", [mixture / len(sources)] * len(sources))
    for rep in dict.fromkeys(s.representation for s in chosen):
        an = analyse(rep, mixture, sr, settings["cqt"])
        oracle = [np.abs(stem_coefficients(an, s, sr, settings["cqt"])) ** p for s in S]
        add("oracle", rep, masked_estimates(an, oracle, p))
        for system in (s for s in chosen if s.representation == rep):
            add(system.method, rep, masked_estimates(an, models_of(system, an, sources, duration), p))
    return rows


def _separate_piece(task: tuple[str, str, dict[str, np.ndarray], dict[str, Dictionary], dict[str, Any]]
                    ) -> list[dict[str, Any]]:
    name, part, stems, dictionaries, settings = task

    def models_of(system: System, an: Any, sources: list[str], duration: float) -> list[np.ndarray]:
        dicts = [dictionaries[f"{system.label} || {src}"] for src in sources]
        return source_models(system, an, dicts, duration, settings, seed=int(settings["seed"]))

    return piece_rows(name, part, stems, settings, systems(settings), models_of)


def store_key(spec: str, overrides: dict[str, Any]) -> str:
    """A short stable name for the store of a corpus and its overrides (chapter "Music")."""
    text = json.dumps({"corpus": spec, "overrides": overrides}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _store_key(settings: dict[str, Any], corpus: StemsCorpus) -> str:
    plain = {k: v for k, v in settings.items() if k != "profile"}
    text = json.dumps({"settings": plain, "corpus": corpus.spec, "split": corpus.split}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _open_store(out: str | os.PathLike, key: str, settings: dict[str, Any], spec: str) -> Path:
    root = check_out_folder(out)
    manifest = root / "manifest.json"
    if manifest.exists():
        found = json.loads(manifest.read_text()).get("key")
        if found != key:
            raise StoreError(f"{root} holds a music run with other settings or another corpus (key {found}, "
                             f"this run {key}); use another --out.")
    else:
        root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(manifest, json.dumps({"experiment": "music", "key": key, "corpus": spec,
                                                "settings": settings}, indent=1, default=str))
    for sub in ("dictionaries", "pieces"):
        (root / sub).mkdir(exist_ok=True)
    return root


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _save_dictionary(path: Path, d: Dictionary) -> None:
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    np.savez(tmp, freqs=d.freqs, W=d.W, history=d.history)
    os.replace(tmp, path)


def run_music(spec: str = "default-music", profile: str = "quick", out: str | os.PathLike | None = None,
              workers: int = 1, progress: bool = True, dataset: str | None = None, **overrides: Any) -> pd.DataFrame:
    """Run the music experiment on a stems corpus.

    Args:
        spec: a stems corpus (:func:`innmf.data.stems.load_stems`: ``default-music``,
            ``chorales:PATH?timbre=...``, ``stems:PATH``).
        profile: ``paper`` (the pre-registered design), ``quick`` or ``smoke``.
        out: a store folder (resumable); None keeps nothing.
        workers: local processes.
        progress: progress bars.
        dataset: the name of the data set in the rows (default: the corpus spec).
        **overrides: settings of :data:`PAPER`; ``task="score-informed"`` runs the unsupervised
            score-informed task instead (:func:`innmf.experiments.music_score_run.run_score`, its own
            settings and profiles; rows with a ``task`` column).

    Returns:
        Tidy rows: ``dataset``, ``split``, ``piece``, ``method``, ``representation``,
        ``source``, ``metric`` (``sdr``, ``sir``, ``sar``, ``si_sdr``) and ``value`` (dB).
    """
    settings = music_settings(profile, **overrides)
    sr = int(settings["sr"])
    corpus = load_stems(spec, sr=sr)
    if settings.get("task") == "score-informed":
        from innmf.experiments.music_score_run import run_score

        return run_score(corpus, settings, out=out, workers=workers, progress=progress, dataset=dataset)
    root = _open_store(out, _store_key(settings, corpus), settings, corpus.spec) if out is not None else None
    fit = _pieces(corpus, "fit", settings["max_fit"])
    if not fit:
        raise ValueError(f"{corpus.spec} has no 'fit' pieces to learn dictionaries from; give it a split.json.")
    sources = list(fit[0].sources)
    loaded = [_load(p, _shorter(settings["seconds"], settings["train_seconds"]), sr) for p in fit]
    training = {src: np.concatenate([stems[src] for stems in loaded]) for src in sources}
    dictionaries: dict[str, Dictionary] = {}
    tasks = []
    for system in systems(settings):
        for src in sources:
            key = f"{system.label} || {src}"
            path = root / "dictionaries" / f"{_safe(key)}.npz" if root else None
            if path is not None and path.exists():
                with np.load(path) as z:
                    dictionaries[key] = Dictionary(z["freqs"], z["W"], z["history"])
            else:
                tasks.append((system, src, training[src], settings))
    for task, d in map_unordered(_learn, tasks, workers=workers, progress=progress, desc="dictionaries"):
        key = f"{task[0].label} || {task[1]}"
        dictionaries[key] = d
        if root:
            _save_dictionary(root / "dictionaries" / f"{_safe(key)}.npz", d)
    rows: list[dict[str, Any]] = []
    piece_tasks = []
    for part in ("validation", "test"):
        for piece in _pieces(corpus, part, settings[f"max_{part}"]):
            path = root / "pieces" / f"{_safe(piece.name)}.json" if root else None
            if path is not None and path.exists():
                rows += json.loads(path.read_text())
            else:
                piece_tasks.append((piece.name, part, _load(piece, settings["seconds"], sr), dictionaries, settings))
    for task, piece_rows in map_unordered(_separate_piece, piece_tasks, workers=workers, progress=progress,
                                          desc="pieces"):
        if root:
            atomic_write_text(root / "pieces" / f"{_safe(task[0])}.json", json.dumps(piece_rows))
        rows += piece_rows
    return _table(rows, dataset or corpus.spec)


def listen(spec: str, out: str | os.PathLike, piece: str, labels: Iterable[str], profile: str = "quick",
           **overrides: Any) -> tuple[dict[str, np.ndarray], dict[str, list[np.ndarray]]]:
    """Re-separate one piece with the dictionaries a finished run stored, for listening.

    Args:
        spec: the run's corpus.
        out: the run's store.
        piece: a validation or test piece.
        labels: systems as ``method | representation`` (``floor | none`` and ``oracle | rep`` too).
        profile: the run's profile.
        **overrides: the run's overrides.

    Returns:
        ``(stems, estimates)``: the piece's stems by source, and per label one estimate per source.
    """
    settings = music_settings(profile, **overrides)
    sr, p = int(settings["sr"]), float(settings["power"])
    corpus = load_stems(spec, sr=sr)
    root = Path(out)
    stems = _load(corpus.piece(piece), settings["seconds"], sr)
    S = np.stack(list(stems.values()))
    mixture = S.sum(axis=0)
    estimates: dict[str, list[np.ndarray]] = {}
    for lab in labels:
        method, _, rep = lab.partition(" | ")
        if method == "floor":
            estimates[lab] = [mixture / len(S)] * len(S)
            continue
        an = analyse(rep, mixture, sr, settings["cqt"])
        if method == "oracle":
            models = [np.abs(stem_coefficients(an, s, sr, settings["cqt"])) ** p for s in S]
        else:
            dicts = []
            for src in stems:
                path = root / "dictionaries" / f"{_safe(f'{lab} || {src}')}.npz"
                if not path.exists():
                    raise FileNotFoundError(f"{path} is missing: run the experiment with out={root} first.")
                with np.load(path) as z:
                    dicts.append(Dictionary(z["freqs"], z["W"], z["history"]))
            models = source_models(System(method, rep), an, dicts, len(mixture) / sr, settings,
                                   seed=int(settings["seed"]))
        estimates[lab] = masked_estimates(an, models, p)
    return stems, estimates


def _table(rows: Iterable[dict[str, Any]], dataset: str) -> pd.DataFrame:
    columns = ["dataset", "split", "piece", "method", "representation", "source", "metric", "value"]
    df = pd.DataFrame([{**r, "dataset": dataset} for r in rows], columns=columns)
    return df.sort_values(columns[:7], kind="stable").reset_index(drop=True)
