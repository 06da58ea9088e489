"""Music source-separation corpora: pieces made of named stems whose sum is the mixture.

A corpus is chosen by a spec string, like the speech corpora of :mod:`innmf.data.sources`:

- ``default-music``: the committed chorale excerpts of ``data/music/chorales`` (found in a
  checkout and in an installed wheel), option ``timbre=ensemble|piano`` (default ``ensemble``);
- ``chorales:PATH``: a full build of :mod:`innmf.data.build_chorales` (``PATH/<timbre>/``),
  same option;
- ``stems:PATH``: any folder ``PATH/<piece>/<source>.{wav,flac,ogg}``, option ``split_seed``.

Every piece must have the same source names. Stems are read as float64 mono at the corpus
rate (any file rate is resampled, channels averaged), zero-padded to the piece's longest
stem, and the mixture is their sum computed here, so "mixture = sum of stems" holds exactly.
The split into ``fit`` / ``validation`` / ``test`` comes from ``PATH/split.json`` or, when
absent, is drawn by :func:`draw_split`. Used by the music experiment (``innmf.experiments.music``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from innmf.data.audio import CorpusError, audio_info, resample
from innmf.data.paths import data_dir

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
PARTS = ("fit", "validation", "test")
SPLIT_FILE = "split.json"
NOTES_FILE = "notes.json"
"""A piece's score beside its stems (``<piece>/notes.json``), for the score-informed task of the music experiment."""
SILENT_PEAK = 1e-6
"""A stem whose peak magnitude is below this is silent: BSS-eval cannot score a silent reference."""
FIT_FRACTION, VALIDATION_FRACTION = 0.2, 0.1
"""Shares of a drawn split (the rest is test); see :func:`draw_split`."""
TIMBRES = ("ensemble", "piano")
OPTIONS: dict[str, tuple[str, ...]] = {"stems": ("split_seed",), "default-music": ("timbre",), "chorales": ("timbre",)}
SPEC_FORMS = ("'default-music' (committed chorale excerpts), 'chorales:PATH' (a build of "
              "`python -m innmf.data.build_chorales`), 'stems:PATH' (PATH/<piece>/<source>.wav|flac|ogg)")


