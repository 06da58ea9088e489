"""Run independent tasks serially, in local processes or on a Dask cluster.

Used by ``run_experiments`` (``innmf reproduce --workers N --scheduler ADDRESS``).
Results come back to the calling process as each task finishes, so the caller alone
writes the results store. A task's numbers never depend on where it runs: every
trial derives its seeds from (seed, trial index), and parallel workers use one
torch and one BLAS thread each (so workers do not fight for the same cores, and the
numbers are the same with 2 workers or 200, and equal to a serial run with
``threads=1``).

Local workers die with their parent whatever kills it (SIGKILL included): on Linux
the kernel sends them SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``), and
everywhere a watcher thread in each worker exits when its parent is gone, so no
worker computes a trial that nobody will store. Workers ignore Ctrl-C: the parent
alone handles it (one line, see ``innmf reproduce``) and stops them.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Iterator, Sequence

from tqdm.auto import tqdm


@contextlib.contextmanager
def limited_threads(threads: int) -> Iterator[None]:
    """Run the body with ``threads`` torch and BLAS threads, restoring the old counts after."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        with threadpool_limits(limits=int(threads)):
            yield
    finally:
        torch.set_num_threads(before)


def with_threads(fn: Callable[[Any], Any], threads: int, task: Any) -> Any:
    """Call ``fn(task)`` with ``threads`` torch and BLAS threads (a worker's share).

    With equal thread counts every worker computes the same float sums in the same
    order, so results are bit-identical whatever the number of workers; other
    thread counts change them only at float rounding (about 1e-7 relative).
    """
    with limited_threads(threads):
        return fn(task)


PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 0.5
"""How often a worker's watcher thread checks that its parent is alive."""


def _die_with_parent(parent_pid: int) -> None:
    """Worker initializer: exit when the parent process ``parent_pid`` dies, however it dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group: the parent handles it
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl (e.g. musl without it): the watcher suffices
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="innmf-parent-watch", daemon=True).start()


DASK_PORT = 8786
"""The port of a Dask scheduler address that names none (Dask's default)."""
SCHEDULER_PROBE_SECONDS = 10.0
"""How long :func:`check_scheduler` waits for a scheduler's port to answer."""


def check_workers(workers: int, scheduler: Any = None) -> None:
    """Refuse a bad worker count, both local workers and a cluster, or a scheduler nothing answers at.

    Called by ``run_experiments`` before it writes anything, so a refused run leaves no
    store folder behind (``innmf reproduce --scheduler ADDRESS``).

    Raises:
        ValueError: ``workers`` is not a positive integer, both ``workers`` > 1 and ``scheduler``,
            or ``scheduler`` is an address nothing listens at (see :func:`check_scheduler`).
    """
    _validate(workers, scheduler)
    check_scheduler(scheduler)


def check_scheduler(scheduler: Any, timeout: float = SCHEDULER_PROBE_SECONDS) -> None:
    """Refuse a Dask scheduler address whose port does not answer, in one line, before any work.

    Only ``tcp://`` and ``tls://`` addresses (and ``HOST:PORT``, which Dask reads as tcp)
    are probed, with a plain TCP connection; a connected ``Client`` and other transports
    are left to Dask.

    Args:
        scheduler: None, a ``dask.distributed.Client`` or an address such as ``tcp://10.0.0.1:8786``.
        timeout: seconds to wait for the connection.

    Raises:
        ValueError: the address is malformed, or nothing accepts a connection there.
    """
    if not isinstance(scheduler, str):
        return
    parts = urllib.parse.urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    if parts.scheme not in ("tcp", "tls"):
        return
    try:
        host, port = parts.hostname, parts.port or DASK_PORT
    except ValueError:  # a port that is not a number from 0 to 65535
        host, port = None, None
    if not host or not port:
        raise ValueError(f"--scheduler {scheduler!r} is not a Dask scheduler address; give tcp://HOST:PORT "
                         f"(e.g. tcp://10.0.0.1:{DASK_PORT}), as `dask scheduler` prints it.")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        raise _unreachable(scheduler, err) from None


def _unreachable(scheduler: Any, err: OSError) -> ValueError:
    reason = err.strerror or str(err) or type(err).__name__
    return ValueError(f"Cannot reach a Dask scheduler at {scheduler!r} ({reason}); start one with "
                      "`dask scheduler` and `dask worker ADDRESS`, or drop --scheduler.")


def _validate(workers: int, scheduler: Any) -> None:
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}.")
    if scheduler is not None and workers != 1:
        raise ValueError(
            "Give either --workers (local processes) or --scheduler (a Dask cluster), not both: "
            "the cluster decides how many workers run."
        )


