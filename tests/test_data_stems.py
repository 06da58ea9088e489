"""innmf.data.stems: any folder of stems as a separation corpus (layout, rates, padding, split, errors)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from innmf.data.audio import CorpusError
from innmf.data.stems import Piece, draw_split, load_stems, parse_stems_spec

SR = 8000


def _tone(n: int, f: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(n) / rate
    x = 0.25 * np.sin(2 * np.pi * f * t)
    return np.stack([x, 0.5 * x], axis=1) if channels == 2 else x


def _write(path: Path, x: np.ndarray, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, rate, subtype="FLOAT" if path.suffix == ".wav" else "PCM_16")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three pieces: 8 kHz, 16 kHz stereo and 22.05 kHz files of different lengths."""
    root = tmp_path / "stems"
    _write(root / "a" / "bass.wav", _tone(800, 110, 8000), 8000)
    _write(root / "a" / "lead.wav", _tone(2000, 440, 16000, channels=2), 16000)
    _write(root / "b" / "bass.wav", _tone(2205, 98, 22050), 22050)
    _write(root / "b" / "lead.flac", _tone(600, 523, 8000), 8000)
    (root / "c").mkdir()
    sf.write(str(root / "c" / "bass.ogg"), _tone(400, 82, 8000), 8000, format="OGG", subtype="VORBIS")
    _write(root / "c" / "lead.wav", _tone(400, 330, 8000), 8000)
    (root / "c" / "notes.txt").write_text("not audio, ignored")
    return root


def test_layout_rates_padding_and_exact_mixture(folder: Path) -> None:
    corpus = load_stems(f"stems:{folder}", sr=SR)
    assert [p.name for p in corpus.pieces] == ["a", "b", "c"] and corpus.sources == ("bass", "lead")
    a = corpus.piece("a").load()
    lead = sf.read(str(folder / "a" / "lead.wav"), dtype="float64")[0].mean(axis=1)
    reference = resample_poly(lead, 1, 2)  # 16 kHz -> 8 kHz: an independent call of scipy's filter
    assert len(a["lead"]) == len(a["bass"]) == 1000 == len(reference)
    np.testing.assert_allclose(a["lead"], reference, atol=1e-12)
    bass = sf.read(str(folder / "a" / "bass.wav"), dtype="float64")[0]
    assert np.array_equal(a["bass"][:800], bass) and not a["bass"][800:].any()  # zero-padded to the longest
    b = corpus.piece("b").load()
    x = sf.read(str(folder / "b" / "bass.wav"), dtype="float64")[0]
    assert len(b["bass"]) == 800  # ceil(2205 * 8000 / 22050)
    np.testing.assert_allclose(b["bass"], resample_poly(x, 160, 441), atol=1e-12)
    piece = corpus.piece("b")
    assert np.array_equal(piece.mixture(b), b["bass"] + b["lead"])
    assert np.array_equal(piece.mixture(), b["bass"] + b["lead"])
    assert load_stems(f"stems:{folder}", sr=16000).piece("a").load()["lead"].shape == (2000,)
    c = corpus.piece("c").load()  # Ogg Vorbis is read too
    assert len(c["bass"]) == len(c["lead"]) >= 400 and np.abs(c["bass"]).max() > 0.1


def test_drawn_split_rule_and_determinism(folder: Path) -> None:
    corpus = load_stems(f"stems:{folder}")
    assert corpus.split == load_stems(f"stems:{folder}").split
    assert sorted(corpus.split.values()) == ["fit", "test", "test"]
    names = [f"p{i:02d}" for i in range(10)]
    split = draw_split(names, 0)
    order = [names[i] for i in np.random.default_rng(0).permutation(10)]
    assert [split[n] for n in order] == ["fit"] * 2 + ["validation"] + ["test"] * 7
    assert split == draw_split(list(reversed(names)), 0)  # the input order does not matter
    assert any(draw_split(names, s) != split for s in (1, 2, 3))
    assert sorted(draw_split(["x", "y"], 5).values()) == ["fit", "test"]
    seeded = load_stems(f"stems:{folder}?split_seed=3")
    assert seeded.split == dict(zip(["a", "b", "c"], [draw_split(["a", "b", "c"], 3)[n] for n in "abc"]))
    assert seeded.spec.endswith("?split_seed=3")
    assert load_stems(f"stems:{folder}", split_seed=3).split == seeded.split


def test_split_json_is_read(folder: Path) -> None:
    (folder / "split.json").write_text(json.dumps({"fit": ["b"], "validation": [], "test": ["c", "a"]}))
    corpus = load_stems(f"stems:{folder}")
    assert corpus.split == {"a": "test", "b": "fit", "c": "test"}
    assert [p.name for p in corpus.pieces_in("test")] == ["a", "c"] and corpus.pieces_in("validation") == []
    with pytest.raises(ValueError, match="unknown split part"):
        corpus.pieces_in("train")


