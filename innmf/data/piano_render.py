"""Render the two-note piano recording of the hybrid chapter (run once, output committed).

The paper's hybrid demo analyses ~2.5 s of two piano notes (book/paper_setup.md §4); its
recording is not redistributable with this project, so we render our own from a
sampled piano with a redistributable licence:

- soundfont: FluidR3_GM.sf2 from Debian's ``fluid-soundfont-gm`` (MIT licence,
  Frank Wen; see /usr/share/doc/fluid-soundfont-gm/copyright), program 0 (Acoustic
  Grand Piano);
- synthesiser: the ``fluidsynth`` command line (Debian package ``fluidsynth``), reverb
  and chorus off, 32-bit float output (no dither, so the render is deterministic).

Each note is rendered alone (a stem) and both together (the mix), so the hybrid
chapter can compare each activation with each note's own energy envelope. A MIDI
file is written by a tiny writer below (no extra Python package).

Requirements (only for re-rendering; the package itself reads the committed FLACs):
``apt-get install fluidsynth fluid-soundfont-gm``. Usage:
``python -m innmf.data.piano_render [--out data/piano]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
RENDER_SR = 22050
"""Rate of the committed files; :func:`innmf.tf.hybrid.load_piano` resamples to 4410 Hz."""
TOTAL_SECONDS = 2.5
PEAK = 0.5
"""Peak absolute value of the committed mix (stems share the same scale factor)."""

NOTES = (
    # name, MIDI key, onset (s), note-off (s), velocity
    ("C3", 48, 0.10, 1.30, 100),
    ("E3", 52, 1.20, 2.35, 100),
)

TICKS_PER_QUARTER = 480
TEMPO_US = 500_000  # 120 bpm: one tick is 1/960 s


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def midi_bytes(notes: tuple[tuple[str, int, float, float, int], ...], program: int = 0,
               seconds: float = TOTAL_SECONDS) -> bytes:
    """A format-0 Standard MIDI File playing ``notes`` on channel 0 with a General MIDI program (0: piano),
    ``seconds`` long (also used by :mod:`innmf.data.build_chorales`)."""
    ticks_per_second = TICKS_PER_QUARTER * 1_000_000 / TEMPO_US
    events = []
    for _, key, on, off, velocity in notes:
        events.append((round(on * ticks_per_second), 1, bytes([0x90, key, velocity])))
        events.append((round(off * ticks_per_second), 0, bytes([0x80, key, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    track = bytearray(b"\x00\xff\x51\x03" + TEMPO_US.to_bytes(3, "big") + bytes([0x00, 0xC0, program]))
    now = 0
    for tick, _, data in events:
        track += _varlen(tick - now) + data
        now = tick
    track += _varlen(max(0, round(seconds * ticks_per_second) - now)) + b"\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def _check_requirements() -> str:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise FileNotFoundError("fluidsynth not found; install it with `apt-get install fluidsynth`.")
    if not SOUNDFONT.exists():
        raise FileNotFoundError(
            f"Soundfont {SOUNDFONT} not found; install it with `apt-get install fluid-soundfont-gm`."
        )
    return exe


def render(notes: tuple[tuple[str, int, float, float, int], ...], workdir: Path, program: int = 0,
           seconds: float = TOTAL_SECONDS) -> np.ndarray:
    """Render ``notes`` with fluidsynth; returns a mono float signal of ``seconds`` at RENDER_SR."""
    exe = _check_requirements()
    mid, raw = workdir / "notes.mid", workdir / "notes.raw"
    mid.write_bytes(midi_bytes(notes, program, seconds))
    # dynamic sample loading reads only the program's samples: the same output, a quarter of the time
    cmd = [exe, "-q", "-n", "-i", "-R", "0", "-C", "0", "-g", "1.0", "-r", str(RENDER_SR),
           "-O", "float", "-T", "raw", "-E", "little", "-o", "synth.dynamic-sample-loading=1",
           "-F", str(raw), str(SOUNDFONT), str(mid)]
    subprocess.run(cmd, check=True, capture_output=True)
    stereo = np.fromfile(raw, dtype="<f4").reshape(-1, 2).astype(np.float64)
    mono = stereo.mean(axis=1)
    n = int(round(seconds * RENDER_SR))
    return np.pad(mono, (0, max(0, n - len(mono))))[:n]


def _package_version(name: str) -> str:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], check=True, capture_output=True, text=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def make(out_dir: Path) -> dict:
    """Render the mix and the two stems into ``out_dir`` (FLAC, 16 bit) plus ``piano.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mix = render(NOTES, work)
        stems = [render((note,), work) for note in NOTES]
    scale = PEAK / np.abs(mix).max()
    residual = np.linalg.norm(mix - sum(stems)) / np.linalg.norm(mix)
    files = {"mix": "piano_mix.flac"}
    sf.write(out_dir / files["mix"], mix * scale, RENDER_SR, subtype="PCM_16")
    for (name, *_), stem in zip(NOTES, stems):
        files[name] = f"piano_note_{name}.flac"
        sf.write(out_dir / files[name], stem * scale, RENDER_SR, subtype="PCM_16")
    meta = {
        "description": "Two piano notes rendered with fluidsynth from FluidR3_GM (program 0, Acoustic Grand Piano)",
        "sample_rate": RENDER_SR,
        "seconds": TOTAL_SECONDS,
        "files": files,
        "notes": [
            {"name": n, "midi": k, "hz": round(440.0 * 2 ** ((k - 69) / 12), 3), "onset_s": on, "note_off_s": off,
             "velocity": v}
            for n, k, on, off, v in NOTES
        ],
        "scale_factor": float(scale),
        "mix_minus_sum_of_stems_relative": float(residual),
        "render": {
            "synth": f"fluidsynth {_package_version('fluidsynth')} (Debian), reverb off, chorus off, gain 1.0, "
                     f"float output, stereo averaged to mono",
            "soundfont": f"{SOUNDFONT} from Debian fluid-soundfont-gm {_package_version('fluid-soundfont-gm')} "
                         "(MIT licence, Frank Wen)",
            "command": "python -m innmf.data.piano_render --out data/piano",
        },
    }
    (out_dir / "piano.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/piano"), help="output folder")
    args = parser.parse_args(argv)
    meta = make(args.out)
    print(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
