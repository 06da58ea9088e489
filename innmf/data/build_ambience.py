"""Build the speech-in-ambience corpus: the embedded corpus's speech over recorded ambience loops from ``ufoai-sound``.

Supervised enhancement, the classic NMF use: two sources, ``speech`` (the six speakers of
``load_corpus("default")``) and ``ambience`` (recorded ambience loops of the Debian package
``ufoai-sound``, game data of UFO: Alien Invasion), the mixture their sum. The pieces and the split
are pre-registered in ``data/music/ambience.json`` (:func:`register_ambience`) by :data:`RULE`;
which package files count as recorded ambience was judged from the upstream credits and from
spectrograms (not by listening), and is written out per file, with its reason, in :data:`CURATION`.

Cutting (identical for every piece): speech and ambience decoded, channels averaged, resampled
to 8000 Hz as whole signals; an 8 s window of each (an ambience file read as the loop the game
plays, end joined to start, where a window runs past its end); a 50 ms half-cosine fade in and
out; the ambience scaled so the SNR is 0 dB (speech active level over ambience mean square,
:func:`snr_db`); both stems scaled by one factor so their sum peaks at 0.5; rounded to 16 bits and
written as FLAC to ``PATH/<piece>/{speech,ambience}.flac``.

Usage: ``python -m innmf.data.build_ambience [--register] [--subset] [--out PATH] [--deb FILE]``. The
loader is :func:`innmf.data.stems.load_stems` (``stems:PATH``); provenance and per-file licences in
``data/music/ambience/README.md``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import time
import zipfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import soundfile as sf

from innmf.data.audio import CorpusError, resample
from innmf.data.build_embedded import read_deb
from innmf.data.paths import data_dir
from innmf.data.sources.embedded import load_embedded, pcm_sha256, read_manifest, sha256_file, speech_dir, verify_embedded
from innmf.data import stems_build
from innmf.data.stems import PARTS, SPLIT_FILE
from innmf.data.stems_build import verify_stems_build, write_stem

PACKAGE = "ufoai-sound"
PK3 = "./usr/share/games/ufoai/base/0snd.pk3"
COPYRIGHT = "./usr/share/doc/ufoai-sound/copyright"
AMBIENCE_DIR = "sound/ambience/"
"""Folder of the ambience loops inside the game archive ``0snd.pk3`` (a zip); ``base/`` + it in debian/copyright."""
SR = 8000
PIECE_SECONDS = 8.0
SNR_DB = 0.0
FRAME_SECONDS = 0.02
ACTIVE_RANGE_DB = 30.0
FADE_SECONDS = 0.05
MIX_PEAK = 0.5
MIN_SECONDS = 3.0
FREE_LICENCES = ("GPL-2", "GPL-2+", "CC-BY-3.0", "CC-BY-SA-3.0", "public-domain")
SPEAKERS = {"fit": ("cs-f", "cs-m", "en-f"), "validation": ("fr-f",), "test": ("it-m", "ru-f")}
SPANS = {"minepump03": ((0.0, 76.8), (96.8, 153.6))}
"""Usable spans (s) of files that repeat themselves: minepump03's 0-19.2 s recurs sample for sample at 76.8-96 s."""
CURATION: dict[str, tuple[str, str]] = {
    **{n: ("", "designed science-fiction sound: band-limited drone or noise, 95 % of the power below 1.3 kHz") for n in (
        "alien-device", "alien-generator", "alien-ventilation", "alien_engine", "alienatmo", "alienbase-bubbles", "aliencom",
        "alienenergy1", "alienmachinery1", "alienmachinery2", "alienmachinery3", "alienmachinery4", "alienmachinery5",
        "alienpowermachinery1", "alienwormhole", "engine_alien_big", "engine_alien_medium", "engine_alien_small")},
    "arcticwind": ("", "noise cut hard near 2 kHz (2-4 kHz 53 dB down), the look of the designed alien-* atmospheres"),
    "bloodspiderwalk": ("", "designed footsteps of a game monster"),
    "city_abnd_ufoai_atm": ("outdoor", "abandoned-city atmosphere (Axis REC): broadband, slowly changing outdoor noise"),
    "creak": ("", "one door creak, a 1.2 s effect"),
    "cricket_loop": ("insects", "crickets (Nexuiz): chirps over a noise floor"),
    "disco": ("", "music (a disco beat)"),
    "droning_long": ("", "synthetic drone (steady partials)"),
    "droning_short": ("", "synthetic drone (steady partials)"),
    "fire": ("fire", "fire: random broadband crackles over a low rumble"),
    **{n: ("", "made on the NN-19 sampler (upstream credit); fixed spectral bands show processing") for n in (
        "fire03", "fire04", "fire05", "fire06", "water03")},
    "fire1": ("fire", "fire (OpenArena): random broadband crackles"),
    "fire2": ("fire", "fire (OpenArena), another recording than fire1"),
    "firesoft": ("", "the same recording as fire1 (normalised cross-correlation 0.97)"),
    "hum": ("", "electrical hum: steady harmonic partials, synthetic-looking"),
    "hum2": ("", "electrical hum switched on and off: steady partials, synthetic-looking"),
    "jingle": ("", "music (a jingle)"),
    "jingle2": ("", "music (a jingle)"),
    "lights_loop": ("", "buzz of lamps: one steady tone complex, 1.5 s"),
    "machine1": ("", "machine hum: steady harmonic partials, synthetic-looking"),
    "minepump03": ("machinery", "mine pump (Gren): periodic mechanical strokes over broadband noise"),
    "radiomessage": ("", "radio message effect; 95 % of its samples are digital silence"),
    "sand-city": ("", "no content below 4 kHz (its power lies at 5-10 kHz): nothing is left at 8 kHz"),
    "smallfire": ("fire", "small fire: dense broadband crackle"),
    "sparks": ("", "electric spark effect"),
    "sparks_short": ("", "electric spark effect"),
    "steam": ("", "tram doors, hiss and beeps (upstream source): an effect with tones"),
    **{n: ("", "thunder: one clap, then a decay into near-silence (an event, not a sustained ambience)") for n in (
        "thunder1", "thunder2", "thunder3")},
    "tv_newswav": ("", "television news: it holds speech"),
    "tv_static": ("", "licence unclear: debian/copyright says CC-BY-SA-3.0, upstream credits CC Sampling Plus 1.0"),
    "ufo_night_atm": ("outdoor", "night atmosphere (Axis REC): insect chirps over broadband outdoor noise"),
    "water": ("water", "bubbling water (Nexuiz): irregular bubbles"),
    "water01": ("water", "running water: irregular broadband splashing"),
    "water02": ("water", "water drops: irregular broadband splashing"),
    "waterfontain": ("water", "fountain: running water, broadband"),
    "wind_turbine": ("machinery", "wind turbine: broadband mechanical noise"),
}
"""Ambience file -> (kind, reason): a kind means judged a recording of a real scene; ``""`` means left out, for the reason."""
REGISTRATION = "ambience.json"
MANIFEST = "manifest.json"
LICENCE_FILE = "copyright-ufoai-sound.txt"
DEFAULT_OUT = Path("~/.cache/innmf/ambience")
RULE = [
    "Ambience files: every .ogg of sound/ambience/ in ufoai-sound's 0snd.pk3. Kept when judged a recording of a real "
    "scene (CURATION in innmf/data/build_ambience.py: kind and reason per file), its licence in debian/copyright is one "
    f"of {', '.join(FREE_LICENCES)}, and it lasts at least {MIN_SECONDS:g} s.",
    "Speech: the six speakers of the embedded corpus (data/speech), resampled to 8000 Hz; speech window k of a speaker "
    "is its part [8 k, 8 k + 8) s, for every whole window.",
    "Speakers by part: fit cs-f, cs-m, en-f (both sexes; the two game voices carry a noise floor); validation fr-f; "
    "test it-m and ru-f (studio voices, one male, one female, so test targets are clean speech).",
    "Ambience windows: a file's usable spans (the whole file unless SPANS says otherwise) hold its slots, consecutive "
    "8 s windows from each span's start; window j is slot j, or past the slots, the 8 s from (8 j s mod length) of the "
    "file read as a loop.",
    "Ambience by part: test = kept files with at least one slot per test speech window (14); validation = the longest "
    "remaining file of each kind with three or more remaining files; fit = the rest.",
    "Pieces: test crosses every test speech window with every test file (window j = number of earlier uses of that "
    "file); fit and validation pair speech window i (speakers in part order, windows in order) with file i mod n of the "
    "part's files sorted by name.",
    f"Level: SNR {SNR_DB:g} dB = speech active level (mean square of the 20 ms frames within {ACTIVE_RANGE_DB:g} dB of the "
    "loudest) over the ambience mean square, after the fades. Committed subset: the first 2 fit and first 2 test pieces.",
]


