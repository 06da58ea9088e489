"""The ``librispeech:PATH`` corpus on a tiny LibriSpeech tree written here (synthetic FLAC)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from innmf.data import CorpusError, load_corpus, make_trials
from innmf.data.sources.librispeech import read_speakers_txt
from innmf.tools.cli import main

SPEAKERS_TXT = """\
; Some speakers' names contain a '|' (as in LibriSpeech's own file)
;ID  |SEX| SUBSET           |MINUTES| NAME
19   | F | train-clean-100  | 25.19 | Kara Shallenberg
26   | M | train-clean-100  | 25.08 | Denny Sayers
60   | M | train-clean-100  | 20.18 | |CBW|Simon
84   | F | dev-clean        |  8.02 | Christie Nowak
"""
# speaker -> subset, {chapter: number of utterances}
LAYOUT = {"19": ("train-clean-100", {198: 2, 227: 1}), "26": ("train-clean-100", {495: 2}),
          "60": ("train-clean-100", {121: 1}), "84": ("dev-clean", {121123: 2})}
SECONDS = 2.5


def _utterance(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal(int(SECONDS * 16000))).astype(np.float32)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ls") / "LibriSpeech"
    root.mkdir()
    (root / "SPEAKERS.TXT").write_text(SPEAKERS_TXT)
    seed = 0
    for speaker, (subset, chapters) in LAYOUT.items():
        for chapter, n in chapters.items():
            folder = root / subset / speaker / str(chapter)
            folder.mkdir(parents=True)
            (folder / f"{speaker}-{chapter}.trans.txt").write_text("TRANSCRIPT\n")
            for u in range(n):
                seed += 1
                sf.write(str(folder / f"{speaker}-{chapter}-{u:04d}.flac"), _utterance(seed), 16000,
                         format="FLAC", subtype="PCM_16")
    return root


def test_speakers_txt_with_comments_and_bars_in_names(tree):
    table = read_speakers_txt(tree / "SPEAKERS.TXT")
    assert set(table) == {"19", "26", "60", "84"}
    assert table["60"] == {"sex": "M", "subset": "train-clean-100", "minutes": 20.18, "name": "|CBW|Simon"}
    assert table["19"]["sex"] == "F"


def test_whole_tree_lists_every_subset_with_sexes(tree):
    corpus = load_corpus(f"librispeech:{tree}")
    assert corpus.kind == "librispeech" and len(corpus) == 4
    assert {s.id: s.sex for s in corpus.speakers} == {"19": "F", "26": "M", "60": "M", "84": "F"}
    s19 = corpus.speaker("19")
    assert s19.meta["subset"] == "train-clean-100" and s19.meta["chapters"] == 2
    assert [f.name for f in s19.files] == ["19-198-0000.flac", "19-198-0001.flac", "19-227-0000.flac"]
    assert s19.n_samples == 3 * int(SECONDS * 16000)
    # chapter order, then file names; FLAC 16-bit rounding only
    expected = np.concatenate([_utterance(k) for k in (1, 2, 3)])
    np.testing.assert_allclose(s19.audio(), expected, atol=1 / 32768)
    # the canonical spec reloads the same corpus, and its parent folder works too
    assert load_corpus(corpus.spec).ids == corpus.ids
    assert load_corpus(f"librispeech:{tree.parent}").ids == corpus.ids


def test_a_subset_folder_or_option(tree):
    one = load_corpus(f"librispeech:{tree / 'train-clean-100'}")
    assert one.ids == ["19", "26", "60"] and one.speaker("26").sex == "M"  # SPEAKERS.TXT from the parent
    assert load_corpus(f"librispeech:{tree}?subset=dev-clean,train-clean-100").ids == ["19", "26", "60", "84"]
    with pytest.raises(CorpusError, match="no subset test-other.*dev-clean, train-clean-100"):
        load_corpus(f"librispeech:{tree}?subset=test-other")
    with pytest.raises(CorpusError, match="has no option 'subsets'.*subset"):
        load_corpus(f"librispeech:{tree}?subsets=dev-clean")


def test_mixed_pairing_uses_the_sexes(tree):
    corpus = load_corpus(f"librispeech:{tree}")
    with pytest.warns(UserWarning, match="speaker 60 skipped"):
        trials = make_trials(corpus, 8, seed=1, train_seconds=3.0, test_seconds=1.0, pairing="mixed",
                             skip_short=True)
    sex = {s.id: s.sex for s in corpus.speakers}
    assert all(sex[a] != sex[b] for a, b in (t.speakers for t in trials))


def test_layout_errors(tmp_path, tree):
    (tmp_path / "flat").mkdir()
    sf.write(str(tmp_path / "flat" / "x.flac"), _utterance(0), 16000)
    with pytest.raises(CorpusError, match=r"not a LibriSpeech tree.*<subset>/<speaker>/<chapter>/\*\.flac"):
        load_corpus(f"librispeech:{tmp_path / 'flat'}")
    with pytest.raises(CorpusError, match="needs a path"):
        load_corpus("librispeech:")
    bad = tmp_path / "bad"
    for speaker in ("1", "2"):
        (bad / "dev-clean" / speaker / "10").mkdir(parents=True)
        sf.write(str(bad / "dev-clean" / speaker / "10" / f"{speaker}-10-0000.flac"), _utterance(int(speaker)), 16000)
    (bad / "SPEAKERS.TXT").write_text("1 | X | dev-clean | 1.0 | Someone\n")
    with pytest.raises(CorpusError, match=r"SPEAKERS.TXT, line 1: sex 'X'"):
        load_corpus(f"librispeech:{bad}")
    (bad / "SPEAKERS.TXT").unlink()
    with pytest.warns(UserWarning, match="sex unknown"):
        assert [s.sex for s in load_corpus(f"librispeech:{bad}").speakers] == [None, None]


def test_corpus_check_json_lists_speakers_with_sex(tree, capsys):
    assert main(["corpus", "check", "--corpus", f"librispeech:{tree}", "--json",
                 "--train-seconds", "3", "--test-seconds", "1", "--skip-short"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["speaker"], r["sex"], r["ok"]) for r in rows] == [
        ("19", "F", True), ("26", "M", True), ("60", "M", False), ("84", "F", True)]  # 60 has 2.5 s only
