"""Build the recorded-stems corpus: Muldjord's four songs from Debian's ``fretsonfire-songs-muldjord``.

Each song of that package (Frets on Fire game data) holds its lead guitar (``guitar.ogg``) and
the rest of the band (``song.ogg``, here ``backing``) as separate recordings of equal length,
which the game plays together: real stems whose sum is the song. The package has no
``rhythm.ogg``; one would be added into ``backing``. The excerpts and the split are
pre-registered in ``data/music/muldjord.json`` (:func:`register_muldjord`) by :data:`RULE`.

Cutting (identical for every song): each stem decoded (libsndfile), channels averaged,
resampled 44,100 -> 8000 Hz as a whole song, cut into consecutive 12 s excerpts from 0 s (the
last, shorter remainder dropped); an excerpt is dropped when a source is more than 40 dB below
its song's median excerpt level; a 50 ms half-cosine fade in and out; both stems of an excerpt
scaled by one factor so their sum peaks at 0.5; rounded to 16 bits and written as FLAC to
``PATH/<song>-<nn>/{guitar,backing}.flac``.

Usage: ``python -m innmf.data.build_muldjord [--register] [--subset] [--out PATH] [--deb FILE]``.
The loader is :func:`innmf.data.stems.load_stems` (``stems:PATH``); provenance and licence (CC BY-SA 3.0)
in ``data/music/muldjord/README.md``.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import soundfile as sf

from innmf.data.audio import CorpusError, resample
from innmf.data.build_embedded import read_deb
from innmf.data.paths import data_dir
from innmf.data.sources.embedded import pcm_sha256, sha256_file
from innmf.data import stems_build
from innmf.data.stems import PARTS, SPLIT_FILE
from innmf.data.stems_build import verify_stems_build, write_stem

PACKAGE = "fretsonfire-songs-muldjord"
SONGS_DIR = "./usr/share/games/fretsonfire/data/songs/muldjord/"
COPYRIGHT = "./usr/share/doc/fretsonfire-songs-muldjord/copyright"
SOURCES = {"backing": ("song.ogg", "rhythm.ogg"), "guitar": ("guitar.ogg",)}
"""Source -> package files summed into it (those present; ``rhythm.ogg`` is in no song of version 2.dfsg-2.1)."""
EXCERPT_SECONDS = 12.0
SR = 8000
SILENCE_DB = 40.0
FADE_SECONDS = 0.05
MIX_PEAK = 0.5
LICENCE_FILES = ("copyright-debian.txt", "readme-muldjord.txt")
"""Written into every build: the package's copyright file (with the CC BY-SA 3.0 legal code) and the artist's notice."""
REGISTRATION = "muldjord.json"
MANIFEST = "manifest.json"
DEFAULT_OUT = Path("~/.cache/innmf/muldjord")
RULE = [
    "Songs: every song folder of the package (armygeddon, chaos_god, internal_degeneration, mutilated_mime); sources "
    "'guitar' = guitar.ogg and 'backing' = song.ogg (+ rhythm.ogg where present: none is).",
    "Excerpts: each stem decoded, channels averaged, resampled to 8000 Hz as a whole song, cut into consecutive 12 s "
    "excerpts from 0 s (the remainder under 12 s dropped); excerpt nn of a song starts at 12*nn s and is named <song>-<nn>.",
    "Dropped: an excerpt where either source's level (10 log10 of its mean square over the excerpt) is more than 40 dB "
    "below the median of that source's levels over the song's excerpts (a silent source has level -inf).",
    "Split by song, by length (decoded frames, ties by name): the two longest songs 'fit', the third 'validation', "
    "the shortest 'test'; every kept excerpt goes with its song.",
    "Committed subset: for each fit song its first kept excerpt after excerpt 00, for the test song its first two "
    "(excerpt 00 holds the intro, which is atypical); validation empty.",
]


def muldjord_dir() -> Path:
    """Folder of the committed subset: ``data/music/muldjord`` (or its copy in the installed package)."""
    return data_dir() / "music" / "muldjord"


def registration_path() -> Path:
    """``data/music/muldjord.json``, the pre-registration record."""
    return data_dir() / "music" / REGISTRATION


def find_deb(deb: Path | None = None, download: bool = True) -> Path | None:
    """The ``fretsonfire-songs-muldjord`` package file (:func:`innmf.data.stems_build.find_deb`)."""
    return stems_build.find_deb(PACKAGE, deb, download)


def read_package(deb: Path) -> tuple[dict[str, str], dict[str, dict[str, bytes]], dict[str, str]]:
    """Read the songs and licence texts out of the ``.deb`` (no install).

    Args:
        deb: the package file.

    Returns:
        ``(control fields, {song: {file name: bytes}}, {licence file name: text})``.
    """
    control, files = read_deb(deb, lambda p: p.startswith(SONGS_DIR) or p == COPYRIGHT)
    if control.get("Package") != PACKAGE:
        raise CorpusError(f"{deb} is package {control.get('Package')!r}, not {PACKAGE}.")
    songs: dict[str, dict[str, bytes]] = {}
    for path, blob in files.items():
        rest = path[len(SONGS_DIR):].split("/")
        if len(rest) == 2:
            songs.setdefault(rest[0], {})[rest[1]] = blob
    notices = {songs[s].get("readme.txt", b"") for s in songs}
    if len(notices) != 1 or not notices.pop() or COPYRIGHT not in files:
        raise CorpusError(f"{deb}: the songs' readme.txt (the artist's licence notice) are missing or differ, or the "
                          "copyright file is missing; the licence requires both with every copy.")
    texts = dict(zip(LICENCE_FILES, (files[COPYRIGHT].decode(), songs[min(songs)]["readme.txt"].decode())))
    return control, dict(sorted(songs.items())), texts


def decode_song(files: Mapping[str, bytes], song: str) -> dict[str, np.ndarray]:
    """A song's stems: each source's files decoded, channels averaged, summed, resampled to 8000 Hz.

    Args:
        files: the song folder's file name -> bytes.
        song: its name, for messages.

    Returns:
        ``{source: float64 signal at SR}``, all the same length.
    """
    stems, shapes = {}, set()
    for source, names in SOURCES.items():
        total = None
        for name in (n for n in names if n in files):
            x, rate = sf.read(io.BytesIO(files[name]), dtype="float32", always_2d=True)
            shapes.add((len(x), rate))
            mono = x.astype(np.float64).mean(axis=1)
            total = mono if total is None else total + mono
        if total is None:
            raise CorpusError(f"song {song} has none of {names}; every song needs each source.")
        stems[source] = total
    if len(shapes) != 1:  # stems of one session are exported whole; another length means another take or offset
        raise CorpusError(f"song {song}: its stems differ in length or rate {sorted(shapes)}; they are not aligned.")
    rate = shapes.pop()[1]
    return {s: resample(x, rate, SR) for s, x in stems.items()}


def excerpt_levels(stems: Mapping[str, np.ndarray], n: int = int(EXCERPT_SECONDS * SR)) -> dict[str, np.ndarray]:
    """Level of each source in each consecutive excerpt of ``n`` samples (the remainder left out).

    Args:
        stems: source -> signal (same length).
        n: excerpt length in samples.

    Returns:
        source -> ``10 log10(mean square)`` per excerpt in dB (``-inf`` for an all-zero excerpt).
    """
    out = {}
    for s, x in stems.items():
        ms = np.mean(np.asarray(x[: len(x) // n * n], dtype=np.float64).reshape(-1, n) ** 2, axis=1)
        with np.errstate(divide="ignore"):
            out[s] = 10.0 * np.log10(ms)
    return out


def keep_excerpts(levels: Mapping[str, np.ndarray], silence_db: float = SILENCE_DB) -> np.ndarray:
    """The drop rule: keep an excerpt unless a source is more than ``silence_db`` below its median excerpt level.

    Args:
        levels: from :func:`excerpt_levels`.
        silence_db: the margin in dB.

    Returns:
        Boolean mask over the excerpts.
    """
    keep = None
    for lv in levels.values():
        ok = lv >= np.median(lv) - silence_db
        keep = ok if keep is None else keep & ok
    return np.asarray(keep, dtype=bool)


def split_songs(frames: Mapping[str, int]) -> dict[str, str]:
    """The split rule: the two longest songs ``fit``, the third ``validation``, the rest ``test`` (ties by name).

    Args:
        frames: song -> decoded length in frames.

    Returns:
        song -> part.
    """
    if len(frames) < 4:
        raise CorpusError(f"the split rule needs 4 songs (2 fit, 1 validation, 1 test); got {sorted(frames)}.")
    order = sorted(frames, key=lambda s: (-frames[s], s))
    return {s: "fit" if i < 2 else "validation" if i == 2 else "test" for i, s in enumerate(order)}


def cut_excerpt(stems: Mapping[str, np.ndarray], index: int) -> tuple[dict[str, np.ndarray], float]:
    """Excerpt ``index`` as 16-bit stems: faded in and out, one factor so the mix peaks at 0.5.

    Args:
        stems: source -> whole song at SR.
        index: excerpt number (starts at ``12 * index`` s).

    Returns:
        ``({source: int16 samples}, scale factor)``.
    """
    n, n_fade = int(EXCERPT_SECONDS * SR), int(round(FADE_SECONDS * SR))
    fade = 0.5 * (1.0 - np.cos(np.pi * np.arange(n_fade) / n_fade))
    cut = {}
    for s, x in stems.items():
        y = np.array(x[index * n: (index + 1) * n], dtype=np.float64)
        if len(y) != n:
            raise ValueError(f"excerpt {index} runs past the song's end ({len(x)} samples); use an index below {len(x) // n}.")
        y[:n_fade] *= fade
        y[-n_fade:] *= fade[::-1]
        cut[s] = y
    scale = MIX_PEAK / np.max(np.abs(sum(cut.values())))
    if max(np.max(np.abs(y)) for y in cut.values()) * scale >= 32767 / 32768:  # a clipped stem breaks mix = sum
        raise CorpusError(f"excerpt {index}: a stem would clip at 16 bits once the mix peaks at {MIX_PEAK}.")
    return {s: np.round(y * scale * 32768.0).astype(np.int16) for s, y in cut.items()}, float(scale)


def survey(control: Mapping[str, str], songs: Mapping[str, Mapping[str, bytes]], deb: Path) -> dict[str, Any]:
    """The pre-registration record: the songs, every excerpt with its levels and fate, the split and the subset."""
    table, frames, excerpts = [], {}, []
    for song, files in songs.items():
        info = sf.info(io.BytesIO(files[SOURCES["guitar"][0]]))
        frames[song] = int(info.frames)
        levels = excerpt_levels(decode_song(files, song))
        keep = keep_excerpts(levels)
        ini = dict(line.split(" = ", 1) for line in files["song.ini"].decode().splitlines() if " = " in line)
        table.append({"song": song, "title": ini.get("name", song), "artist": ini.get("artist", ""), "rate": info.samplerate,
                      "channels": info.channels, "frames": frames[song], "seconds": round(info.frames / info.samplerate, 3),
                      "files": {f: _sha(files[f]) for f in sorted(files) if f.endswith(".ogg")},
                      "excerpts": int(len(keep)), "kept": int(keep.sum())})
        excerpts += [{"name": f"{song}-{i:02d}", "song": song, "start_s": i * EXCERPT_SECONDS, "kept": bool(keep[i]),
                      "level_db": {s: round(float(lv[i]), 2) if np.isfinite(lv[i]) else None for s, lv in levels.items()}}
                     for i in range(len(keep))]
    parts = split_songs(frames)
    for entry in table:
        entry["split"] = parts[entry["song"]]
    kept = [e for e in excerpts if e["kept"]]
    split = {p: [e["name"] for e in kept if parts[e["song"]] == p] for p in PARTS}
    first = {s: [e["name"] for e in kept if e["song"] == s and e["start_s"] > 0] for s in songs}
    subset = {"fit": [first[s][0] for s in songs if parts[s] == "fit"],
              "test": [n for s in songs if parts[s] == "test" for n in first[s][:2]]}
    return {"description": "Pre-registered excerpts and split of the recorded-stems corpus (written before any result).",
            "package": PACKAGE, "version": control["Version"], "deb": deb.name, "deb_sha256": sha256_file(deb),
            "licence": "CC BY-SA 3.0", "rule": RULE, "settings": settings(), "songs": table,
            "split_songs": {p: [s for s in songs if parts[s] == p] for p in PARTS},
            "split": split, "subset": subset, "excerpts": excerpts}


def _sha(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def settings() -> dict[str, Any]:
    """The cutting settings, as pre-registered and recorded in each build's manifest."""
    return {"sources": {s: list(f) for s, f in SOURCES.items()}, "excerpt_seconds": EXCERPT_SECONDS, "sr": SR,
            "silence_db": SILENCE_DB, "fade_seconds": FADE_SECONDS, "mix_peak": MIX_PEAK}


