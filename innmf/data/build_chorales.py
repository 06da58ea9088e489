"""Build the chorale separation corpus: Bach chorales from music21's corpus, each voice rendered alone.

The music experiment needs stems whose sum is exactly the mixture; rendering the four
voices of a four-part chorale separately gives them. The pieces are pre-registered in
``data/music/chorales.json`` (:func:`register_chorales`) by a rule stated there and in
``data/music/README.md``:

- catalogue: music21's list of the 371 chorales by Riemenschneider number (``ChoraleListRKBWV``),
  ascending; each number's score is the corpus file ``bach/bwv<BWV>.mxl|.xml``;
- eligible: a file exists and was not already met under a lower number (duplicates of the
  catalogue), the score has exactly four parts named Soprano, Alto, Tenor, Bass (in this
  order; no instrumental, doubled or divided parts), and each voice has a note in the excerpt;
- selected: every k-th eligible chorale from the first, k = floor(eligible / 30), 30 pieces;
  the first 6 are ``fit``, the next 4 ``validation``, the remaining 20 ``test``.

Rendering (identical for every piece): quarter = 100 bpm whatever the score says (tempo marks and
fermatas ignored, repeats not expanded), the first 12 s, velocity 100, fluidsynth with reverb
and chorus off, gain 1.0, float output (no dither), stereo averaged to mono, at 22,050 Hz;
resampled to 8000 Hz, a 50 ms half-cosine fade-out, all stems of a piece scaled by one factor
so their sum peaks at 0.5, rounded to 16 bits and written as FLAC. Timbres: ``ensemble``
(oboe, clarinet, viola, bassoon) and ``piano`` (four grand pianos).

Each piece's score is written beside its stems, ``<timbre>/<piece>/notes.json`` (:func:`voice_notes` per
voice, the score-informed task of the music experiment); ``--notes`` adds these to a build made before
they were written, without re-rendering.

Usage: ``python -m innmf.data.build_chorales [--register] [--subset] [--notes] [--out PATH]``; needs
music21 (``pip install 'innmf[dev]'``) and ``apt-get install fluidsynth fluid-soundfont-gm``.
The loader is :func:`innmf.data.stems.load_stems` (``default-music``, ``chorales:PATH``).
"""

from __future__ import annotations

import json
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import scipy
import soundfile as sf

from innmf.data.audio import CorpusError, resample
from innmf.data.paths import data_dir
from innmf.data.piano_render import RENDER_SR, SOUNDFONT, _package_version, render
from innmf.data.sources.embedded import pcm_sha256, sha256_file
from innmf.data.stems import NOTES_FILE, SPLIT_FILE, default_music_dir
from innmf.data import stems_build
from innmf.data.stems_build import verify_stems_build, write_stem

VOICES = ("Soprano", "Alto", "Tenor", "Bass")
N_PIECES = 30
SPLIT_SIZES = {"fit": 6, "validation": 4, "test": 20}
SUBSET_SIZES = {"fit": 3, "test": 3}
TEMPO_QPM = 100
EXCERPT_SECONDS = 12.0
SR = 8000
VELOCITY = 100
GAIN = 1.0
FADE_SECONDS = 0.05
MIX_PEAK = 0.5
TIMBRES: dict[str, dict[str, tuple[int, str]]] = {
    "ensemble": {"soprano": (68, "Oboe"), "alto": (71, "Clarinet"), "tenor": (41, "Viola"), "bass": (70, "Bassoon")},
    "piano": {v.lower(): (0, "Acoustic Grand Piano") for v in VOICES},
}
"""Timbre -> voice -> (General MIDI program, 0-based; instrument)."""
REGISTRATION = "chorales.json"
MANIFEST = "manifest.json"
DEFAULT_OUT = Path("~/.cache/innmf/chorales")
RULE = [
    "Catalogue: music21.corpus.chorales.ChoraleListRKBWV().byRiemenschneider in ascending Riemenschneider number; "
    "number r's score is music21's corpus file bach/bwv<BWV>.mxl (or .xml).",
    "Eligible: the file exists and was not already met under a lower number; its MusicXML part list is exactly "
    "Soprano, Alto, Tenor, Bass (in this order, so no instrumental, doubled or divided parts); and each of the four "
    "voices has a note starting in the excerpt (the first 12 s at quarter = 100, i.e. the first 20 quarters). A "
    "chorale with a voice silent in the excerpt is not eligible.",
    "Selected: every k-th eligible chorale starting with the first, k = floor(number eligible / 30), 30 pieces.",
    "Split, in selection order: the first 6 'fit' (dictionary training), the next 4 'validation' (method "
    "selection), the remaining 20 'test'. Committed subset: the first 3 fit and the first 3 test pieces.",
]


