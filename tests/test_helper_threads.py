"""The compiled kernels' helper threads survive fork: a forked child gets a pool of its own."""

import multiprocessing as mp

import pytest

from innmf.accel.runtime import helper_threads


def _child(q):
    q.put(helper_threads(1).submit(lambda: 2).result(timeout=20))


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="no fork on this platform")
def test_a_pool_used_before_fork_still_runs_tasks_in_the_child():
    assert helper_threads(1).submit(lambda: 1).result(timeout=20) == 1
    assert helper_threads(1) is helper_threads(1)  # one pool per process and size
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    p.join(60)
    assert p.exitcode == 0 and q.get(timeout=5) == 2
