"""Run the speech experiments over many trials, resumably, serially or in parallel.

``run_experiments`` is what ``innmf reproduce`` and the chapters "Reconstruction
across window sizes" and "Separating two speakers" call. With ``out`` every
finished trial goes to a results store at once (``innmf.experiments.store``), and a
re-run skips the trials already there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Callable, Iterable, Sequence

import pandas as pd

from innmf.experiments.parallel import check_workers, map_unordered
from innmf.experiments.settings import Settings
from innmf.experiments.store import ROW_COLUMNS, ResultsStore, check_out_folder, load_results
from innmf.experiments.trial import (
    EXPERIMENTS,
    TrialTask,
    cached_corpus,
    check_experiments,
    listening_sizes,
    run_trial_task,
)


def draw_trials(settings: Mapping[str, Any], corpus: Any = None) -> list[Any]:
    """The trials of a run: ``n_trials`` speaker pairs drawn from the corpus with ``seed``.

    Args:
        settings: run settings (``corpus``, ``n_trials``, ``seed``, ``train_seconds``,
            ``test_seconds``, ``sex_pairing``); a mapping is checked as :class:`Settings`.
        corpus: an already loaded corpus (default: load ``settings.corpus``).

    Returns:
        A list of ``innmf.data.Trial``.
    """
    from innmf.data import make_trials

    settings = Settings.from_mapping(settings)
    corpus = cached_corpus(settings.corpus) if corpus is None else corpus
    return make_trials(
        corpus,
        settings.n_trials,
        seed=settings.seed,
        train_seconds=settings.train_seconds,
        test_seconds=settings.test_seconds,
        pairing=settings.sex_pairing,
    )


def run_experiments(
    settings: Mapping[str, Any],
    experiments: Sequence[str] = ("reconstruction", "separation"),
    out: str | os.PathLike | None = None,
    workers: int = 1,
    scheduler: Any = None,
    progress: bool = True,
    threads: int | None = None,
    keep_signals: Iterable[int] = (),
    trial_fn: Callable[[TrialTask], tuple[Any, ...]] = run_trial_task,
    only: Sequence[int] | None = None,
    batched: bool = False,
    batch_trials: int | None = None,
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
        threads: torch and BLAS threads per trial, replacing the settings' ``threads``
            (and so part of the store's settings: they change iN-NMF's rounding).
            Equal threads give bit-identical numbers serially, in processes or on a
            cluster; 1 is the fastest on a small shared machine (torch's threads
            spin-wait on one trial's small matrices).
        keep_signals: indices of trials whose separated signals at
            :func:`~innmf.experiments.trial.listening_sizes` are kept in the store
            beside their rows, as they are computed (chapter "Separating two speakers"
            plays them; :mod:`innmf.experiments.store_signals`). Only with ``out``
            and the separation experiment; a trial already stored is not recomputed.
        trial_fn: the per-trial function (a picklable top-level function; tests
            replace it to count or interrupt work): ``(rows, seconds)``, and the
            signals third for a task with ``listen`` sizes.
        only: indices of the draw's trials to run and return (default: all
            ``0 .. n_trials-1``); each is the same trial, with the same seeds, as in a
            full run (the INR design study runs a subset covering every speaker).
        batched: train the iN-NMF networks of all trials to compute as one grouped model
            (:mod:`innmf.experiments.batched`, for accelerators); the same store, its
            iN-NMF numbers equal within float rounding, NMF's bit for bit. In this
            process only: not with ``workers`` > 1, ``scheduler`` or ``trial_fn``.
        batch_trials: with ``batched``, trials whose networks train together (None: all).

    Returns:
        Tidy per-trial rows (columns ``trial, trial_key, speakers, experiment,
        method, n_fft, metric, value``) of the trials ``0 .. n_trials-1``, the same
        whatever ``workers`` or ``scheduler``: seeds derive from seed and trial index,
        so numbers are bit-identical at equal ``threads``; other thread counts round
        differently (iN-NMF's SDR by up to ~0.15 dB per trial), hence their own store.

    Raises:
        ValueError: bad settings or corpus (before any file is written), or a store at
            ``out`` that is busy, damaged or made with other settings or audio.
    """
    from innmf.data.identity import audit_trials

    experiments = check_experiments(experiments)
    check_workers(workers, scheduler)
    # Everything is checked before any file is written: a rejected run leaves nothing behind.
    settings = Settings.from_mapping(settings)
    if threads is not None:
        settings = settings.replace(threads=threads)  # threads change iN-NMF's rounding: part of the hash
    if batched:
        from innmf.experiments.batched import check_batched

        check_batched(settings, workers, scheduler, trial_fn, batch_trials)
    if out is not None:
        check_out_folder(out)
    corpus = cached_corpus(settings.corpus)
    trials = draw_trials(settings, corpus)
    if only is not None:
        wanted = sorted({int(i) for i in only})
        missing = [i for i in wanted if not 0 <= i < len(trials)]
        if not wanted or missing:
            raise ValueError(f"only={list(only)} must name trials of the draw, 0 .. {len(trials) - 1}; "
                             "raise n_trials to reach higher indices.")
        trials = [t for t in trials if int(t.index) in wanted]
    audio = audit_trials(corpus, trials)  # silent or identical audio fails now, not mid-run
    records = [t.to_dict() for t in trials]
    if out is None:
        tasks = [TrialTask(settings, trial, experiments) for trial in records]
        rows = [r for _, (trial_rows, _) in _run(trial_fn, tasks, workers, scheduler, progress, settings,
                                                 batched, batch_trials)
                for r in trial_rows]
        return _tidy(rows, experiments)

    kept = {int(i) for i in keep_signals}
    with ResultsStore(out, settings, corpus_spec=corpus.spec) as store:
        todo: list[TrialTask] = []
        for trial in records:
            speakers = {s: audio[s] for s in trial["speakers"]}
            if store.is_done(trial, experiments, audio=speakers):
                continue
            # A trial stored for one experiment is recomputed for the union, so that its
            # file always holds everything computed from the same dictionaries.
            done = store.stored_experiments(int(trial["index"]))
            union = check_experiments([*done, *experiments])
            listen = tuple(listening_sizes(settings)) if int(trial["index"]) in kept and "separation" in union else ()
            todo.append(TrialTask(settings, trial, union, listen))
        for task, (trial_rows, seconds, *signals) in _run(trial_fn, todo, workers, scheduler, progress, settings,
                                                          batched, batch_trials):
            store.write_trial(task.trial, task.experiments, trial_rows, seconds=seconds,
                              audio={s: audio[s] for s in task.trial["speakers"]})
            if signals and signals[0]:  # after the rows: a trial killed between the two is replayed, not lost
                store.write_signals(task.trial, signals[0])
        df = store.rows(indices=[int(t["index"]) for t in records], experiments=experiments)
        store.write_tables(df)
    return df


def _run(trial_fn: Callable, tasks: list[TrialTask], workers: int, scheduler: Any, progress: bool,
         settings: Settings, batched: bool = False, batch_trials: int | None = None) -> Iterable[tuple[TrialTask, Any]]:
    if batched:
        from innmf.experiments.batched import run_batched

        return run_batched(tasks, settings, progress, batch_trials)
    return map_unordered(trial_fn, tasks, workers=workers, scheduler=scheduler, progress=progress,
                         threads=settings.threads)


def _tidy(rows: Iterable[dict[str, Any]], experiments: Sequence[str]) -> pd.DataFrame:
    df = pd.DataFrame([r for r in rows if r["experiment"] in experiments], columns=list(ROW_COLUMNS))
    if not df.empty:
        df = df.sort_values(["experiment", "trial", "method", "n_fft", "metric"], kind="stable")
    return df.reset_index(drop=True)


def experiment_results(
    experiment: str,
    settings: Mapping[str, Any],
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
