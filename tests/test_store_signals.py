"""A trial's separated signals kept in the results store (issue 25): the replay's, bit for bit, and safe.

Chapter "Separating two speakers" plays the signals its listen trial scored, kept beside
the trial's rows when the trial was computed, instead of training the trial's models
again. What is kept must be what a replay gives, bit for bit (real tiny trials, in this
process and in worker processes), and the file must survive the faults a trial file
survives: damaged, foreign or misplaced files are refused by name with the fix,
leftovers of a killed write are removed, a kept file is never replaced, and reading
writes nothing.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from innmf.chapters import trial_signals
from innmf.experiments import draw_trials, run_experiments
from innmf.experiments.parallel import limited_threads
from innmf.experiments.settings import get_profile
from innmf.experiments.store import ResultsStore, StoreError
from innmf.experiments.store_signals import load_signals, signals_path
from innmf.experiments.trial import listening_sizes, replay_separation

TINY = dict(n_trials=2, train_seconds=3.0, test_seconds=2.0, n_ffts=[1000, 2000], extra_n_ffts=[512],
            rank=4, nmf_iter=15, hidden=8, inr_epochs=8, refit_epochs=6, sep_epochs=4)


def tiny(**more):
    return get_profile("smoke", **{**TINY, **more})


def fake_trial(task):
    """Real row format, made-up numbers and signals: cheap bookkeeping."""
    i = int(task.trial["index"])
    rows = [{"trial": i, "trial_key": task.trial["key"], "speakers": "+".join(task.trial["speakers"]),
             "experiment": e, "method": "NMF", "n_fft": 1000, "metric": "kl" if e == "reconstruction" else "sdr",
             "value": float(i)} for e in task.experiments]
    if not task.listen:
        return rows, 0.0
    rng = np.random.default_rng(i)
    return rows, 0.0, {n: {"NMF": [rng.standard_normal(50), rng.standard_normal(50)]} for n in task.listen}


def assert_same(kept, replayed):
    assert set(kept) == set(replayed)
    for n in replayed:
        assert set(kept[n]) == set(replayed[n])
        for method, estimates in replayed[n].items():
            assert len(kept[n][method]) == len(estimates) == 2
            for got, want in zip(kept[n][method], estimates):
                assert got.dtype == want.dtype and np.array_equal(got, want), (n, method)


@pytest.fixture()
def store(tmp_path):
    """A finished two-trial store (made-up numbers) keeping trial 1's signals."""
    out = tmp_path / "store"
    run_experiments(tiny(), ["all"], out=out, progress=False, trial_fn=fake_trial, keep_signals=(1,))
    return out


@pytest.mark.parametrize("workers", [1, 2])
def test_kept_signals_are_the_replay_bit_for_bit(tmp_path, workers):
    settings = tiny(n_trials=1)  # workers=2: one spawned worker
    run_experiments(settings, ["all"], out=tmp_path, workers=workers, progress=False, keep_signals=(0,))
    kept = load_signals(tmp_path, 0)
    trial = draw_trials(settings)[0]
    with limited_threads(settings["threads"]):  # as the chapter (use_threads) and the workers
        _, replayed = replay_separation(settings, trial, sizes=listening_sizes(settings))
    assert sorted(kept) == listening_sizes(settings) == [1000, 2000]
    assert_same(kept, replayed)


def test_the_chapter_reads_kept_signals_and_replays_only_without_them(store, monkeypatch):
    import innmf.experiments.trial as trial_mod

    replays = []

    def fake_replay(settings, trial, sizes=None, corpus=None):
        replays.append(int(trial.index))
        return "audio", {n: {"NMF": [np.zeros(3), np.ones(3)]} for n in sizes}

    monkeypatch.setattr(trial_mod, "replay_separation", fake_replay)
    trial, _, signals = trial_signals(tiny(), 1, results_dir=store)
    assert int(trial.index) == 1 and replays == [] and sorted(signals) == [1000, 2000]
    # trial 0 kept nothing: replayed once, then kept beside its rows for the next build
    _, audio, signals = trial_signals(tiny(), 0, results_dir=store)
    assert replays == [0] and audio == "audio"
    assert_same(load_signals(store, 0), signals)
    trial_signals(tiny(), 0, results_dir=store)
    assert replays == [0]
    # a store only read (results_from) is replayed from and never written to
    signals_path(store / "trials", 0).unlink()
    trial_signals(tiny(), 0, results_from=store)
    assert replays == [0, 0] and not signals_path(store / "trials", 0).exists()


