"""Building the embedded open speech corpus from Debian packages (``innmf corpus build``).

Six speakers (two male) from two families of GPL/CC-licensed Debian packages,
about 60 s each, so the book runs on real recorded speech without TIMIT
(loading: :mod:`innmf.data.sources.embedded`). :func:`build_corpus` regenerates
``data/speech`` bit for bit from the ``.deb`` files; the processing, per speaker:

1. take the source files in sorted path order, skipping known non-speech files;
2. decode (Vorbis via libsndfile, raw G.722 via the ``G722`` package), resample to
   16 kHz (:func:`innmf.data.audio.resample_to_16k`);
3. trim silence (:func:`trim_silence`): edges cut to 0.1 s, inner pauses longer
   than 0.3 s cut to 0.3 s, never cutting inside speech;
4. keep utterances of at least 1.5 s, whole, until 60 s are reached (passing over
   one that would take the speaker past 66 s);
5. concatenate, scale the peak to -1 dBFS, quantise to 16 bits, write FLAC.
"""

from __future__ import annotations

import io
import json
import posixpath
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import soundfile as sf

from innmf import SAMPLE_RATE
from innmf.data.audio import CorpusError, resample_to_16k
from innmf.data.sources.embedded import MANIFEST, pcm_sha256, sha256_file

TARGET_SECONDS = 60.0
MAX_SECONDS = 66.0  # an utterance that would overshoot this is passed over for a shorter one
MIN_UTTERANCE_SECONDS = 1.5
EDGE_SILENCE_SECONDS = 0.1
MAX_PAUSE_SECONDS = 0.3
SPEECH_THRESHOLD_DB = -40.0  # frame RMS relative to the file's loudest frame
FLOOR_MARGIN_DB = 6.0  # ... or this far over the file's noise floor (5th percentile frame)
MAX_THRESHOLD_DB = -25.0  # ... but never higher than this under the loudest frame
FRAME, HOP = 320, 160  # 20 ms frames, 10 ms hop at 16 kHz
FADE = 80  # 5 ms fade at every splice, so cuts inside background noise do not click
PEAK = 10 ** (-1 / 20)  # -1 dBFS headroom
# Asterisk prompts that are tones or sound effects, not speech.
NON_SPEECH = {"beep", "beeperr", "ascending-2tone", "descending-2tone", "confbridge-join",
              "confbridge-leave", "tt-monkeys"}

FILLETS = "fillets-ng-data-cs"
FILLETS_LICENCE = "GPL-2"
FILLETS_CREDIT = ("Fish Fillets - Next Generation, Czech voices; (c) ALTAR interactive, "
                  "Ivo and Pavel Danihelka and the Fish Fillets NG authors; GPL-2")


@dataclass(frozen=True)
class SourceSpec:
    """Where one embedded speaker comes from.

    Attributes:
        id: speaker id in the corpus.
        sex: ``F`` or ``M``.
        language: ISO 639-1 code.
        package: Debian package name.
        version: Debian version the committed files were built from.
        pattern: glob on paths inside the package (``*`` stays within one folder).
        codec: ``vorbis`` or ``g722``.
        licence: SPDX-like licence id.
        attribution: who to credit.
        role: optional filter on the file name's second dash field (fillets: m/v).
    """

    id: str
    sex: str
    language: str
    package: str
    version: str
    pattern: str
    codec: str
    licence: str
    attribution: str
    role: str | None = None

    def selects(self, path: str) -> bool:
        """Whether a path inside the package is one of this speaker's utterances."""
        p, pattern = PurePosixPath(path), PurePosixPath(self.pattern)
        # PurePath.match keeps '*' within one folder level; equal depth anchors it at the root.
        if len(p.parts) != len(pattern.parts) or not p.match(self.pattern):
            return False
        stem = p.name.rsplit(".", 1)[0]
        if self.role is not None:
            parts = stem.split("-")
            return len(parts) > 2 and parts[1] == self.role
        return stem not in NON_SPEECH


