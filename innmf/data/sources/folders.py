"""Any folder of recordings as a corpus: ``PATH/<speaker>/*.{wav,flac,ogg}``.

Files of a speaker are concatenated in name order; any sample rate is resampled
to 16 kHz and multichannel files are mixed to mono. An optional
``PATH/speakers.csv`` with columns ``speaker,sex`` (``F``/``M``) gives the sexes
that the ``mixed``/``same`` trial pairings need. Used through
``load_corpus("folder:PATH")`` by the speech chapters and the tests.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

from innmf.data.audio import CorpusError, audio_info
from innmf.data.corpus import Corpus, Speaker, concat_loader

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
SEX_FILE = "speakers.csv"


def _audio_files(folder: Path) -> list[Path]:
    return sorted(
        (f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES),
        key=lambda f: f.name,
    )


def _read_sexes(path: Path) -> dict[str, str]:
    table = path / SEX_FILE
    if not table.is_file():
        return {}
    sexes: dict[str, str] = {}
    with open(table, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"speaker", "sex"} <= set(reader.fieldnames):
            raise CorpusError(f"{table}: needs a header line 'speaker,sex'.")
        for row in reader:
            sex = (row["sex"] or "").strip().upper()[:1]
            if sex not in ("F", "M", ""):
                raise CorpusError(f"{table}: speaker {row['speaker']} has sex {row['sex']!r}; use F or M.")
            sexes[row["speaker"].strip()] = sex or ""
    return {k: v for k, v in sexes.items() if v}


def load_folder(path: Path) -> Corpus:
    """Load ``path/<speaker>/*.{wav,flac,ogg}`` as a :class:`Corpus`.

    Args:
        path: the folder holding one sub-folder per speaker.

    Returns:
        One speaker per sub-folder that holds audio; sex from ``speakers.csv`` or ``None``.

    Raises:
        CorpusError: no speaker folders with audio (the message says what layout is expected).
    """
    subdirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    sexes = _read_sexes(path)
    speakers: list[Speaker] = []
    empty: list[Path] = []
    for d in subdirs:
        files = _audio_files(d)
        if not files:
            empty.append(d)
            continue
        n = sum(audio_info(f).frames_16k for f in files)
        speakers.append(
            Speaker(
                id=d.name,
                sex=sexes.get(d.name),
                n_samples=n,
                files=tuple(files),
                loader=concat_loader(files),
                meta={"files": len(files)},
            )
        )
    if not speakers:
        upper = {p.name.upper() for p in subdirs}
        if upper & {"TRAIN", "TEST"}:
            hint = f" It looks like TIMIT: use 'timit:{path}'."
        elif _audio_files(path):
            hint = f" The audio files lie directly in {path}: move each speaker's files into {path}/<speaker>/."
        else:
            hint = ""
        raise CorpusError(
            f"{path} has no speaker folders with audio: expected {path}/<speaker>/*.wav|flac|ogg.{hint}"
        )
    for d in empty:  # only once the layout is known to be right
        warnings.warn(f"folder {d} holds no .wav/.flac/.ogg files; speaker '{d.name}' skipped.")
    unknown = sorted(set(sexes) - {s.id for s in speakers})
    if unknown:
        warnings.warn(f"{path / SEX_FILE} names speakers without a folder: {', '.join(unknown)}.")
    return Corpus(spec=f"folder:{path}", speakers=speakers, kind="folder", root=path)
