"""The speech-in-ambience corpus: the committed subset, its manifest, the SNR rule, the pre-registered split and the builder."""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from innmf.data import build_ambience as ba
from innmf.data.audio import CorpusError
from innmf.data.sources.embedded import load_embedded
from innmf.data.stems import PARTS, load_stems

RECORD = ba.read_registration()
FOLDER = ba.ambience_dir()
MANIFEST = json.loads((FOLDER / ba.MANIFEST).read_text(encoding="utf-8"))
N = int(ba.PIECE_SECONDS * ba.SR)


def _fade(n: int = int(ba.FADE_SECONDS * ba.SR)) -> np.ndarray:
    return np.sin(0.5 * np.pi * np.arange(n) / n) ** 2  # = (1 - cos(pi t / n)) / 2, written another way


def test_subset_loads_as_a_stems_corpus() -> None:
    corpus = load_stems("stems:" + str(FOLDER))
    assert corpus.sr == ba.SR and corpus.sources == ("ambience", "speech")
    assert {p: [x.name for x in corpus.pieces_in(p)] for p in PARTS} == \
        {"fit": sorted(RECORD["subset"]["fit"]), "validation": [], "test": sorted(RECORD["subset"]["test"])}
    for piece in corpus.pieces:
        stems = piece.load()
        assert all(len(x) == N for x in stems.values())
        assert abs(np.abs(piece.mixture(stems)).max() - ba.MIX_PEAK) <= 2 / 32768  # one factor; rounding of 2 stems


def test_committed_files_match_the_manifest() -> None:
    assert ba.verify_build() == []
    for rel, entry in MANIFEST["files"].items():
        assert hashlib.sha256((FOLDER / rel).read_bytes()).hexdigest() == entry["sha256"]
    assert MANIFEST["registration_sha256"] == hashlib.sha256(ba.registration_path().read_bytes()).hexdigest()
    assert MANIFEST["versions"][ba.PACKAGE] == RECORD["version"] and MANIFEST["deb_sha256"] == RECORD["deb_sha256"]
    assert MANIFEST["settings"] == ba.settings() == RECORD["settings"]
    kept = {e["file"]: e for e in RECORD["ambience"] if e["kept"]}
    assert all(kept[f]["sha256"] == h for f, h in MANIFEST["inputs"]["ambience"].items())
    speakers = {s["id"]: s for s in RECORD["speakers"]}
    assert all(speakers[s]["sha256"] == h for s, h in MANIFEST["inputs"]["speech"].items())
    split = json.loads((FOLDER / "split.json").read_text())
    assert split == MANIFEST["split"] == {"fit": RECORD["subset"]["fit"], "validation": [], "test": RECORD["subset"]["test"]}
    assert [p["name"] for p in MANIFEST["pieces"]] == RECORD["subset"]["fit"] + RECORD["subset"]["test"]
    text = (FOLDER / ba.LICENCE_FILE).read_text()
    assert "Files:" in text and "CC-BY-SA-3.0" in text and "Axis REC" in text
    size = sum(f.stat().st_size for f in FOLDER.rglob("*") if f.is_file())
    assert size < 1.0e6, f"{FOLDER} holds {size / 1e6:.2f} MB"


def test_snr_rule_holds_on_the_committed_stems() -> None:
    m = int(ba.FRAME_SECONDS * ba.SR)
    for entry in MANIFEST["pieces"]:
        stems = {s: sf.read(str(FOLDER / entry["name"] / f"{s}.flac"), dtype="int16")[0].astype(np.float64) / 32768
                 for s in ("speech", "ambience")}
        frames = np.array([np.dot(f, f) / m for f in np.lib.stride_tricks.sliding_window_view(stems["speech"], m)[::m]])
        with np.errstate(divide="ignore"):  # all-zero frames are -inf dB: not active
            active = frames[10 * np.log10(frames / frames.max()) >= -ba.ACTIVE_RANGE_DB]
        snr = 10 * np.log10(active.mean() / np.mean(stems["ambience"] ** 2))
        assert abs(snr - ba.SNR_DB) < 0.01 and abs(snr - entry["snr_db"]) < 1e-3, (entry["name"], snr)
        assert stems["speech"][0] == stems["ambience"][0] == 0 and stems["speech"][-1] == stems["ambience"][-1] == 0


