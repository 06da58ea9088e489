"""The paper's two-speaker trial protocol, made exact and replayable.

A trial is an ordered pair of distinct speakers (a, b) drawn from a seed; for each
speaker a training segment (20 s in the paper) and a disjoint test segment (5 s)
placed at random in that speaker's audio; the two test segments are scaled to
the target SNR (0 dB: exactly equal energy) and summed. A :class:`Trial` record
(speakers, offsets, seed) is stored with the results and replays the trial.

Levels. The paper scales each speaker file to unit L2 norm (book/paper_setup.md §3). Here each
*training segment* is scaled to unit L2 norm, so KL values do not depend on how
long a corpus's files are; each speaker's *test source* is scaled to the RMS of
that unit-norm training segment (norm ``sqrt(test/train)``), then source b is
scaled by ``10**(-snr_db/20)`` relative to a. The SNR is
``10 log10(|a|^2 / |b|^2)`` of the sources as returned, to float32 precision.

Used by the separation and window-size chapters and ``innmf reproduce``.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from innmf import SAMPLE_RATE
from innmf.data.audio import MIN_SOUND_FRACTION, CorpusError, sound_fraction
from innmf.data.corpus import Corpus, Speaker

PAIRINGS = ("any", "mixed", "same")


@dataclass(frozen=True)
class Trial:
    """Everything needed to replay one trial.

    Attributes:
        index: position in the drawn list (also seeds its random stream).
        seed: the seed of :func:`make_trials`.
        speakers: ``(a, b)`` speaker ids, distinct.
        train_offsets: start sample (16 kHz) of each speaker's training segment.
        test_offsets: start sample of each speaker's test segment.
        train_seconds: training duration per speaker (20 s in the paper).
        test_seconds: test duration per speaker (5 s in the paper).
        snr_db: level of a over b in the mixture (0 in the paper).
        corpus: spec of the corpus the trial was drawn from.
    """

    index: int
    seed: int
    speakers: tuple[str, str]
    train_offsets: tuple[int, int]
    test_offsets: tuple[int, int]
    train_seconds: float
    test_seconds: float
    snr_db: float
    corpus: str

    @property
    def train_samples(self) -> int:
        """Training segment length in samples."""
        return seconds_to_samples(self.train_seconds)

    @property
    def test_samples(self) -> int:
        """Test segment length in samples."""
        return seconds_to_samples(self.test_seconds)

    def _fields(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("speakers", "train_offsets", "test_offsets"):
            d[k] = list(d[k])
        return d

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record (lists for tuples, plus ``key``) that :meth:`from_dict` turns back into this trial."""
        return {**self._fields(), "key": self.key}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trial:
        """Rebuild a trial from :meth:`to_dict` output (e.g. read back from a results file)."""
        try:
            trial = cls(
                index=int(d["index"]),
                seed=int(d["seed"]),
                speakers=(str(d["speakers"][0]), str(d["speakers"][1])),
                train_offsets=(int(d["train_offsets"][0]), int(d["train_offsets"][1])),
                test_offsets=(int(d["test_offsets"][0]), int(d["test_offsets"][1])),
                train_seconds=float(d["train_seconds"]),
                test_seconds=float(d["test_seconds"]),
                snr_db=float(d["snr_db"]),
                corpus=str(d["corpus"]),
            )
        except (KeyError, IndexError, TypeError, ValueError) as err:
            raise ValueError(f"not a trial record ({err!r}): {d!r}") from None
        if "key" in d and d["key"] != trial.key:
            raise ValueError(f"trial record {d['key']} was altered: its fields give key {trial.key}.")
        return trial

    @property
    def key(self) -> str:
        """Short stable id: index, speakers and a hash of the whole record."""
        blob = json.dumps(self._fields(), sort_keys=True).encode()
        digest = hashlib.sha256(blob).hexdigest()[:8]
        return f"{self.index:04d}-{self.speakers[0]}-{self.speakers[1]}-{digest}"


@dataclass(frozen=True)
class TrialAudio:
    """A trial's signals, float32 at 16 kHz.

    Attributes:
        trial: the trial.
        train: training segments of a and b, each at unit L2 norm.
        test: test sources of a and b as they appear in the mixture (after scaling).
        mixture: ``test[0] + test[1]``.
    """

    trial: Trial
    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    mixture: np.ndarray


