"""The chorale corpus: the committed subset, its manifest, the pre-registered piece list and the renderer."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from innmf.data import build_chorales as bc
from innmf.data import piano_render
from innmf.data.audio import CorpusError
from innmf.data.sources.embedded import sha256_file
from innmf.data.stems import default_music_dir, load_stems

RECORD = bc.read_registration()
MANIFEST = json.loads((default_music_dir() / bc.MANIFEST).read_text(encoding="utf-8"))
CAN_RENDER = shutil.which("fluidsynth") is not None and piano_render.SOUNDFONT.exists()


@pytest.mark.parametrize("timbre", bc.TIMBRES)
def test_default_music_loads(timbre: str) -> None:
    corpus = load_stems("default-music" if timbre == "ensemble" else f"default-music?timbre={timbre}")
    assert corpus.sr == bc.SR and corpus.sources == ("alto", "bass", "soprano", "tenor")
    assert {p: [x.name for x in corpus.pieces_in(p)] for p in ("fit", "validation", "test")} == \
        {"fit": sorted(RECORD["subset"]["fit"]), "validation": [], "test": sorted(RECORD["subset"]["test"])}
    for piece in corpus.pieces:
        stems = piece.load()
        assert all(len(x) == int(bc.EXCERPT_SECONDS * bc.SR) and np.abs(x).max() > 0.05 for x in stems.values())
        mix = piece.mixture(stems)
        assert abs(np.abs(mix).max() - bc.MIX_PEAK) <= 4 / 32768  # one scale factor; 16-bit rounding of 4 stems


def test_committed_files_match_the_manifest() -> None:
    assert bc.verify_build() == []
    assert MANIFEST["registration_sha256"] == sha256_file(bc.registration_path())
    assert MANIFEST["split"] == {"fit": RECORD["subset"]["fit"], "validation": [], "test": RECORD["subset"]["test"]}
    assert MANIFEST["render"] == bc.render_settings() == RECORD["render"]
    for timbre in bc.TIMBRES:
        split = json.loads((default_music_dir() / timbre / "split.json").read_text())
        assert split == MANIFEST["split"]
    size = sum(f.stat().st_size for f in default_music_dir().rglob("*") if f.is_file())
    assert size < 6.5e6, f"the chorale subset holds {size / 1e6:.1f} MB"


def test_verify_build_sees_a_changed_file(tmp_path: Path) -> None:
    copy = tmp_path / "chorales"
    shutil.copytree(default_music_dir(), copy)
    rel = next(iter(MANIFEST["files"]))
    x, sr = sf.read(str(copy / rel), dtype="int16")
    x[100] ^= 1
    sf.write(str(copy / rel), x, sr, subtype="PCM_16")
    shutil.copy(copy / rel, copy / "piano" / "extra.flac")
    problems = bc.verify_build(copy)
    assert any("sha256 differs" in p for p in problems) and any("decoded samples differ" in p for p in problems)
    assert any("extra.flac: not in" in p for p in problems)


def test_registration_rule() -> None:
    pieces = RECORD["pieces"]
    names = [p["name"] for p in pieces]
    assert len(names) == len(set(names)) == 30
    assert len({p["file"] for p in pieces}) == len({p["riemenschneider"] for p in pieces}) == 30
    assert {p: len(v) for p, v in RECORD["split"].items()} == {"fit": 6, "validation": 4, "test": 20}
    assert RECORD["split"] == {p: [x["name"] for x in pieces if x["split"] == p] for p in ("fit", "validation", "test")}
    assert [p["split"] for p in pieces] == ["fit"] * 6 + ["validation"] * 4 + ["test"] * 20
    k = RECORD["k"]
    assert k == RECORD["eligible"] // 30 and [p["index"] for p in pieces] == [i * k for i in range(30)]
    assert all(p["parts"] == list(bc.VOICES) for p in pieces)
    assert RECORD["eligible"] + len(RECORD["excluded"]) == RECORD["catalogue_size"]
    assert RECORD["subset"] == {"fit": RECORD["split"]["fit"][:3], "test": RECORD["split"]["test"][:3]}
    assert RECORD["rule"] == bc.RULE


def test_select_by_hand() -> None:
    eligible = [{"riemenschneider": r, "bwv": str(r)} for r in range(1, 66)]
    k, pieces = bc.select(eligible)
    assert k == 2 and [p["riemenschneider"] for p in pieces] == list(range(1, 60, 2))
    assert pieces[5]["split"] == "fit" and pieces[6]["split"] == "validation" and pieces[10]["split"] == "test"
    assert pieces[0]["name"] == "r001_bwv1"
    with pytest.raises(CorpusError, match="only 29 eligible"):
        bc.select(eligible[:29])


def test_part_names_from_musicxml(tmp_path: Path) -> None:
    xml = ('<?xml version="1.0"?><score-partwise><part-list>'
           + "".join(f'<score-part id="P{i}"><part-name>{n}</part-name></score-part>' for i, n in
                     enumerate(["Soprano", " Alto ", "Tenor", "Bass"]))
           + '</part-list><part id="P0"><measure number="1"/></part></score-partwise>')
    (tmp_path / "a.xml").write_text(xml)
    with zipfile.ZipFile(tmp_path / "a.mxl", "w") as z:
        z.writestr("META-INF/container.xml", '<container><rootfiles><rootfile full-path="s/a.xml"/></rootfiles></container>')
        z.writestr("s/a.xml", xml)
    assert bc.part_names(tmp_path / "a.xml") == bc.part_names(tmp_path / "a.mxl") == list(bc.VOICES)


def test_registration_is_not_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bc, "registration", lambda: {"pieces": []})
    path = tmp_path / "chorales.json"
    bc.register_chorales(path)
    bc.register_chorales(path)  # the same content: fine
    monkeypatch.setattr(bc, "registration", lambda: {"pieces": [1]})
    with pytest.raises(CorpusError, match="not rewritten silently"):
        bc.register_chorales(path)


def test_midi_writer_takes_a_program_and_a_length() -> None:
    one = piano_render.midi_bytes((("A4", 69, 0.0, 0.6, 100),), 68, 1.0)
    # tempo 120 bpm, 480 ticks per quarter: 0.6 s = 576 ticks (varlen 0x84 0x40), 1 s = 960 ticks (delta 384: 0x83 0x00)
    assert one[22:] == (b"\x00\xff\x51\x03\x07\xa1\x20\x00\xc0\x44" b"\x00\x90\x45\x64" b"\x84\x40\x80\x45\x00"
                        b"\x83\x00\xff\x2f\x00")


def test_missing_music21_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "music21", None)
    with pytest.raises(ModuleNotFoundError, match="pip install 'innmf\\[dev\\]'"):
        bc.catalogue()


def test_rederive_the_registered_list_from_music21() -> None:
    pytest.importorskip("music21")
    eligible, excluded = bc.screen(bc.catalogue(), check_excerpt=False)
    silent = {e["riemenschneider"] for e in RECORD["excluded"] if "silent" in e["reason"]}
    assert len(eligible) - len(silent) == RECORD["eligible"]
    k, pieces = bc.select([e for e in eligible if e["riemenschneider"] not in silent])
    assert k == RECORD["k"]
    assert [(p["name"], p["title"]) for p in pieces] == [(p["name"], p["title"]) for p in RECORD["pieces"]]
    # music21's own parser agrees with the part-list reader, every listed voice sounds in the excerpt,
    # and no two listed excerpts are the same music (the catalogue lists some harmonisations twice)
    excerpts = set()
    for entry in pieces + [e for e in excluded if e["reason"].startswith("parts")][:1]:
        score = bc.parse(entry)
        assert [p.partName for p in score.parts] == entry["parts"]
        if entry in pieces:
            assert bc.silent_voices(score) == []
            excerpts.add(tuple(bc.voice_notes(p) for p in score.parts))
    assert len(excerpts) == 30


def test_voice_notes_by_hand() -> None:
    music21 = pytest.importorskip("music21")
    part = music21.stream.Part()
    c4, d4 = music21.note.Note("C4", quarterLength=1), music21.note.Note("D4", quarterLength=2)
    d4.tie = music21.tie.Tie("start")
    d4b = music21.note.Note("D4", quarterLength=1)
    d4b.tie = music21.tie.Tie("stop")
    grace = music21.note.Note("E4").getGrace()
    for n in (c4, d4, d4b, music21.note.Rest(quarterLength=1), grace, music21.note.Note("F4", quarterLength=16),
              music21.note.Note("G4", quarterLength=1)):
        part.append(n)
    # quarter = 0.6 s; the excerpt ends at 20 quarters = 12 s
    assert bc.voice_notes(part) == (("C4", 60, 0.0, 0.6, 100), ("D4", 62, 0.6, 2.4, 100), ("F4", 65, 3.0, 12.0, 100))
    score = music21.stream.Score([part, music21.stream.Part([music21.note.Rest(quarterLength=24)])])
    assert len(bc.silent_voices(score)) == 1


def test_first_notes_have_the_score_pitches() -> None:
    music21 = pytest.importorskip("music21")
    librosa = pytest.importorskip("librosa")
    name = RECORD["subset"]["fit"][0]
    entry = next(p for p in RECORD["pieces"] if p["name"] == name)
    score = bc.parse({"path": Path(music21.corpus.__file__).parent / entry["file"]})
    stems = load_stems("default-music?timbre=piano").piece(name).load()
    for part in score.parts:
        for _, key, on, off, _ in bc.voice_notes(part)[:3]:
            seg = stems[part.partName.lower()][int((on + 0.1) * bc.SR): int((off - 0.05) * bc.SR)]
            f0 = float(np.median(librosa.yin(seg, fmin=60, fmax=1000, sr=bc.SR, frame_length=1024)))
            cents = 1200 * np.log2(f0 / (440 * 2 ** ((key - 69) / 12)))
            assert abs((cents + 600) % 1200 - 600) < 50, (part.partName, key, f0)  # the pitch class, octave errors aside


@pytest.mark.skipif(not CAN_RENDER, reason="re-rendering needs `apt-get install fluidsynth fluid-soundfont-gm`")
def test_one_piece_rerenders_bit_for_bit(tmp_path: Path) -> None:
    music21 = pytest.importorskip("music21")
    name = RECORD["subset"]["test"][0]
    entry = next(p for p in RECORD["pieces"] if p["name"] == name)
    score = bc.parse({"path": Path(music21.corpus.__file__).parent / entry["file"]})
    stems, scale = bc.render_piece(score, "ensemble", tmp_path)
    assert scale == next(p for p in MANIFEST["pieces"] if p["name"] == name)["scale"]["ensemble"]
    for voice, samples in stems.items():
        rel = f"ensemble/{name}/{voice}.flac"
        assert np.array_equal(samples, sf.read(str(default_music_dir() / rel), dtype="int16")[0])
        bc.write_stem(tmp_path / "out.flac", samples, bc.SR)
        assert sha256_file(tmp_path / "out.flac") == MANIFEST["files"][rel]["sha256"]