@pytest.mark.parametrize("table, message", [
    ({"fit": ["a", "zz"], "validation": [], "test": ["b", "c"]}, r"no folder: \['zz'\]"),
    ({"fit": ["a"], "validation": ["a"], "test": ["b", "c"]}, "both 'fit' and 'validation'"),
    ({"fit": ["a"], "validation": [], "test": ["b"]}, r"\['c'\] are in no list"),
    ({"fit": ["a"], "test": ["b", "c"]}, "needs exactly the keys"),
    ([["a"]], "needs exactly the keys"),
])
def test_bad_split_json(folder: Path, table: object, message: str) -> None:
    (folder / "split.json").write_text(json.dumps(table))
    with pytest.raises(CorpusError, match=message):
        load_stems(f"stems:{folder}")


def test_split_json_errors_of_form(folder: Path) -> None:
    (folder / "split.json").write_text("{not json")
    with pytest.raises(CorpusError, match="not readable JSON"):
        load_stems(f"stems:{folder}")
    (folder / "split.json").write_text(json.dumps({"fit": ["a"], "validation": [], "test": ["b", "c"]}))
    with pytest.raises(CorpusError, match="split_seed=2 has no effect"):
        load_stems(f"stems:{folder}?split_seed=2")


def test_layout_errors(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_stems(f"stems:{tmp_path / 'nowhere'}")
    with pytest.raises(CorpusError, match="is a file"):
        load_stems(f"stems:{folder / 'a' / 'bass.wav'}")
    empty = tmp_path / "empty"
    (empty / "piece").mkdir(parents=True)
    with pytest.raises(CorpusError, match="has no pieces"):
        load_stems(f"stems:{empty}")
    (empty / "ensemble" / "p").mkdir(parents=True)
    with pytest.raises(CorpusError, match="use 'chorales:"):
        load_stems(f"stems:{empty}")
    (folder / "c" / "lead.wav").rename(folder / "c" / "drums.wav")
    with pytest.raises(CorpusError, match=r"piece 'c'.*missing \['lead'\], extra \['drums'\]"):
        load_stems(f"stems:{folder}")
    (folder / "c" / "drums.wav").rename(folder / "c" / "lead.wav")
    _write(folder / "c" / "lead.flac", _tone(400, 330, 8000), 8000)
    with pytest.raises(CorpusError, match="source 'lead' has two files"):
        load_stems(f"stems:{folder}")
    (folder / "c" / "lead.flac").unlink()
    (folder / "b" / "bass.wav").write_bytes(b"RIFF....garbage")
    with pytest.raises(CorpusError, match="bass.wav"):
        load_stems(f"stems:{folder}")


def test_too_few_pieces_for_a_drawn_split(tmp_path: Path) -> None:
    _write(tmp_path / "only" / "x.wav", _tone(100, 200, 8000), 8000)
    with pytest.raises(CorpusError, match="at least 2 pieces"):
        load_stems(f"stems:{tmp_path}")


def test_silent_source_is_named(folder: Path) -> None:
    _write(folder / "b" / "lead.flac", np.zeros(600), 8000)
    corpus = load_stems(f"stems:{folder}")
    corpus.piece("a").load()
    with pytest.raises(CorpusError, match="piece 'b': source 'lead'.*silent"):
        corpus.piece("b").load()


def test_undecodable_stem_at_load(folder: Path) -> None:
    corpus = load_stems(f"stems:{folder}")
    (folder / "a" / "bass.wav").write_bytes(b"RIFF....garbage")
    with pytest.raises(CorpusError, match="cannot decode"):
        corpus.piece("a").load()


@pytest.mark.parametrize("spec, error, message", [
    ("", CorpusError, "empty stems spec"),
    ("musdb:/x", CorpusError, "unknown stems spec"),
    ("stems:", CorpusError, "needs a path"),
    ("default-music:/x", CorpusError, "takes no path"),
    ("stems:/x?seed=1", CorpusError, "no option 'seed'.*split_seed"),
    ("default-music?timbre", CorpusError, "has no value"),
    ("default-music?split_seed=1", CorpusError, "no option 'split_seed'"),
    ("default-music?timbre=organ", CorpusError, "unknown timbre 'organ'"),
])
def test_spec_errors(spec: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        load_stems(spec)


def test_spec_parsing_and_sr(folder: Path) -> None:
    assert parse_stems_spec("chorales:/a/b?timbre=piano") == ("chorales", "/a/b", {"timbre": "piano"})
    assert parse_stems_spec("DEFAULT-MUSIC") == ("default-music", "", {})
    with pytest.raises(CorpusError, match="not an integer"):
        load_stems(f"stems:{folder}?split_seed=x")
    with pytest.raises(ValueError, match="positive integer"):
        load_stems(f"stems:{folder}", sr=0)


def test_chorales_layout(folder: Path, tmp_path: Path) -> None:
    build = tmp_path / "build"
    build.mkdir()
    folder.rename(build / "piano")
    corpus = load_stems(f"chorales:{build}?timbre=piano")
    assert corpus.root == build / "piano" and len(corpus.pieces) == 3
    with pytest.raises(FileNotFoundError, match="no 'ensemble' folder"):
        load_stems(f"chorales:{build}")
    with pytest.raises(FileNotFoundError, match="build_chorales"):
        load_stems(f"chorales:{tmp_path / 'nowhere'}")


def test_mixture_needs_every_source() -> None:
    piece = Piece("p", ("a", "b"), {}, SR)
    with pytest.raises(ValueError, match=r"lack source\(s\) \['b'\]"):
        piece.mixture({"a": np.ones(3)})
