"""The resumable results store: manifest, refusal of other settings, atomic trial files."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

import innmf
from innmf.experiments import store as store_mod
from innmf.experiments.store import RESULT_KEYS, ResultsStore, load_results, read_manifest
from innmf.experiments.settings import get_profile


def _rows(index: int, experiment: str = "reconstruction") -> list[dict]:
    return [
        {"trial": index, "trial_key": f"k{index}", "speakers": "a+b", "experiment": experiment,
         "method": m, "n_fft": n, "metric": "kl", "value": 0.1 * index + 0.01 * n / 1000 + i}
        for i, m in enumerate(("NMF", "iN-NMF")) for n in (1000, 2000)
    ]


def _trial(index: int) -> dict:
    return {"index": index, "speakers": ("a", "b"), "key": f"k{index}"}


def test_manifest_records_settings_and_reopens(tmp_path):
    settings = get_profile("smoke")
    ResultsStore(tmp_path, settings)
    manifest = read_manifest(tmp_path)
    assert manifest["version"] == innmf.__version__
    assert manifest["corpus"] == settings["corpus"]
    assert manifest["profile"] == "smoke"
    assert set(manifest["result_settings"]) == set(RESULT_KEYS) | {"methods"}
    assert manifest["result_settings"]["methods"] == ["NMF", "iN-NMF", "NMF-interp", "NMF-resample"]
    # more trials, another profile name with the same values: the same store
    ResultsStore(tmp_path, {**settings, "n_trials": 40, "profile": "custom"})


@pytest.mark.parametrize("key,value", [("nmf_iter", 7), ("corpus", "timit:/data/TIMIT"),
                                       ("n_ffts", [1000]), ("device", "cuda")])
def test_other_settings_are_refused_with_a_clear_message(tmp_path, key, value):
    settings = get_profile("smoke")
    ResultsStore(tmp_path, settings)
    with pytest.raises(ValueError) as err:
        ResultsStore(tmp_path, {**settings, key: value})
    message = str(err.value)
    assert key in message and "another --out" in message
    assert repr(settings[key]) in message and repr(value) in message


def test_version_change_warns_but_keeps_store(tmp_path, monkeypatch):
    settings = get_profile("smoke")
    ResultsStore(tmp_path, settings)
    monkeypatch.setattr(store_mod, "__version__", "9.9.9")
    with pytest.warns(UserWarning, match="9.9.9"):
        ResultsStore(tmp_path, settings)


def test_trial_files_round_trip_and_completion(tmp_path):
    store = ResultsStore(tmp_path, get_profile("smoke"))
    assert store.load_trial(0) is None
    assert not store.is_done(_trial(0), ["reconstruction"])
    store.write_trial(_trial(0), ["reconstruction"], _rows(0), seconds=1.5)
    assert store.is_done(_trial(0), ["reconstruction"])  # tuples compare as lists after JSON
    assert not store.is_done(_trial(0), ["reconstruction", "separation"])
    assert store.stored_experiments(0) == ["reconstruction"]
    record = store.load_trial(0)
    assert record["seconds"] == 1.5 and record["settings_hash"] == store.hash
    df = store.rows()
    expected = pd.DataFrame(_rows(0)).sort_values(["method", "n_fft"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(df[expected.columns].sort_values(["method", "n_fft"])
                                  .reset_index(drop=True), expected)
    assert list(df.columns) == list(store_mod.ROW_COLUMNS)


def test_a_different_trial_at_the_same_index_is_refused(tmp_path):
    store = ResultsStore(tmp_path, get_profile("smoke"))
    store.write_trial(_trial(0), ["reconstruction"], _rows(0))
    with pytest.raises(ValueError, match="drawn differently"):
        store.is_done({**_trial(0), "speakers": ("a", "c")}, ["reconstruction"])


def test_rows_filter_by_trial_and_experiment(tmp_path):
    store = ResultsStore(tmp_path, get_profile("smoke"))
    for i in range(3):
        store.write_trial(_trial(i), ["reconstruction"], _rows(i))
    store.write_trial(_trial(3), ["separation"], _rows(3, "separation"))
    assert sorted(store.rows(indices=[0, 2])["trial"].unique()) == [0, 2]
    assert sorted(load_results(tmp_path, experiments=["separation"])["trial"].unique()) == [3]
    assert sorted(load_results(tmp_path, n_trials=2)["trial"].unique()) == [0, 1]
    per_trial, summary = store.write_tables(store.rows(experiments=["reconstruction"]))
    table = pd.read_csv(summary)
    assert set(table["trials"]) == {3}
    assert len(pd.read_csv(per_trial)) == 3 * 4


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    store = ResultsStore(tmp_path, get_profile("smoke"))
    path = store.write_trial(_trial(0), ["reconstruction"], _rows(0))
    before = path.read_bytes()

    def crash(src, dst):
        raise KeyboardInterrupt  # killed between writing the temporary file and renaming it

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.write_trial(_trial(0), ["reconstruction", "separation"], _rows(0, "separation"))
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["00000.json"]
    json.loads(before)


def test_missing_store_and_missing_settings(tmp_path):
    with pytest.raises(FileNotFoundError, match="innmf reproduce"):
        load_results(tmp_path / "nothing")
    settings = get_profile("smoke").to_dict()
    del settings["rank"]
    with pytest.raises(ValueError, match="rank"):
        ResultsStore(tmp_path / "new", settings)
    assert not (tmp_path / "new").exists()  # refused before anything was written


def test_a_store_made_before_a_method_was_added_is_refused(tmp_path):
    settings = get_profile("smoke")
    ResultsStore(tmp_path, settings.replace(methods=("NMF", "iN-NMF"))).close()  # an older store: two methods
    with pytest.raises(ValueError, match="methods"):
        ResultsStore(tmp_path, settings)
