"""Speech corpora behind one interface, chosen by a spec string.

The spec is the single ``corpus`` parameter of the speech notebooks (chapters on
reconstruction and separation), of ``innmf corpus check`` and of the tests:

- ``default``: the embedded open corpus shipped in ``data/speech`` (six speakers);
- ``timit:PATH`` (or ``timit`` / ``timit:`` with ``INNMF_TIMIT`` set): TIMIT;
- ``folder:PATH``: ``PATH/<speaker>/*.{wav,flac,ogg}``;
- ``librispeech:PATH``: LibriSpeech, ``PATH/<subset>/<speaker>/<chapter>/*.flac`` and
  ``SPEAKERS.TXT`` for the sexes (PATH may also be one subset folder).

Options can ride on the spec after ``?`` (``timit:/data/TIMIT?split=test&sa=no``)
or be passed as keyword arguments to :func:`load_corpus`. Each kind is one entry of
:data:`SOURCES`: a function ``(path, options) -> Corpus``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from innmf.data.audio import CorpusError
from innmf.data.corpus import Corpus
from innmf.data.sources.embedded import load_embedded
from innmf.data.sources.folders import load_folder
from innmf.data.sources.librispeech import SUBSET_OPTION, load_librispeech
from innmf.data.sources.timit import load_timit

SPEC_FORMS = (
    "'default' (the embedded corpus), 'timit:PATH' (or 'timit' with INNMF_TIMIT set), "
    "'folder:PATH' (PATH/<speaker>/*.wav|flac|ogg), "
    "'librispeech:PATH' (PATH/<subset>/<speaker>/<chapter>/*.flac)"
)

OPTIONS: dict[str, tuple[str, ...]] = {
    "default": (),
    "timit": ("split", "sa"),
    "folder": (),
    "librispeech": (SUBSET_OPTION,),
}
"""Options each corpus kind accepts after ``?`` (or as keywords of :func:`load_corpus`)."""


def _embedded(path: str, options: dict[str, Any]) -> Corpus:
    _no_options("default", options)
    return load_embedded()


def _timit(path: str, options: dict[str, Any]) -> Corpus:
    if not path:
        path = os.environ.get("INNMF_TIMIT", "")
        if not path:
            raise CorpusError(
                "no TIMIT path: set the INNMF_TIMIT environment variable to the folder "
                "holding TRAIN/ and TEST/, or use the spec 'timit:PATH'."
            )
    return load_timit(_existing_dir(path, "timit"), **options)


def _folder(path: str, options: dict[str, Any]) -> Corpus:
    if not path:
        raise CorpusError("spec 'folder:' needs a path: 'folder:PATH' with PATH/<speaker>/*.wav.")
    _no_options("folder", options)
    return load_folder(_existing_dir(path, "folder"))


def _librispeech(path: str, options: dict[str, Any]) -> Corpus:
    if not path:
        raise CorpusError("spec 'librispeech:' needs a path: 'librispeech:PATH' with "
                          "PATH/<subset>/<speaker>/<chapter>/*.flac (or PATH a subset folder).")
    return load_librispeech(_existing_dir(path, "librispeech"), **options)


SOURCES: dict[str, Callable[[str, dict[str, Any]], Corpus]] = {
    "default": _embedded,
    "timit": _timit,
    "folder": _folder,
    "librispeech": _librispeech,
}
"""Corpus kinds by spec prefix; each loads ``(path, options)`` into a :class:`Corpus`."""


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
    if kind not in SOURCES:
        raise CorpusError(f"unknown corpus spec '{spec}'; use one of {SPEC_FORMS}.")
    if kind == "default" and path:
        raise CorpusError(f"corpus spec 'default' takes no path (got '{spec}'); use 'folder:PATH'.")
    check_options(kind, options)
    return kind, path.strip(), options


def check_options(kind: str, options: dict[str, Any]) -> None:
    """Refuse options that corpus ``kind`` does not know (a typo such as ``?splt=test``).

    Raises:
        CorpusError: an unknown option; the message lists the known ones.
    """
    unknown = sorted(set(options) - set(OPTIONS[kind]))
    if unknown and not OPTIONS[kind]:
        _no_options(kind, options)
    if unknown:
        known = ", ".join(OPTIONS[kind])
        raise CorpusError(f"corpus '{kind}' has no option {', '.join(map(repr, unknown))}; "
                          f"its options are: {known}.")


def check_spec(spec: str) -> None:
    """Check a spec's form, kind and option names without touching the disk (settings validation).

    Raises:
        CorpusError: an empty or unknown spec, or an unknown option.
    """
    parse_spec(spec)


def load_corpus(spec: str = "default", **options: Any) -> Corpus:
    """Load a speech corpus by spec string.

    Used by the speech notebooks (their ``corpus`` parameter), ``innmf corpus
    check`` and the experiment runners.

    Args:
        spec: ``default``, ``timit:PATH`` (``timit`` alone reads ``$INNMF_TIMIT``) or
            ``folder:PATH``; options may follow after ``?``.
        **options: per kind. TIMIT: ``split`` (``all``/``train``/``test``, default
            ``all``), ``sa`` (include the shared SA1/SA2 sentences, default True).
            LibriSpeech: ``subset`` (subset folder names joined by ``,``, default all).
            Folder: none. Keyword options override those in the spec.

    Returns:
        The :class:`Corpus`, with at least two speakers.

    Raises:
        CorpusError: unknown spec, wrong layout, unreadable header, fewer than two speakers.
        FileNotFoundError: the path does not exist.
    """
    kind, path, spec_options = parse_spec(spec)
    merged: dict[str, Any] = {**spec_options, **options}
    check_options(kind, merged)
    corpus = SOURCES[kind](path, merged)
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