def _music21() -> Any:
    try:
        import music21
        import music21.corpus.chorales
    except ImportError:
        raise ModuleNotFoundError("the chorale builder needs music21 (its corpus holds the Bach chorales): "
                                  "pip install 'innmf[dev]' (or music21==10.5.1, the version of the registration).") from None
    return music21


def catalogue() -> list[dict[str, Any]]:
    """music21's chorale catalogue in Riemenschneider order, each with its corpus file (None when absent).

    Returns:
        Dicts with ``riemenschneider``, ``bwv``, ``title`` and ``path`` (a Path or None).
    """
    m21 = _music21()
    files: dict[str, Path] = {}
    for p in sorted(m21.corpus.getComposer("bach", fileExtensions=("mxl", "xml"))):
        stem = p.name[: -len(p.suffix)]
        if stem in files:
            raise CorpusError(f"music21's corpus holds two files for {stem} ({files[stem].name}, {p.name}).")
        files[stem] = Path(p)
    table = m21.corpus.chorales.ChoraleListRKBWV().byRiemenschneider
    return [{"riemenschneider": int(r), "bwv": str(table[r]["bwv"]), "title": str(table[r]["title"]),
             "path": files.get(f"bwv{table[r]['bwv']}")} for r in sorted(table)]


def part_names(path: Path) -> list[str]:
    """The part names of a MusicXML file's part list, read directly (fast, and independent of music21's parser).

    Args:
        path: a ``.mxl`` (compressed) or ``.xml`` MusicXML file.

    Returns:
        The ``<part-name>`` texts in score order, stripped.
    """
    def names(fh: Any) -> list[str]:
        out = []
        for _, el in ET.iterparse(fh):
            if el.tag == "part-name":
                out.append((el.text or "").strip())
            elif el.tag == "part-list":
                break
        return out

    if path.suffix == ".mxl":
        with zipfile.ZipFile(path) as z:
            rootfile = ET.fromstring(z.read("META-INF/container.xml")).find(".//rootfile")
            with z.open(rootfile.get("full-path") if rootfile is not None else "") as fh:
                return names(fh)
    with open(path, "rb") as fh:
        return names(fh)


def voice_notes(part: Any) -> tuple[tuple[str, int, float, float, int], ...]:
    """A music21 part's notes in the excerpt, in the note format of :mod:`innmf.data.piano_render`.

    Ties are merged, grace notes (no duration) skipped, notes cut at the excerpt's end; times
    follow quarter = ``TEMPO_QPM`` from the score's start.

    Args:
        part: a music21 ``Part``.

    Returns:
        ``(name, MIDI key, onset s, note-off s, velocity)`` per note (per pitch of a chord).
    """
    per_quarter, end = 60.0 / TEMPO_QPM, EXCERPT_SECONDS * TEMPO_QPM / 60.0
    out = []
    for n in part.flatten().stripTies().notes:
        on, length = float(n.offset), float(n.quarterLength)
        if length <= 0 or on >= end:
            continue
        out += [(p.nameWithOctave, int(p.midi), on * per_quarter, min(on + length, end) * per_quarter, VELOCITY)
                for p in n.pitches]
    return tuple(out)