def ambience_dir() -> Path:
    """Folder of the committed subset: ``data/music/ambience`` (or its copy in the installed package)."""
    return data_dir() / "music" / "ambience"


def registration_path() -> Path:
    """``data/music/ambience.json``, the pre-registration record."""
    return data_dir() / "music" / REGISTRATION


def find_deb(deb: Path | None = None, download: bool = True) -> Path | None:
    """The ``ufoai-sound`` package file (:func:`innmf.data.stems_build.find_deb`)."""
    return stems_build.find_deb(PACKAGE, deb, download)


def read_package(deb: Path) -> tuple[dict[str, str], dict[str, bytes], str]:
    """Read the ambience loops and the copyright file out of the ``.deb`` (no install).

    Args:
        deb: the package file.

    Returns:
        ``(control fields, {file name without .ogg: bytes}, copyright text)``.
    """
    control, files = read_deb(deb, lambda p: p in (PK3, COPYRIGHT))
    if control.get("Package") != PACKAGE:
        raise CorpusError(f"{deb} is package {control.get('Package')!r}, not {PACKAGE}; pass the {PACKAGE} .deb.")
    if PK3 not in files or COPYRIGHT not in files:
        raise CorpusError(f"{deb}: {PK3} or {COPYRIGHT} is missing; is it a complete {PACKAGE} package?")
    with zipfile.ZipFile(io.BytesIO(files[PK3])) as pk3:
        oggs = {n[len(AMBIENCE_DIR):-4]: pk3.read(n) for n in sorted(pk3.namelist())
                if n.startswith(AMBIENCE_DIR) and n.endswith(".ogg") and "/" not in n[len(AMBIENCE_DIR):]}
    return control, oggs, files[COPYRIGHT].decode("utf-8")


