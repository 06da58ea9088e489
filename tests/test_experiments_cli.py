"""``innmf reproduce``: JSON summary, tables from the store, refusal of other settings."""

from __future__ import annotations

import contextlib
import io
import json

import pandas as pd
import pytest

from innmf.tools.cli import main

TINY = [
    "n_trials=1", "train_seconds=3.0", "test_seconds=2.0", "n_ffts=[1000,2000]",
    "extra_n_ffts=[]", "rank=4", "nmf_iter=10", "hidden=8", "inr_epochs=5",
    "refit_epochs=4", "sep_epochs=3",
]


def _args(out, *extra):
    sets = [a for s in TINY for a in ("--set", s)]
    return ["reproduce", "--profile", "smoke", "--out", str(out), "--quiet", *sets, *extra]


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    """One real run of the command (one tiny trial); its folder and printed JSON."""
    out = tmp_path_factory.mktemp("reproduce")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(_args(out, "--json")) == 0
    return out, json.loads(buffer.getvalue())


def test_json_summary_and_tables(reproduced, capsys):
    reproduced, payload = reproduced
    assert payload["profile"] == "smoke" and payload["corpus"] == "default"
    rows = payload["rows"]
    assert all(set(r) == {"experiment", "method", "n_fft", "metric", "mean", "std", "trials"}
               for r in rows)
    assert {r["method"] for r in rows} == {"NMF", "iN-NMF", "NMF-interp", "NMF-resample"}
    assert {r["metric"] for r in rows} == {"kl", "sdr", "sir", "sar", "stoi"}
    assert {r["n_fft"] for r in rows} == {1000, 2000}
    assert all(r["trials"] == 1 and r["std"] is None for r in rows)
    summary = pd.read_csv(reproduced / "summary.csv")
    assert len(summary) == len(rows)
    assert len(pd.read_csv(reproduced / "per_trial.csv")) == len(rows)

    # the tables are rebuilt from the store alone, with the same numbers
    (reproduced / "summary.csv").unlink()
    assert main(["reproduce", "--out", str(reproduced), "--from-store", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)["rows"]
    assert again == rows
    assert (reproduced / "summary.csv").exists()


def test_other_settings_are_refused(reproduced, capsys):
    reproduced, _ = reproduced
    assert main(_args(reproduced, "--set", "sep_epochs=7")) == 1
    err = capsys.readouterr().err
    assert "sep_epochs" in err and "another --out" in err


def test_cuda_without_gpu_is_refused(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(_args(tmp_path, "--device", "cuda")) == 1
    assert "GPU" in capsys.readouterr().err


def test_from_store_needs_a_store(tmp_path, capsys):
    assert main(["reproduce", "--out", str(tmp_path / "none"), "--from-store"]) == 1
    assert "No results store" in capsys.readouterr().err


def test_rerun_prints_a_table_and_keeps_finished_trials(reproduced, capsys):
    reproduced, _ = reproduced
    trial_file = reproduced / "trials" / "00000.json"
    stamp = trial_file.stat().st_mtime_ns
    assert main(_args(reproduced)) == 0
    printed = capsys.readouterr().out
    assert "iN-NMF" in printed and "summary.csv" in printed
    assert trial_file.stat().st_mtime_ns == stamp
