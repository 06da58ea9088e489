"""Run the speech experiments over many trials, resumably, serially or in parallel.

``run_experiments`` is what ``innmf reproduce`` and the chapters "Reconstruction
across window sizes" and "Separating two speakers" call. With ``out`` every
finished trial goes to a results store at once (``innmf.experiments.store``), and a
re-run skips the trials already there.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Sequence

import pandas as pd

from innmf.experiments.parallel import map_unordered
from innmf.experiments.store import ROW_COLUMNS, ResultsStore, load_results
from innmf.experiments.trial import (
    EXPERIMENTS,
    TrialTask,
    cached_corpus,
    check_experiments,
    run_trial_task,
)


def draw_trials(settings: dict[str, Any], corpus: Any = None) -> list[Any]:
    """The trials of a run: ``n_trials`` speaker pairs drawn from the corpus with ``seed``.

    Args:
        settings: run settings (``corpus``, ``n_trials``, ``seed``, ``train_seconds``,
            ``test_seconds``, ``sex_pairing``).
        corpus: an already loaded corpus (default: load ``settings["corpus"]``).

    Returns:
        A list of ``innmf.data.Trial``.
    """
    from innmf.data import make_trials

    n_trials = settings["n_trials"]
    if not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}.")
    corpus = cached_corpus(settings["corpus"]) if corpus is None else corpus
    return make_trials(
        corpus,
        n_trials,
        seed=int(settings["seed"]),
        train_seconds=float(settings["train_seconds"]),
        test_seconds=float(settings["test_seconds"]),
        pairing=settings.get("sex_pairing", "any"),
    )


def run_experiments(
    settings: dict[str, Any],
    experiments: Sequence[str] = ("reconstruction", "separation"),
    out: str | os.PathLike | None = None,
    workers: int = 1,
    scheduler: Any = None,
    progress: bool = True,
    threads: int | None = None,
    trial_fn: Callable[[TrialTask], tuple[list[dict[str, Any]], float]] = run_trial_task,
) -> pd.DataFrame:
    """Run (or resume) the reconstruction and/or separation experiments.

    Args:
        settings: run settings, e.g. ``innmf.experiments.settings.get_profile("quick")``.
        experiments: ``"reconstruction"``, ``"separation"`` (or ``"all"``).
        out: folder of a results store; finished trials are written there at once
            and skipped on a re-run. None keeps everything in memory.
        workers: local processes running trials at once (1: in this process).
        scheduler: address of a Dask scheduler (or a ``dask.distributed.Client``)
            whose workers run the trials instead.
        progress: show a progress bar over trials.
        threads: torch and BLAS threads per trial (default: the settings' ``threads``;
            if that is None, this process's setting when serial, 1 in parallel
            workers). ``threads=1`` makes a serial run bit-identical to a parallel one, and is the fastest setting on a small
            shared machine (torch's threads spin-wait on one trial's small matrices).
        trial_fn: the per-trial function (a picklable top-level function; tests
            replace it to count or interrupt work).

    Returns:
        Tidy per-trial rows (columns ``trial, trial_key, speakers, experiment,
        method, n_fft, metric, value``) of the trials ``0 .. n_trials-1``, the same
        whatever ``workers`` or ``scheduler``: seeds derive from seed and trial index,
        so numbers are bit-identical at equal ``threads`` and differ only at float
        rounding (about 1e-7 relative) between thread counts.

    Raises:
        ValueError: bad settings, or a store at ``out`` made with other settings.
    """
    experiments = check_experiments(experiments)
    # trials first: a bad corpus must not leave a store behind that refuses the fix
    trials = [t.to_dict() for t in draw_trials(settings)]
    store = ResultsStore(out, settings) if out is not None else None

    todo: list[TrialTask] = []
    for trial in trials:
        if store is not None and store.is_done(trial, experiments):
            continue
        # A trial stored for one experiment is recomputed for the union, so that its
        # file always holds everything computed from the same dictionaries.
        done = store.stored_experiments(int(trial["index"])) if store is not None else []
        todo.append(TrialTask(settings, trial, check_experiments([*done, *experiments])))

    rows: list[dict[str, Any]] = []
    for task, (trial_rows, seconds) in map_unordered(
        trial_fn, todo, workers=workers, scheduler=scheduler, progress=progress,
        threads=threads if threads is not None else settings.get("threads"),
    ):
        if store is not None:
            store.write_trial(task.trial, task.experiments, trial_rows, seconds=seconds)
        rows.extend(trial_rows)

    if store is None:
        return _tidy(rows, experiments)
    df = store.rows(indices=[int(t["index"]) for t in trials], experiments=experiments)
    store.write_tables(df)
    return df


def _tidy(rows: Iterable[dict[str, Any]], experiments: Sequence[str]) -> pd.DataFrame:
    df = pd.DataFrame([r for r in rows if r["experiment"] in experiments], columns=list(ROW_COLUMNS))
    if not df.empty:
        df = df.sort_values(["experiment", "trial", "method", "n_fft", "metric"], kind="stable")
    return df.reset_index(drop=True)


def experiment_results(
    experiment: str,
    settings: dict[str, Any],
    out: str | os.PathLike | None = None,
    results_from: str | os.PathLike | None = None,
    workers: int = 1,
    scheduler: Any = None,
    progress: bool = True,
    threads: int | None = None,
) -> pd.DataFrame:
    """Rows of one experiment: read from ``results_from`` if given, else computed.

    With a store (``out``) both experiments are computed, so that the other chapter
    pointed at the same store finds its trials done: a trial's dictionaries are the
    bulk of its cost, and separation or KL on top of them costs little.

    Raises:
        ValueError: the store at ``results_from`` holds no rows of ``experiment``.
    """
    if results_from is None:
        wanted = (experiment,) if out is None else EXPERIMENTS
        df = run_experiments(settings, wanted, out=out, workers=workers,
                             scheduler=scheduler, progress=progress, threads=threads)
        return df[df["experiment"] == experiment].reset_index(drop=True)
    df = load_results(results_from, experiments=[experiment])
    if df.empty:
        raise ValueError(
            f"The results store {results_from} holds no {experiment} trials; run "
            f"`innmf reproduce --experiment {experiment} --out {results_from}` first."
        )
    return df