def parse_copyright(text: str) -> list[tuple[list[str], str, str]]:
    """The ``Files`` stanzas of a machine-readable (DEP-5) debian/copyright file.

    Args:
        text: the file's text.

    Returns:
        ``(file patterns, copyright holders joined by "; ", licence short name)`` per stanza, in file order.
    """
    stanzas = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, list[str]] = {}
        key = None
        for line in block.split("\n"):
            if line[:1] in (" ", "\t") and key is not None:
                fields[key].append(line.strip())
            elif ":" in line:
                key, value = line.split(":", 1)
                fields[key] = [value.strip()] if value.strip() else []
        if "Files" in fields and "License" in fields:
            patterns = [p for line in fields["Files"] for p in line.split()]
            stanzas.append((patterns, "; ".join(fields.get("Copyright", [])), fields["License"][0]))
    return stanzas


def licence_of(path: str, stanzas: list[tuple[list[str], str, str]]) -> tuple[str, str]:
    """``(licence, copyright holders)`` of a package path: the last matching stanza wins (DEP-5)."""
    found = [(lic, holders) for patterns, holders, lic in stanzas if any(fnmatch.fnmatchcase(path, p) for p in patterns)]
    if not found:
        raise CorpusError(f"debian/copyright names no licence for {path}; the file cannot be redistributed.")
    return found[-1]


def decode(blob: bytes) -> np.ndarray:
    """An audio file's bytes as float64 mono at ``SR`` (libsndfile, channels averaged, resampled as a whole)."""
    x, rate = sf.read(io.BytesIO(blob), dtype="float32", always_2d=True)
    return resample(x.astype(np.float64).mean(axis=1), int(rate), SR)


def slots(length: int, spans: tuple[tuple[float, float], ...] | None = None, n: int = int(PIECE_SECONDS * SR)) -> list[int]:
    """Start samples of the non-overlapping ``n``-sample windows laid from the start of each usable span.

    Args:
        length: the file's length at ``SR`` (samples).
        spans: usable ``(start s, end s)`` spans (default: the whole file).
        n: window length in samples.

    Returns:
        The slots, in order.
    """
    out = []
    for a, b in spans or ((0.0, length / SR),):
        lo, hi = int(round(a * SR)), min(length, int(round(b * SR)))
        out += list(range(lo, hi - n + 1, n))
    return out