def screen(entries: list[dict[str, Any]], check_excerpt: bool = True) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Apply the eligibility rule to the catalogue.

    Args:
        entries: from :func:`catalogue`.
        check_excerpt: also parse each score with music21 to check every voice sounds in the excerpt
            (the slow part of the rule, about a minute for the whole catalogue).

    Returns:
        ``(eligible, excluded)``; each excluded entry carries a ``reason``.
    """
    eligible, excluded, seen = [], [], {}
    for e in entries:
        path, r = e["path"], e["riemenschneider"]
        names = part_names(path) if path is not None and path not in seen else []
        reason = ("no file in music21's corpus" if path is None else f"same file as Riemenschneider {seen[path]}"
                  if path in seen else None if names == list(VOICES) else f"parts are {names}")
        if path is not None:
            seen.setdefault(path, r)
        if reason is None and check_excerpt:
            silent = silent_voices(parse(e))
            reason = f"voice(s) {silent} silent in the excerpt" if silent else None
        (excluded if reason else eligible).append({**e, "parts": names, **({"reason": reason} if reason else {})})
    return eligible, excluded


def silent_voices(score: Any) -> list[str]:
    """The voices of a parsed chorale with no note in the excerpt."""
    return [p.partName for p in score.parts if not voice_notes(p)]


def parse(entry: dict[str, Any]) -> Any:
    """The music21 score of a catalogue entry."""
    return _music21().corpus.parse(str(entry["path"]))


def select(eligible: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """Select the pieces by the registered rule.

    Args:
        eligible: eligible catalogue entries in catalogue order (from :func:`screen`).

    Returns:
        ``(k, pieces)``: every k-th entry from the first, k = floor(len / 30), 30 of them, each with
        ``index`` (its position in ``eligible``), ``name`` and ``split`` added.
    """
    k = len(eligible) // N_PIECES
    if k < 1:
        raise CorpusError(f"only {len(eligible)} eligible chorales; the design needs {N_PIECES}.")
    parts = [p for p, n in SPLIT_SIZES.items() for _ in range(n)]
    return k, [{"index": i * k, "name": f"r{e['riemenschneider']:03d}_bwv{e['bwv']}", **e, "split": parts[i]}
               for i, e in enumerate(eligible[::k][:N_PIECES])]


def _public(e: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in e.items() if k != "path"}
    if e.get("path") is not None:
        out["file"] = Path(e["path"]).relative_to(Path(_music21().corpus.__file__).parent).as_posix()
    return out


def registration() -> dict[str, Any]:
    """The pre-registration record (``data/music/chorales.json``), derived from music21's corpus by :data:`RULE`."""
    entries = catalogue()
    eligible, excluded = screen(entries)
    k, pieces = select(eligible)
    return {
        "description": "Pre-registered Bach chorales of the music separation experiment (written before any result).",
        "music21": _music21().__version__,
        "rule": RULE,
        "catalogue_size": len(entries),
        "eligible": len(eligible),
        "k": k,
        "render": render_settings(),
        "split": {p: [e["name"] for e in pieces if e["split"] == p] for p in SPLIT_SIZES},
        "subset": {p: [e["name"] for e in pieces if e["split"] == p][:n] for p, n in SUBSET_SIZES.items()},
        "pieces": [_public(e) for e in pieces],
        "excluded": [_public(e) for e in excluded],
    }


def render_settings() -> dict[str, Any]:
    """The rendering settings, as pre-registered and recorded in each build's manifest."""
    return {"tempo_qpm": TEMPO_QPM, "excerpt_seconds": EXCERPT_SECONDS, "render_sr": RENDER_SR, "sr": SR,
            "velocity": VELOCITY, "gain": GAIN, "fade_out_seconds": FADE_SECONDS, "mix_peak": MIX_PEAK,
            "timbres": {t: {v: {"program": p, "instrument": i} for v, (p, i) in vs.items()} for t, vs in TIMBRES.items()}}