def _asterisk(sid: str, sex: str, lang: str, voice: str, licence: str, credit: str) -> SourceSpec:
    return SourceSpec(
        id=sid, sex=sex, language=lang, package=f"asterisk-core-sounds-{lang}-g722", version="1.6.1-1",
        pattern=f"./usr/share/asterisk/sounds/{voice}/*.g722", codec="g722", licence=licence,
        attribution=credit,
    )


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("cs-f", "F", "cs", FILLETS, "1.0.1-1.1", "./usr/share/games/fillets-ng/sound/*/cs/*.ogg",
               "vorbis", FILLETS_LICENCE, FILLETS_CREDIT + " (small fish, female voice)", role="m"),
    SourceSpec("cs-m", "M", "cs", FILLETS, "1.0.1-1.1", "./usr/share/games/fillets-ng/sound/*/cs/*.ogg",
               "vorbis", FILLETS_LICENCE, FILLETS_CREDIT + " (big fish, male voice)", role="v"),
    _asterisk("en-f", "F", "en", "en_US_f_Allison", "CC-BY-SA-3.0",
              "Allison Smith (theivrvoice.com), Asterisk core sounds, financed by Digium, Inc."),
    _asterisk("fr-f", "F", "fr", "fr_CA_f_June", "CC-BY-SA-3.0",
              "June Wallack (junewallack.com), Asterisk core sounds; French translation by Clod "
              "Patry, Kristopher Lalletti and June Wallack"),
    _asterisk("it-m", "M", "it", "it_IT_m_Carlo", "CC-BY-SA-3.0",
              "Carlo Flora (carloflora.com), Asterisk core sounds; Italian translation by Silvia Petrin"),
    _asterisk("ru-f", "F", "ru", "ru_RU_f_IvrvoiceRU", "CC-BY-3.0",
              "female voice provided by Maxim Topal (ivrvoice.ru), Asterisk core sounds"),
)


def _frame_rms(x: np.ndarray) -> np.ndarray:
    n = 1 + max(0, len(x) - FRAME) // HOP
    idx = np.arange(FRAME)[None, :] + HOP * np.arange(n)[:, None]
    padded = np.pad(x, (0, max(0, idx.max() + 1 - len(x))))
    return np.sqrt(np.mean(padded[idx] ** 2, axis=1))


def _fade(x: np.ndarray, start: bool, end: bool) -> np.ndarray:
    x = x.copy()
    n = min(FADE, len(x) // 2)
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
    if start and n:
        x[:n] *= ramp
    if end and n:
        x[-n:] *= ramp[::-1]
    return x


def trim_silence(x: np.ndarray) -> np.ndarray:
    """Cut an utterance's silences: edges to 0.1 s, inner pauses to at most 0.3 s.

    Speech is every 20 ms frame within 40 dB of the loudest frame and 6 dB over
    the noise floor (the 5th percentile frame), the threshold staying at least
    25 dB under the loudest frame; a cut is only made inside silence and both
    sides of it are faded over 5 ms.

    Args:
        x: utterance at 16 kHz.

    Returns:
        The trimmed utterance (empty when nothing is above the threshold).
    """
    rms = _frame_rms(x)
    if len(rms) == 0 or rms.max() <= 0:
        return x[:0]
    # The game recordings carry a noise floor ~35 dB under the speech peaks, so the
    # threshold also sits 6 dB over the floor (never higher than 25 dB under the peak).
    floor = np.percentile(rms, 5) * 10 ** (FLOOR_MARGIN_DB / 20)
    threshold = max(rms.max() * 10 ** (SPEECH_THRESHOLD_DB / 20),
                    min(floor, rms.max() * 10 ** (MAX_THRESHOLD_DB / 20)))
    voiced = rms >= threshold
    speech = np.zeros(len(x), dtype=bool)
    for i in np.flatnonzero(voiced):
        speech[i * HOP : i * HOP + FRAME] = True
    idx = np.flatnonzero(speech)
    edge = int(EDGE_SILENCE_SECONDS * SAMPLE_RATE)
    lo, hi = max(0, idx[0] - edge), min(len(x), idx[-1] + 1 + edge)
    x, speech = x[lo:hi], speech[lo:hi]
    # runs of silence inside the utterance
    change = np.flatnonzero(np.diff(speech.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [len(x)]])
    keep_half = int(MAX_PAUSE_SECONDS * SAMPLE_RATE) // 2
    pieces: list[np.ndarray] = []
    start = 0
    for a, b in zip(bounds[:-1], bounds[1:]):
        if speech[a] or b - a <= 2 * keep_half:
            continue
        pieces.append(x[start : a + keep_half])
        start = b - keep_half
    pieces.append(x[start:])
    return np.concatenate(
        [_fade(p, i > 0, i < len(pieces) - 1) for i, p in enumerate(pieces)]
    )


def _ar_members(deb: Path) -> dict[str, bytes]:
    data = deb.read_bytes()
    if not data.startswith(b"!<arch>\n"):
        raise CorpusError(f"{deb}: not a Debian package (no ar header).")
    members, pos = {}, 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        members[name] = data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size % 2)
    return members


