"""Experiment runners: resume after a crash, refusal of other settings, Dask = serial.

Issue 7's tests. Real trials run on the embedded corpus with tiny settings (a few
iterations, short audio) so that the whole file stays well under a minute.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from innmf.experiments import load_results, run_experiments
from innmf.experiments.parallel import limited_threads
from innmf.experiments.store import ResultsStore
from innmf.experiments.trial import METHODS, run_trial, run_trial_task, trial_seed, window_sizes
from innmf.experiments.settings import get_profile

TINY = dict(
    n_trials=2, train_seconds=3.0, test_seconds=2.0, n_ffts=[1000, 2000], extra_n_ffts=[512],
    rank=4, nmf_iter=15, hidden=8, inr_epochs=8, refit_epochs=6, sep_epochs=4,
)
CALLS: list[int] = []


def tiny_settings(**more):
    return get_profile("smoke", **{**TINY, **more})


def counting_trial(task):
    CALLS.append(int(task.trial["index"]))
    return run_trial_task(task)


def crash_on_second_trial(task):
    if int(task.trial["index"]) == 1:
        raise KeyboardInterrupt("simulated kill during trial 1")
    return counting_trial(task)


def fake_trial(task):
    """Cheap stand-in with the real row format, for bookkeeping tests."""
    CALLS.append(int(task.trial["index"]))
    i = int(task.trial["index"])
    rows = [
        {"trial": i, "trial_key": task.trial["key"], "speakers": "x+y", "experiment": e,
         "method": m, "n_fft": 1000, "metric": "kl" if e == "reconstruction" else "sdr",
         "value": float(i + j)}
        for e in task.experiments for j, m in enumerate(("NMF", "iN-NMF"))
    ]
    return rows, 0.0


def must_not_run(task):
    raise AssertionError(f"trial {task.trial['index']} was recomputed")


@pytest.fixture(autouse=True)
def _reset_calls():
    CALLS.clear()


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """Both experiments, two real trials, in this process (the reference numbers).

    One thread, like a parallel worker: sums split across threads round
    differently, so only equal thread counts give bit-identical numbers.
    """
    out = tmp_path_factory.mktemp("serial")
    df = run_experiments(tiny_settings(), ["all"], out=out, progress=False, threads=1)
    return out, df


def test_serial_rows_are_complete_and_paired(serial):
    _, df = serial
    sizes = window_sizes(tiny_settings())
    assert set(df["trial"]) == {0, 1}
    assert set(df["method"]) == {"NMF", "iN-NMF", "NMF-interp", "NMF-resample"} == set(METHODS)
    kl = df[df["experiment"] == "reconstruction"]
    assert set(kl["metric"]) == {"kl"} and len(kl) == 2 * len(METHODS) * len(sizes)
    sep = df[df["experiment"] == "separation"]
    assert set(sep["metric"]) == {"sdr", "sir", "sar", "stoi"}
    assert len(sep) == 2 * len(METHODS) * len(sizes) * 4
    assert np.all(np.isfinite(df["value"])) and (kl["value"] > 0).all()
    # paired: both methods on exactly the same trials and speakers
    pairs = df.groupby("method")[["trial", "speakers"]].apply(lambda g: set(map(tuple, g.values)))
    assert pairs["NMF"] == pairs["iN-NMF"] == pairs["NMF-interp"] == pairs["NMF-resample"]


@pytest.mark.parametrize("experiment", ["reconstruction", "separation"])
def test_one_experiment_alone_gives_the_same_numbers(serial, experiment):
    ref = serial[1]
    ref = ref[(ref["trial"] == 0) & (ref["experiment"] == experiment)].reset_index(drop=True)
    trial = ResultsStore(serial[0], tiny_settings()).load_trial(0)["trial"]
    with limited_threads(1):
        rows = run_trial(tiny_settings(), trial, [experiment])
    df = pd.DataFrame(rows).sort_values(["method", "n_fft", "metric"], kind="stable")
    pd.testing.assert_frame_equal(df.reset_index(drop=True), ref[df.columns], check_exact=True)


def test_store_tables_match_rows(serial):
    out, df = serial
    per_trial = pd.read_csv(out / "per_trial.csv")
    assert len(per_trial) == len(df)
    np.testing.assert_array_equal(np.sort(per_trial["value"]), np.sort(df["value"]))
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["trials"]) == {2}
    pd.testing.assert_frame_equal(load_results(out), df)


def test_interrupted_run_resumes_without_recomputing(serial, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run_experiments(tiny_settings(), ["all"], out=tmp_path, progress=False,
                        trial_fn=crash_on_second_trial, threads=1)
    assert CALLS == [0]
    first = tmp_path / "trials" / "00000.json"
    assert first.exists() and not (tmp_path / "trials" / "00001.json").exists()
    stamp, content = first.stat().st_mtime_ns, first.read_bytes()

    CALLS.clear()
    df = run_experiments(tiny_settings(), ["all"], out=tmp_path, progress=False,
                         trial_fn=counting_trial, threads=1)
    assert CALLS == [1]  # trial 0 was not recomputed
    assert first.stat().st_mtime_ns == stamp and first.read_bytes() == content
    pd.testing.assert_frame_equal(df, serial[1])  # same seeds, same numbers

    # everything finished: a third run computes nothing
    run_experiments(tiny_settings(), ["all"], out=tmp_path, progress=False, trial_fn=must_not_run)


def test_store_made_with_other_settings_is_refused(serial):
    out, _ = serial
    with pytest.raises(ValueError, match=r"nmf_iter.*another --out"):
        run_experiments(tiny_settings(nmf_iter=16), ["all"], out=out, progress=False,
                        trial_fn=must_not_run)


def test_dask_cluster_matches_serial(serial, tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        df = run_experiments(tiny_settings(), ["all"], out=tmp_path, progress=False,
                             scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(df, serial[1], check_exact=True)  # same seeds, same numbers


def test_more_trials_extend_a_store_and_experiments_accumulate(tmp_path):
    run_experiments(tiny_settings(n_trials=1), ["reconstruction"], out=tmp_path,
                    progress=False, trial_fn=fake_trial)
    assert CALLS == [0]
    CALLS.clear()
    df = run_experiments(tiny_settings(n_trials=2), ["reconstruction"], out=tmp_path,
                         progress=False, trial_fn=fake_trial)
    assert CALLS == [1] and set(df["trial"]) == {0, 1}
    CALLS.clear()
    # separation on top: each trial recomputed once for both, so a file stays self-consistent
    df = run_experiments(tiny_settings(n_trials=2), ["separation"], out=tmp_path,
                         progress=False, trial_fn=fake_trial)
    assert sorted(CALLS) == [0, 1] and set(df["experiment"]) == {"separation"}
    with ResultsStore(tmp_path, tiny_settings()) as store:  # holds the writer's lock until closed
        assert store.stored_experiments(0) == ["reconstruction", "separation"]
    # returned rows are the requested trials only, even if the store holds more
    df = run_experiments(tiny_settings(n_trials=1), ["all"], out=tmp_path, progress=False,
                         trial_fn=must_not_run)
    assert set(df["trial"]) == {0} and set(df["experiment"]) == {"reconstruction", "separation"}


def test_trial_seeds_depend_on_trial_not_order():
    assert trial_seed(0, 3, 1) == trial_seed(0, 3, 1)
    seeds = {trial_seed(s, i, k) for s in (0, 1) for i in range(20) for k in (1, 2)}
    assert len(seeds) == 80 and all(0 <= v < 2**31 for v in seeds)


def test_bad_experiment_and_trial_count():
    with pytest.raises(ValueError, match="Unknown experiment"):
        run_experiments(tiny_settings(), ["reconstructon"], progress=False)
    with pytest.raises(ValueError, match="n_trials"):
        run_experiments(tiny_settings(n_trials=0), ["all"], progress=False)


def test_chapters_sharing_a_store_compute_each_trial_once(tmp_path, monkeypatch):
    from innmf.experiments import experiment_results
    from innmf.experiments import trial as trial_mod

    seen = []

    def fake_run_trial(settings, trial, experiments, corpus=None):
        seen.append(tuple(experiments))
        task = trial_mod.TrialTask(settings, trial, tuple(experiments))
        return fake_trial(task)[0]

    monkeypatch.setattr(trial_mod, "run_trial", fake_run_trial)
    kl = experiment_results("reconstruction", tiny_settings(), out=tmp_path, progress=False)
    assert seen == [("reconstruction", "separation")] * 2 and set(kl["metric"]) == {"kl"}
    sep = experiment_results("separation", tiny_settings(), out=tmp_path, progress=False)
    assert len(seen) == 2 and set(sep["metric"]) == {"sdr"}
    read = experiment_results("separation", tiny_settings(), results_from=tmp_path)
    pd.testing.assert_frame_equal(read, sep)
    # without a store only the chapter's own experiment is computed
    experiment_results("separation", tiny_settings(n_trials=1), progress=False)
    assert seen[-1] == ("separation",)


def test_reading_a_store_without_the_experiment_is_an_error(tmp_path):
    from innmf.experiments import experiment_results

    run_experiments(tiny_settings(n_trials=1), ["reconstruction"], out=tmp_path,
                    progress=False, trial_fn=fake_trial)
    with pytest.raises(ValueError, match="no separation trials"):
        experiment_results("separation", tiny_settings(), results_from=tmp_path)
