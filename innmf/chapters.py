"""What the chapters call: their results, computed once and shared between chapters.

The notebooks import this module and :mod:`innmf.report` (plus the layers' public
functions they demonstrate); the bookkeeping of where results live stays here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from innmf.data.paths import build_dir


def results_dir_for(settings: dict[str, Any]) -> Path:
    """Where the book keeps a profile's experiment results (a resumable results store).

    The reconstruction and separation chapters share one store, so the trials' models
    are learnt once for both; its name changes whenever a setting that changes the
    numbers changes (``n_trials`` excepted: more trials extend the same store).
    """
    from innmf.experiments.store import result_settings
    from innmf.experiments.settings import settings_hash

    key = settings_hash(result_settings(settings))
    return build_dir() / "results" / f"{settings.get('profile', 'custom')}-{key}"


def chapter_results(
    settings: dict[str, Any],
    results_dir: str | Path | None = None,
    results_from: str | Path | None = None,
    workers: int = 1,
) -> tuple[Any, str]:
    """The speech chapters' per-trial rows: read from a store, or computed/resumed in one.

    Chapters "Reconstruction across window sizes" and "Separating two speakers" call
    this with their parameters, so both run (or resume) both experiments in one shared
    store and each can run alone.

    Args:
        settings: the chapter's settings (``get_profile(profile, **overrides)``).
        results_dir: store to write and resume (default: :func:`results_dir`).
        results_from: an existing store to read instead of computing anything.
        workers: local processes running trials at once.

    Returns:
        ``(rows, where)``: the tidy per-trial table and a sentence saying where it came from.
    """
    from innmf.experiments import load_results, run_experiments

    if results_from is not None:
        return load_results(results_from), f"read from the results store `{results_from}`"
    store = results_dir or results_dir_for(settings)
    rows = run_experiments(settings, ("reconstruction", "separation"), out=store, workers=workers)
    return rows, f"computed (or resumed) in the results store `{store}`"