def registration_path() -> Path:
    """``data/music/chorales.json`` (or its copy in the installed package)."""
    return data_dir() / "music" / REGISTRATION


def read_registration(path: Path | None = None) -> dict[str, Any]:
    """The committed pre-registration record."""
    return stems_build.read_registration(path or registration_path())


def register_chorales(path: Path | None = None) -> dict[str, Any]:
    """Write the pre-registration record (``--register``); an existing, different record is never overwritten.

    Args:
        path: where to write (default :func:`registration_path`).

    Returns:
        The record.
    """
    path = path or registration_path()
    record = registration()
    return stems_build.write_registration(path, record, "music21")


def render_piece(score: Any, timbre: str, workdir: Path) -> tuple[dict[str, np.ndarray], float]:
    """Render a chorale's four voices in one timbre as 16-bit stems at ``SR``.

    Args:
        score: the music21 score (four parts named as :data:`VOICES`).
        timbre: a key of :data:`TIMBRES`.
        workdir: scratch folder for the MIDI and raw files.

    Returns:
        ``({voice: int16 samples}, scale factor)``; the float stems times the factor sum to a mix peaking at 0.5.
    """
    parts = {p.partName: p for p in score.parts}
    if list(parts) != list(VOICES):
        raise CorpusError(f"score has parts {list(parts)}; the chorale corpus needs exactly {list(VOICES)}.")
    stems = {}
    n_fade = int(round(FADE_SECONDS * SR))
    fade = 0.5 * (1.0 + np.cos(np.pi * np.arange(n_fade) / n_fade))
    for name, part in parts.items():
        notes = voice_notes(part)
        if not notes:
            raise CorpusError(f"voice {name} has no note in the excerpt; the chorale is not eligible.")
        x = resample(render(notes, workdir, TIMBRES[timbre][name.lower()][0], EXCERPT_SECONDS), RENDER_SR, SR)
        x[-n_fade:] *= fade
        stems[name.lower()] = x
    scale = MIX_PEAK / np.max(np.abs(sum(stems.values())))
    loudest = max(np.max(np.abs(x)) for x in stems.values()) * scale
    if loudest >= 32767 / 32768:  # clipping one stem would break "mixture = sum of stems"
        raise CorpusError(f"a stem would clip at 16 bits (peak {loudest:.3f} once the mix peaks at {MIX_PEAK}).")
    quantised = {v: np.round(x * scale * 32768.0).astype(np.int16) for v, x in stems.items()}
    return quantised, float(scale)


def check_registration(record: dict[str, Any]) -> None:
    """Re-derive the piece list from the installed music21 (part-list rule) and refuse a mismatch."""
    entries = catalogue()
    eligible, _ = screen(entries, check_excerpt=False)
    silent = {e["riemenschneider"] for e in record["excluded"] if "silent" in e.get("reason", "")}
    _, pieces = select([e for e in eligible if e["riemenschneider"] not in silent])
    if [p["name"] for p in pieces] != [p["name"] for p in record["pieces"]]:
        raise CorpusError(f"music21 {_music21().__version__} gives another piece list than the registration (made "
                          f"with music21 {record['music21']}); install that version to rebuild the registered corpus.")


