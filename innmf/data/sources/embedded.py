"""The embedded open speech corpus as shipped: ``data/speech/<speaker>.flac`` + ``speakers.json``.

``load_corpus("default")`` lands here, so every speech notebook of the book runs
on it out of the box. The manifest records, per speaker, the Debian package the
audio came from, its licence and attribution, the source files, and the SHA-256
of the FLAC file and of its decoded samples; :func:`verify_embedded` checks the
files against it. How the files are made: :mod:`innmf.data.build_embedded`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from innmf.data.corpus import Corpus, Speaker, concat_loader, data_dir

MANIFEST = "speakers.json"


def speech_dir() -> Path:
    """Folder of the embedded corpus (``data/speech``, or ``$INNMF_DATA/speech``)."""
    return data_dir() / "speech"


def read_manifest(folder: Path | None = None) -> dict[str, Any]:
    """The embedded corpus's manifest (``speakers.json``)."""
    folder = folder or speech_dir()
    path = folder / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: the embedded corpus ships in the repository's data/speech "
            "folder. Restore it from git, set INNMF_DATA to a folder holding speech/, or "
            "rebuild it with `innmf corpus build`."
        )
    return json.loads(path.read_text(encoding="utf-8"))


def load_embedded(folder: Path | None = None) -> Corpus:
    """Load the embedded corpus (spec ``default``) used by the book out of the box.

    Args:
        folder: corpus folder; defaults to :func:`speech_dir`.

    Returns:
        The six-speaker :class:`Corpus`.
    """
    folder = folder or speech_dir()
    manifest = read_manifest(folder)
    speakers = []
    for entry in manifest["speakers"]:
        path = folder / f"{entry['id']}.flac"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing (speaker {entry['id']} of the embedded corpus); restore "
                "data/speech from git or rebuild it with `innmf corpus build`."
            )
        speakers.append(
            Speaker(
                id=entry["id"],
                sex=entry["sex"],
                n_samples=int(entry["n_samples"]),
                files=(path,),
                loader=concat_loader([path]),
                meta={k: entry[k] for k in ("language", "package", "version", "licence", "attribution")},
            )
        )
    return Corpus(spec="default", speakers=speakers, kind="default", root=folder)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pcm_sha256(samples: np.ndarray) -> str:
    """Hex SHA-256 of 16-bit little-endian PCM samples (independent of the FLAC encoder)."""
    return hashlib.sha256(np.asarray(samples, dtype="<i2").tobytes()).hexdigest()


def verify_embedded(folder: Path | None = None) -> list[str]:
    """Compare the committed FLAC files with the hashes in the manifest.

    Returns:
        One line per mismatch (empty when everything matches).
    """
    folder = folder or speech_dir()
    problems = []
    for entry in read_manifest(folder)["speakers"]:
        path = folder / f"{entry['id']}.flac"
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        if sha256_file(path) != entry["sha256"]:
            problems.append(f"{path}: sha256 differs from {MANIFEST}")
        pcm, _ = sf.read(str(path), dtype="int16")
        if pcm_sha256(pcm) != entry["pcm_sha256"] or len(pcm) != entry["n_samples"]:
            problems.append(f"{path}: decoded samples differ from {MANIFEST}")
    return problems
