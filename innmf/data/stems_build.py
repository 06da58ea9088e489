"""What every builder of a stems corpus shares: finding its Debian package, writing a stem, checking a build.

Used by :mod:`innmf.data.build_chorales`, :mod:`innmf.data.build_muldjord` and
:mod:`innmf.data.build_ambience` (chapter "Music and environmental sound"); each keeps
its own rule, registration and manifest.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from innmf.data.paths import repository_root
from innmf.data.sources.embedded import pcm_sha256, sha256_file

APT_ARCHIVES = Path("/var/cache/apt/archives")


def deb_cache() -> Path:
    """Where a ``.deb`` is looked for and downloaded: the checkout's ``.innmf-cache/debs`` (else ``~/.cache/innmf/debs``)."""
    root = repository_root()
    return (root / ".innmf-cache" / "debs") if root is not None else Path("~/.cache/innmf/debs").expanduser()


def find_deb(package: str, deb: Path | None = None, download: bool = True) -> Path | None:
    """A Debian package file: ``deb`` if given, else one in :func:`deb_cache` or apt's archive cache, else downloaded.

    Args:
        package: the Debian package name, e.g. ``ufoai-sound``.
        deb: an explicit ``.deb`` (must exist).
        download: run ``apt-get download`` into :func:`deb_cache` when none is found (needs apt and a network).

    Returns:
        The path, or None when none is found and ``download`` is False.
    """
    if deb is not None:
        if not Path(deb).is_file():
            raise FileNotFoundError(f"{deb} does not exist; fetch it with `apt-get download {package}`.")
        return Path(deb)
    for folder in (deb_cache(), APT_ARCHIVES):
        found = sorted(folder.glob(f"{package}_*.deb")) if folder.is_dir() else []
        if found:
            return found[-1]
    if not download:
        return None
    if shutil.which("apt-get") is None:
        raise FileNotFoundError(f"no {package}_*.deb in {deb_cache()} and no apt-get here: download it on a Debian/Ubuntu "
                                f"machine (`apt-get download {package}`) and pass --deb FILE.")
    deb_cache().mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", package], cwd=deb_cache(), check=True)
    return find_deb(package, download=False)


def write_stem(path: Path, samples: np.ndarray, sr: int) -> None:
    """Write 16-bit samples as a mono FLAC file (strongest compression: the subsets ship in git)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, sr, format="FLAC", subtype="PCM_16", compression_level=1.0)


def verify_stems_build(folder: Path, manifest_name: str = "manifest.json") -> list[str]:
    """Compare a build's FLAC (and licence) files with its manifest: file and decoded-sample hashes, none missing or extra.

    The manifest lists ``files`` (relative path → ``sha256``, and for audio ``pcm_sha256``
    and ``frames``) and optionally ``licence_files`` (name → SHA-256).

    Returns:
        One line per mismatch (empty when everything matches).
    """
    manifest = json.loads((folder / manifest_name).read_text(encoding="utf-8"))
    licences = {n: {"sha256": h} for n, h in manifest.get("licence_files", {}).items()}
    problems = []
    for rel, entry in {**manifest["files"], **licences}.items():
        path = folder / rel
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        if sha256_file(path) != entry["sha256"]:
            problems.append(f"{path}: sha256 differs from {manifest_name}")
        if "pcm_sha256" in entry:
            pcm, _ = sf.read(str(path), dtype="int16")
            if pcm_sha256(pcm) != entry["pcm_sha256"] or len(pcm) != entry["frames"]:
                problems.append(f"{path}: decoded samples differ from {manifest_name}")
    extra = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.flac"))
    return problems + [f"{folder / rel}: not in {manifest_name}" for rel in extra if rel not in manifest["files"]]


def builder_parser(description: str, name: str, default_out: Path, subset: str, package: str | None = None
                   ) -> argparse.ArgumentParser:
    """The command line every builder shares: ``--out``, ``--subset``, ``--register`` (and ``--deb`` for a package).

    Args:
        description: the builder's one-line description.
        name: the corpus folder and registration name under ``data/music`` (``muldjord`` → ``muldjord.json``).
        default_out: the full build's default folder.
        subset: what the committed subset holds, e.g. ``"2 fit + 2 test pieces"``.
        package: the Debian package read, when there is one (adds ``--deb``).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=None,
                        help=f"build folder (default: {default_out}, or data/music/{name} with --subset)")
    if package is not None:
        parser.add_argument("--deb", type=Path, default=None, help=f"the {package} .deb (default: found in {deb_cache()} "
                            f"or {APT_ARCHIVES}, else fetched with apt-get download)")
    parser.add_argument("--subset", action="store_true", help=f"only the committed subset ({subset})")
    parser.add_argument("--register", action="store_true",
                        help=f"write data/music/{name}.json (the pre-registration) and stop")
    return parser


def report_build(out: Path, start: float, manifest_name: str = "manifest.json") -> None:
    """Print what a build wrote: its folder, stems, size and time since ``start`` (``time.perf_counter()``)."""
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    n = len(json.loads((out / manifest_name).read_text(encoding="utf-8"))["files"])
    print(f"{out}: {n} stems, {size / 1e6:.2f} MB, {time.perf_counter() - start:.0f} s")


def read_registration(path: Path) -> dict:
    """A committed pre-registration record (``data/music/<name>.json``); a clear error when it is missing."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; restore data/music from git (it is the pre-registered piece list).")
    return json.loads(path.read_text(encoding="utf-8"))


def write_registration(path: Path, record: dict, source: str) -> dict:
    """Write a pre-registration record once: an existing, different record is never overwritten.

    Args:
        path: the record's file.
        record: the record.
        source: what the record was made from, for the error (e.g. ``"music21"``).

    Raises:
        CorpusError: the file exists and differs from ``record``.
    """
    from innmf.data.audio import CorpusError

    text = json.dumps(record, indent=1, ensure_ascii=False) + "\n"
    if path.is_file() and path.read_text(encoding="utf-8") != text:
        raise CorpusError(f"{path} exists and differs from what {source} gives now; a pre-registration is not "
                          "rewritten silently. Delete it yourself if the change is intended.")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return record
