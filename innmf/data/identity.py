"""What the audio of a trial is: content hashes of the speakers' decoded samples.

A results store records, for every trial, the hash of each of its two speakers'
decoded audio (``innmf.experiments.store``), so that a corpus whose files were
replaced in place is noticed on resume instead of mixing old and new audio. The same
hashes find two speakers with identical audio, a trial that would separate a voice
from itself. Used by ``innmf reproduce`` (through ``run_experiments``) and
``innmf corpus check``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable

import numpy as np

from innmf.data.audio import CorpusError
from innmf.data.corpus import Corpus, Speaker
from innmf.data.trials import Trial, trial_audio

_CACHE: dict[tuple, str] = {}


def audio_sha256(x: np.ndarray) -> str:
    """Hex SHA-256 of a signal's float32 little-endian samples."""
    return hashlib.sha256(np.ascontiguousarray(x, dtype="<f4").tobytes()).hexdigest()


def _file_state(speaker: Speaker) -> tuple:
    state = []
    for f in speaker.files:
        st = os.stat(f)
        state.append((str(f), st.st_size, st.st_mtime_ns))
    return (speaker.id, tuple(state))


def speaker_sha256(speaker: Speaker) -> str:
    """Hash of the speaker's decoded audio (remembered while its files are unchanged)."""
    key = _file_state(speaker)
    if key not in _CACHE:
        speaker.clear_cache()  # files changed (or first look): decode them, not a cached copy
        _CACHE[key] = audio_sha256(speaker.audio())
    return _CACHE[key]


def _files(speaker: Speaker) -> str:
    return ", ".join(str(f) for f in speaker.files[:3]) + (" ..." if len(speaker.files) > 3 else "")


def distinct_hashes(corpus: Corpus, ids: Iterable[str]) -> dict[str, str]:
    """Hashes of the speakers ``ids``, refusing two of them with identical audio.

    Raises:
        CorpusError: two speakers have the same decoded audio (the message names both).
    """
    hashes: dict[str, str] = {}
    seen: dict[str, str] = {}
    for sid in ids:
        h = hashes[sid] = speaker_sha256(corpus.speaker(sid))
        if h in seen and seen[h] != sid:
            a, b = corpus.speaker(seen[h]), corpus.speaker(sid)
            raise CorpusError(
                f"speakers {a.id} ({_files(a)}) and {b.id} ({_files(b)}) have identical audio: a trial of "
                "the two would separate a voice from itself. Remove one of them from the corpus."
            )
        seen[h] = sid
    return hashes


def audit_trials(corpus: Corpus, trials: Iterable[Trial]) -> dict[str, str]:
    """Check every trial's audio before any work, and hash the speakers the trials read.

    Cuts each trial's segments as a worker will (so a silent or mostly silent segment
    fails now, not mid-run) and refuses speakers with identical audio.

    Returns:
        ``{speaker id: hash of its decoded audio}`` for the speakers of ``trials``.
    """
    trials = list(trials)
    for t in trials:
        trial_audio(corpus, t)
    ids = sorted({s for t in trials for s in t.speakers})
    return distinct_hashes(corpus, ids)