def test_a_kept_file_is_written_once(store):
    path = signals_path(store / "trials", 1)
    before = path.read_bytes()
    trial = draw_trials(tiny())[1].to_dict()
    with ResultsStore(store, tiny()) as writer:
        assert writer.write_signals(trial, {1000: {"NMF": [np.zeros(4), np.zeros(4)]}}) is False
    assert path.read_bytes() == before
    # a run that resumes the finished store neither recomputes nor rewrites
    run_experiments(tiny(), ["all"], out=store, progress=False, trial_fn=fake_trial, keep_signals=(0, 1))
    assert path.read_bytes() == before and load_signals(store, 0) is None


def test_a_closed_store_refuses_to_write(store):
    writer = ResultsStore(store, tiny())
    writer.close()
    with pytest.raises(StoreError, match="was closed"):
        writer.write_signals(draw_trials(tiny())[0].to_dict(), {})


@pytest.mark.parametrize("kind", ["empty", "truncated", "garbage", "not an archive of signals"])
def test_a_damaged_file_is_named_with_the_fix(store, kind):
    path = signals_path(store / "trials", 1)
    data = path.read_bytes()
    if kind == "not an archive of signals":
        np.savez(path.with_suffix(".tmp.npz"), meta=np.array("[1, 2]"))
        path.with_suffix(".tmp.npz").replace(path)
    else:
        path.write_bytes({"empty": b"", "truncated": data[: len(data) // 2], "garbage": b"\x89PNG not a zip"}[kind])
    with pytest.raises(StoreError, match=rf"{path} is damaged .*delete it: the chapter replays the trial"):
        load_signals(store, 1)


def test_a_foreign_or_misplaced_file_is_refused(store, tmp_path):
    other = tmp_path / "other"
    run_experiments(tiny(nmf_iter=30), ["all"], out=other, progress=False, trial_fn=fake_trial, keep_signals=(1,))
    path = signals_path(store / "trials", 1)
    shutil.copy(signals_path(other / "trials", 1), path)
    with pytest.raises(StoreError, match=r"00001.signals.npz was made with other settings.*does not belong"):
        load_signals(store, 1)
    shutil.copy(signals_path(other / "trials", 1), signals_path(other / "trials", 0))
    with pytest.raises(StoreError, match=r"00000.signals.npz holds the signals of trial .*'index': 1"):
        load_signals(other, 0)
    (other / "trials" / "00000.json").unlink()
    with pytest.raises(StoreError, match=r"has no trial file 00000.json beside it"):
        load_signals(other, 0)


def test_leftovers_of_a_killed_write_are_removed_and_reading_writes_nothing(store):
    leftover = store / "trials" / ".00001.signals.npz.abc.tmp"
    leftover.write_bytes(b"PK half")
    listing = sorted(p.name for p in (store / "trials").iterdir())
    assert load_signals(store, 1) is not None
    assert sorted(p.name for p in (store / "trials").iterdir()) == listing  # a reader removes and writes nothing
    ResultsStore(store, tiny()).close()
    assert not leftover.exists()


def test_the_runner_keeps_signals_only_with_the_separation_experiment(tmp_path):
    run_experiments(tiny(), ["reconstruction"], out=tmp_path, progress=False, trial_fn=fake_trial, keep_signals=(0,))
    assert load_signals(tmp_path, 0) is None
