"""LibriSpeech (open, CC-BY-4.0, openslr.org/12): the open route to the 500-trial protocol.

Layout: ``ROOT/<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<utterance>.flac``
(16 kHz FLAC) with ``ROOT/SPEAKERS.TXT``, whose lines read
``ID | SEX | SUBSET | MINUTES | NAME`` (``;`` starts a comment; a NAME may itself
hold ``|``). ``librispeech:ROOT`` takes every subset found there (or those named by
``?subset=train-clean-100,dev-clean``); ``librispeech:ROOT/train-clean-100`` takes one
subset folder, with ``SPEAKERS.TXT`` read from the folder or its parent. Each
speaker's utterances are concatenated in chapter then file-name order; the sex comes
from ``SPEAKERS.TXT`` (``mixed``/``same`` pairings need it). Hundreds of speakers
(251 in train-clean-100 alone, 2484 in all) give the paper's 500 trials distinct
speaker pairs. Used through ``load_corpus("librispeech:PATH")`` by the speech chapters,
``innmf reproduce`` and ``innmf corpus check``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from innmf.data.audio import CorpusError, audio_info
from innmf.data.corpus import Corpus, Speaker, concat_loader

SPEAKERS_FILE = "SPEAKERS.TXT"
SUBSET_OPTION = "subset"


def read_speakers_txt(path: Path) -> dict[str, dict[str, Any]]:
    """Parse LibriSpeech's ``SPEAKERS.TXT``.

    Args:
        path: the file.

    Returns:
        ``{speaker id: {"sex", "subset", "minutes", "name"}}``.

    Raises:
        CorpusError: a non-comment line without the five ``|``-separated fields or with
            a sex other than F or M (the message names the line).
    """
    table: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        parts = [p.strip() for p in line.split("|", 4)]
        if len(parts) != 5 or not parts[0]:
            raise CorpusError(f"{path}, line {number}: expected 'ID | SEX | SUBSET | MINUTES | NAME', "
                              f"got {line!r}.")
        sex = parts[1].upper()
        if sex not in ("F", "M"):
            raise CorpusError(f"{path}, line {number}: sex {parts[1]!r} for speaker {parts[0]}; use F or M.")
        try:
            minutes: float | None = float(parts[3])
        except ValueError:
            minutes = None
        table[parts[0]] = {"sex": sex, "subset": parts[2], "minutes": minutes, "name": parts[4]}
    return table


def _digit_dirs(path: Path) -> list[Path]:
    return sorted((p for p in path.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))


def _is_subset_dir(path: Path) -> bool:
    """A subset folder holds speaker folders holding chapter folders (all numbered)."""
    return any(_digit_dirs(spk) for spk in _digit_dirs(path))


def _find_subsets(path: Path, wanted: list[str] | None) -> tuple[Path, list[Path]]:
    if _is_subset_dir(path):
        if wanted and wanted != [path.name]:
            raise CorpusError(f"{path} is the subset folder {path.name}; option subset={','.join(wanted)} "
                              f"asks for others: use 'librispeech:{path.parent}?subset=...'.")
        return path.parent, [path]
    root = path / "LibriSpeech" if (path / "LibriSpeech").is_dir() else path
    subsets = [p for p in sorted(root.iterdir()) if p.is_dir() and _is_subset_dir(p)]
    if not subsets:
        raise CorpusError(
            f"{path} is not a LibriSpeech tree: expected {path}/<subset>/<speaker>/<chapter>/*.flac "
            f"(e.g. {path}/train-clean-100/19/198/19-198-0001.flac) or a subset folder itself."
        )
    if wanted:
        names = {p.name: p for p in subsets}
        missing = [w for w in wanted if w not in names]
        if missing:
            raise CorpusError(f"{root}: no subset {', '.join(missing)} (option subset); "
                              f"it has {', '.join(sorted(names))}.")
        subsets = [names[w] for w in wanted]
    return root, subsets


def load_librispeech(path: Path, subset: str | None = None) -> Corpus:
    """Load a LibriSpeech tree (or one subset folder) as a :class:`Corpus`.

    Args:
        path: the LibriSpeech root (holding ``SPEAKERS.TXT`` and subset folders), its
            parent, or one subset folder.
        subset: subset folder names joined by ``,`` (default: every subset found).

    Returns:
        One speaker per speaker folder, sex from ``SPEAKERS.TXT``.

    Raises:
        CorpusError: no LibriSpeech layout there, an unknown subset, a broken ``SPEAKERS.TXT``.
    """
    wanted = [s.strip() for s in str(subset).split(",") if s.strip()] if subset else None
    root, subsets = _find_subsets(path, wanted)
    table_path = next((p / SPEAKERS_FILE for p in (root, *subsets) if (p / SPEAKERS_FILE).is_file()), None)
    if table_path is None:
        warnings.warn(f"no {SPEAKERS_FILE} in {root}: speakers' sex unknown, so only pairing 'any' works.")
    table = read_speakers_txt(table_path) if table_path else {}

    found: list[tuple[Path, Path, list[Path]]] = []
    for sub in subsets:
        for spk_dir in _digit_dirs(sub):
            files = [f for ch in _digit_dirs(spk_dir) for f in sorted(ch.glob("*.flac"), key=lambda f: f.name)]
            if not files:
                warnings.warn(f"LibriSpeech speaker folder {spk_dir} has no .flac files; skipped.")
                continue
            found.append((sub, spk_dir, files))
    ids = [d.name for _, d, _ in found]
    speakers = []
    for sub, spk_dir, files in found:
        sid = spk_dir.name if ids.count(spk_dir.name) == 1 else f"{sub.name}-{spk_dir.name}"
        info = table.get(spk_dir.name, {})
        speakers.append(
            Speaker(
                id=sid,
                sex=info.get("sex"),
                n_samples=sum(audio_info(f).frames_16k for f in files),
                files=tuple(files),
                loader=concat_loader(files),
                meta={"subset": sub.name, "chapters": len(_digit_dirs(spk_dir)), "files": len(files),
                      "name": info.get("name"), "minutes": info.get("minutes")},
            )
        )
    if not speakers:
        raise CorpusError(f"{root}: no LibriSpeech speakers with .flac files under "
                          f"{', '.join(s.name for s in subsets)}.")
    spec = f"librispeech:{root}?{SUBSET_OPTION}={','.join(s.name for s in subsets)}"
    return Corpus(spec=spec, speakers=speakers, kind="librispeech", root=root)
