"""The batched runner (issue 25, item 5): all trials' iN-NMF networks trained as one grouped model.

On a CPU each model's W H and KL run by its own ops after the grouped networks
(``per_model``), so the rows are the per-trial runner's bit for bit. The accelerators'
path (one batched product and KL for all speakers) is run here on the CPU too; measured
at the smoke profile (2 trials) against the per-trial rows: iN-NMF KL within 6.7e-3
relative, SDR 0.08 dB, SIR 0.075 dB, SAR 0.16 dB, STOI 0.0016. These are float
rounding amplified by Rprop's sign decisions over 60 epochs (a different thread count
moves iN-NMF's SDR by up to ~0.15 dB too), so the tolerances below are about 3x those.
"""

from __future__ import annotations

import functools
import json
import shutil

import numpy as np
import pandas as pd
import pytest

import innmf.models.grouped_fit as grouped_fit
from innmf.experiments import run_experiments
from innmf.experiments.settings import get_profile
from innmf.models.implicit import ImplicitWNMF
from innmf.tf.stft import frequency_coordinate
from innmf.tools.cli import main as cli_main

SMOKE = dict(n_trials=2)
TOLERANCE = {"kl": ("rel", 2e-2), "sdr": ("abs", 0.25), "sir": ("abs", 0.25), "sar": ("abs", 0.5),
             "stoi": ("abs", 5e-3)}
"""The accelerators' path against the per-trial rows: about 3x the differences measured (module docstring)."""
TINY = ["n_trials=1", "train_seconds=3.0", "test_seconds=2.0", "rank=4", "nmf_iter=15", "hidden=8",
        "inr_epochs=8", "refit_epochs=6", "sep_epochs=4"]
KEY = ["experiment", "trial", "method", "n_fft", "metric"]


def smoke(**more):
    return get_profile("smoke", **{**SMOKE, **more})


@pytest.fixture(scope="module")
def per_trial(tmp_path_factory):
    """The per-trial runner's store and rows (one thread, as every run here)."""
    out = tmp_path_factory.mktemp("per_trial")
    return out, run_experiments(smoke(), ["all"], out=out, progress=False, threads=1)


def worst_misfit(ref: pd.DataFrame, df: pd.DataFrame) -> float:
    """The largest difference of df's rows from ref's, in units of :data:`TOLERANCE` (<= 1: within it)."""
    both = ref.merge(df, on=KEY + ["trial_key", "speakers"], suffixes=("_ref", "_new"))
    assert len(both) == len(ref) == len(df)
    worst = 0.0
    for metric, (kind, tol) in TOLERANCE.items():
        sub = both[both["metric"] == metric]
        diff = (sub["value_new"] - sub["value_ref"]).abs()
        if kind == "rel":
            diff = diff / sub["value_ref"].abs()
        worst = max(worst, float(diff.max()) / tol)
    return worst


def test_batched_rows_equal_the_per_trial_rows_bit_for_bit_on_a_cpu(per_trial, tmp_path):
    out, ref = per_trial
    df = run_experiments(smoke(), ["all"], out=tmp_path, progress=False, threads=1, batched=True)
    pd.testing.assert_frame_equal(df, ref, check_exact=True)
    # the same store: tables, and each trial's record but its timing
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "per_trial.csv"), pd.read_csv(out / "per_trial.csv"))
    for name in ("00000.json", "00001.json"):
        a, b = (json.loads((root / "trials" / name).read_text()) for root in (out, tmp_path))
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}


def test_accelerator_path_is_within_float_rounding_and_a_swapped_V_is_not(per_trial, monkeypatch):
    _, ref = per_trial
    batched = functools.partial(grouped_fit.fit_grouped, per_model=False)
    monkeypatch.setattr(grouped_fit, "fit_grouped", batched)
    df = run_experiments(smoke(), ["all"], progress=False, threads=1, batched=True)
    assert worst_misfit(ref, df) <= 1.0
    nmf = ["NMF", "NMF-interp", "NMF-resample"]  # no network in them: bit for bit
    pd.testing.assert_frame_equal(df[df["method"].isin(nmf)], ref[ref["method"].isin(nmf)], check_exact=True)

    def swapped(models, Vs, *args, **kwargs):  # trial 0's speakers trade training spectra
        return batched(models, [Vs[1], Vs[0], *Vs[2:]], *args, **kwargs)

    monkeypatch.setattr(grouped_fit, "fit_grouped", swapped)
    wrong = run_experiments(smoke(n_trials=1), ["all"], progress=False, threads=1, batched=True)
    assert worst_misfit(ref[ref["trial"] == 0].reset_index(drop=True), wrong) > 10.0


