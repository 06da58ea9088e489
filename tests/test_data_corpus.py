"""Corpora behind one interface: the embedded corpus, TIMIT (SPHERE written here), folders, bad input."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from innmf import SAMPLE_RATE
from innmf.data import CorpusError, load_corpus, make_trials, parse_spec, read_audio
from innmf.data import build_embedded as embedded
from innmf.data.sources import embedded as manifest
from innmf.data.audio import resampled_length

REPO = Path(__file__).resolve().parents[1]
IDS = ["cs-f", "cs-m", "en-f", "fr-f", "it-m", "ru-f"]


# --------------------------------------------------------------------------- helpers


def write_sphere(path: Path, pcm: np.ndarray, rate: int = 16000, byte_format: str = "01",
                 coding: str | None = None) -> None:
    """A NIST_1A file as in TIMIT: 1024-byte ASCII header, then 16-bit samples."""
    fields = [
        "database_id -s5 TIMIT", "channel_count -i 1", f"sample_count -i {len(pcm)}",
        f"sample_rate -i {rate}", "sample_n_bytes -i 2", f"sample_byte_format -s2 {byte_format}",
        "sample_sig_bits -i 16",
    ]
    if coding:
        fields.append(f"sample_coding -s{len(coding)} {coding}")
    header = ("NIST_1A\n   1024\n" + "\n".join(fields) + "\nend_head\n").encode("ascii")
    header += b" " * (1024 - len(header))
    dtype = "<i2" if byte_format == "01" else ">i2"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + np.asarray(pcm, dtype=dtype).tobytes())


def sentence_pcm(seed: int, seconds: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SAMPLE_RATE)) * 3000).astype(np.int16)


TIMIT_SENTENCES = ["SA1", "SA2", "SI1027", "SI648", "SX127", "SX37"]  # SI648 < SI1027 by number


@pytest.fixture(scope="module")
def timit_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("timit") / "TIMIT"
    speakers = {("TRAIN", "DR1", "FCJF0"): 1, ("TRAIN", "DR2", "MDAB0"): 2, ("TEST", "DR1", "FELC0"): 3}
    for (split, region, spk), base in speakers.items():
        for k, sent in enumerate(TIMIT_SENTENCES):
            write_sphere(root / split / region / spk / f"{sent}.WAV", sentence_pcm(100 * base + k, 1.0 + 0.25 * k))
            (root / split / region / spk / f"{sent}.TXT").write_text("0 1 text\n")
    return root


def write_tone(path: Path, rate: int, seconds: float, freq: float = 440.0, channels: int = 1,
               fmt: str | None = None) -> None:
    t = np.arange(int(seconds * rate)) / rate
    x = 0.5 * np.sin(2 * np.pi * freq * t)
    data = x if channels == 1 else np.stack([x, 0.5 * x], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, rate, format=fmt)


@pytest.fixture
def folder_tree(tmp_path) -> Path:
    root = tmp_path / "rec"
    write_tone(root / "alice" / "a1.wav", 44100, 3.0)
    write_tone(root / "alice" / "a2.flac", 8000, 2.0, freq=300.0)
    write_tone(root / "bob" / "b1.wav", 48000, 4.0, channels=2)
    write_tone(root / "carol" / "c1.ogg", 22050, 2.5, freq=500.0, fmt="OGG")
    write_tone(root / "carol" / "c2.WAV", 16000, 1.0)
    (root / "alice" / "notes.txt").write_text("not audio")
    (root / "speakers.csv").write_text("speaker,sex\nalice,F\nbob,M\ncarol,f\n")
    return root


# --------------------------------------------------------------------------- embedded corpus


@pytest.fixture(scope="module")
def default():
    return load_corpus("default")


def test_embedded_speakers(default):
    assert default.spec == "default"
    assert [s.id for s in default.speakers] == IDS
    assert {s.id: s.sex for s in default.speakers} == {
        "cs-f": "F", "cs-m": "M", "en-f": "F", "fr-f": "F", "it-m": "M", "ru-f": "F"}
    for s in default.speakers:
        x = s.audio()
        assert x.dtype == np.float32 and x.ndim == 1 and len(x) == s.n_samples
        assert 60.0 <= s.seconds <= 66.0
        assert np.max(np.abs(x)) == pytest.approx(10 ** (-1 / 20), abs=1e-4)  # -1 dBFS peak
        assert s.audio() is x  # cached
        assert not x.flags.writeable
    assert default.speaker("it-m").meta["licence"] == "CC-BY-SA-3.0"
    with pytest.raises(CorpusError, match="no speaker 'xx'.*cs-f"):
        default.speaker("xx")


def test_embedded_files_match_manifest_and_size():
    assert manifest.verify_embedded() == []
    shipped = manifest.read_manifest()
    total = sum((manifest.speech_dir() / f"{e['id']}.flac").stat().st_size for e in shipped["speakers"])
    assert total <= 10 * 1024 * 1024
    for e in shipped["speakers"]:
        info = sf.info(str(manifest.speech_dir() / f"{e['id']}.flac"))
        assert (info.samplerate, info.channels, info.subtype, info.frames) == (16000, 1, "PCM_16", e["n_samples"])


def test_readme_credits_every_speaker():
    readme = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    shipped = manifest.read_manifest()
    assert embedded.render_speakers_markdown(shipped) in readme  # generated section is current
    for e in shipped["speakers"]:
        for fact in (e["package"], e["version"], e["licence"], e["sha256"], e["files"][-1].split("/")[-1]):
            assert fact in readme
    assert "## Piano notes (hybrid chapter)" in readme and "See data/piano/README.md." in readme


def _debs() -> Path | None:
    folder = Path(os.environ.get("INNMF_DEBS", REPO / ".innmf-cache" / "debs"))
    needed = {s.package for s in embedded.SOURCES}
    have = {p.name.split("_")[0] for p in folder.glob("*.deb")} if folder.is_dir() else set()
    return folder if needed <= have else None


@pytest.mark.skipif(_debs() is None, reason="the .deb packages are not in .innmf-cache/debs (see data/README.md)")
def test_rebuild_is_bit_for_bit(tmp_path):
    pytest.importorskip("G722")
    rebuilt = embedded.build_corpus(_debs(), tmp_path, progress=False)
    committed = manifest.read_manifest()
    assert [e["sha256"] for e in rebuilt["speakers"]] == [e["sha256"] for e in committed["speakers"]]
    assert rebuilt == committed


def test_embedded_missing_folder_is_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("INNMF_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="speakers.json is missing.*INNMF_DATA"):
        load_corpus("default")


def test_trim_silence_caps_pauses_and_keeps_speech():
    rate = SAMPLE_RATE
    rng = np.random.default_rng(0)
    burst = 0.5 * np.sin(2 * np.pi * 200 * np.arange(rate) / rate)  # 1 s of "speech"
    noise = lambda s: 1e-4 * rng.standard_normal(int(s * rate))  # noqa: E731
    x = np.concatenate([noise(0.7), burst, noise(1.2), burst, noise(0.2), burst, noise(0.5)])
    y = embedded.trim_silence(x)
    # 3 s of tone, the 1.2 s pause cut to 0.3 s, the 0.2 s pause kept, each edge 0.1 s past the
    # first/last speech frame; a 20 ms frame touching a burst counts as speech (<= 20 ms per edge).
    expected = 3.0 + 0.3 + 0.2 + 2 * 0.1
    assert expected <= len(y) / rate <= expected + 2 * embedded.FRAME / rate
    loud = np.abs(y) > 0.05
    assert loud.sum() == pytest.approx((np.abs(burst) > 0.05).sum() * 3, rel=0.01)  # no speech lost


def test_source_selection():
    cs_f, cs_m, en_f = embedded.SOURCES[0], embedded.SOURCES[1], embedded.SOURCES[2]
    base = "./usr/share/games/fillets-ng/sound"
    assert cs_f.selects(f"{base}/airplane/cs/let-m-oko.ogg")
    assert not cs_f.selects(f"{base}/airplane/cs/let-v-oko.ogg")
    assert cs_m.selects(f"{base}/airplane/cs/let-v-oko.ogg")
    assert not cs_f.selects(f"{base}/share/border/cs/cil-m-hlaska1.ogg")  # deeper than sound/*/cs/
    assert not cs_f.selects(f"{base}/airplane/en/let-m-oko.ogg")
    voice = "./usr/share/asterisk/sounds/en_US_f_Allison"
    assert en_f.selects(f"{voice}/agent-pass.g722")
    assert not en_f.selects(f"{voice}/beep.g722")
    assert not en_f.selects(f"{voice}/digits/1.g722")


def test_read_deb_matches_archive(tmp_path, make_deb):
    """A .deb assembled here (ar + tar.xz) reads back the files put in it."""
    deb = make_deb(tmp_path / "demo_1.2-3_all.deb", b"Package: demo\nVersion: 1.2-3\nDescription: x\n more\n",
                   {"./usr/a/x.g722": b"abc", "./usr/a/y.txt": b"zz"})
    control, files = embedded.read_deb(deb, lambda p: p.endswith(".g722"))
    assert control["Package"] == "demo" and control["Version"] == "1.2-3"
    assert files == {"./usr/a/x.g722": b"abc"}
    with pytest.raises(FileNotFoundError, match="apt-get download"):
        embedded.deb_path(tmp_path, "fillets-ng-data-cs")


# --------------------------------------------------------------------------- TIMIT


def test_sphere_reader_agrees_with_libsndfile(tmp_path):
    pcm = sentence_pcm(7, 0.5)
    write_sphere(tmp_path / "le.wav", pcm)
    write_sphere(tmp_path / "be.wav", pcm, byte_format="10")
    ref, rate = sf.read(str(tmp_path / "le.wav"), dtype="float32")  # libsndfile reads NIST SPHERE
    assert rate == 16000
    np.testing.assert_array_equal(read_audio(tmp_path / "le.wav"), ref)
    np.testing.assert_array_equal(read_audio(tmp_path / "be.wav"), pcm.astype(np.float32) / 32768)
    write_sphere(tmp_path / "sh.wav", pcm, coding="shorten")
    with pytest.raises(CorpusError, match="sh.wav.*compressed.*sph2pipe"):
        read_audio(tmp_path / "sh.wav")


def test_timit_layout(timit_tree):
    corpus = load_corpus(f"timit:{timit_tree}")
    assert corpus.spec == f"timit:{timit_tree}?split=all&sa=yes"
    assert [s.id for s in corpus.speakers] == ["FCJF0", "FELC0", "MDAB0"]
    assert [s.sex for s in corpus.speakers] == ["F", "F", "M"]
    spk = corpus.speaker("MDAB0")
    assert [f.stem for f in spk.files] == ["SA1", "SA2", "SI648", "SI1027", "SX37", "SX127"]
    order = [TIMIT_SENTENCES.index(f.stem) for f in spk.files]
    expected = np.concatenate([sentence_pcm(200 + k, 1.0 + 0.25 * k) for k in order]) / 32768
    np.testing.assert_array_equal(spk.audio(), expected.astype(np.float32))
    assert spk.seconds == pytest.approx(sum(1.0 + 0.25 * k for k in range(6)))
    assert spk.meta["split"] == "TRAIN" and spk.meta["dialect_region"] == "DR2"


def test_timit_options(timit_tree, monkeypatch):
    train = load_corpus(f"timit:{timit_tree}?split=test", split="train", sa="yes")  # keyword wins
    assert [s.id for s in train.speakers] == ["FCJF0", "MDAB0"]
    assert train.spec.endswith("?split=train&sa=yes")
    no_sa = load_corpus(f"timit:{timit_tree}?sa=no")
    assert all(not f.stem.startswith("SA") for s in no_sa.speakers for f in s.files)
    assert no_sa.speaker("FCJF0").seconds == pytest.approx(1.5 + 1.75 + 2.0 + 2.25)
    monkeypatch.setenv("INNMF_TIMIT", str(timit_tree))
    assert load_corpus("timit").spec == load_corpus("timit:").spec == load_corpus(f"timit:{timit_tree}").spec
    with pytest.raises(CorpusError, match="split='dev'"):
        load_corpus("timit", split="dev")


def test_timit_errors(timit_tree, tmp_path, monkeypatch):
    monkeypatch.delenv("INNMF_TIMIT", raising=False)
    with pytest.raises(CorpusError, match="INNMF_TIMIT.*timit:PATH"):
        load_corpus("timit")
    with pytest.raises(CorpusError, match="1 speaker.*at least two"):
        load_corpus(f"timit:{timit_tree}?split=test")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_corpus(f"timit:{tmp_path / 'nowhere'}")
    write_tone(tmp_path / "spk" / "a" / "x.wav", 16000, 1.0)
    with pytest.raises(CorpusError, match="not a TIMIT tree.*folder:"):
        load_corpus(f"timit:{tmp_path / 'spk'}")
    with pytest.raises(CorpusError, match="TIMIT"):
        load_corpus(f"folder:{timit_tree}")
    with pytest.raises(CorpusError, match=r"one part of TIMIT.*\?split=train"):
        load_corpus(f"timit:{timit_tree / 'TRAIN'}")


def test_timit_lower_case_copy(tmp_path):
    for spk, seed in (("fabc0", 1), ("mdef0", 2)):
        for k, sent in enumerate(("sx3", "sa1", "si12")):
            write_sphere(tmp_path / "timit" / "train" / "dr3" / spk / f"{sent}.wav", sentence_pcm(seed + k, 0.5))
        write_sphere(tmp_path / "timit" / "train" / "dr3" / spk / "sa1.wav.wav", sentence_pcm(99, 0.5))
    corpus = load_corpus(f"timit:{tmp_path}")  # the TIMIT root one level down is found
    assert corpus.ids == ["FABC0", "MDEF0"] and corpus.speaker("MDEF0").sex == "M"
    assert [f.name for f in corpus.speaker("FABC0").files] == ["sa1.wav", "si12.wav", "sx3.wav"]


# --------------------------------------------------------------------------- folders


def test_folder_corpus_mixed_rates_and_stereo(folder_tree):
    corpus = load_corpus(f"folder:{folder_tree}")
    assert corpus.spec == f"folder:{folder_tree}"
    assert [(s.id, s.sex) for s in corpus.speakers] == [("alice", "F"), ("bob", "M"), ("carol", "F")]
    alice, bob, carol = corpus.speakers
    assert [f.name for f in alice.files] == ["a1.wav", "a2.flac"]
    assert [f.name for f in carol.files] == ["c1.ogg", "c2.WAV"]
    assert len(alice.audio()) == resampled_length(3 * 44100, 44100) + resampled_length(2 * 8000, 8000)
    assert len(bob.audio()) == 4 * 16000 and bob.n_samples == 4 * 16000
    t = np.arange(16000 * 4) / 16000
    # 48 kHz stereo (L = x, R = x/2) resampled to 16 kHz mono must equal 0.75 x sampled at 16 kHz.
    ref = 0.75 * 0.5 * np.sin(2 * np.pi * 440 * t)
    np.testing.assert_allclose(bob.audio()[800:-800], ref[800:-800], atol=2e-3)
    ref_a = 0.5 * np.sin(2 * np.pi * 440 * np.arange(3 * 16000) / 16000)
    np.testing.assert_allclose(alice.audio()[800 : 3 * 16000 - 800], ref_a[800:-800], atol=2e-3)
    assert carol.seconds == pytest.approx(3.5, abs=1e-3)


def test_folder_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_corpus(f"folder:{tmp_path / 'missing'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no speaker folders.*<speaker>"):
        load_corpus(f"folder:{tmp_path / 'empty'}")
    write_tone(tmp_path / "flat" / "a.wav", 16000, 1.0)
    with pytest.raises(CorpusError, match="directly in"):
        load_corpus(f"folder:{tmp_path / 'flat'}")
    write_tone(tmp_path / "one" / "solo" / "a.wav", 16000, 1.0)
    with pytest.raises(CorpusError, match="1 speaker.*at least two"):
        load_corpus(f"folder:{tmp_path / 'one'}")
    (tmp_path / "file.wav").write_bytes(b"x")
    with pytest.raises(CorpusError, match="is a file"):
        load_corpus(f"folder:{tmp_path / 'file.wav'}")
    with pytest.raises(CorpusError, match="needs a path"):
        load_corpus("folder:")


def test_folder_unreadable_empty_silent_nan(tmp_path):
    write_tone(tmp_path / "c" / "ok" / "a.wav", 16000, 2.0)
    bad = tmp_path / "c" / "bad"
    write_tone(bad / "a.wav", 16000, 2.0)
    (bad / "b.wav").write_bytes(b"RIFF....garbage-not-a-wav-file")
    with pytest.raises(CorpusError, match=r"b\.wav: cannot decode.*Convert it"):
        load_corpus(f"folder:{tmp_path / 'c'}")
    (bad / "b.wav").write_bytes(b"")
    with pytest.raises(CorpusError, match=r"b\.wav: the file is empty"):
        load_corpus(f"folder:{tmp_path / 'c'}")
    sf.write(str(bad / "b.wav"), np.zeros(8000), 16000)
    corpus = load_corpus(f"folder:{tmp_path / 'c'}")  # headers are fine; decoding finds the silence
    with pytest.raises(CorpusError, match=r"b\.wav: the recording is silent"):
        corpus.speaker("bad").audio()
    x = np.full(8000, 0.1)
    x[100] = np.nan
    sf.write(str(bad / "b.wav"), x, 16000, subtype="FLOAT")
    with pytest.raises(CorpusError, match=r"b\.wav: the file contains NaN"):
        load_corpus(f"folder:{tmp_path / 'c'}").speaker("bad").audio()


def test_short_speaker_error_or_skip(tmp_path):
    for name, seconds in (("long1", 5.0), ("long2", 4.0), ("tiny", 1.0)):
        write_tone(tmp_path / name / "a.wav", 16000, seconds)
    corpus = load_corpus(f"folder:{tmp_path}")
    with pytest.raises(CorpusError, match=r"tiny \(1\.0 s\).*skip_short"):
        make_trials(corpus, 2, train_seconds=2.0, test_seconds=1.0)
    with pytest.warns(UserWarning, match="tiny skipped"):
        trials = make_trials(corpus, 4, train_seconds=2.0, test_seconds=1.0, skip_short=True)
    assert all(set(t.speakers) == {"long1", "long2"} for t in trials)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(CorpusError, match="1 speaker.*needs two"):
            make_trials(corpus, 1, train_seconds=3.5, test_seconds=1.0, skip_short=True)


def test_spec_parsing():
    assert parse_spec("default") == ("default", "", {})
    assert parse_spec("timit:/d/T?split=test&sa=no") == ("timit", "/d/T", {"split": "test", "sa": "no"})
    assert parse_spec("folder:/a?b") == ("folder", "/a?b", {})  # not options: kept in the path
    with pytest.raises(CorpusError, match="unknown corpus spec 'wav:x'.*default.*timit:PATH.*folder:PATH"):
        load_corpus("wav:x")
    with pytest.raises(CorpusError, match="takes no options"):
        load_corpus("default", split="test")
    with pytest.raises(CorpusError, match="empty corpus spec"):
        load_corpus("  ")


def test_manifest_is_json_with_required_fields():
    shipped = json.loads((manifest.speech_dir() / "speakers.json").read_text())
    for e in shipped["speakers"]:
        assert {"id", "sex", "language", "package", "version", "licence", "seconds", "sha256", "files"} <= set(e)
    assert sum(e["sex"] == "M" for e in shipped["speakers"]) == 2


def test_a_book_tree_without_data_reads_the_running_checkouts_data(tmp_path, monkeypatch):
    """``$INNMF_ROOT`` names a copied book tree (notebooks, no data/): the embedded data still resolves."""
    from innmf.data.paths import PACKAGE, data_dir, repository_root

    (tmp_path / "notebooks").mkdir()
    monkeypatch.delenv("INNMF_DATA", raising=False)
    monkeypatch.setenv("INNMF_ROOT", str(tmp_path))
    assert repository_root() == tmp_path
    assert data_dir() == PACKAGE.parent / "data"
    (tmp_path / "data").mkdir()
    assert data_dir() == tmp_path / "data"  # a tree with its own data uses it
