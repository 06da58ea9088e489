"""The music experiment's runner, store, command line and pre-registered verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from innmf.experiments.music import run_music
from innmf.experiments.store_files import StoreError
from innmf.report.music import claim_verdict, comparator_sensitivity, endpoint, select_comparator, summary

SR = 8000


def _voice(f0: float, seconds: float, seed: int) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    x = sum(np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6)) / h for h in range(1, 6))
    return 0.1 * x * (0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t) ** 2)


@pytest.fixture(scope="module")
def stems_folder(tmp_path_factory):
    """Three pieces of two sources (a high and a low voice), one fit, two test."""
    root = tmp_path_factory.mktemp("stems")
    for i, name in enumerate(["a", "b", "c"]):
        (root / name).mkdir()
        sf.write(root / name / "high.wav", _voice(440 + 20 * i, 2.0, i), SR)
        sf.write(root / name / "low.wav", _voice(110 + 5 * i, 2.0, 10 + i), SR)
    (root / "split.json").write_text(json.dumps({"fit": ["a"], "validation": [], "test": ["b", "c"]}))
    return root


def test_cli_runs_any_stems_folder_and_prints_floor_and_ceiling_rows(stems_folder, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "innmf", "reproduce", "--experiment", "music", "--corpus", f"stems:{stems_folder}",
           "--profile", "smoke", "--out", str(out), "--json", "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONWARNINGS": ""})
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    rows = pd.DataFrame(payload["rows"])
    assert {"experiment", "method", "representation", "piece", "source", "metric", "value"} <= set(rows.columns)
    assert set(rows["metric"]) == {"sdr", "sir", "sar", "si_sdr"}
    assert {"floor", "oracle", "iN-NMF", "NMF-grid", "NMF"} <= set(rows["method"])
    assert set(rows["piece"]) == {"b"} and set(rows["source"]) == {"high", "low"}  # smoke: the first test piece
    assert np.isfinite(rows["value"]).all()
    oracle = rows[(rows.method == "oracle") & (rows.metric == "sdr")]["value"].mean()
    floor = rows[(rows.method == "floor") & (rows.metric == "sdr")]["value"].mean()
    assert oracle > floor + 10


def test_a_store_resumes_without_recomputing_and_refuses_other_settings(stems_folder, tmp_path):
    out = tmp_path / "store"
    first = run_music(f"stems:{stems_folder}", profile="smoke", out=out, progress=False)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = run_music(f"stems:{stems_folder}", profile="smoke", out=out, progress=False)
    pd.testing.assert_frame_equal(first, again)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamps
    (out / "pieces" / "b.json").unlink()  # an interrupted run: a piece missing
    resumed = run_music(f"stems:{stems_folder}", profile="smoke", out=out, progress=False)
    pd.testing.assert_frame_equal(first, resumed)  # deterministic: the same numbers again
    with pytest.raises(StoreError, match="other settings"):
        run_music(f"stems:{stems_folder}", profile="smoke", out=out, progress=False, rank=3)


def _rows(dataset: str, part: str, pieces: int, means: dict[tuple[str, str], float], seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for p in range(pieces):
        shift = rng.normal(0, 2)  # pieces differ; differences within a piece are what is judged
        for (method, rep), mean in means.items():
            for src in ("s1", "s2"):
                value = mean + shift + rng.normal(0, 0.05)
                out.append({"dataset": dataset, "split": part, "piece": f"{part}{p}", "method": method,
                            "representation": rep, "source": src, "metric": "sdr", "value": value})
    return out


MEANS = {("NMF", "stft-512"): 5.0, ("NMF", "stft-1024"): 4.0, ("NMF-raster-32ms", "cqt"): 3.0,
         ("iN-NMF", "cqt"): 6.0, ("NMF-grid", "cqt"): 5.5, ("iN-NMF", "multires"): 5.0, ("NMF-grid", "multires"): 5.0,
         ("floor", "none"): -3.0, ("oracle", "cqt"): 12.0, ("oracle", "multires"): 11.0}


def test_endpoint_chooses_the_comparator_on_validation_and_judges_with_holm():
    rows = pd.DataFrame(_rows("d", "validation", 4, MEANS, 0) + _rows("d", "test", 20, MEANS, 1))
    assert select_comparator(rows) == {"d": "NMF | stft-512"}
    table = endpoint(rows).set_index("representation")
    assert table.loc["cqt", "delta"] == pytest.approx(1.0, abs=0.05)
    assert 0 < table.loc["cqt", "low"] < table.loc["cqt", "delta"] < table.loc["cqt", "high"]
    assert table.loc["cqt", "verdict"].startswith("iN-NMF better than NMF | stft-512")
    assert table.loc["multires", "verdict"].startswith("no difference shown")
    assert table.loc["cqt", "twin_delta"] == pytest.approx(0.5, abs=0.05)
    assert table.loc["cqt", "floor"] == pytest.approx(-3.0, abs=1.5)
    p = np.sort(table["p"].to_numpy())
    np.testing.assert_allclose(np.sort(table["p_holm"].to_numpy()), np.minimum(1, np.maximum.accumulate(p * [2, 1])))
    assert claim_verdict(endpoint(rows)) == {"d": "supported"}
    # a comparator fixed elsewhere (e.g. the recorded run's) is used as given
    fixed = endpoint(rows, {"d": "NMF-raster-32ms | cqt"}).set_index("representation")
    assert fixed.loc["multires", "delta"] == pytest.approx(2.0, abs=0.05)
    # the secondary, post-hoc comparison is against the test-best grid system whatever was chosen
    assert set(fixed["posthoc_comparator"]) == {"NMF | stft-512"}
    assert fixed.loc["multires", "posthoc_delta"] == pytest.approx(0.0, abs=0.05)
    assert fixed.loc["cqt", "posthoc_delta"] == pytest.approx(1.0, abs=0.05)
    assert fixed.loc["cqt", "posthoc_low"] < fixed.loc["cqt", "posthoc_delta"] < fixed.loc["cqt", "posthoc_high"]


def test_comparator_sensitivity_ranks_every_candidate_on_both_parts():
    """Validation and test disagree on the best grid system: the table says so and measures the difference to each."""
    val = dict(MEANS) | {("NMF", "stft-1024"): 5.5}  # best on validation only
    rows = pd.DataFrame(_rows("d", "validation", 4, val, 0) + _rows("d", "test", 20, MEANS, 1))
    assert select_comparator(rows) == {"d": "NMF | stft-1024"}
    table = comparator_sensitivity(rows)
    cqt = table[table.representation == "cqt"].set_index("candidate")
    assert list(cqt.index) == ["NMF | stft-512", "NMF | stft-1024", "NMF-raster-32ms | cqt"]  # by test rank
    assert cqt["chosen"].tolist() == [False, True, False]
    assert cqt["validation_rank"].tolist() == [2, 1, 3] and cqt["test_rank"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(cqt["delta"], [1.0, 2.0, 3.0], atol=0.05)
    assert (cqt["low"] < cqt["delta"]).all() and (cqt["delta"] < cqt["high"]).all()


def test_endpoint_without_validation_pieces_needs_a_comparator_and_summary_orders_by_sdr():
    rows = pd.DataFrame(_rows("d", "test", 3, MEANS, 2))
    with pytest.raises(ValueError, match="no validation pieces"):
        endpoint(rows)
    table = summary(rows)
    assert table.iloc[0]["system"] == "oracle | cqt"
    assert table.set_index("system").loc["floor | none", "over_floor"] == pytest.approx(0.0)


def test_cli_default_store_is_per_corpus(stems_folder, tmp_path):
    """Without --out, each corpus runs in its own store of the build folder (the chapter's), never a shared one."""
    import shutil

    other = tmp_path / "other"
    shutil.copytree(stems_folder, other)
    root = tmp_path / "checkout"
    (root / "notebooks").mkdir(parents=True)
    env = {**os.environ, "PYTHONWARNINGS": "", "INNMF_ROOT": str(root)}
    outs = []
    for folder in (stems_folder, other):
        cmd = [sys.executable, "-m", "innmf", "reproduce", "--experiment", "music", "--corpus", f"stems:{folder}",
               "--profile", "smoke", "--json", "--quiet", "--set", "test_iter=3", "--set", "train_iter=3"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        outs.append(Path(json.loads(done.stdout)["out"]))
    assert outs[0] != outs[1] and all(o.parent == root / "_build" / "results" and o.is_dir() for o in outs)


def test_recorded_runs_are_judged_each_in_its_own_family(tmp_path, monkeypatch):
    """The chorale run and the addendum: comparators and Holm within each run, never across."""
    from innmf.report import music

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "results" / "music").mkdir(parents=True)
    monkeypatch.setenv("INNMF_ROOT", str(tmp_path))
    assert music.recorded_runs() == {} and music.recorded_endpoint() is None and music.recorded_rows() is None
    first = pd.DataFrame(_rows("a", "validation", 4, MEANS, 0) + _rows("a", "test", 20, MEANS, 1))
    other = dict(MEANS) | {("NMF", "stft-1024"): 7.0}  # another comparator, another family
    second = pd.DataFrame(_rows("b", "validation", 4, other, 2) + _rows("b", "test", 20, other, 3))
    first.to_csv(tmp_path / "results" / "music" / "rows.csv", index=False)
    second.to_csv(tmp_path / "results" / "music" / "addendum-rows.csv", index=False)
    table = music.recorded_endpoint()
    assert list(table["family"].unique()) == ["chorales", "addendum-1"]
    for family, rows in (("chorales", first), ("addendum-1", second)):
        alone = endpoint(rows)
        part = table[table["family"] == family].reset_index(drop=True)
        np.testing.assert_allclose(part["p_holm"], alone["p_holm"])
        assert list(part["comparator"]) == list(alone["comparator"])
    assert set(table.loc[table.dataset == "b", "comparator"]) == {"NMF | stft-1024"}
    assert len(music.recorded_rows()) == len(first) + len(second)
