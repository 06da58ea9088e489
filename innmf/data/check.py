"""Can a corpus serve the two-speaker protocol? (``innmf corpus check``).

Decodes every speaker once (then drops the audio, so TIMIT fits in memory),
reports each one's duration and problems, and says whether enough speakers
remain for the trial protocol with the given durations and pairing. Used by the
CLI and by the first cell of the speech notebooks to fail early with a clear message.

Sample rates come from the files' headers: every file is resampled to 16 kHz when
read, so a corpus mixing rates works but is named in a warning; a file below 16 kHz
is a problem, since the protocol analyses the band up to 8 kHz and such a recording
has nothing in its upper part.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from innmf import SAMPLE_RATE
from innmf.data.audio import CorpusError, audio_info
from innmf.data.corpus import Corpus
from innmf.data.identity import audio_sha256
from innmf.data.trials import check_durations, seconds_to_samples, speaker_pairs


@dataclass
class SpeakerStatus:
    """One speaker's line in the report.

    Attributes:
        speaker: speaker id.
        sex: ``F``, ``M`` or ``None``.
        seconds: duration of the speaker's audio.
        files: number of files concatenated.
        problem: ``None`` when usable, else what is wrong and how to fix it.
        sample_rates: the distinct rates (Hz) of the speaker's files, from their headers.
    """

    speaker: str
    sex: str | None
    seconds: float
    files: int
    problem: str | None = None
    sample_rates: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the ``--json`` output)."""
        return {"speaker": self.speaker, "sex": self.sex, "seconds": round(self.seconds, 3),
                "files": self.files, "ok": self.problem is None, "problem": self.problem,
                "sample_rates": list(self.sample_rates)}