@pytest.mark.parametrize("optimizer", ["rprop", "adam"])
def test_grouped_fit_is_each_lone_fit(optimizer):
    """Adam, unlike Rprop, sees the gradient's scale: a loss averaged over all models would fail here."""
    rng = np.random.default_rng(1)
    Vs = [rng.random((101, 12)) ** 2 for _ in range(3)]
    f = frequency_coordinate(200)
    fit = dict(epochs=12, optimizer=optimizer, lr=1e-3, loss_every=12)

    def design(seed):
        return ImplicitWNMF(3, hidden=8, n_freqs=4, seed=seed)

    lone = [design(s).fit(V, f, **fit) for s, V in zip((4, 5, 6), Vs)]
    exact = grouped_fit.fit_grouped([design(s) for s in (4, 5, 6)], Vs, f, **fit)
    batched = grouped_fit.fit_grouped([design(s) for s in (4, 5, 6)], Vs, f, per_model=False, **fit)
    for a, b, c in zip(lone, exact, batched):
        np.testing.assert_array_equal(b.W_, a.W_)
        np.testing.assert_array_equal(b.H_, a.H_)
        np.testing.assert_array_equal(b.history_, a.history_)
        np.testing.assert_allclose(c.W_, a.W_, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(c.history_, a.history_, rtol=1e-5)
    V2 = [rng.random((51, 9)) for _ in range(3)]
    g = frequency_coordinate(100)
    H = grouped_fit.refit_grouped(exact, V2, g, epochs=10, optimizer=optimizer)
    for model, V, H_s in zip(lone, V2, H):
        np.testing.assert_array_equal(H_s, model.refit_H(V, g, epochs=10, optimizer=optimizer, loss_every=10))


def test_batched_run_resumes_a_per_trial_store(per_trial, tmp_path, monkeypatch):
    out, ref = per_trial
    store = tmp_path / "store"
    shutil.copytree(out, store)
    (store / "trials" / "00001.json").unlink()  # as if the per-trial run had stopped after trial 0
    first = store / "trials" / "00000.json"
    stamp = first.stat().st_mtime_ns
    trained: list[int] = []
    original = grouped_fit.fit_grouped

    def counting(models, *args, **kwargs):
        trained.append(len(models))
        return original(models, *args, **kwargs)

    monkeypatch.setattr(grouped_fit, "fit_grouped", counting)
    df = run_experiments(smoke(), ["all"], out=store, progress=False, threads=1, batched=True, batch_trials=1)
    assert trained == [2]  # trial 1's two speakers only
    assert first.stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(df, ref, check_exact=True)


def test_the_cli_flag_runs_the_batched_runner(tmp_path, capsys):
    args = ["reproduce", "--profile", "smoke", *[a for s in TINY for a in ("--set", s)], "--quiet", "--json"]
    assert cli_main([*args, "--out", str(tmp_path / "a")]) == 0
    assert cli_main([*args, "--out", str(tmp_path / "b"), "--batched", "--batch-trials", "1"]) == 0
    capsys.readouterr()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "b" / "per_trial.csv"),
                                  pd.read_csv(tmp_path / "a" / "per_trial.csv"))
    assert cli_main([*args, "--out", str(tmp_path / "c"), "--batched", "--workers", "2"]) == 1
    assert "--workers" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("options, message", [
    (dict(scheduler="tcp://127.0.0.1:1"), "Dask scheduler"),
    (dict(workers=2), "--workers"),
    (dict(trial_fn=print), "trial_fn"),
    (dict(batch_trials=0), "batch_trials"),
])
def test_refuses_what_it_cannot_honour(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        run_experiments(smoke(), ["all"], out=tmp_path / "x", progress=False, batched=True, **options)
    assert not (tmp_path / "x").exists()


def test_refuses_the_reference_backend(tmp_path):
    with pytest.raises(ValueError, match="reference"):
        run_experiments(smoke(backend="reference"), ["all"], out=tmp_path / "x", progress=False, batched=True)
