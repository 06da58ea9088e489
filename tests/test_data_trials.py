"""The two-speaker trial protocol: seeds, disjoint segments, exact SNR, replay from the record."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import soundfile as sf

from innmf import SAMPLE_RATE
from innmf.data import CorpusError, Trial, load_corpus, make_trials, trial_audio
from innmf.data.trials import _place, speaker_pairs


@pytest.fixture(scope="module")
def default():
    return load_corpus("default")


@pytest.fixture
def small(tmp_path) -> object:
    """Four speakers of 3 s noise-like audio, two per sex, at mixed levels."""
    rng = np.random.default_rng(1)
    for k, name in enumerate(["f1", "f2", "m1", "m2"]):
        x = (0.1 + 0.2 * k) * rng.standard_normal(3 * SAMPLE_RATE).clip(-4, 4) / 4
        (tmp_path / name).mkdir()
        sf.write(str(tmp_path / name / "a.flac"), x, SAMPLE_RATE)
    (tmp_path / "speakers.csv").write_text("speaker,sex\nf1,F\nf2,F\nm1,M\nm2,M\n")
    return load_corpus(f"folder:{tmp_path}")


def test_same_seed_same_trials(default):
    a = make_trials(default, 20, seed=3)
    assert a == make_trials(default, 20, seed=3)
    assert a[:5] == make_trials(default, 5, seed=3)  # trial i depends on (seed, i) only
    b = make_trials(default, 20, seed=4)
    assert [t.to_dict() for t in a] != [t.to_dict() for t in b]
    assert len({t.key for t in a}) == 20


def test_segments_disjoint_and_inside(default):
    trials = make_trials(default, 200, seed=0)
    n_tr, n_te = 20 * SAMPLE_RATE, 5 * SAMPLE_RATE
    orders = set()
    for t in trials:
        assert t.speakers[0] != t.speakers[1]
        for k, sid in enumerate(t.speakers):
            n = default.speaker(sid).n_samples
            tr, te = t.train_offsets[k], t.test_offsets[k]
            assert 0 <= tr and tr + n_tr <= n and 0 <= te and te + n_te <= n
            assert tr + n_tr <= te or te + n_te <= tr
            orders.add(tr < te)
    assert orders == {True, False}  # test segments fall before and after training ones
    assert len({t.speakers for t in trials}) == 30  # all ordered pairs of 6 speakers occur


def test_placement_is_uniform():
    """All (train, test) placements in a short signal occur about equally often."""
    rng = np.random.default_rng(0)
    n, n_tr, n_te = 10, 4, 3  # free = 3: 2 orders x C(5, 2) = 20 placements
    counts: dict[tuple[int, int], int] = {}
    for _ in range(20000):
        tr, te = _place(rng, n, n_tr, n_te)
        assert tr + n_tr <= te or te + n_te <= tr
        assert 0 <= min(tr, te) and max(tr + n_tr, te + n_te) <= n
        counts[(tr, te)] = counts.get((tr, te), 0) + 1
    assert len(counts) == 20
    assert max(counts.values()) / min(counts.values()) < 1.25
    assert _place(rng, 7, 4, 3) in {(0, 4), (3, 0)}  # no free sample: the two tilings


def test_exact_snr_and_levels(default):
    for snr in (0.0, 6.0, -3.5):
        for t in make_trials(default, 3, seed=1, snr_db=snr):
            audio = trial_audio(default, t)
            a, b = audio.test
            assert a.dtype == b.dtype == audio.mixture.dtype == np.float32
            measured = 10 * np.log10(np.sum(a.astype(np.float64) ** 2) / np.sum(b.astype(np.float64) ** 2))
            assert measured == pytest.approx(snr, abs=1e-4)
            np.testing.assert_array_equal(audio.mixture, a + b)
            for x in audio.train:
                assert len(x) == 20 * SAMPLE_RATE
                assert np.linalg.norm(x.astype(np.float64)) == pytest.approx(1.0, rel=1e-5)
            # test source a keeps the RMS of its unit-norm training segment
            assert np.sqrt(np.mean(a.astype(np.float64) ** 2)) == pytest.approx(1 / np.sqrt(20 * SAMPLE_RATE), rel=1e-5)


def test_segments_are_the_speakers_audio(default):
    t = make_trials(default, 1, seed=9)[0]
    audio = trial_audio(default, t)
    for k, sid in enumerate(t.speakers):
        raw = default.speaker(sid).audio()
        tr = raw[t.train_offsets[k] : t.train_offsets[k] + 20 * SAMPLE_RATE].astype(np.float64)
        te = raw[t.test_offsets[k] : t.test_offsets[k] + 5 * SAMPLE_RATE].astype(np.float64)
        np.testing.assert_allclose(audio.train[k], tr / np.linalg.norm(tr), rtol=1e-5, atol=1e-9)
        cos = np.dot(audio.test[k], te) / (np.linalg.norm(audio.test[k]) * np.linalg.norm(te))
        assert cos == pytest.approx(1.0, abs=1e-6)  # a scaled copy of the raw test segment


def test_record_round_trip_and_replay(default):
    t = make_trials(default, 4, seed=5, train_seconds=6.0, test_seconds=2.0)[3]
    record = json.loads(json.dumps(t.to_dict()))
    assert set(record) >= {"index", "seed", "speakers", "train_offsets", "test_offsets", "corpus"}
    again = Trial.from_dict(record)
    assert again == t and again.key == t.key
    first, second = trial_audio(default, t), trial_audio(load_corpus("default"), again)
    np.testing.assert_array_equal(first.mixture, second.mixture)
    assert len(first.mixture) == 2 * SAMPLE_RATE and len(first.train[0]) == 6 * SAMPLE_RATE
    with pytest.raises(ValueError, match="not a trial record"):
        Trial.from_dict({"index": 1})
    assert record["key"] == t.key
    with pytest.raises(ValueError, match="was altered"):
        Trial.from_dict({**record, "test_offsets": [0, 0]})


def test_pairings(small):
    sex = {s.id: s.sex for s in small.speakers}
    mixed = make_trials(small, 40, seed=0, train_seconds=2.0, test_seconds=0.5, pairing="mixed")
    same = make_trials(small, 40, seed=0, train_seconds=2.0, test_seconds=0.5, pairing="same")
    assert all(sex[t.speakers[0]] != sex[t.speakers[1]] for t in mixed)
    assert all(sex[t.speakers[0]] == sex[t.speakers[1]] for t in same)
    assert len(speaker_pairs(small.speakers, "mixed")) == 8 and len(speaker_pairs(small.speakers, "same")) == 4
    with pytest.raises(ValueError, match="pairing='both'"):
        make_trials(small, 1, pairing="both", train_seconds=2.0, test_seconds=0.5)


def test_pairing_needs_sex(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        sf.write(str(tmp_path / name / "x.wav"), np.random.default_rng(0).uniform(-0.5, 0.5, 3 * SAMPLE_RATE), SAMPLE_RATE)
    corpus = load_corpus(f"folder:{tmp_path}")
    with pytest.raises(CorpusError, match="needs every speaker's sex.*speakers.csv"):
        make_trials(corpus, 1, train_seconds=2.0, test_seconds=0.5, pairing="mixed")
    assert len(make_trials(corpus, 2, train_seconds=2.0, test_seconds=0.5)) == 2


def test_bad_parameters(default):
    with pytest.raises(ValueError, match="train_seconds"):
        make_trials(default, 1, train_seconds=0.0)
    with pytest.raises(ValueError, match="test_seconds"):
        make_trials(default, 1, test_seconds=float("nan"))
    with pytest.raises(ValueError, match="n_trials"):
        make_trials(default, -1)
    with pytest.raises(CorpusError, match="less than the 70 s \\+ 5 s"):
        make_trials(default, 1, train_seconds=70.0)


def test_replay_errors(default, small):
    t = make_trials(default, 1, seed=0)[0]
    fields = {k: v for k, v in t.to_dict().items() if k != "key"}
    moved = Trial.from_dict({**fields, "test_offsets": [10**8, t.test_offsets[1]]})
    with pytest.raises(CorpusError, match="outside its"):
        trial_audio(default, moved)
    overlap = Trial.from_dict({**fields, "test_offsets": [t.train_offsets[0], t.test_offsets[1]]})
    with pytest.raises(ValueError, match="overlap"):
        trial_audio(default, overlap)
    other = make_trials(small, 1, train_seconds=2.0, test_seconds=0.5)[0]
    with pytest.warns(UserWarning, match="replayed on default"), pytest.raises(CorpusError, match="no speaker"):
        trial_audio(default, other)


def test_silent_segment_is_named(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        x = rng.uniform(-0.5, 0.5, 4 * SAMPLE_RATE)
        x[2 * SAMPLE_RATE :] = 0.0  # second half digital silence
        (tmp_path / name).mkdir()
        sf.write(str(tmp_path / name / "x.wav"), x, SAMPLE_RATE, subtype="FLOAT")
    corpus = load_corpus(f"folder:{tmp_path}")
    t = Trial(0, 0, ("a", "b"), (0, 0), (3 * SAMPLE_RATE, 3 * SAMPLE_RATE), 1.0, 0.5, 0.0, corpus.spec)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CorpusError, match="speaker a: test segment at sample 48000 is silent"):
            trial_audio(corpus, t)
