"""Speech corpora behind one interface, chosen by a spec string.

The spec is the single ``corpus`` parameter of the speech notebooks (chapters on
reconstruction and separation), of ``innmf corpus check`` and of the tests:

- ``default``: the embedded open corpus shipped in ``data/speech`` (six speakers);
- ``timit:PATH`` (or ``timit`` / ``timit:`` with ``INNMF_TIMIT`` set): TIMIT;
- ``folder:PATH``: ``PATH/<speaker>/*.{wav,flac,ogg}``.

Options can ride on the spec after ``?`` (``timit:/data/TIMIT?split=test&sa=no``)
or be passed as keyword arguments to :func:`load_corpus`.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from innmf import SAMPLE_RATE
from innmf.data.audio import CorpusError

SPEC_FORMS = (
    "'default' (the embedded corpus), 'timit:PATH' (or 'timit' with INNMF_TIMIT set), "
    "'folder:PATH' (PATH/<speaker>/*.wav|flac|ogg)"
)
CACHE_SPEAKERS = 64
"""Speakers whose decoded audio a corpus keeps in memory at once (TIMIT has 630)."""


def data_dir() -> Path:
    """The repository's ``data/`` folder, or ``$INNMF_DATA`` when set."""
    env = os.environ.get("INNMF_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data"


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
        kind: ``default``, ``timit`` or ``folder``.
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


def parse_spec(spec: str) -> tuple[str, str, dict[str, str]]:
    """Split a spec into kind, path and ``?key=value&...`` options.

    Args:
        spec: e.g. ``default``, ``timit:/data/TIMIT?split=test``, ``folder:recordings``.

    Returns:
        ``(kind, path, options)``; ``path`` is ``""`` when absent.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise CorpusError(f"empty corpus spec; use one of {SPEC_FORMS}.")
    spec = spec.strip()
    options: dict[str, str] = {}
    if "?" in spec:
        head, _, query = spec.rpartition("?")
        pairs = [p for p in query.split("&") if p]
        if pairs and all("=" in p for p in pairs):
            spec = head
            for p in pairs:
                key, _, value = p.partition("=")
                options[key.strip()] = value.strip()
    kind, sep, path = spec.partition(":")
    kind = kind.strip().lower()
    if kind not in ("default", "timit", "folder"):
        raise CorpusError(f"unknown corpus spec '{spec}'; use one of {SPEC_FORMS}.")
    if kind == "default" and path:
        raise CorpusError(f"corpus spec 'default' takes no path (got '{spec}'); use 'folder:PATH'.")
    return kind, path.strip(), options


def load_corpus(spec: str = "default", **options: Any) -> Corpus:
    """Load a speech corpus by spec string.

    Used by the speech notebooks (their ``corpus`` parameter), ``innmf corpus
    check`` and the experiment runners.

    Args:
        spec: ``default``, ``timit:PATH`` (``timit`` alone reads ``$INNMF_TIMIT``) or
            ``folder:PATH``; options may follow after ``?``.
        **options: per kind. TIMIT: ``split`` (``all``/``train``/``test``, default
            ``all``), ``sa`` (include the shared SA1/SA2 sentences, default True).
            Folder: none. Keyword options override those in the spec.

    Returns:
        The :class:`Corpus`, with at least two speakers.

    Raises:
        CorpusError: unknown spec, wrong layout, unreadable header, fewer than two speakers.
        FileNotFoundError: the path does not exist.
    """
    kind, path, spec_options = parse_spec(spec)
    merged: dict[str, Any] = {**spec_options, **options}
    if kind == "default":
        from innmf.data.manifest import load_embedded

        _no_options(kind, merged)
        corpus = load_embedded()
    elif kind == "timit":
        from innmf.data.timit import load_timit

        if not path:
            path = os.environ.get("INNMF_TIMIT", "")
            if not path:
                raise CorpusError(
                    "no TIMIT path: set the INNMF_TIMIT environment variable to the folder "
                    "holding TRAIN/ and TEST/, or use the spec 'timit:PATH'."
                )
        corpus = load_timit(_existing_dir(path, kind), **merged)
    else:
        from innmf.data.folders import load_folder

        if not path:
            raise CorpusError("spec 'folder:' needs a path: 'folder:PATH' with PATH/<speaker>/*.wav.")
        _no_options(kind, merged)
        corpus = load_folder(_existing_dir(path, kind))
    if len(corpus.speakers) < 2:
        raise CorpusError(
            f"corpus {corpus.spec} has {len(corpus.speakers)} speaker(s); the two-speaker protocol "
            "needs at least two. Add speakers or choose another corpus."
        )
    return corpus


def _no_options(kind: str, options: dict[str, Any]) -> None:
    if options:
        raise CorpusError(f"corpus '{kind}' takes no options (got {sorted(options)}).")


def _existing_dir(path: str, kind: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"corpus path {p} does not exist; check the '{kind}:PATH' spec.")
    if not p.is_dir():
        raise CorpusError(f"corpus path {p} is a file; '{kind}:PATH' needs a folder.")
    return p.resolve()


class concat_loader:
    """A picklable loader: decodes ``files`` with :func:`read_audio` and concatenates them in order.

    Args:
        files: the files, in order.
    """

    def __init__(self, files: Sequence[Path]) -> None:
        self.files = tuple(Path(f) for f in files)

    def __call__(self) -> np.ndarray:
        from innmf.data.audio import read_audio

        return np.concatenate([read_audio(f) for f in self.files])