def _tar(members: dict[str, bytes], prefix: str, deb: Path) -> tarfile.TarFile:
    for name, blob in members.items():
        if name.startswith(prefix + ".tar"):
            mode = {"": "r:", ".gz": "r:gz", ".xz": "r:xz", ".bz2": "r:bz2"}.get(name[len(prefix) + 4 :])
            if mode is None:
                raise CorpusError(f"{deb}: {name} is compressed in a way Python cannot read; "
                                  "extract it with `dpkg-deb -x` and repack as .tar.xz.")
            return tarfile.open(fileobj=io.BytesIO(blob), mode=mode)
    raise CorpusError(f"{deb}: no {prefix}.tar.* member.")


def read_deb(deb: Path, select: Callable[[str], bool]) -> tuple[dict[str, str], dict[str, bytes]]:
    """Read a ``.deb`` without installing it (same files as ``dpkg-deb -x``).

    Args:
        deb: the package file.
        select: which data paths (``./usr/...``) to return.

    Returns:
        ``(control fields, {path: bytes})``.
    """
    members = _ar_members(deb)
    with _tar(members, "control", deb) as tf:
        fh = next(tf.extractfile(m) for m in tf.getmembers() if m.name.lstrip("./") == "control")
        control = dict(
            line.split(": ", 1) for line in fh.read().decode().splitlines() if ": " in line and line[0] != " "
        )
    files = {}
    with _tar(members, "data", deb) as tf:
        for m in tf.getmembers():
            if m.isfile() and select(m.name):
                files[m.name] = tf.extractfile(m).read()
    return control, files


def decode_source(blob: bytes, codec: str, name: str) -> np.ndarray:
    """Decode one package file to float64 at 16 kHz."""
    if codec == "g722":
        import G722  # PyPI package G722 (libg722), only needed to rebuild

        pcm = np.asarray(G722.G722(SAMPLE_RATE, 64000).decode(blob), dtype=np.float64)
        return pcm / 32768.0
    try:
        x, rate = sf.read(io.BytesIO(blob), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise CorpusError(f"{name}: cannot decode ({err}).") from None
    return resample_to_16k(x.mean(axis=1), rate)


def build_speaker(spec: SourceSpec, files: dict[str, bytes]) -> tuple[np.ndarray, list[str]]:
    """Assemble one speaker's ~60 s from whole utterances.

    Args:
        spec: the speaker.
        files: package paths to bytes (all the package's candidates).

    Returns:
        ``(int16 samples, package paths used)``.
    """
    pieces, used, total = [], [], 0
    for name in sorted(p for p in files if spec.selects(p)):
        if not files[name]:
            continue
        utt = trim_silence(decode_source(files[name], spec.codec, name))
        if len(utt) < MIN_UTTERANCE_SECONDS * SAMPLE_RATE or total + len(utt) > MAX_SECONDS * SAMPLE_RATE:
            continue
        pieces.append(utt)
        used.append(name.lstrip("."))
        total += len(utt)
        if total >= TARGET_SECONDS * SAMPLE_RATE:
            break
    if total < TARGET_SECONDS * SAMPLE_RATE:
        raise CorpusError(f"{spec.package}: only {total / SAMPLE_RATE:.1f} s for speaker {spec.id}.")
    x = np.concatenate(pieces)
    x = x * (PEAK / np.max(np.abs(x)))
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16), used


def deb_path(debs: Path, package: str) -> Path:
    """The ``.deb`` of ``package`` in ``debs``; a clear error says how to get it."""
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        packages = " ".join(sorted({s.package for s in SOURCES}))
        raise FileNotFoundError(
            f"no {package}_*.deb in {debs}. Fetch the packages (no install needed) with:\n"
            f"  apt-get update && (cd {debs} && apt-get download {packages})\n"
            "or run `innmf corpus build --download`."
        )
    return found[-1]