@dataclass(frozen=True)
class Piece:
    """One piece: a stem file per source, read on demand.

    Attributes:
        name: the piece's folder name.
        sources: source names, sorted; every piece of a corpus has the same ones.
        files: source name -> its audio file.
        sr: the corpus rate (Hz) that :meth:`load` returns.
    """

    name: str
    sources: tuple[str, ...]
    files: Mapping[str, Path] = field(repr=False)
    sr: int

    def load(self) -> dict[str, np.ndarray]:
        """The stems, float64 mono at ``sr``, all as long as the longest (zero-padded), in ``sources`` order.

        Raises:
            CorpusError: an undecodable file, non-finite samples, or a silent stem (peak below 1e-6).
        """
        stems = {s: _read_stem(self.files[s], self.sr) for s in self.sources}
        n = max(len(x) for x in stems.values())
        for s, x in stems.items():
            if np.max(np.abs(x), initial=0.0) < SILENT_PEAK:
                raise CorpusError(f"piece '{self.name}': source '{s}' ({self.files[s]}) is silent (peak below "
                                  f"{SILENT_PEAK:g}); BSS-eval cannot score a silent reference. Remove the piece "
                                  "or give the source some sound.")
        return {s: np.pad(x, (0, n - len(x))) for s, x in stems.items()}

    def mixture(self, stems: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The mixture: the sum of the stems, added in ``sources`` order (exact by construction).

        Args:
            stems: stems from :meth:`load` (loaded here when None).

        Returns:
            float64 signal at ``sr``.
        """
        stems = self.load() if stems is None else stems
        missing = sorted(set(self.sources) - set(stems))
        if missing:
            raise ValueError(f"piece '{self.name}': stems lack source(s) {missing}; pass the dict from load().")
        total = np.zeros_like(np.asarray(stems[self.sources[0]], dtype=np.float64))
        for s in self.sources:
            total = total + stems[s]
        return total


@dataclass(frozen=True)
class StemsCorpus:
    """A separation corpus: pieces with the same sources, and their split.

    Attributes:
        spec: the spec it was loaded from (options included).
        sr: the rate (Hz) of every loaded stem.
        pieces: the pieces, sorted by name.
        split: piece name -> ``"fit"``, ``"validation"`` or ``"test"``.
        root: the folder holding the piece folders.
    """

    spec: str
    sr: int
    pieces: tuple[Piece, ...]
    split: dict[str, str]
    root: Path

    @property
    def sources(self) -> tuple[str, ...]:
        """The source names shared by every piece."""
        return self.pieces[0].sources

    def pieces_in(self, part: str) -> list[Piece]:
        """The pieces of one part of the split (``fit``, ``validation`` or ``test``), sorted by name."""
        if part not in PARTS:
            raise ValueError(f"unknown split part {part!r}; use one of {PARTS}.")
        return [p for p in self.pieces if self.split[p.name] == part]

    def piece(self, name: str) -> Piece:
        """The piece called ``name``."""
        for p in self.pieces:
            if p.name == name:
                return p
        raise KeyError(f"{self.spec} has no piece {name!r}; its pieces are {[p.name for p in self.pieces]}.")


def _read_stem(path: Path, sr: int) -> np.ndarray:
    try:
        data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise CorpusError(f"{path}: cannot decode this file ({err}); convert it to WAV or FLAC or remove the piece.") from None
    if not np.all(np.isfinite(data)):
        raise CorpusError(f"{path}: the file contains NaN or infinite samples; re-export it.")
    return resample(data.mean(axis=1), int(rate), sr)


def draw_split(names: list[str], split_seed: int = 0) -> dict[str, str]:
    """The split used when a folder has no ``split.json``: a seeded shuffle cut 20 % / 10 % / rest.

    Names are sorted, shuffled by ``numpy.random.default_rng(split_seed).permutation``; the first
    ``max(1, floor(0.2 n + 0.5))`` are fit, the next ``floor(0.1 n + 0.5)`` validation (fewer
    if that would leave no test piece), the rest test.

    Args:
        names: piece names (at least 2).
        split_seed: seed of the shuffle.

    Returns:
        piece name -> part.
    """
    n = len(names)
    if n < 2:
        raise CorpusError(f"a drawn split needs at least 2 pieces (one fit, one test); got {n}. Add pieces "
                          f"or give a {SPLIT_FILE}.")
    order = [sorted(names)[i] for i in np.random.default_rng(split_seed).permutation(n)]
    n_fit = min(n - 1, max(1, int(np.floor(FIT_FRACTION * n + 0.5))))
    n_val = min(n - 1 - n_fit, int(np.floor(VALIDATION_FRACTION * n + 0.5)))
    return {name: PARTS[0] if i < n_fit else PARTS[1] if i < n_fit + n_val else PARTS[2] for i, name in enumerate(order)}


def read_split(path: Path, names: list[str]) -> dict[str, str]:
    """Read ``split.json`` (``{"fit": [...], "validation": [...], "test": [...]}``) and check it names each piece once.

    Args:
        path: the JSON file.
        names: the pieces found in the folder.

    Returns:
        piece name -> part.
    """
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorpusError(f"{path}: not readable JSON ({err}).") from None
    if not isinstance(table, dict) or set(table) != set(PARTS) or not all(isinstance(v, list) for v in table.values()):
        raise CorpusError(f"{path}: needs exactly the keys {list(PARTS)}, each a list of piece names (one may be empty).")
    split: dict[str, str] = {}
    for part in PARTS:
        for name in table[part]:
            if name in split:
                raise CorpusError(f"{path}: piece '{name}' is listed in both '{split[name]}' and '{part}'.")
            split[name] = part
    unknown, unlisted = sorted(set(split) - set(names)), sorted(set(names) - set(split))
    if unknown:
        raise CorpusError(f"{path}: names piece(s) with no folder: {unknown}.")
    if unlisted:
        raise CorpusError(f"{path}: piece(s) {unlisted} are in no list; add each to fit, validation or test.")
    return split


def _piece_files(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for f in sorted(folder.iterdir()):
        if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES:
            if f.stem in files:
                raise CorpusError(f"piece '{folder.name}': source '{f.stem}' has two files ({files[f.stem].name}, "
                                  f"{f.name}); keep one.")
            files[f.stem] = f
    return files


def read_stems_folder(path: Path, sr: int, spec: str, split_seed: int | None = None) -> StemsCorpus:
    """Load ``path/<piece>/<source>.{wav,flac,ogg}`` (and ``path/split.json`` if present).

    Args:
        path: the folder of piece folders.
        sr: the corpus rate (Hz).
        spec: the spec to record on the corpus.
        split_seed: seed of :func:`draw_split` when there is no ``split.json`` (default 0).

    Returns:
        The :class:`StemsCorpus`; stems are decoded only by :meth:`Piece.load`.
    """
    if not path.exists():
        raise FileNotFoundError(f"stems path {path} does not exist; check the spec {spec!r}.")
    if not path.is_dir():
        raise CorpusError(f"stems path {path} is a file; the spec needs a folder PATH/<piece>/<source>.wav.")
    found = {d.name: _piece_files(d) for d in sorted(path.iterdir()) if d.is_dir() and not d.name.startswith(".")}
    found = {name: files for name, files in found.items() if files}
    if not found:
        hint = f" It looks like a chorales build: use 'chorales:{path}'." if (path / TIMBRES[0]).is_dir() else ""
        raise CorpusError(f"{path} has no pieces: expected {path}/<piece>/<source>.wav|flac|ogg.{hint}")
    sources = tuple(sorted(next(iter(found.values()))))
    for name, files in found.items():
        missing, extra = sorted(set(sources) - set(files)), sorted(set(files) - set(sources))
        if missing or extra:
            first = next(iter(found))
            raise CorpusError(f"piece '{name}' has other sources than '{first}' ({list(sources)}): missing {missing}, "
                              f"extra {extra}. Every piece needs the same source files.")
        for f in files.values():
            audio_info(f)  # an unreadable header fails here, with the file named
    split_file = path / SPLIT_FILE
    if split_file.is_file():
        if split_seed is not None:
            raise CorpusError(f"{split_file} fixes the split, so option split_seed={split_seed} has no effect; drop "
                              "one of them.")
        split = read_split(split_file, list(found))
    else:
        split = draw_split(list(found), 0 if split_seed is None else split_seed)
    pieces = tuple(Piece(name, sources, dict(files), sr) for name, files in found.items())
    return StemsCorpus(spec=spec, sr=sr, pieces=pieces, split=split, root=path)


def parse_stems_spec(spec: str) -> tuple[str, str, dict[str, str]]:
    """Split a spec into kind, path and ``?key=value&...`` options, refusing unknown kinds and options.

    Args:
        spec: e.g. ``default-music?timbre=piano``, ``chorales:~/.cache/innmf/chorales``, ``stems:PATH?split_seed=3``.

    Returns:
        ``(kind, path, options)``.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise CorpusError(f"empty stems spec; use one of {SPEC_FORMS}.")
    head, _, query = spec.strip().partition("?")
    options: dict[str, str] = {}
    for pair in (p for p in query.split("&") if p):
        key, eq, value = pair.partition("=")
        if not eq:
            raise CorpusError(f"option {pair!r} of spec {spec!r} has no value; write key=value.")
        options[key.strip()] = value.strip()
    kind, _, path = head.partition(":")
    kind = kind.strip().lower()
    if kind not in OPTIONS:
        raise CorpusError(f"unknown stems spec {spec!r}; use one of {SPEC_FORMS}.")
    if kind == "default-music" and path.strip():
        raise CorpusError(f"spec 'default-music' takes no path (got {spec!r}); use 'chorales:PATH' or 'stems:PATH'.")
    if kind != "default-music" and not path.strip():
        raise CorpusError(f"spec '{kind}:' needs a path: '{kind}:PATH'.")
    _check_options(kind, options)
    return kind, path.strip(), options


def _check_options(kind: str, options: Mapping[str, Any]) -> None:
    unknown = sorted(set(options) - set(OPTIONS[kind]))
    if unknown:
        raise CorpusError(f"stems corpus '{kind}' has no option {', '.join(map(repr, unknown))}; its options are: "
                          f"{', '.join(OPTIONS[kind])}.")


def _timbre_dir(root: Path, timbre: str) -> Path:
    if timbre not in TIMBRES:
        raise CorpusError(f"unknown timbre {timbre!r}; use one of {TIMBRES}.")
    if not root.is_dir():
        raise FileNotFoundError(f"chorales folder {root} does not exist; build it with "
                                f"`python -m innmf.data.build_chorales --out {root}`.")
    if not (root / timbre).is_dir():
        have = sorted(d.name for d in root.iterdir() if d.is_dir())
        raise FileNotFoundError(f"{root} has no '{timbre}' folder (it has {have}); is it a chorales build "
                                "(`python -m innmf.data.build_chorales`)?")
    return root / timbre


def default_music_dir() -> Path:
    """Folder of the committed chorale excerpts: ``data/music/chorales`` (or its copy in the installed package)."""
    return data_dir() / "music" / "chorales"


def load_stems(spec: str = "default-music", sr: int = 8000, **options: Any) -> StemsCorpus:
    """Load a music separation corpus by spec string.

    Used by the music experiment (:func:`innmf.experiments.music.run_music`).

    Args:
        spec: ``default-music``, ``chorales:PATH`` or ``stems:PATH``; options may follow after ``?``.
        sr: the rate (Hz) every stem is resampled to.
        **options: ``timbre`` (``ensemble``/``piano``; default-music, chorales) or ``split_seed``
            (stems: seed of the drawn split when the folder has no ``split.json``). Keyword
            options override those in the spec.

    Returns:
        The :class:`StemsCorpus`.

    Raises:
        CorpusError: unknown spec or option, wrong layout, mismatched sources, bad ``split.json``, unreadable file.
        FileNotFoundError: the path does not exist.
    """
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise ValueError(f"sr must be a positive integer rate in Hz, got {sr!r}.")
    kind, path, spec_options = parse_stems_spec(spec)
    merged = {**spec_options, **{k: str(v) for k, v in options.items()}}
    _check_options(kind, merged)
    label = spec.strip().partition("?")[0] + ("?" + "&".join(f"{k}={v}" for k, v in sorted(merged.items())) if merged else "")
    if kind == "stems":
        seed = merged.get("split_seed")
        try:
            split_seed = None if seed is None else int(seed)
        except ValueError:
            raise CorpusError(f"option split_seed={seed!r} is not an integer.") from None
        return read_stems_folder(Path(path).expanduser(), int(sr), label, split_seed)
    root = default_music_dir() if kind == "default-music" else Path(path).expanduser()
    if kind == "default-music" and not root.is_dir():
        raise FileNotFoundError(f"{root} is missing: the committed chorale excerpts ship in the repository's "
                                "data/music folder. Restore it from git, or rebuild it with "
                                "`python -m innmf.data.build_chorales --subset`.")
    return read_stems_folder(_timbre_dir(root, merged.get("timbre", TIMBRES[0])), int(sr), label)


Note = tuple[str, int, float, float, int]
"""One note: (name, MIDI key, onset s, note-off s, velocity), as :func:`innmf.data.build_chorales.voice_notes`."""


def read_notes(corpus: StemsCorpus, piece: Piece) -> dict[str, list[Note]]:
    """A piece's note list per source, from ``<piece>/notes.json`` (``{"voices": {source: [[name, key, on, off,
    velocity], ...]}}``).

    Used by the score-informed task (:mod:`innmf.experiments.music_score`).

    Args:
        corpus: the corpus the piece belongs to (its spec names the fix when notes are missing).
        piece: the piece.

    Returns:
        source -> its notes, one entry per source of the piece (a source may have none).

    Raises:
        CorpusError: no ``notes.json`` (the error names the command that writes it), or one that does not
            match the piece's sources or holds a malformed note.
    """
    path = next(iter(piece.files.values())).parent / NOTES_FILE
    if not path.is_file():
        kind = corpus.spec.partition(":")[0].partition("?")[0]
        if kind == "default-music":
            fix = "`python -m innmf.data.build_chorales --notes --subset` (writes them into data/music/chorales)"
        elif kind == "chorales":
            fix = (f"`python -m innmf.data.build_chorales --notes --out {corpus.root.parent}` (adds the note lists "
                   f"to that build without re-rendering), or rebuild it with `python -m innmf.data.build_chorales "
                   f"--out {corpus.root.parent}`")
        else:
            fix = (f"write {path} as {{\"voices\": {{source: [[name, midi_key, onset_s, offset_s, velocity], ...]}}}} "
                   f"for the sources {list(piece.sources)}")
        raise CorpusError(f"piece '{piece.name}' has no score ({path} is missing): the score-informed task needs "
                          f"each piece's note list (chorale builds made before note lists were written have none). Fix: {fix}.")
    try:
        voices = json.loads(path.read_text(encoding="utf-8"))["voices"]
        notes = {s: [(str(n[0]), int(n[1]), float(n[2]), float(n[3]), int(n[4])) for n in voices[s]]
                 for s in piece.sources}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, IndexError, ValueError) as err:
        raise CorpusError(f"{path}: not a note list for the sources {list(piece.sources)} ({type(err).__name__}: "
                          f"{err}); it needs {{\"voices\": {{source: [[name, key, onset_s, offset_s, velocity], "
                          "...]}}}.") from None
    bad = [(s, n) for s, ns in notes.items() for n in ns if not (0 <= n[2] < n[3] and 0 <= n[1] <= 127)]
    if bad:
        raise CorpusError(f"{path}: note {bad[0][1]} of '{bad[0][0]}' needs 0 <= onset < offset and a MIDI key "
                          "in 0..127.")
    return notes