def seconds_to_samples(seconds: float) -> int:
    """Samples at 16 kHz, rounded to the nearest sample."""
    return int(round(float(seconds) * SAMPLE_RATE))


def check_durations(train_seconds: float, test_seconds: float) -> None:
    for name, value in (("train_seconds", train_seconds), ("test_seconds", test_seconds)):
        if not np.isfinite(value) or seconds_to_samples(value) < 1:
            raise ValueError(f"{name}={value!r}: must be a positive number of seconds.")


def usable_speakers(
    corpus: Corpus, train_seconds: float, test_seconds: float, skip_short: bool = False
) -> list[Speaker]:
    """Speakers with enough audio for a training plus a disjoint test segment.

    Args:
        corpus: the corpus.
        train_seconds: training duration per speaker.
        test_seconds: test duration per speaker.
        skip_short: warn about and leave out short speakers instead of raising.

    Returns:
        The usable speakers, in corpus order.
    """
    need = seconds_to_samples(train_seconds) + seconds_to_samples(test_seconds)
    short = [s for s in corpus.speakers if s.n_samples < need]
    if short and not skip_short:
        listing = ", ".join(f"{s.id} ({s.seconds:.1f} s)" for s in short[:10])
        raise CorpusError(
            f"{len(short)} speaker(s) of {corpus.spec} have less than the "
            f"{train_seconds:g} s + {test_seconds:g} s the protocol needs: {listing}. "
            "Shorten train_seconds/test_seconds, or skip them (skip_short=True, --skip-short)."
        )
    for s in short:
        warnings.warn(f"speaker {s.id} skipped: {s.seconds:.1f} s < {train_seconds:g} s + {test_seconds:g} s.")
    return [s for s in corpus.speakers if s.n_samples >= need]


def speaker_pairs(speakers: list[Speaker], pairing: str = "any") -> list[tuple[Speaker, Speaker]]:
    """All ordered pairs of distinct speakers allowed by ``pairing`` (any / mixed / same sex)."""
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing={pairing!r}: use one of {', '.join(PAIRINGS)}.")
    if pairing != "any":
        unknown = [s.id for s in speakers if s.sex not in ("F", "M")]
        if unknown:
            raise CorpusError(
                f"pairing={pairing!r} needs every speaker's sex, unknown for {', '.join(unknown[:10])}; "
                "give a folder corpus a speakers.csv (columns speaker,sex) or use pairing='any'."
            )
    return [
        (a, b)
        for a in speakers
        for b in speakers
        if a.id != b.id and (pairing == "any" or (a.sex == b.sex) == (pairing == "same"))
    ]


def _place(rng: np.random.Generator, n: int, n_train: int, n_test: int) -> tuple[int, int]:
    """Uniform draw over all placements of two disjoint segments in ``n`` samples."""
    free = n - n_train - n_test
    # Stars and bars: two distinct cut points in 0..free+1 give the three gaps uniformly.
    c1, c2 = sorted(int(c) for c in rng.choice(free + 2, size=2, replace=False))
    gap0, gap1 = c1, c2 - c1 - 1
    if rng.random() < 0.5:  # training segment first
        return gap0, gap0 + n_train + gap1
    return gap0 + n_test + gap1, gap0