def build_chorales(out: Path, subset: bool = False) -> Path:
    """Render the registered chorales into ``out/<timbre>/<piece>/<voice>.flac`` with split.json and manifest.json.

    Args:
        out: the build folder (``data/music/chorales`` for the committed subset).
        subset: only the registration's subset (first 3 fit and first 3 test pieces; validation empty).

    Returns:
        ``out``.
    """
    music21 = _music21()
    record = read_registration()
    check_registration(record)
    chosen = {p: names for p, names in record["subset"].items()} if subset else record["split"]
    chosen = {p: chosen.get(p, []) for p in SPLIT_SIZES}
    names = [n for part in chosen.values() for n in part]
    pieces = [p for p in record["pieces"] if p["name"] in names]
    out = Path(out).expanduser()
    for timbre in TIMBRES:
        folder = out / timbre
        stale = sorted(d.name for d in folder.iterdir() if d.is_dir() and d.name not in names) if folder.is_dir() else []
        if stale:
            raise CorpusError(f"{folder} holds piece folders not in this build ({stale}); remove them or choose another --out.")
    files: dict[str, Any] = {}
    notes: dict[str, str] = {}
    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        for piece in pieces:
            score = parse({"path": Path(music21.corpus.__file__).parent / piece["file"]})
            scales = {}
            for timbre in TIMBRES:
                stems, scales[timbre] = render_piece(score, timbre, Path(tmp))
                for voice, samples in stems.items():
                    rel = f"{timbre}/{piece['name']}/{voice}.flac"
                    write_stem(out / rel, samples, SR)
                    files[rel] = {"sha256": sha256_file(out / rel), "pcm_sha256": pcm_sha256(samples), "frames": len(samples)}
            notes.update(write_notes(out, piece["name"], score))
            entries.append({k: piece[k] for k in ("name", "riemenschneider", "bwv", "title", "file", "split")} | {"scale": scales})
    for timbre in TIMBRES:
        (out / timbre / SPLIT_FILE).write_text(json.dumps(chosen, indent=1) + "\n", encoding="utf-8")
    manifest = {
        "description": "Bach chorale excerpts, each voice rendered alone (mixture = sum of the stems, computed by the loader).",
        "subset": subset,
        "command": "python -m innmf.data.build_chorales" + (" --subset" if subset else "") + " --out PATH",
        "registration_sha256": sha256_file(registration_path()),
        "versions": {"music21": music21.__version__, "fluidsynth": _package_version("fluidsynth"),
                     "fluid-soundfont-gm": _package_version("fluid-soundfont-gm"), "numpy": np.__version__,
                     "scipy": scipy.__version__, "libsndfile": sf.__libsndfile_version__},
        "soundfont": str(SOUNDFONT),
        "soundfont_sha256": sha256_file(SOUNDFONT),
        "render": render_settings(),
        "split": chosen,
        "pieces": entries,
        "files": files,
        "notes": notes,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def notes_json(name: str, score: Any) -> str:
    """The text of a piece's ``notes.json``: :func:`voice_notes` of each voice, keyed by stem name.

    Args:
        name: the piece's name.
        score: its music21 score (four parts named as :data:`VOICES`).

    Returns:
        ``{"piece", "tempo_qpm", "excerpt_seconds", "format", "voices": {voice: [[name, key, on, off, velocity],
        ...]}}`` as JSON text (times in s, quarter = ``TEMPO_QPM``, the notes the stems render).
    """
    parts = {p.partName: p for p in score.parts}
    if list(parts) != list(VOICES):
        raise CorpusError(f"score of {name} has parts {list(parts)}; the chorale corpus needs exactly {list(VOICES)}.")
    record = {"piece": name, "tempo_qpm": TEMPO_QPM, "excerpt_seconds": EXCERPT_SECONDS,
              "format": ["name", "midi_key", "onset_s", "offset_s", "velocity"],
              "voices": {v.lower(): [list(n) for n in voice_notes(parts[v])] for v in VOICES}}
    # one note a line: a reader (and a diff) sees the score, not a column of numbers
    head = "".join(f" {json.dumps(k)}: {json.dumps(v)},\n" for k, v in record.items() if k != "voices")
    voices = ",\n".join(f"  {json.dumps(v)}: [\n" + ",\n".join(f"   {json.dumps(n)}" for n in ns) + "\n  ]"
                         for v, ns in record["voices"].items())
    return "{\n" + head + ' "voices": {\n' + voices + "\n }\n}\n"


def write_notes(out: Path, name: str, score: Any) -> dict[str, str]:
    """Write a piece's ``notes.json`` into each timbre's piece folder.

    Returns:
        relative path -> SHA-256 of each file written (the manifest's ``notes``).
    """
    text, written = notes_json(name, score), {}
    for timbre in TIMBRES:
        rel = f"{timbre}/{name}/{NOTES_FILE}"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text, encoding="utf-8")
        written[rel] = sha256_file(out / rel)
    return written