def test_speech_stem_is_the_embedded_excerpt() -> None:
    entry = next(e for e in MANIFEST["pieces"] if e["split"] == "test")
    voice = next(s for s in load_embedded().speakers if s.id == entry["speaker"]).audio().astype(np.float64)
    window = resample_poly(voice, 1, 2)[entry["speech_start"]: entry["speech_start"] + N]
    fade = _fade()
    window[: len(fade)] *= fade
    window[-len(fade):] *= fade[::-1]
    stem, _ = sf.read(str(FOLDER / entry["name"] / "speech.flac"), dtype="int16")
    assert np.max(np.abs(np.round(window * entry["scale"] * 32768) - stem)) <= 1


def test_registration_split_is_disjoint_and_follows_its_rule() -> None:
    pieces = RECORD["pieces"]
    by_part = {p: [e for e in pieces if e["split"] == p] for p in PARTS}
    speakers = {p: {e["speaker"] for e in v} for p, v in by_part.items()}
    files = {p: {e["ambience"] for e in v} for p, v in by_part.items()}
    for a, b in (("fit", "test"), ("fit", "validation"), ("validation", "test")):
        assert not speakers[a] & speakers[b] and not files[a] & files[b], (a, b)
    assert speakers == {p: set(v) for p, v in RECORD["split_speakers"].items()} == {p: set(v) for p, v in ba.SPEAKERS.items()}
    assert files == {p: set(v) for p, v in RECORD["split_ambience"].items()}
    assert len(by_part["test"]) >= 20 and RECORD["split"] == {p: [e["name"] for e in v] for p, v in by_part.items()}
    # crossed test design: each test speech window once with each test file; no test ambience window reused or overlapping
    assert set(Counter((e["speaker"], e["speech_window"]) for e in by_part["test"]).values()) == {len(files["test"])}
    for f in files["test"]:
        starts = sorted(e["ambience_start"] for e in by_part["test"] if e["ambience"] == f)
        assert np.all(np.diff(starts) >= N)
    # the record follows its rule: curation, licence and length decide what is kept; split and pieces re-derived
    table = {e["file"]: e for e in RECORD["ambience"]}
    assert sorted(table) == sorted(ba.CURATION) and len(table) == 59
    for name, e in table.items():
        kind, reason = ba.CURATION[name]
        assert e["kept"] == (bool(kind) and e["licence"] in ba.FREE_LICENCES and e["seconds"] >= ba.MIN_SECONDS), name
        assert e["reason"] == reason if e["kept"] or not kind else e["reason"].endswith(f"shorter than {ba.MIN_SECONDS:g} s"), name
    kept = {f: {"kind": e["kind"], "frames8k": e["frames8k"], "slots": e["slots"],
                "slot_starts": ba.slots(e["frames8k"], ba.SPANS.get(f))} for f, e in table.items() if e["kept"]}
    assert all(len(v["slot_starts"]) == v["slots"] for v in kept.values())
    windows = {s["id"]: s["windows"] for s in RECORD["speakers"]}
    assert all(s["windows"] == s["frames8k"] // N for s in RECORD["speakers"])
    assert ba.split_ambience(kept, sum(windows[s] for s in ba.SPEAKERS["test"])) == RECORD["split_ambience"]
    assert ba.design(windows, RECORD["split_ambience"], kept) == pieces
    assert RECORD["subset"] == {"fit": RECORD["split"]["fit"][:2], "test": RECORD["split"]["test"][:2]}


def test_active_level_and_snr_by_hand() -> None:
    m = int(ba.FRAME_SECONDS * ba.SR)
    # frames with mean squares 1, 0.01 (-20 dB: active), 1e-4 (-40 dB: not), 0; a 50-sample remainder is left out
    x = np.concatenate([np.full(m, 1.0), np.full(m, -0.1), np.full(m, 0.01), np.zeros(m), np.full(50, 5.0)])
    assert ba.active_level(x) == pytest.approx((1 + 0.01) / 2)
    assert ba.snr_db(x, np.full(4 * m, 0.5)) == pytest.approx(10 * np.log10(0.505 / 0.25))
    with pytest.raises(ValueError, match="no active speech"):
        ba.active_level(np.zeros(3 * m))


def test_mix_piece_scales_to_the_snr_and_peak() -> None:
    rng = np.random.default_rng(0)
    speech = rng.standard_normal(N) * np.repeat(rng.uniform(0, 1, N // 800), 800)
    ambience = 0.01 * rng.standard_normal(N)
    stems, factors = ba.mix_piece(speech, ambience)
    assert np.array_equal(stems["speech"], np.round(speech * factors["scale"] * 32768).astype(np.int16))
    assert np.array_equal(stems["ambience"], np.round(ambience * factors["ambience_gain"] * factors["scale"] * 32768).astype(np.int16))
    assert ba.snr_db(speech, factors["ambience_gain"] * ambience) == pytest.approx(ba.SNR_DB, abs=1e-9)
    assert np.abs(stems["speech"].astype(int) + stems["ambience"]).max() / 32768 == pytest.approx(ba.MIX_PEAK, abs=1 / 32768)
    with pytest.raises(CorpusError, match="digital silence"):
        ba.mix_piece(speech, np.zeros(N))


def test_windows_by_hand() -> None:
    # spans 0-10 s (80,000 samples: one 64,000 slot) and 12-30 s cut at the file's end (200,000): slots at 96,000 only
    assert ba.slots(200_000, ((0.0, 10.0), (12.0, 30.0))) == [0, 96_000]
    assert ba.slots(63_999) == [] and ba.slots(128_000) == [0, 64_000]
    assert ba.window_start(1, [0, 96_000], 200_000) == 96_000 and ba.window_start(2, [0, 96_000], 200_000) == 128_000
    x = np.arange(100_000, dtype=np.float64)
    y = ba.cut(x, 90_000)
    expected = np.concatenate([np.arange(90_000, 100_000), np.arange(0, 54_000)]).astype(float)
    fade = _fade()
    assert np.array_equal(y[len(fade): -len(fade)], expected[len(fade): -len(fade)])
    assert np.allclose(y[: len(fade)], expected[: len(fade)] * fade) and np.allclose(y[-len(fade):], expected[-len(fade):] * fade[::-1])


def test_split_and_design_rules_by_hand() -> None:
    files = {"a": {"kind": "fire", "frames8k": 90_000, "slots": 1}, "b": {"kind": "fire", "frames8k": 50_000, "slots": 0},
             "c": {"kind": "fire", "frames8k": 95_000, "slots": 1}, "d": {"kind": "water", "frames8k": 900_000, "slots": 14},
             "e": {"kind": "water", "frames8k": 99_000, "slots": 1}, "f": {"kind": "water", "frames8k": 99_000, "slots": 1}}
    # test: 14+ slots (d); then fire has 3 left (longest c), water 2 (none to validation)
    assert ba.split_ambience(files, 14) == {"fit": ["a", "b", "e", "f"], "validation": ["c"], "test": ["d"]}
    windows = dict.fromkeys([s for v in ba.SPEAKERS.values() for s in v], 1)
    windows["it-m"] = 2
    meta = {f: {"frames8k": 100_000, "slot_starts": [0, 64_000, 128_000, 192_000]} for f in "xyz"}
    pieces = ba.design(windows, {"fit": ["x"], "validation": ["y"], "test": ["y", "z"]}, meta)
    assert [p["name"] for p in pieces] == [
        "cs-f_s0_x_a00", "cs-m_s0_x_a01", "en-f_s0_x_a02", "fr-f_s0_y_a00", "it-m_s0_y_a01", "it-m_s0_z_a00",
        "it-m_s1_y_a02", "it-m_s1_z_a01", "ru-f_s0_y_a03", "ru-f_s0_z_a02"]
    assert [p["ambience_start"] for p in pieces[:3]] == [0, 64_000, 128_000] and pieces[7]["speech_start"] == N
    with pytest.raises(CorpusError, match="would repeat it"):
        ba.design(windows, {"fit": ["x"], "validation": ["x"], "test": ["y", "z"]},
                  {f: {"frames8k": 100_000, "slot_starts": [0]} for f in "xyz"})


def test_copyright_stanzas_by_hand() -> None:
    text = ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
            "Files: *\nCopyright: 2002-2014, The UFO:AI Team\nLicense: GPL-2+\n\n"
            "Files:\n base/sound/ambience/a.ogg\n base/sound/x/*.ogg\nCopyright:\n Gren\n Axis REC\nLicense: CC-BY-3.0\n\n"
            "License: CC-BY-3.0\n http://creativecommons.org/licenses/by/3.0/\n")
    stanzas = ba.parse_copyright(text)
    assert stanzas == [(["*"], "2002-2014, The UFO:AI Team", "GPL-2+"),
                       (["base/sound/ambience/a.ogg", "base/sound/x/*.ogg"], "Gren; Axis REC", "CC-BY-3.0")]
    assert ba.licence_of("base/sound/ambience/a.ogg", stanzas) == ("CC-BY-3.0", "Gren; Axis REC")
    assert ba.licence_of("base/sound/x/b.ogg", stanzas)[0] == "CC-BY-3.0"
    assert ba.licence_of("base/sound/ambience/b.ogg", stanzas)[0] == "GPL-2+"
    with pytest.raises(CorpusError, match="no licence"):
        ba.licence_of("base/other.ogg", stanzas[1:])


def test_bad_packages_are_refused(tmp_path: Path, make_deb) -> None:
    with pytest.raises(CorpusError, match="not ufoai-sound"):
        ba.read_package(make_deb(tmp_path / "other.deb", b"Package: other\nVersion: 1\n", {}))
    with pytest.raises(CorpusError, match="missing"):
        ba.read_package(make_deb(tmp_path / "empty.deb", f"Package: {ba.PACKAGE}\nVersion: 1\n".encode(), {}))
    with pytest.raises(FileNotFoundError, match="apt-get download ufoai-sound"):
        ba.find_deb(tmp_path / "absent.deb")


def test_rebuild_of_the_subset_is_bit_identical(tmp_path: Path) -> None:
    deb = ba.find_deb(download=False)
    if deb is None:
        pytest.skip(f"no {ba.PACKAGE}_*.deb in {ba.stems_build.deb_cache()} or /var/cache/apt/archives (apt-get download {ba.PACKAGE})")
    out = ba.build_ambience(tmp_path / "ambience", deb=deb, subset=True)
    built = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(FOLDER).as_posix() for p in FOLDER.rglob("*") if p.is_file() and p.name != "README.md")
    assert built == committed
    assert all((out / rel).read_bytes() == (FOLDER / rel).read_bytes() for rel in built)
    # the ambience stem is the registered window of the package's file, decoded and resampled independently
    entry = next(e for e in MANIFEST["pieces"] if e["ambience"] == "minepump03")
    _, oggs, _ = ba.read_package(deb)
    x, rate = sf.read(io.BytesIO(oggs["minepump03"]), dtype="float32", always_2d=True)
    window = resample_poly(x.astype(np.float64).mean(axis=1), ba.SR, rate)[entry["ambience_start"]: entry["ambience_start"] + N]
    fade = _fade()
    window[: len(fade)] *= fade
    window[-len(fade):] *= fade[::-1]
    stem, _ = sf.read(str(FOLDER / entry["name"] / "ambience.flac"), dtype="int16")
    assert np.max(np.abs(np.round(window * entry["ambience_gain"] * entry["scale"] * 32768) - stem)) <= 1
