"""The recorded-stems corpus (Muldjord): the committed subset, its manifest, the pre-registration and the cutter."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from innmf.data import build_muldjord as bm
from innmf.data.audio import CorpusError
from innmf.data.stems import PARTS, load_stems

RECORD = bm.read_registration()
MANIFEST = json.loads((bm.muldjord_dir() / bm.MANIFEST).read_text(encoding="utf-8"))
N = int(bm.EXCERPT_SECONDS * bm.SR)


def test_subset_loads_as_a_stems_corpus() -> None:
    corpus = load_stems("stems:" + str(bm.muldjord_dir()))
    assert corpus.sr == bm.SR and corpus.sources == ("backing", "guitar")
    assert {p: [x.name for x in corpus.pieces_in(p)] for p in PARTS} == \
        {"fit": sorted(RECORD["subset"]["fit"]), "validation": [], "test": sorted(RECORD["subset"]["test"])}
    for piece in corpus.pieces:
        stems = piece.load()
        levels = {s: 10 * np.log10(np.mean(x ** 2)) for s, x in stems.items()}
        assert all(len(x) == N for x in stems.values()) and min(levels.values()) > -40, (piece.name, levels)
        assert abs(np.abs(piece.mixture(stems)).max() - bm.MIX_PEAK) <= 2 / 32768  # one factor; rounding of 2 stems


def test_committed_files_match_the_manifest() -> None:
    folder = bm.muldjord_dir()
    assert bm.verify_build() == []
    for rel, entry in MANIFEST["files"].items():
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == entry["sha256"]
    assert MANIFEST["registration_sha256"] == hashlib.sha256(bm.registration_path().read_bytes()).hexdigest()
    assert MANIFEST["versions"][bm.PACKAGE] == RECORD["version"] and MANIFEST["deb_sha256"] == RECORD["deb_sha256"]
    assert MANIFEST["settings"] == bm.settings() == RECORD["settings"]
    split = json.loads((folder / "split.json").read_text())
    assert split == MANIFEST["split"] == {"fit": RECORD["subset"]["fit"], "validation": [], "test": RECORD["subset"]["test"]}
    licence = (folder / "copyright-debian.txt").read_text() + (folder / "readme-muldjord.txt").read_text()
    assert "Attribution-ShareAlike 3.0" in licence and "El Senator" in licence and "Muldjord" in licence
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    assert size < 1.5e6, f"{folder} holds {size / 1e6:.2f} MB"


def test_registration_follows_its_rule() -> None:
    songs = {s["song"]: s for s in RECORD["songs"]}
    assert sorted(songs) == ["armygeddon", "chaos_god", "internal_degeneration", "mutilated_mime"]
    parts = bm.split_songs({s: e["frames"] for s, e in songs.items()})
    assert RECORD["split_songs"] == {p: [s for s in songs if parts[s] == p] for p in PARTS}
    for song, entry in songs.items():
        ex = [e for e in RECORD["excerpts"] if e["song"] == song]
        assert len(ex) == entry["excerpts"] == int(entry["frames"] / entry["rate"] // bm.EXCERPT_SECONDS)
        levels = {s: np.array([-np.inf if e["level_db"][s] is None else e["level_db"][s] for e in ex]) for s in bm.SOURCES}
        assert [e["kept"] for e in ex] == list(bm.keep_excerpts(levels)) and entry["kept"] == sum(e["kept"] for e in ex)
    assert RECORD["split"] == {p: [e["name"] for e in RECORD["excerpts"] if e["kept"] and parts[e["song"]] == p] for p in PARTS}
    assert [e["name"] for e in RECORD["excerpts"] if not e["kept"]] == ["mutilated_mime-03"]  # its guitar rests 36-48 s


def test_excerpt_levels_and_drop_rule_by_hand() -> None:
    n, t = 800, np.arange(5 * 800 + 100)
    amplitude = np.repeat([1.0, 1.0, 1.0, 10 ** (-39 / 20), 0.0, 1.0], [800, 800, 800, 800, 800, 100])
    backing = np.repeat([0.1, 0.1 * 10 ** (-45 / 20), 0.1, 0.1, 0.1, 0.0], [800, 800, 800, 800, 800, 100])
    levels = bm.excerpt_levels({"guitar": amplitude * np.sin(2 * np.pi * t / 8), "backing": backing}, n)
    # a sine of amplitude A over whole periods has mean square A^2 / 2; the last 100 samples are left out
    half = 10 * np.log10(2)
    assert np.allclose(levels["guitar"][:4], [-half, -half, -half, -39 - half]) and levels["guitar"][4] == -np.inf
    assert np.allclose(levels["backing"], [-20, -65, -20, -20, -20])
    # medians -3.01 (guitar) and -20 dB (backing): excerpt 3's guitar is 39 dB below, excerpt 1's backing 45 dB
    assert list(bm.keep_excerpts(levels)) == [True, False, True, True, False]
    assert list(bm.keep_excerpts(levels, silence_db=38.0)) == [True, False, True, False, False]


def test_split_rule_by_hand() -> None:
    assert bm.split_songs({"a": 10, "b": 30, "c": 20, "d": 30, "e": 5}) == \
        {"b": "fit", "d": "fit", "c": "validation", "a": "test", "e": "test"}
    with pytest.raises(CorpusError, match="needs 4 songs"):
        bm.split_songs({"a": 1, "b": 2, "c": 3})


def test_cut_excerpt_fades_and_scales() -> None:
    rng = np.random.default_rng(0)
    stems = {"guitar": rng.normal(0, 0.3, 3 * N), "backing": rng.normal(0, 0.2, 3 * N)}
    cut, scale = bm.cut_excerpt(stems, 1)
    n_fade = int(bm.FADE_SECONDS * bm.SR)
    ramp = np.sin(np.pi / 2 * np.arange(n_fade) / n_fade) ** 2  # the half-cosine fade, written another way
    for s, x in cut.items():
        want = stems[s][N: 2 * N] * scale
        want[:n_fade] *= ramp
        want[-n_fade:] *= ramp[::-1]
        assert x.dtype == np.int16 and np.max(np.abs(x / 32768 - want)) <= 0.5 / 32768
    assert np.isclose(np.abs(sum(x.astype(float) for x in cut.values())).max() / 32768, bm.MIX_PEAK, atol=2 / 32768)
    with pytest.raises(ValueError, match="past the song's end"):
        bm.cut_excerpt(stems, 3)


def _ogg(x: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.stack([x, x], axis=1), rate, format="OGG", subtype="VORBIS")
    return buf.getvalue()


def fake_package(make_deb, path: Path, version: str = "1") -> Path:
    """A .deb laid out as the real one: four synthetic songs, a guitar that rests in one excerpt."""
    rate, t = 8000, np.arange(int(40 * 8000)) / 8000
    files = {bm.COPYRIGHT: b"Attribution-ShareAlike 3.0 (test)\n"}
    for i, song in enumerate(["alpha", "beta", "gamma", "delta"]):
        x = t[: len(t) - i * 8000]
        guitar = 0.3 * np.sin(2 * np.pi * (220 + 20 * i) * x) * (1 + 0.5 * np.sin(2 * np.pi * 3 * x))
        if song == "gamma":
            guitar[int(12 * rate): int(24 * rate)] = 0.0
        backing = 0.2 * np.sign(np.sin(2 * np.pi * 2 * x)) * np.sin(2 * np.pi * 110 * x)
        folder = f"{bm.SONGS_DIR}{song}/"
        files |= {folder + "guitar.ogg": _ogg(guitar, rate), folder + "song.ogg": _ogg(backing, rate),
                  folder + "readme.txt": b"CC BY-SA 3.0, by El Senator\n", folder + "song.ini": f"[song]\nname = {song}\n".encode()}
    control = f"Package: {bm.PACKAGE}\nVersion: {version}\n".encode()
    return make_deb(path, control, files)


def test_build_from_a_synthetic_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_deb) -> None:
    deb = fake_package(make_deb, tmp_path / f"{bm.PACKAGE}_1_all.deb")
    monkeypatch.setattr(bm, "registration_path", lambda: tmp_path / "reg.json")
    record = bm.register_muldjord(deb=deb)
    assert record["split_songs"] == {"fit": ["alpha", "beta"], "validation": ["gamma"], "test": ["delta"]}
    assert [e["name"] for e in record["excerpts"] if not e["kept"]] == ["gamma-01"]
    assert record["subset"] == {"fit": ["alpha-01", "beta-01"], "test": ["delta-01", "delta-02"]}
    assert bm.register_muldjord(deb=deb) == record  # the same record may be written again
    full = bm.build_muldjord(tmp_path / "full", deb=deb)
    corpus = load_stems(f"stems:{full}")
    assert [p.name for p in corpus.pieces_in("validation")] == ["gamma-00", "gamma-02"] and bm.verify_build(full) == []
    sub = bm.build_muldjord(tmp_path / "sub", deb=deb, subset=True)
    for rel, entry in json.loads((sub / bm.MANIFEST).read_text())["files"].items():
        assert entry["sha256"] == json.loads((full / bm.MANIFEST).read_text())["files"][rel]["sha256"]  # subset = full
    before = (sub / bm.MANIFEST).read_bytes()
    bm.build_muldjord(sub, deb=deb, subset=True)
    assert (sub / bm.MANIFEST).read_bytes() == before  # deterministic
    x, _ = sf.read(str(sub / "delta-01" / "guitar.flac"), dtype="int16")
    x[5] ^= 1
    sf.write(str(sub / "delta-01" / "guitar.flac"), x, bm.SR, subtype="PCM_16")
    assert any("decoded samples differ" in p for p in bm.verify_build(sub))
    with pytest.raises(CorpusError, match="not in this build"):
        bm.build_muldjord(full, deb=deb, subset=True)
    with pytest.raises(CorpusError, match="other audio than the registration"):
        bm.build_muldjord(tmp_path / "other", deb=fake_package(make_deb, tmp_path / "other.deb", version="2"))
    (tmp_path / "reg.json").write_text("{}\n")
    with pytest.raises(CorpusError, match="not rewritten silently"):
        bm.register_muldjord(deb=deb)


def test_missing_deb_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="apt-get download"):
        bm.find_deb(tmp_path / "none.deb")


DEB = bm.find_deb(download=False)


@pytest.mark.skipif(DEB is None, reason=f"needs {bm.PACKAGE}_*.deb in {bm.stems_build.deb_cache()} or /var/cache/apt/archives "
                    f"(apt-get download {bm.PACKAGE})")
def test_subset_rebuilds_bit_for_bit(tmp_path: Path) -> None:
    out = bm.build_muldjord(tmp_path / "subset", deb=DEB, subset=True)
    committed = sorted(p.relative_to(bm.muldjord_dir()).as_posix() for p in bm.muldjord_dir().rglob("*") if p.is_file())
    rebuilt = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert rebuilt == [p for p in committed if p != "README.md"]
    for rel in rebuilt:  # FLAC, split, manifest and licence texts, byte for byte
        assert (out / rel).read_bytes() == (bm.muldjord_dir() / rel).read_bytes(), rel
