"""Speakers and corpora: the one interface every corpus source fills.

A :class:`Corpus` is a list of :class:`Speaker` objects, each of whose audio is decoded
on demand (and kept in a small shared cache). The sources that build corpora from a
spec string (``default``, ``timit:PATH``, ``folder:PATH``) live in
:mod:`innmf.data.sources`, whose :func:`~innmf.data.sources.load_corpus` is the entry
point of the speech chapters, ``innmf corpus check`` and the experiment runners.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from innmf import SAMPLE_RATE
from innmf.data.audio import CorpusError, read_audio
from innmf.data.paths import data_dir  # noqa: F401 - part of this module's API

CACHE_SPEAKERS = 64
"""Speakers whose decoded audio a corpus keeps in memory at once (TIMIT has 630)."""


class _AudioCache:
    """Least-recently-used store of decoded speakers, shared by one corpus's speakers."""

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: str, value: np.ndarray) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def __getstate__(self) -> dict[str, Any]:
        # Decoded audio and the lock stay behind: a copy sent to a worker decodes its own.
        return {"max_items": self.max_items}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["max_items"])

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


@dataclass(eq=False)
class Speaker:
    """One speaker of a corpus: all of their audio as one float32 signal at 16 kHz.

    Attributes:
        id: speaker id, unique in the corpus (e.g. ``cs-f``, ``FCJF0``).
        sex: ``'F'``, ``'M'`` or ``None`` when the corpus does not say.
        n_samples: length of :meth:`audio` in samples (from the files' headers).
        files: the files concatenated, in order.
        meta: corpus-specific facts (language, licence, dialect region, ...).
    """

    id: str
    sex: str | None
    n_samples: int
    files: tuple[Path, ...]
    loader: Callable[[], np.ndarray] = field(repr=False)
    meta: dict[str, Any] = field(default_factory=dict, repr=False)
    _cache: _AudioCache = field(default_factory=lambda: _AudioCache(CACHE_SPEAKERS), repr=False)

    @property
    def seconds(self) -> float:
        """Duration of the speaker's audio in seconds."""
        return self.n_samples / SAMPLE_RATE

    def audio(self) -> np.ndarray:
        """The speaker's audio, float32 mono at 16 kHz (decoded once, then cached).

        Returns:
            A read-only array of ``n_samples`` samples.
        """
        cached = self._cache.get(self.id)
        if cached is not None:
            return cached
        x = np.ascontiguousarray(self.loader(), dtype=np.float32)
        if x.ndim != 1 or len(x) == 0:
            raise CorpusError(f"speaker {self.id}: no audio decoded from {len(self.files)} file(s).")
        if not np.all(np.isfinite(x)):
            raise CorpusError(f"speaker {self.id}: audio contains NaN or infinite samples.")
        if len(x) != self.n_samples:
            # Headers can under-report (e.g. Ogg); the decoded length is the truth.
            self.n_samples = len(x)
        x.setflags(write=False)
        self._cache.put(self.id, x)
        return x

    def clear_cache(self) -> None:
        """Forget the decoded audio (it is decoded again on the next :meth:`audio`)."""
        self._cache.drop(self.id)


@dataclass(eq=False)
class Corpus:
    """A set of speakers loaded from a spec string (see :func:`load_corpus`).

    Attributes:
        spec: canonical spec (absolute path, options spelled out) that reloads this corpus.
        speakers: speakers in a fixed order (sorted by id).
        kind: ``default``, ``timit``, ``folder`` or ``librispeech``.
        root: where the audio lives.
    """

    spec: str
    speakers: list[Speaker]
    kind: str
    root: Path

    def __post_init__(self) -> None:
        self.speakers = sorted(self.speakers, key=lambda s: s.id)
        self._by_id = {s.id: s for s in self.speakers}
        if len(self._by_id) != len(self.speakers):
            raise CorpusError(f"{self.root}: two speakers share an id; speaker ids must be unique.")
        shared = _AudioCache(CACHE_SPEAKERS)
        for s in self.speakers:
            s._cache = shared

    def speaker(self, speaker_id: str) -> Speaker:
        """The speaker with this id; a clear error lists the ids when it is unknown."""
        try:
            return self._by_id[speaker_id]
        except KeyError:
            ids = ", ".join(s.id for s in self.speakers[:12])
            more = f" (and {len(self.speakers) - 12} more)" if len(self.speakers) > 12 else ""
            raise CorpusError(
                f"no speaker '{speaker_id}' in corpus {self.spec}; its speakers are {ids}{more}."
            ) from None

    @property
    def ids(self) -> list[str]:
        """Speaker ids in corpus order."""
        return [s.id for s in self.speakers]

    def __len__(self) -> int:
        return len(self.speakers)

    def __repr__(self) -> str:
        return f"Corpus({self.spec!r}, {len(self.speakers)} speakers)"


class concat_loader:
    """A picklable loader: decodes ``files`` with :func:`read_audio` and concatenates them in order.

    Args:
        files: the files, in order.
    """

    def __init__(self, files: Sequence[Path]) -> None:
        self.files = tuple(Path(f) for f in files)

    def __call__(self) -> np.ndarray:
        return np.concatenate([read_audio(f) for f in self.files])