def read_registration(path: Path | None = None) -> dict[str, Any]:
    """The committed pre-registration record (``data/music/muldjord.json``)."""
    return stems_build.read_registration(path or registration_path())


def register_muldjord(path: Path | None = None, deb: Path | None = None) -> dict[str, Any]:
    """Write the pre-registration record (``--register``); an existing, different record is never overwritten.

    Args:
        path: where to write (default :func:`registration_path`).
        deb: the package file (default :func:`find_deb`).

    Returns:
        The record.
    """
    path = path or registration_path()
    deb = find_deb(deb)
    control, songs, _ = read_package(deb)
    record = survey(control, songs, deb)
    return stems_build.write_registration(path, record, deb.name)


def build_muldjord(out: Path, deb: Path | None = None, subset: bool = False) -> Path:
    """Cut the registered excerpts into ``out/<song>-<nn>/{guitar,backing}.flac`` with split.json, manifest and licence.

    The folder is a ``stems:PATH`` corpus of :func:`innmf.data.stems.load_stems` for the music experiment.

    Args:
        out: the build folder (``data/music/muldjord`` for the committed subset).
        deb: the package file (default :func:`find_deb`: the cache, apt's archives, else ``apt-get download``).
        subset: only the registration's subset (validation empty).

    Returns:
        ``out``.
    """
    record = read_registration()
    deb = find_deb(deb)
    control, songs, texts = read_package(deb)
    registered = {s["song"]: s for s in record["songs"]}
    if control["Version"] != record["version"] or {s: {f: _sha(b) for f, b in files.items() if f.endswith(".ogg")}
                                                   for s, files in songs.items()} != {s: e["files"] for s, e in registered.items()}:
        raise CorpusError(f"{deb.name} (version {control['Version']}) holds other audio than the registration (version "
                          f"{record['version']}); get that version: apt-get download {PACKAGE}={record['version']}.")
    chosen = {p: record["subset"].get(p, []) if subset else record["split"][p] for p in PARTS}
    names = {n for part in chosen.values() for n in part}
    out = Path(out).expanduser()
    stale = sorted(d.name for d in out.iterdir() if d.is_dir() and d.name not in names) if out.is_dir() else []
    if stale:
        raise CorpusError(f"{out} holds piece folders not in this build ({stale}); remove them or choose another --out.")
    files: dict[str, Any] = {}
    pieces = []
    for song in sorted({e["song"] for e in record["excerpts"] if e["name"] in names}):
        stems = decode_song(songs[song], song)
        keep = keep_excerpts(excerpt_levels(stems))
        if [bool(k) for k in keep] != [e["kept"] for e in record["excerpts"] if e["song"] == song]:
            raise CorpusError(f"song {song}: the drop rule keeps other excerpts than the registration; the decoder "
                              f"(libsndfile {sf.__libsndfile_version__}) may differ from the one that registered it.")
        for e in (e for e in record["excerpts"] if e["name"] in names and e["song"] == song):
            samples, scale = cut_excerpt(stems, int(round(e["start_s"] / EXCERPT_SECONDS)))
            for source, x in samples.items():
                rel = f"{e['name']}/{source}.flac"
                write_stem(out / rel, x, SR)
                files[rel] = {"sha256": sha256_file(out / rel), "pcm_sha256": pcm_sha256(x), "frames": len(x)}
            pieces.append({"name": e["name"], "song": song, "title": registered[song]["title"], "start_s": e["start_s"],
                           "split": registered[song]["split"], "scale": scale, "level_db": e["level_db"]})
    for name, text in texts.items():
        (out / name).write_text(text, encoding="utf-8")
    (out / SPLIT_FILE).write_text(json.dumps(chosen, indent=1) + "\n", encoding="utf-8")
    manifest = {
        "description": "Muldjord's songs cut into 12 s excerpts of recorded guitar and backing stems (mixture = their sum, "
                       "computed by the loader). Licence CC BY-SA 3.0: see readme-muldjord.txt and copyright-debian.txt.",
        "subset": subset, "command": "python -m innmf.data.build_muldjord" + (" --subset" if subset else "") + " --out PATH",
        "registration_sha256": sha256_file(registration_path()),
        "package": PACKAGE, "deb": deb.name, "deb_sha256": sha256_file(deb),
        "versions": {PACKAGE: control["Version"], "numpy": np.__version__, "scipy": scipy.__version__,
                     "soundfile": sf.__version__, "libsndfile": sf.__libsndfile_version__},
        "settings": settings(), "split": chosen, "pieces": pieces,
        "licence_files": {n: sha256_file(out / n) for n in texts}, "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def verify_build(folder: Path | None = None) -> list[str]:
    """Compare a build (default: the committed subset) with its manifest (:func:`innmf.data.stems_build.verify_stems_build`)."""
    return verify_stems_build(folder or muldjord_dir(), MANIFEST)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m innmf.data.build_muldjord [--register] [--subset] [--out PATH] [--deb FILE]``."""
    parser = stems_build.builder_parser(__doc__.splitlines()[0], "muldjord", DEFAULT_OUT, "2 fit + 2 test excerpts", PACKAGE)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.register:
        record = register_muldjord(deb=args.deb)
        print(f"registered {sum(len(v) for v in record['split'].values())} excerpts of {len(record['songs'])} songs "
              f"in {registration_path()}")
        return 0
    out = build_muldjord(args.out or (muldjord_dir() if args.subset else DEFAULT_OUT), deb=args.deb, subset=args.subset)
    stems_build.report_build(out, start, MANIFEST)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