def build_corpus(debs: Path, out: Path, progress: bool = True) -> dict[str, Any]:
    """Regenerate the embedded corpus from the Debian packages in ``debs``.

    Args:
        debs: folder with the ``.deb`` files (``apt-get download``).
        out: folder to write ``<id>.flac`` and ``speakers.json`` into.
        progress: show a progress bar.

    Returns:
        The manifest written.
    """
    from tqdm.auto import tqdm

    out.mkdir(parents=True, exist_ok=True)
    entries, cache = [], {}
    for spec in tqdm(SOURCES, desc="speakers", disable=not progress):
        deb = deb_path(debs, spec.package)
        if deb not in cache:
            wanted = [s for s in SOURCES if s.package == spec.package]
            cache = {deb: read_deb(deb, lambda p: any(s.selects(p) for s in wanted))}
        control, files = cache[deb]
        pcm, used = build_speaker(spec, files)
        path = out / f"{spec.id}.flac"
        sf.write(str(path), pcm, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
        entries.append({
            "id": spec.id, "sex": spec.sex, "language": spec.language, "package": spec.package,
            "version": control.get("Version", "?"), "deb_sha256": sha256_file(deb),
            "licence": spec.licence, "attribution": spec.attribution,
            "n_samples": int(len(pcm)), "seconds": round(len(pcm) / SAMPLE_RATE, 3),
            "sha256": sha256_file(path), "pcm_sha256": pcm_sha256(pcm), "files": used,
        })
        if entries[-1]["version"] != spec.version:
            entries[-1]["note"] = f"built from {entries[-1]['version']}, not {spec.version}"
    manifest = {
        "description": "Embedded open speech corpus of innmf; rebuild with `innmf corpus build`.",
        "sample_rate": SAMPLE_RATE, "format": "FLAC, 16-bit PCM, mono",
        "processing": {
            "target_seconds": TARGET_SECONDS, "max_seconds": MAX_SECONDS,
            "min_utterance_seconds": MIN_UTTERANCE_SECONDS,
            "edge_silence_seconds": EDGE_SILENCE_SECONDS, "max_pause_seconds": MAX_PAUSE_SECONDS,
            "speech_threshold_db": SPEECH_THRESHOLD_DB,
            "floor_margin_db": FLOOR_MARGIN_DB, "max_threshold_db": MAX_THRESHOLD_DB, "peak_dbfs": -1.0,
            "non_speech_skipped": sorted(NON_SPEECH),
        },
        "speakers": entries,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


README_BEGIN = "<!-- speakers:begin (generated by `innmf corpus build`; edit innmf/data/build_embedded.py) -->"
README_END = "<!-- speakers:end -->"


def render_speakers_markdown(manifest: dict[str, Any]) -> str:
    """The per-speaker section of ``data/README.md`` (package, version, files, licence, credit)."""
    lines = [
        "| id | sex | language | seconds | package (version) | licence |",
        "|---|---|---|---|---|---|",
    ]
    for e in manifest["speakers"]:
        lines.append(
            f"| `{e['id']}` | {e['sex']} | {e['language']} | {e['seconds']:.2f} | "
            f"`{e['package']}` ({e['version']}) | {e['licence']} |"
        )
    for e in manifest["speakers"]:
        folder = posixpath.commonpath([posixpath.dirname(f) for f in e["files"]])
        names = [posixpath.relpath(f, folder) for f in e["files"]]
        lines += [
            "",
            f"### `{e['id']}`",
            "",
            f"- Package: `{e['package']}` {e['version']} (Debian bookworm; .deb sha256 `{e['deb_sha256']}`)",
            f"- Licence: {e['licence']}. Attribution: {e['attribution'].rstrip('.')}.",
            f"- FLAC sha256 `{e['sha256']}`; {e['n_samples']} samples.",
            f"- Files used, in order ({len(names)}), under `{folder}/`: " + ", ".join(f"`{n}`" for n in names) + ".",
        ]
    return "\n".join(lines)


def update_readme(readme: Path, manifest: dict[str, Any]) -> bool:
    """Replace the generated speaker section of ``readme`` (between the markers).

    Returns:
        Whether the file had the markers (and was updated).
    """
    if not readme.is_file():
        return False
    text = readme.read_text(encoding="utf-8")
    if README_BEGIN not in text or README_END not in text:
        return False
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(
        f"{head}{README_BEGIN}\n{render_speakers_markdown(manifest)}\n{README_END}{tail}", encoding="utf-8"
    )
    return True
