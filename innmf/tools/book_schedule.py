"""Executing the book's chapters side by side: which chapter waits for which, and a process pool.

Chapters are independent of each other except through the book's speech results store:
every chapter whose ``parameters`` cell defines ``results_dir`` reads (or computes) the
trials of the store for its settings. The first of them in book order computes the trials;
the others start only when it has finished, and then read them instead of computing them a
second time. Every other chapter starts as soon as a process is free, in book order.

Each chapter runs in its own process (its kernel is a child of that process), because
:func:`innmf.tools.book_execute.execute_chapter` sets ``$INNMF_ROOT`` for its kernel. The
numbers a chapter shows do not depend on what runs beside it: every fit is seeded and runs on
the threads its chapter asks for. Used by ``innmf book --jobs N`` (:mod:`innmf.tools.book`).
"""

from __future__ import annotations

import multiprocessing
import resource
import signal
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

STORE_PARAMETER = "results_dir"
"""A chapter whose parameters cell defines this reads the book's shared speech results store."""


def store_dependencies(sources: list[Path], names: dict[Path, set[str]] | None = None) -> dict[Path, Path | None]:
    """Which chapter each chapter waits for (None: none).

    Args:
        sources: the chapters to execute, in book order.
        names: each chapter's parameter names, when already read
            (:func:`innmf.tools.book_execute.parameter_names`).

    Returns:
        For each chapter, the first chapter before it that shares the speech results store
        (when both define ``results_dir``), else None.
    """
    from innmf.tools.book_execute import parameter_names

    first: Path | None = None
    after: dict[Path, Path | None] = {}
    for source in sources:
        shares = STORE_PARAMETER in (names[source] if names is not None else parameter_names(source))
        after[source] = first if shares else None
        if shares and first is None:
            first = source
    return after


def children_cpu_seconds() -> float:
    """CPU seconds (user and system) of this process's finished children and their descendants.

    A chapter's kernel is a child of the process executing it, and the kernel's worker
    processes are the kernel's children, so the difference across one execution is the
    chapter's whole CPU time, whatever else shares the machine.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _ignore_interrupts() -> None:
    # idle pool processes must not die with a traceback on Ctrl-C; a running chapter restores it
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _interruptible(work: Callable[[Path], T], source: Path) -> T:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return work(source)
    finally:
        signal.signal(signal.SIGINT, previous)


def run_side_by_side(sources: list[Path], after: dict[Path, Path | None], jobs: int,
                     work: Callable[[Path], T], on_done: Callable[[Path, T], None] | None = None) -> dict[Path, T]:
    """Run ``work(source)`` for every chapter on ``jobs`` processes, each after the chapter it waits for.

    Args:
        sources: the chapters, in book order (the order in which ready chapters start).
        after: :func:`store_dependencies`; a chapter waiting for one not in ``sources`` starts at once.
        jobs: processes running chapters at once.
        work: a picklable function of one chapter (a module-level function or a partial of one).
        on_done: called in this process with each chapter and its result as it finishes.

    Returns:
        Each chapter's result.

    Raises:
        The first failure's exception, once the chapters already running have finished (their
        results are kept by ``work``, e.g. in the notebook cache); no further chapter starts.
    """
    waiting = {s: after.get(s) if after.get(s) in sources else None for s in sources}
    results: dict[Path, T] = {}
    running: dict[Future[Any], Path] = {}
    failure: BaseException | None = None
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context, initializer=_ignore_interrupts) as pool:
        try:
            while waiting or running:
                if failure is None:
                    for source in [s for s, first in waiting.items() if first is None or first in results]:
                        del waiting[source]
                        running[pool.submit(_interruptible, work, source)] = source
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    source = running.pop(future)
                    if future.exception() is not None:
                        failure = failure or future.exception()
                    else:
                        results[source] = future.result()
                        if on_done is not None:
                            on_done(source, results[source])
        except KeyboardInterrupt:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    if failure is not None:
        raise failure
    return results
