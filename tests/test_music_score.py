"""The score-informed task of the music experiment: score masks, separation, store, note lists, command line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from innmf.data import build_chorales as bc
from innmf.data.audio import CorpusError
from innmf.data.stems import default_music_dir, load_stems, read_notes
from innmf.experiments.music import _store_key, music_settings, run_music
from innmf.experiments.music_fit import System
from innmf.experiments.music_reps import analyse
from innmf.experiments.music_score import harmonic_comb, midi_hz, score_models
from innmf.experiments.store_files import StoreError

SR = 8000
SCORES = {"high": [(69, 0.0, 1.0), (72, 1.0, 2.0), (71, 2.0, 3.0)], "low": [(48, 0.0, 1.5), (45, 1.5, 3.0)]}
"""Two voices, each a sequence of harmonic tones (MIDI key, onset s, note-off s); piece i is transposed by i."""


def _tone(key: int, on: float, off: float, n: int, seed: int) -> np.ndarray:
    t = np.arange(n) / SR
    f0 = midi_hz(key)
    env = np.convolve(((t >= on) & (t < off)).astype(float), np.ones(80) / 80, mode="same")  # 10 ms ramps
    rng = np.random.default_rng(seed)
    return 0.1 * env * sum(np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6)) / h for h in range(1, 8))


def _write_piece(folder: Path, shift: int, seconds: float = 3.0, notes: bool = True) -> None:
    folder.mkdir(parents=True)
    voices = {}
    for v, score in SCORES.items():
        x = sum(_tone(k + shift, on, off, int(seconds * SR), 7 * shift + j) for j, (k, on, off) in enumerate(score))
        sf.write(folder / f"{v}.wav", x, SR)
        voices[v] = [[f"k{k + shift}", k + shift, on, off, 100] for k, on, off in score]
    if notes:
        (folder / "notes.json").write_text(json.dumps({"voices": voices}))


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> Path:
    """Three pieces of two voices with their scores: one fit (unused by the task), two test."""
    root = tmp_path_factory.mktemp("scored")
    for i, name in enumerate(["a", "b", "c"]):
        _write_piece(root / name, i)
    (root / "split.json").write_text(json.dumps({"fit": ["a"], "validation": [], "test": ["b", "c"]}))
    return root


FIT = {"seconds": None, "score_iter": 30, "comb_epochs": 100, "inr_epochs": 60, "hidden": 16}
"""Smoke settings with enough steps to separate 3 s of two voices (the smoke profile cuts pieces at 2 s)."""


@pytest.mark.parametrize("system", [System("NMF", "stft-512"), System("NMF-grid", "cqt"), System("iN-NMF", "cqt")])
def test_the_score_keeps_activations_exactly_zero_outside_the_tolerant_note_spans(scored, system):
    corpus = load_stems(f"stems:{scored}")
    piece = corpus.piece("b")
    stems = piece.load()
    mixture = piece.mixture(stems)
    settings = music_settings("smoke", task="score-informed", **FIT)
    an = analyse(system.representation, mixture, SR, settings["cqt"])
    notes = read_notes(corpus, piece)
    models, fit = score_models(system, an, notes, list(stems), len(mixture) / SR, settings)
    tol = settings["tolerance"]
    assert fit["components"] == [("high", 70), ("high", 72), ("high", 73), ("low", 46), ("low", 49)]
    for k, (voice, key) in enumerate(fit["components"]):
        spans = [(on - tol, off + tol) for _, nkey, on, off, _ in notes[voice] if nkey == key]
        inside = np.zeros(len(fit["grid"]), dtype=bool)
        for a, b in spans:
            inside |= (fit["grid"] >= a) & (fit["grid"] <= b)
        np.testing.assert_array_equal(fit["mask"][k] > 0, inside)  # the mask is the tolerant spans, no more
        assert np.all(fit["H"][k][~inside] == 0.0)  # after fitting, exactly zero outside them
        assert np.all(fit["H"][k][inside] >= 0) and fit["H"][k][inside].max() > 0
    # a voice's model is zero at points where none of its notes sounds
    for voice, model in zip(stems, models):
        sounding = np.zeros(len(an.t), dtype=bool)
        for _, _, on, off, _ in notes[voice]:
            sounding |= (an.t >= on - tol) & (an.t <= off + tol)
        assert np.all(model[~sounding] == 0.0) and model[sounding].max() > 0


def test_the_comb_has_its_partials_where_the_pitch_puts_them():
    freqs = np.arange(0, 4001, 10.0)
    W = harmonic_comb(freqs, np.full(freqs.size, 10.0), [57], {"harmonics": 5, "comb_cents": 50.0, "comb_floor": 0.0})
    peaks = freqs[1:-1][(W[1:-1, 0] > W[:-2, 0]) & (W[1:-1, 0] >= W[2:, 0])]  # A3 = 220 Hz: 220, 440, ..., 1100
    np.testing.assert_allclose(peaks, [220, 440, 660, 880, 1100])
    np.testing.assert_allclose(W[np.searchsorted(freqs, [220, 440, 660]), 0], [1, 1 / 2, 1 / 3])
    assert W[freqs > 1200, 0].max() == 0.0 and W[(freqs > 250) & (freqs < 410), 0].max() == 0.0


@pytest.fixture(scope="module")
def run(scored, tmp_path_factory):
    out = tmp_path_factory.mktemp("score-run") / "store"
    return out, run_music(f"stems:{scored}", profile="smoke", out=out, progress=False, task="score-informed", **FIT)


def test_score_informed_separation_beats_the_floor_and_stays_below_the_oracle(run):
    _, rows = run
    assert set(rows["task"]) == {"score-informed"} and set(rows["piece"]) == {"b"}
    assert {"floor", "oracle", "NMF", "NMF-grid", "iN-NMF"} == set(rows["method"])
    sdr = rows[rows.metric == "sdr"].groupby(["method", "representation"])["value"].mean()
    floor = sdr[("floor", "none")]
    for method, rep in (("NMF", "stft-512"), ("NMF-grid", "cqt"), ("iN-NMF", "cqt")):
        assert sdr[(method, rep)] > floor + 10, (method, rep, sdr[(method, rep)], floor)
        assert sdr[("oracle", rep)] >= sdr[(method, rep)], (method, rep)


def test_the_supervised_report_judges_the_task_rows_unchanged(run):
    """ADDENDUM-3.md's endpoint is innmf.report.music.endpoint on the task's rows: it must read them as they are."""
    from innmf.report.music import endpoint

    _, rows = run
    # the one test piece twice more, as validation and as a second test piece (shifted by 1 dB)
    more = pd.concat([rows.assign(split="validation", piece="v"),
                      rows.assign(piece="b2", value=rows["value"] + np.where(rows["method"] == "iN-NMF", 1.0, 0.0))])
    table = endpoint(pd.concat([rows, more], ignore_index=True))
    assert table["representation"].tolist() == ["cqt"] and table["comparator"].tolist() == ["NMF | stft-512"]
    sdr = rows[rows.metric == "sdr"].groupby("method")["value"].mean()
    assert table["delta"].iloc[0] == pytest.approx(sdr["iN-NMF"] - sdr["NMF"] + 0.5)
    assert table["twin_delta"].iloc[0] == pytest.approx(sdr["iN-NMF"] - sdr["NMF-grid"] + 0.5)


def test_a_store_resumes_losing_nothing_and_refuses_other_settings(scored, run):
    out, first = run
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = run_music(f"stems:{scored}", profile="smoke", out=out, progress=False, task="score-informed", **FIT)
    pd.testing.assert_frame_equal(first, again)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamps  # read, not recomputed
    (out / "pieces" / "b.json").unlink()  # an interrupted run: the piece was not finished
    resumed = run_music(f"stems:{scored}", profile="smoke", out=out, progress=False, task="score-informed", **FIT)
    pd.testing.assert_frame_equal(first, resumed)
    with pytest.raises(StoreError, match="other settings"):
        run_music(f"stems:{scored}", profile="smoke", out=out, progress=False, task="score-informed",
                  **{**FIT, "tolerance": 0.1})
    with pytest.raises(StoreError, match="other settings"):  # nor does the supervised task share it
        run_music(f"stems:{scored}", profile="smoke", out=out, progress=False)


def test_the_supervised_task_keeps_its_settings_and_store_identity():
    corpus = load_stems("default-music")
    for profile in ("smoke", "paper"):
        plain = music_settings(profile)
        assert "task" not in plain and music_settings(profile, task="supervised") == plain
        assert _store_key(music_settings(profile, task="supervised"), corpus) == _store_key(plain, corpus)
        assert _store_key(music_settings(profile, task="score-informed"), corpus) != _store_key(plain, corpus)
    with pytest.raises(ValueError, match="Unknown music task"):
        music_settings("smoke", task="blind")
    with pytest.raises(ValueError, match="Unknown music setting"):
        music_settings("smoke", tolerance=0.1)  # a score setting is not a supervised one
    with pytest.raises(ValueError, match="no raster"):
        music_settings("smoke", task="score-informed", raster_steps_ms=[32])


def test_a_corpus_without_scores_names_the_fix_and_leaves_no_store(scored, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(scored, bare, ignore=shutil.ignore_patterns("notes.json"))
    with pytest.raises(CorpusError, match=r"notes\.json is missing.*Fix: write .*notes\.json"):
        run_music(f"stems:{bare}", profile="smoke", out=tmp_path / "s1", progress=False, task="score-informed")
    build = tmp_path / "build"  # a chorales build made before note lists were written
    shutil.copytree(default_music_dir(), build, ignore=shutil.ignore_patterns("notes.json"))
    fix = f"python -m innmf.data.build_chorales --notes --out {build}"
    with pytest.raises(CorpusError, match=f"Fix: `{fix}`"):
        run_music(f"chorales:{build}?timbre=piano", profile="smoke", out=tmp_path / "s2", progress=False,
                  task="score-informed")
    assert not (tmp_path / "s1").exists() and not (tmp_path / "s2").exists()
    assert run_music(f"chorales:{build}", profile="smoke", progress=False).shape[0] > 0  # the supervised task runs


def test_the_committed_note_lists_are_the_scores_of_the_committed_stems(tmp_path):
    music21 = pytest.importorskip("music21")
    manifest = json.loads((default_music_dir() / bc.MANIFEST).read_text())
    assert len(manifest["notes"]) == 2 * len(manifest["pieces"]) and bc.verify_build() == []
    registered = {p["name"]: p for p in bc.read_registration()["pieces"]}
    for piece in manifest["pieces"]:
        assert registered[piece["name"]]["file"] == piece["file"]
        score = bc.parse({"path": Path(music21.corpus.__file__).parent / piece["file"]})
        for timbre in bc.TIMBRES:
            assert (default_music_dir() / timbre / piece["name"] / "notes.json").read_text() == \
                bc.notes_json(piece["name"], score)
    corpus = load_stems("default-music?timbre=piano")
    notes = read_notes(corpus, corpus.pieces[0])
    assert set(notes) == set(corpus.sources) and all(n[2] < n[3] <= bc.EXCERPT_SECONDS for ns in notes.values()
                                                     for n in ns)
    copy = tmp_path / "chorales"  # a changed note list is seen
    shutil.copytree(default_music_dir(), copy)
    rel = next(iter(manifest["notes"]))
    (copy / rel).write_text((copy / rel).read_text().replace("100]", "99]", 1))
    assert any("notes.json: sha256 differs" in p for p in bc.verify_build(copy))


def test_smoke_run_on_a_committed_chorale_and_from_the_command_line(scored, tmp_path):
    # two committed *fit* pieces, one of them as the test piece: no score-informed result on a
    # pre-registered test piece exists before the recorded run (results/music/ADDENDUM-3.md)
    fit = bc.read_registration()["subset"]["fit"][:2]
    chorale = tmp_path / "chorale"
    for name in fit:
        shutil.copytree(default_music_dir() / "piano" / name, chorale / name)
    (chorale / "split.json").write_text(json.dumps({"fit": fit[1:], "validation": [], "test": fit[:1]}))
    rows = run_music(f"stems:{chorale}", profile="smoke", progress=False, task="score-informed")
    assert {"floor", "oracle"} <= set(rows["method"]) and set(rows["source"]) == {"alto", "bass", "soprano", "tenor"}
    assert np.isfinite(rows["value"]).all()
    cmd = [sys.executable, "-m", "innmf", "reproduce", "--experiment", "music", "--corpus", f"stems:{scored}",
           "--profile", "smoke", "--out", str(tmp_path / "cli"), "--json", "--quiet", "--set", "task=score-informed"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONWARNINGS": ""})
    assert done.returncode == 0, done.stderr
    cli = pd.DataFrame(json.loads(done.stdout)["rows"])
    assert set(cli["task"]) == {"score-informed"} and {"floor", "oracle", "iN-NMF", "NMF"} <= set(cli["method"])
    assert set(cli["piece"]) == {"b"} and set(cli["metric"]) == {"sdr", "sir", "sar", "si_sdr"}
