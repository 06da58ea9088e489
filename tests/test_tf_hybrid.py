"""The committed piano recording and the paper's hybrid representation (innmf.tf.hybrid)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from innmf.data import piano_render as make_piano
from innmf.tf.cqt import cqt
from innmf.data.piano import PIANO_DIR, load_piano, load_piano_stems, piano_metadata
from innmf.experiments.hybrid import note_envelopes
from innmf.tf.hybrid import energy_envelope, paper_hybrid_cloud, stft_points


def test_piano_files_small_and_described() -> None:
    meta = piano_metadata()
    files = [PIANO_DIR / f for f in meta["files"].values()]
    assert sum(f.stat().st_size for f in files) <= 300_000
    assert (PIANO_DIR / "README.md").exists()
    assert [n["name"] for n in meta["notes"]] == ["C3", "E3"]
    for f in files:
        info = sf.info(f)
        assert info.format == "FLAC" and info.samplerate == meta["sample_rate"] and info.channels == 1


def test_load_piano_resamples_to_paper_rate() -> None:
    x, sr = load_piano()
    assert sr == 4410 and len(x) == round(2.5 * 4410)
    assert np.all(np.isfinite(x)) and 0.1 < np.abs(x).max() <= 0.55
    mix, stems, sr = load_piano_stems()
    assert set(stems) == {"C3", "E3"}
    residual = np.linalg.norm(mix - sum(stems.values())) / np.linalg.norm(mix)
    assert residual < 1e-3  # the mix equals the sum of the notes up to 16-bit rounding
    with pytest.raises(FileNotFoundError, match="piano_render"):
        load_piano(data_dir="/nonexistent")


def test_note_envelopes_follow_the_score() -> None:
    meta = piano_metadata()
    on = {n["name"]: n["onset_s"] for n in meta["notes"]}
    off = {n["name"]: n["note_off_s"] for n in meta["notes"]}
    times = np.linspace(0, 2.5, 251)
    env = note_envelopes(times)
    assert np.all(env["C3"][times < on["C3"] - 0.03] < 1e-10)
    assert np.all(env["E3"][times < on["E3"] - 0.03] < 1e-10)
    first = (times > on["C3"] + 0.05) & (times < on["E3"] - 0.05)
    second = (times > off["C3"] + 0.1) & (times < off["E3"])
    assert np.all(env["C3"][first] > 100 * env["E3"][first] + 1e-12)
    assert np.all(env["E3"][second] > 10 * env["C3"][second])


def test_energy_envelope_of_a_constant() -> None:
    sr = 1000
    x = np.ones(2000)
    env = energy_envelope(x, sr, np.array([-1.0, 1.0, 5.0]), window_seconds=0.05)
    np.testing.assert_allclose(env, [0.0, 1.0, 0.0])


def _harmonic_of(freq: float, f0: float) -> bool:
    h = max(1, round(freq / f0))
    return abs(freq / (h * f0) - 1) < 0.015


def test_notes_seen_by_the_cqt() -> None:
    x, sr = load_piano()
    result = cqt(x, sr, f_min=100.0, bins_per_octave=64, n_bins=128)
    for t, f0 in ((0.6, 130.813), (2.0, 164.814)):
        level = np.array([np.abs(c[np.argmin(np.abs(tk - t))]) for tk, c in zip(result.times, result.coefs)])
        assert _harmonic_of(result.freqs[level.argmax()], f0)


def test_paper_hybrid_cloud_layout_and_counts() -> None:
    x, sr = load_piano()
    cloud = paper_hybrid_cloud(*load_piano())
    assert cloud.source_names == ("stft-128", "stft-1024", "cqt")
    L = len(x)
    expected = {
        "stft-128": (1 + (L - 128) // 32) * 65,
        "stft-1024": (1 + (L - 1024) // 256) * 513,
        "cqt": sum((L - 1) // h + 1 for h in np.maximum(1, np.round(np.round(sr * 64 / (
            20.0 * 2 ** (np.arange(428) / 64))) / 8)).astype(int)),
    }
    for name, n in expected.items():
        assert len(cloud.select(name)) == n
    assert len(cloud) == sum(expected.values())
    assert cloud.starts == (0.0, 2.5, 5.0) and cloud.duration == pytest.approx(7.5)
    assert cloud.select("stft-128").is_regular() and not cloud.select("cqt").is_regular()
    assert np.all(cloud.local_times() >= 0) and np.all(cloud.local_times() < 2.5)
    # Targets are m^0.5 of the calibrated magnitudes.
    raw = stft_points(x, sr, 128, 32)
    np.testing.assert_allclose(cloud.select("stft-128").m, np.sqrt(raw.m))
    u, v, mapping = cloud.normalised_coordinates()
    assert mapping.t_max == pytest.approx(7.5) and mapping.f_max == 2205.0
    assert u.max() <= 1 and v.max() <= 1


def test_hybrid_with_sinusoidal_segment() -> None:
    cloud = paper_hybrid_cloud(*load_piano(), include_sinusoidal=True)
    assert cloud.source_names[-1] == "sinusoidal"
    sines = cloud.select("sinusoidal")
    assert len(sines) > 100 and cloud.starts[-1] == pytest.approx(7.5)
    grid = 4410 / (4 * 1024)
    assert np.mean(np.abs(sines.f / grid - np.round(sines.f / grid)) > 1e-3) > 0.9  # off the FFT grid


def test_midi_writer() -> None:
    data = make_piano.midi_bytes(make_piano.NOTES)
    assert data[:4] == b"MThd" and data[14:18] == b"MTrk"
    assert int.from_bytes(data[18:22], "big") == len(data) - 22
    # note-on for each key, then note-off
    for _, key, *_ in make_piano.NOTES:
        assert bytes([0x90, key, 100]) in data and bytes([0x80, key, 0]) in data


@pytest.mark.skipif(shutil.which("fluidsynth") is None or not make_piano.SOUNDFONT.exists(),
                    reason="re-rendering needs `apt-get install fluidsynth fluid-soundfont-gm`")
def test_rerender_matches_committed_files(tmp_path: Path) -> None:
    meta = make_piano.make(tmp_path)
    committed = json.loads((PIANO_DIR / "piano.json").read_text())
    assert meta["files"] == committed["files"]
    for fname in meta["files"].values():
        new, _ = sf.read(tmp_path / fname, dtype="int16")
        old, _ = sf.read(PIANO_DIR / fname, dtype="int16")
        np.testing.assert_array_equal(new, old)


def test_missing_fluidsynth_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(FileNotFoundError, match="apt-get install fluidsynth"):
        make_piano.render(make_piano.NOTES, Path("/tmp"))