@dataclass
class CheckReport:
    """Result of :func:`check_corpus`.

    Attributes:
        spec: the corpus spec.
        speakers: one status per speaker.
        problems: corpus-level problems that stop the protocol.
        warnings: what the user should know without it stopping the protocol: speakers
            skipped because ``skip_short`` was set, files at different sample rates.
    """

    spec: str
    speakers: list[SpeakerStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the corpus can serve the protocol."""
        return not self.problems

    @property
    def usable(self) -> list[str]:
        """Ids of the speakers without problems."""
        return [s.speaker for s in self.speakers if s.problem is None]


def check_corpus(
    corpus: Corpus,
    train_seconds: float = 20.0,
    test_seconds: float = 5.0,
    pairing: str = "any",
    skip_short: bool = False,
    decode: bool = True,
    progress: bool = True,
) -> CheckReport:
    """Check every speaker of ``corpus`` against the trial protocol.

    Args:
        corpus: the corpus to check.
        train_seconds: training audio per speaker.
        test_seconds: test audio per speaker.
        pairing: ``any``, ``mixed`` or ``same`` (sex of the two speakers).
        skip_short: tolerate speakers with too little audio (left out) as long as two remain;
            unreadable, NaN or silent audio and recordings below 16 kHz are always problems.
        decode: decode all audio (finds unreadable, NaN, silent, constant, mostly silent and
            phase-cancelling files, and speakers with identical audio, as ``innmf reproduce``
            does before its first trial); otherwise headers only.
        progress: show a progress bar.

    Returns:
        The :class:`CheckReport`; ``report.ok`` is False when trials cannot be drawn; files at
        different sample rates (all at least 16 kHz) are a warning only.
    """
    check_durations(train_seconds, test_seconds)
    need = seconds_to_samples(train_seconds) + seconds_to_samples(test_seconds)
    report = CheckReport(spec=corpus.spec)
    heard: dict[str, str] = {}  # hash of decoded audio -> first speaker with it
    corpus_rates: dict[int, list[Path]] = {}
    for spk in tqdm(corpus.speakers, desc="speakers", disable=not progress):
        rates = sample_rates(spk.files)
        for rate, files in rates.items():
            corpus_rates.setdefault(rate, []).extend(files)
        status = SpeakerStatus(spk.id, spk.sex, spk.seconds, len(spk.files), sample_rates=tuple(sorted(rates)))
        short = False
        if decode:
            try:
                digest = audio_sha256(spk.audio())
                status.seconds = spk.seconds
                if digest in heard:
                    first = corpus.speaker(heard[digest])
                    status.problem = (f"identical audio to speaker {first.id} ({', '.join(map(str, spk.files[:2]))} "
                                      f"and {', '.join(map(str, first.files[:2]))}): a trial of the two would "
                                      "separate a voice from itself; remove one of them from the corpus")
                heard.setdefault(digest, spk.id)
            except (CorpusError, FileNotFoundError) as err:
                status.problem = str(err)
            finally:
                spk.clear_cache()
        if status.problem is None:
            status.problem = narrowband_problem(rates)
        if status.problem is None and spk.n_samples < need:
            short = True
            status.problem = f"too short: {spk.seconds:.1f} s < {train_seconds:g} s + {test_seconds:g} s"
        report.speakers.append(status)
        if short and skip_short:
            report.warnings.append(f"speaker {spk.id} skipped, {status.problem}")
        elif short:
            report.problems.append(
                f"speaker {spk.id} is {status.problem}; shorten the train/test durations "
                "or skip such speakers (skip_short=True, --skip-short)"
            )
        elif status.problem:
            report.problems.append(f"speaker {spk.id}: {status.problem}")
    if len(corpus_rates) > 1:
        report.warnings.append(mixed_rates_warning(corpus_rates))
    usable = [spk for spk in corpus.speakers if spk.id in set(report.usable)]
    if len(usable) < 2:
        report.problems.append(
            f"{len(usable)} usable speaker(s); the two-speaker protocol needs at least two."
        )
    else:
        try:
            if not speaker_pairs(usable, pairing):
                report.problems.append(f"no pair of usable speakers for pairing={pairing!r}.")
        except (CorpusError, ValueError) as err:
            report.problems.append(str(err))
    return report


def sample_rates(files: Iterable[Path]) -> dict[int, list[Path]]:
    """The files of each sample rate, read from their headers.

    Args:
        files: audio files.

    Returns:
        Rate (Hz) -> the files at that rate, in order; a file whose header cannot be read
        is left out (decoding it reports why).
    """
    rates: dict[int, list[Path]] = {}
    for f in files:
        try:
            rate = audio_info(f).sample_rate
        except (CorpusError, FileNotFoundError):
            continue
        rates.setdefault(rate, []).append(Path(f))
    return rates


def narrowband_problem(rates: dict[int, list[Path]]) -> str | None:
    """What is wrong with a speaker recorded below 16 kHz (with the fix), or None.

    Args:
        rates: the speaker's files by rate, as :func:`sample_rates` gives them.

    Returns:
        A sentence naming the lowest rate and one of its files, or None when every rate is at least 16 kHz.
    """
    low = sorted(r for r in rates if r < SAMPLE_RATE)
    if not low:
        return None
    files = rates[low[0]]
    return (f"recorded at {low[0]} Hz ({len(files)} file(s), e.g. {files[0]}), below the {SAMPLE_RATE} Hz the "
            f"protocol analyses: resampled, it holds nothing above {low[0] // 2} Hz; use recordings at "
            f"{SAMPLE_RATE} Hz or more, or remove the speaker from the corpus")


def mixed_rates_warning(rates: dict[int, list[Path]]) -> str:
    """The warning for a corpus whose files have different sample rates.

    Args:
        rates: rate (Hz) -> files at that rate, at least two rates.

    Returns:
        One line naming each rate with its file count and an example file.
    """
    parts = [f"{rate} Hz ({len(files)} file(s), e.g. {files[0]})" for rate, files in sorted(rates.items())]
    return (f"the files have different sample rates: {', '.join(parts)}; each is resampled to {SAMPLE_RATE} Hz "
            "when read, so the experiments run, but recordings of different rates may differ in bandwidth "
            "and quality: convert them to one rate to compare like with like")
