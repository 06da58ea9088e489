"""Local execution of independent tasks: serial, spawned processes, argument checks."""

from __future__ import annotations

import os

import pytest

from innmf.experiments.parallel import map_unordered


def square_and_threads(x: int) -> tuple[int, int, int]:
    import torch

    return x * x, torch.get_num_threads(), os.getpid()


def failing(x: int) -> int:
    if x == 2:
        raise RuntimeError("task 2 failed")
    return x


def test_serial_runs_in_order_in_this_process():
    out = list(map_unordered(square_and_threads, [3, 1, 2], progress=False))
    assert [task for task, _ in out] == [3, 1, 2]
    assert [r[0] for _, r in out] == [9, 1, 4]
    assert {r[2] for _, r in out} == {os.getpid()}


def test_processes_return_every_task_single_threaded():
    out = dict(map_unordered(square_and_threads, [1, 2, 3, 4], workers=2, progress=False))
    assert {k: v[0] for k, v in out.items()} == {1: 1, 2: 4, 3: 9, 4: 16}
    assert {v[1] for v in out.values()} == {1}  # one torch thread per worker
    assert os.getpid() not in {v[2] for v in out.values()}


def test_threads_apply_to_serial_runs_and_are_restored():
    import torch

    before = torch.get_num_threads()
    out = list(map_unordered(square_and_threads, [2], threads=1, progress=False))
    assert out[0][1][1] == 1 and torch.get_num_threads() == before
    out = list(map_unordered(square_and_threads, [2], progress=False))
    assert out[0][1][1] == before  # default: the process's own setting
    with pytest.raises(ValueError, match="threads"):
        list(map_unordered(square_and_threads, [2], threads=0, progress=False))


def test_failures_surface_after_finished_tasks():
    seen = []
    with pytest.raises(RuntimeError, match="task 2 failed"):
        for task, result in map_unordered(failing, [0, 1, 2, 3], progress=False):
            seen.append(result)
    assert seen == [0, 1]


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_bad_worker_counts(workers):
    with pytest.raises(ValueError, match="workers"):
        list(map_unordered(failing, [0], workers=workers, progress=False))


def test_workers_and_scheduler_are_exclusive():
    with pytest.raises(ValueError, match="not both"):
        list(map_unordered(failing, [0], workers=2, scheduler="tcp://127.0.0.1:1", progress=False))


def test_unreachable_scheduler_is_a_clear_error():
    import dask
    import distributed  # noqa: F401  (load its defaults first, or leaving set() drops them)

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(ValueError, match="Dask scheduler"):
            list(map_unordered(failing, [0], scheduler="tcp://127.0.0.1:9", progress=False))


def test_no_tasks():
    assert list(map_unordered(failing, [], workers=2, progress=False)) == []


def _sleep_then_pid(seconds: float) -> int:
    import time

    time.sleep(seconds)
    return os.getpid()


def test_stopping_early_stops_the_workers():
    import multiprocessing
    import time

    results = map_unordered(_sleep_then_pid, [0.0, 60.0, 60.0], workers=2, progress=False)
    task, pid = next(results)  # the quick task; two slow ones are still running or queued
    assert task == 0.0 and pid != os.getpid()
    start = time.perf_counter()
    results.close()  # e.g. Ctrl-C or SIGTERM in `innmf reproduce`
    assert time.perf_counter() - start < 30, "closing waited for abandoned tasks"
    assert not multiprocessing.active_children()