def window_start(j: int, file_slots: list[int], length: int, n: int = int(PIECE_SECONDS * SR)) -> int:
    """Start of a file's window ``j``: slot ``j``, or past the slots ``(j n) mod length`` of the file read as a loop."""
    return file_slots[j] if j < len(file_slots) else (j * n) % length


def cut(x: np.ndarray, start: int, n: int = int(PIECE_SECONDS * SR)) -> np.ndarray:
    """``n`` samples from ``start`` of ``x`` read as a loop (end joined to start), with the half-cosine fades."""
    y = np.take(np.asarray(x, dtype=np.float64), np.arange(start, start + n), mode="wrap")
    n_fade = int(round(FADE_SECONDS * SR))
    fade = 0.5 * (1.0 - np.cos(np.pi * np.arange(n_fade) / n_fade))
    y[:n_fade] *= fade
    y[-n_fade:] *= fade[::-1]
    return y


def active_level(x: np.ndarray, sr: int = SR) -> float:
    """Speech active level: mean of the mean squares of the 20 ms frames within 30 dB of the loudest frame.

    Args:
        x: the signal (frames from sample 0; a remainder shorter than a frame is left out).
        sr: its rate (Hz).

    Returns:
        The level as a mean square (linear power).
    """
    m = int(round(FRAME_SECONDS * sr))
    frames = np.mean(np.asarray(x, dtype=np.float64)[: len(x) // m * m].reshape(-1, m) ** 2, axis=1)
    if frames.size == 0 or frames.max() <= 0:
        raise ValueError(f"no active speech: the signal has {len(x)} samples and no frame of {m} samples above zero.")
    return float(np.mean(frames[frames >= frames.max() * 10 ** (-ACTIVE_RANGE_DB / 10)]))


def snr_db(speech: np.ndarray, ambience: np.ndarray, sr: int = SR) -> float:
    """The corpus's SNR: 10 log10 of the speech active level (:func:`active_level`) over the ambience mean square."""
    return float(10 * np.log10(active_level(speech, sr) / np.mean(np.asarray(ambience, dtype=np.float64) ** 2)))


def mix_piece(speech: np.ndarray, ambience: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Scale a faded speech and ambience window into 16-bit stems at ``SNR_DB`` whose sum peaks at ``MIX_PEAK``.

    Args:
        speech: the speech window (from :func:`cut`).
        ambience: the ambience window, as long.

    Returns:
        ``({"speech": int16, "ambience": int16}, {"ambience_gain": g, "scale": c})``: the stems are the rounded
        ``c * speech`` and ``c * g * ambience``.
    """
    power = float(np.mean(np.asarray(ambience, dtype=np.float64) ** 2))
    if power <= 0:
        raise CorpusError("the ambience window is digital silence; choose a window with sound.")
    gain = float(np.sqrt(active_level(speech) / (power * 10 ** (SNR_DB / 10))))
    stems = {"speech": np.asarray(speech, dtype=np.float64), "ambience": gain * np.asarray(ambience, dtype=np.float64)}
    scale = float(MIX_PEAK / np.max(np.abs(stems["speech"] + stems["ambience"])))
    if max(np.max(np.abs(y)) for y in stems.values()) * scale >= 32767 / 32768:  # a clipped stem breaks mix = sum
        raise CorpusError(f"a stem would clip at 16 bits once the mix peaks at {MIX_PEAK}.")
    return {s: np.round(y * scale * 32768.0).astype(np.int16) for s, y in stems.items()}, {"ambience_gain": gain, "scale": scale}


def split_ambience(files: Mapping[str, dict[str, Any]], n_test: int) -> dict[str, list[str]]:
    """The ambience split rule (:data:`RULE`): test files need ``n_test`` slots; validation, per kind with 3+ left, the longest.

    Args:
        files: kept file -> ``{"kind", "frames8k", "slots"}`` (frames at ``SR``, number of slots).
        n_test: windows each test file must give without repeating itself (one per test speech window).

    Returns:
        part -> file names, sorted.
    """
    test = sorted(f for f, e in files.items() if e["slots"] >= n_test)
    rest = {f: e for f, e in files.items() if f not in test}
    kinds = Counter(e["kind"] for e in rest.values())
    validation = sorted(max((f for f, e in rest.items() if e["kind"] == k), key=lambda f: (rest[f]["frames8k"], f))
                        for k, c in kinds.items() if c >= 3)
    return {"fit": sorted(f for f in rest if f not in validation), "validation": validation, "test": test}


def design(windows: Mapping[str, int], ambience: Mapping[str, list[str]], files: Mapping[str, dict[str, Any]]
           ) -> list[dict[str, Any]]:
    """The piece list by :data:`RULE` (pure: tested by hand).

    Args:
        windows: speaker -> number of whole speech windows.
        ambience: part -> its ambience files (from :func:`split_ambience`).
        files: ambience file -> ``{"frames8k", "slot_starts"}``.

    Returns:
        Pieces ``{"name", "split", "speaker", "speech_window", "speech_start", "ambience", "ambience_window",
        "ambience_start"}`` (starts in samples at ``SR``), in part order.
    """
    n, uses, pieces = int(PIECE_SECONDS * SR), Counter(), []
    for part in PARTS:
        names = ambience[part]
        for i, (speaker, k) in enumerate((s, k) for s in SPEAKERS[part] for k in range(windows[s])):
            for f in names if part == "test" else [names[i % len(names)]]:
                j, uses[f] = uses[f], uses[f] + 1
                start = window_start(j, files[f]["slot_starts"], files[f]["frames8k"], n)
                if part == "test" and j >= len(files[f]["slot_starts"]):
                    raise CorpusError(f"test file {f} has {len(files[f]['slot_starts'])} slots; window {j} would repeat it.")
                pieces.append({"name": f"{speaker}_s{k}_{f}_a{j:02d}", "split": part, "speaker": speaker, "speech_window": k,
                               "speech_start": k * n, "ambience": f, "ambience_window": j, "ambience_start": start})
    return pieces


def _sha(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def speech_8k() -> dict[str, np.ndarray]:
    """The embedded corpus's speakers at ``SR`` (16 kHz -> 8 kHz, each speaker's signal resampled as a whole)."""
    return {s.id: resample(np.asarray(s.audio(), dtype=np.float64), 16000, SR) for s in load_embedded().speakers}


def settings() -> dict[str, Any]:
    """The cutting and mixing settings, as pre-registered and recorded in each build's manifest."""
    return {"sr": SR, "piece_seconds": PIECE_SECONDS, "snr_db": SNR_DB, "frame_seconds": FRAME_SECONDS,
            "active_range_db": ACTIVE_RANGE_DB, "fade_seconds": FADE_SECONDS, "mix_peak": MIX_PEAK,
            "min_seconds": MIN_SECONDS, "free_licences": list(FREE_LICENCES), "spans": {f: [list(s) for s in v] for f, v in SPANS.items()}}


def survey(control: Mapping[str, str], oggs: Mapping[str, bytes], copyright_text: str, deb: Path) -> dict[str, Any]:
    """The pre-registration record: every ambience file with its licence and fate, the speakers, the split and the pieces."""
    unknown = sorted(set(oggs) - set(CURATION))
    if unknown:
        raise CorpusError(f"{deb.name} holds ambience files nobody judged yet: {unknown}; add them to CURATION first.")
    stanzas, table, kept = parse_copyright(copyright_text), [], {}
    for name, blob in oggs.items():
        info = sf.info(io.BytesIO(blob))
        licence, holders = licence_of(f"base/{AMBIENCE_DIR}{name}.ogg", stanzas)
        kind, reason = CURATION[name]
        seconds = info.frames / info.samplerate
        why = reason if not kind else (f"licence {licence} is not one of {FREE_LICENCES}" if licence not in FREE_LICENCES
                                       else f"{seconds:.1f} s, shorter than {MIN_SECONDS:g} s" if seconds < MIN_SECONDS else "")
        entry = {"file": name, "sha256": _sha(blob), "rate": info.samplerate, "channels": info.channels,
                 "seconds": round(seconds, 3), "licence": licence, "copyright": holders, "kind": kind, "kept": not why,
                 "reason": reason if not why else why}
        if not why:
            frames8k = len(decode(blob))
            starts = slots(frames8k, SPANS.get(name))
            entry.update(frames8k=frames8k, slots=len(starts))
            kept[name] = {"kind": kind, "frames8k": frames8k, "slots": len(starts), "slot_starts": starts}
        table.append(entry)
    speakers, windows, n = [], {}, int(PIECE_SECONDS * SR)
    meta = {e["id"]: e for e in read_manifest()["speakers"]}
    part_of = {s: p for p, ids in SPEAKERS.items() for s in ids}
    for sid, x in speech_8k().items():
        windows[sid] = len(x) // n
        speakers.append({"id": sid, **{k: meta[sid][k] for k in ("sex", "language", "package", "licence", "attribution",
                                                                  "sha256", "pcm_sha256")},
                         "frames8k": len(x), "windows": windows[sid], "split": part_of[sid]})
    ambience = split_ambience(kept, sum(windows[s] for s in SPEAKERS["test"]))
    for entry in table:
        entry["split"] = next((p for p, fs in ambience.items() if entry["file"] in fs), None)
    pieces = design(windows, ambience, kept)
    split = {p: [e["name"] for e in pieces if e["split"] == p] for p in PARTS}
    return {"description": "Pre-registered pieces and split of the speech-in-ambience corpus (written before any result).",
            "package": PACKAGE, "version": control["Version"], "deb": deb.name, "deb_sha256": sha256_file(deb),
            "rule": RULE, "settings": settings(), "speakers": speakers, "ambience": table,
            "split_speakers": {p: list(v) for p, v in SPEAKERS.items()}, "split_ambience": ambience,
            "split": split, "subset": {"fit": split["fit"][:2], "test": split["test"][:2]}, "pieces": pieces}


def read_registration(path: Path | None = None) -> dict[str, Any]:
    """The committed pre-registration record (``data/music/ambience.json``)."""
    return stems_build.read_registration(path or registration_path())


def register_ambience(path: Path | None = None, deb: Path | None = None) -> dict[str, Any]:
    """Write the pre-registration record (``--register``); an existing, different record is never overwritten.

    Args:
        path: where to write (default :func:`registration_path`).
        deb: the package file (default :func:`find_deb`).

    Returns:
        The record.
    """
    path = path or registration_path()
    deb = find_deb(deb)
    record = survey(*read_package(deb), deb=deb)
    return stems_build.write_registration(path, record, f"{deb.name} and data/speech")


def _check_inputs(record: Mapping[str, Any], control: Mapping[str, str], oggs: Mapping[str, bytes], deb: Path) -> None:
    kept = {e["file"]: e["sha256"] for e in record["ambience"] if e["kept"]}
    if control["Version"] != record["version"] or any(f not in oggs or _sha(oggs[f]) != h for f, h in kept.items()):
        raise CorpusError(f"{deb.name} (version {control['Version']}) holds other ambience audio than the registration "
                          f"(version {record['version']}); get that version: apt-get download {PACKAGE}={record['version']}.")
    problems = verify_embedded()
    meta = {e["id"]: e["pcm_sha256"] for e in read_manifest()["speakers"]}
    if problems or any(meta.get(s["id"]) != s["pcm_sha256"] for s in record["speakers"]):
        raise CorpusError(f"data/speech differs from the speech the registration was made with ({problems[:2]}); "
                          "restore data/speech from git.")


def build_ambience(out: Path, deb: Path | None = None, subset: bool = False) -> Path:
    """Cut the registered pieces into ``out/<piece>/{speech,ambience}.flac`` with split.json, manifest and licence.

    The folder is a ``stems:PATH`` corpus of :func:`innmf.data.stems.load_stems` for the music experiment
    (``innmf.experiments.music``).

    Args:
        out: the build folder (``data/music/ambience`` for the committed subset).
        deb: the ``ufoai-sound`` package file (default :func:`find_deb`: the cache, apt's archives, else ``apt-get download``).
        subset: only the registration's subset (2 fit and 2 test pieces; validation empty).

    Returns:
        ``out``.
    """
    record = read_registration()
    deb = find_deb(deb)
    control, oggs, copyright_text = read_package(deb)
    _check_inputs(record, control, oggs, deb)
    chosen = {p: record["subset"].get(p, []) if subset else record["split"][p] for p in PARTS}
    names = {n for part in chosen.values() for n in part}
    pieces = [e for e in record["pieces"] if e["name"] in names]
    out = Path(out).expanduser()
    stale = sorted(d.name for d in out.iterdir() if d.is_dir() and d.name not in names) if out.is_dir() else []
    if stale:
        raise CorpusError(f"{out} holds piece folders not in this build ({stale}); remove them or choose another --out.")
    speech = speech_8k()
    ambience = {f: decode(oggs[f]) for f in sorted({e["ambience"] for e in pieces})}
    files: dict[str, Any] = {}
    entries = []
    for e in pieces:
        stems, factors = mix_piece(cut(speech[e["speaker"]], e["speech_start"]), cut(ambience[e["ambience"]], e["ambience_start"]))
        for source, x in stems.items():
            rel = f"{e['name']}/{source}.flac"
            write_stem(out / rel, x, SR)
            files[rel] = {"sha256": sha256_file(out / rel), "pcm_sha256": pcm_sha256(x), "frames": len(x)}
        measured = snr_db(stems["speech"] / 32768.0, stems["ambience"] / 32768.0)
        entries.append({**e, **factors, "snr_db": round(measured, 4)})
    (out / LICENCE_FILE).write_text(copyright_text, encoding="utf-8")
    (out / SPLIT_FILE).write_text(json.dumps(chosen, indent=1) + "\n", encoding="utf-8")
    used = {e["ambience"] for e in pieces}
    licences = {**{a["file"]: {"licence": a["licence"], "copyright": a["copyright"]} for a in record["ambience"] if a["file"] in used},
                **{s["id"]: {"licence": s["licence"], "attribution": s["attribution"]} for s in record["speakers"]}}
    manifest = {
        "description": "Speech of the embedded corpus over recorded ambience loops of ufoai-sound, 8 s pieces at 0 dB SNR "
                       "(mixture = sum of the stems, computed by the loader). Licences per source file below; the "
                       f"package's copyright file is {LICENCE_FILE}, the speech's data/README.md.",
        "subset": subset, "command": "python -m innmf.data.build_ambience" + (" --subset" if subset else "") + " --out PATH",
        "registration_sha256": sha256_file(registration_path()),
        "package": PACKAGE, "deb": deb.name, "deb_sha256": sha256_file(deb),
        "versions": {PACKAGE: control["Version"], "numpy": np.__version__, "scipy": scipy.__version__,
                     "soundfile": sf.__version__, "libsndfile": sf.__libsndfile_version__},
        "inputs": {"ambience": {f: _sha(oggs[f]) for f in sorted(used)},
                   "speech": {s: sha256_file(speech_dir() / f"{s}.flac") for s in sorted({e["speaker"] for e in pieces})},
                   "speakers.json": sha256_file(speech_dir() / "speakers.json")},
        "settings": settings(), "split": chosen, "licences": licences, "pieces": entries,
        "licence_files": {LICENCE_FILE: sha256_file(out / LICENCE_FILE)}, "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def verify_build(folder: Path | None = None) -> list[str]:
    """Compare a build (default: the committed subset) with its manifest (:func:`innmf.data.stems_build.verify_stems_build`)."""
    return verify_stems_build(folder or ambience_dir(), MANIFEST)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m innmf.data.build_ambience [--register] [--subset] [--out PATH] [--deb FILE]``."""
    parser = stems_build.builder_parser(__doc__.splitlines()[0], "ambience", DEFAULT_OUT, "2 fit + 2 test pieces", PACKAGE)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.register:
        record = register_ambience(deb=args.deb)
        kept = sum(e["kept"] for e in record["ambience"])
        print(f"registered {len(record['pieces'])} pieces ({', '.join(f'{len(v)} {p}' for p, v in record['split'].items())}), "
              f"{kept} of {len(record['ambience'])} ambience files kept, in {registration_path()}")
        return 0
    out = build_ambience(args.out or (ambience_dir() if args.subset else DEFAULT_OUT), deb=args.deb, subset=args.subset)
    stems_build.report_build(out, start, MANIFEST)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