def make_trials(
    corpus: Corpus,
    n_trials: int,
    seed: int = 0,
    train_seconds: float = 20.0,
    test_seconds: float = 5.0,
    pairing: str = "any",
    snr_db: float = 0.0,
    *,
    skip_short: bool = False,
) -> list[Trial]:
    """Draw the two-speaker trials of the separation and window-size experiments.

    Trial ``i`` depends only on ``(seed, i)`` and the corpus, so the first trials of
    a long run equal those of a short one with the same seed.

    Args:
        corpus: from :func:`innmf.data.load_corpus`.
        n_trials: number of trials (500 in the paper).
        seed: base seed.
        train_seconds: training audio per speaker (20 s in the paper).
        test_seconds: disjoint test audio per speaker (5 s in the paper).
        pairing: ``any``, ``mixed`` (one female, one male) or ``same`` sex.
        snr_db: level of speaker a over speaker b in the mixture (0 in the paper).
        skip_short: leave out (with a warning) speakers with too little audio instead of raising.

    Returns:
        ``n_trials`` :class:`Trial` records.
    """
    if int(n_trials) < 0:
        raise ValueError(f"n_trials={n_trials!r}: must be >= 0.")
    check_durations(train_seconds, test_seconds)
    if not np.isfinite(snr_db):
        raise ValueError(f"snr_db={snr_db!r}: must be finite.")
    speakers = usable_speakers(corpus, train_seconds, test_seconds, skip_short)
    if len(speakers) < 2:
        raise CorpusError(
            f"corpus {corpus.spec} has {len(speakers)} speaker(s) with at least "
            f"{train_seconds:g} s + {test_seconds:g} s of audio; the protocol needs two. "
            "Shorten the durations or add speakers."
        )
    pairs = speaker_pairs(speakers, pairing)
    if not pairs:
        raise CorpusError(f"corpus {corpus.spec} has no pair of usable speakers with pairing={pairing!r}.")
    n_train, n_test = seconds_to_samples(train_seconds), seconds_to_samples(test_seconds)
    trials = []
    for i in range(int(n_trials)):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), i]))
        a, b = pairs[int(rng.integers(len(pairs)))]
        (tr_a, te_a), (tr_b, te_b) = (_place(rng, s.n_samples, n_train, n_test) for s in (a, b))
        trials.append(
            Trial(
                index=i, seed=int(seed), speakers=(a.id, b.id), train_offsets=(tr_a, tr_b),
                test_offsets=(te_a, te_b), train_seconds=float(train_seconds),
                test_seconds=float(test_seconds), snr_db=float(snr_db), corpus=corpus.spec,
            )
        )
    return trials


def _segment(speaker: Speaker, start: int, length: int, what: str) -> np.ndarray:
    x = speaker.audio()
    if start < 0 or start + length > len(x):
        raise CorpusError(
            f"speaker {speaker.id}: {what} segment [{start}, {start + length}) lies outside its "
            f"{len(x)} samples; the trial was drawn from a different version of this corpus."
        )
    seg = x[start : start + length].astype(np.float64)
    files = ", ".join(str(f) for f in speaker.files[:3]) + (" ..." if len(speaker.files) > 3 else "")
    if not np.any(seg):
        raise CorpusError(f"speaker {speaker.id}: {what} segment at sample {start} is silent ({files}); "
                          "trim the silence from the speaker's files or remove the speaker.")
    fraction = sound_fraction(seg, SAMPLE_RATE)
    if fraction < MIN_SOUND_FRACTION:
        raise CorpusError(
            f"speaker {speaker.id}: {what} segment [{start}, {start + length}) is mostly silent "
            f"({fraction:.0%} sound, less than {MIN_SOUND_FRACTION:.0%}) in {files}; trim the silence "
            "from the speaker's files or remove the speaker."
        )
    return seg


def trial_audio(corpus: Corpus, trial: Trial) -> TrialAudio:
    """Cut, scale and mix a trial's audio (see the module docstring for the levels).

    Args:
        corpus: the corpus the trial was drawn from (same speakers and audio).
        trial: from :func:`make_trials` or :meth:`Trial.from_dict`.

    Returns:
        The :class:`TrialAudio`.
    """
    if trial.corpus != corpus.spec:
        warnings.warn(f"trial {trial.key} was drawn from {trial.corpus}, replayed on {corpus.spec}.")
    a, b = (corpus.speaker(s) for s in trial.speakers)
    if a.id == b.id:
        raise ValueError(f"trial {trial.key}: both speakers are {a.id}; a trial needs two speakers.")
    n_train, n_test = trial.train_samples, trial.test_samples
    for k in (0, 1):
        tr, te = trial.train_offsets[k], trial.test_offsets[k]
        if tr < te + n_test and te < tr + n_train:
            raise ValueError(f"trial {trial.key}: train and test segments of {trial.speakers[k]} overlap.")
    train = [_segment(s, trial.train_offsets[k], n_train, "training") for k, s in enumerate((a, b))]
    test = [_segment(s, trial.test_offsets[k], n_test, "test") for k, s in enumerate((a, b))]
    train = [x / np.linalg.norm(x) for x in train]
    level = np.sqrt(n_test / n_train)  # RMS of a unit-norm training segment, over n_test samples
    gains = (level, level * 10 ** (-trial.snr_db / 20))
    test = [g * x / np.linalg.norm(x) for g, x in zip(gains, test)]
    f32 = [x.astype(np.float32) for x in (*train, *test)]
    mixture = (f32[2] + f32[3]).astype(np.float32)
    return TrialAudio(trial=trial, train=(f32[0], f32[1]), test=(f32[2], f32[3]), mixture=mixture)