def map_unordered(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    workers: int = 1,
    scheduler: Any = None,
    progress: bool = True,
    desc: str = "trials",
    threads: int | None = None,
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(task, fn(task))`` for every task, in the order they finish.

    Args:
        fn: a picklable top-level function of one task.
        tasks: the tasks (picklable).
        workers: 1 runs in this process; N > 1 runs N spawned processes.
        scheduler: address of a running Dask scheduler (``tcp://host:8786``) or a
            ``dask.distributed.Client``; tasks then run on that cluster's workers.
        progress: show a progress bar over tasks.
        desc: label of the progress bar.
        threads: torch and BLAS threads per task. Default: the process's own
            setting when ``workers == 1``, else 1 (N workers share the cores). On a
            small shared machine 1 is often fastest: torch's threads spin-wait on
            the small matrices of one trial.

    Returns:
        An iterator of (task, result) pairs; an exception in a task is raised here
        after the tasks already finished have been yielded.

    Raises:
        ValueError: bad ``workers`` or ``threads``, or both ``workers`` > 1 and ``scheduler``.
    """
    _validate(workers, scheduler)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}.")
    parallel = scheduler is not None or workers > 1
    if parallel or threads is not None:
        fn = functools.partial(with_threads, fn, threads or 1)
    bar = tqdm(total=len(tasks), desc=desc, disable=not progress or not tasks)
    try:
        if not tasks:
            return
        if scheduler is not None:
            yield from _dask(fn, tasks, scheduler, bar)
        elif workers == 1:
            for task in tasks:
                result = fn(task)
                bar.update()
                yield task, result
        else:
            yield from _processes(fn, tasks, workers, bar)
    finally:
        bar.close()


def _processes(fn: Callable, tasks: Sequence[Any], workers: int, bar: Any) -> Iterator:
    # spawn, not fork: forking a process that has started torch threads can deadlock
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx,
                               initializer=_die_with_parent, initargs=(os.getpid(),))
    futures: dict = {}
    finished = False
    try:
        futures = {pool.submit(fn, task): task for task in tasks}
        for future in as_completed(futures):
            result = future.result()
            bar.update()
            yield futures[future], result
        finished = True
    finally:
        if not finished:
            # interrupted (Ctrl-C, SIGTERM via the CLI, an error, or the consumer stopped):
            # stop the workers now rather than let them finish trials nobody will store
            for future in futures:
                future.cancel()
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


def _dask(fn: Callable, tasks: Sequence[Any], scheduler: Any, bar: Any) -> Iterator:
    from dask.distributed import Client, as_completed as dask_completed

    own_client = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler) if own_client else scheduler
    except OSError as err:
        raise _unreachable(scheduler, err) from err
    try:
        # pure=False: identical tasks must still run (and Dask must not merge keys)
        futures = [client.submit(fn, task, pure=False) for task in tasks]
        owner = {f.key: task for f, task in zip(futures, tasks)}
        try:
            for future in dask_completed(futures):
                result = future.result()
                bar.update()
                yield owner[future.key], result
                future.release()
        finally:
            client.cancel([f for f in futures if not f.done()])
    finally:
        if own_client:
            client.close()