def add_notes(out: Path) -> Path:
    """Add the note lists to an existing build (one made before they were written), without re-rendering.

    Each piece of the build's manifest is checked against the registration (same name, Riemenschneider
    number, BWV and corpus file) and against its stems on disk before its score is parsed, so the notes
    belong to the audio beside them; the manifest gains ``notes`` (their SHA-256), nothing else changes.

    Args:
        out: the build folder (``data/music/chorales`` for the committed subset).

    Returns:
        ``out``.
    """
    music21 = _music21()
    out = Path(out).expanduser()
    manifest_path = out / MANIFEST
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{manifest_path} is missing: {out} is not a chorales build; build one with "
                                f"`python -m innmf.data.build_chorales --out {out}`.")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    problems = verify_stems_build(out, MANIFEST)
    if problems:
        raise CorpusError(f"{out} does not match its manifest ({problems[0]}); rebuild it instead.")
    registered = {p["name"]: p for p in read_registration()["pieces"]}
    notes: dict[str, str] = {}
    for piece in manifest["pieces"]:
        entry = registered.get(piece["name"])
        keys = ("riemenschneider", "bwv", "file")
        if entry is None or any(entry[k] != piece[k] for k in keys):
            raise CorpusError(f"piece {piece['name']} of {manifest_path} is not the registration's "
                              f"({ {k: piece.get(k) for k in keys} }); rebuild the corpus.")
        score = parse({"path": Path(music21.corpus.__file__).parent / piece["file"]})
        notes.update(write_notes(out, piece["name"], score))
    manifest["notes"] = notes
    manifest_path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def verify_build(folder: Path | None = None) -> list[str]:
    """Compare a build (default: the committed subset) with its manifest (:func:`innmf.data.stems_build.verify_stems_build`),
    and its note lists with the manifest's ``notes`` where it has them (none: a build made before they were written)."""
    folder = folder or default_music_dir()
    problems = verify_stems_build(folder, MANIFEST)
    listed = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("notes", {})
    for rel, digest in listed.items():
        path = folder / rel
        problems += ([f"{path}: missing"] if not path.is_file() else
                     [f"{path}: sha256 differs from {MANIFEST}"] if sha256_file(path) != digest else [])
    found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob(NOTES_FILE))
    return problems + [f"{folder / rel}: not in {MANIFEST}" for rel in found if rel not in listed]


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m innmf.data.build_chorales [--register] [--subset] [--out PATH]``."""
    parser = stems_build.builder_parser(__doc__.splitlines()[0], "chorales", DEFAULT_OUT, "3 fit + 3 test pieces")
    parser.add_argument("--notes", action="store_true",
                        help="only add each piece's notes.json (its score) to an existing build, without re-rendering")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.notes:
        out = add_notes(args.out or (default_music_dir() if args.subset else DEFAULT_OUT))
        print(f"{out}: note lists written for {len(json.loads((out / MANIFEST).read_text())['notes'])} piece folders")
        return 0
    if args.register:
        record = register_chorales()
        print(f"registered {len(record['pieces'])} of {record['eligible']} eligible chorales (k = {record['k']}) "
              f"in {registration_path()}")
        return 0
    out = args.out or (default_music_dir() if args.subset else DEFAULT_OUT)
    out = build_chorales(out, subset=args.subset)
    stems_build.report_build(out, start, MANIFEST)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
