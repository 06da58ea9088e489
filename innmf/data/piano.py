"""The committed piano recording of the hybrid demo: two notes, their mix and their stems.

The files live in ``data/piano`` (rendered by :mod:`innmf.data.piano_render`; see
``data/piano/README.md`` for provenance and licence). Used by the chapter "Irregular
and hybrid representations".
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from innmf.data.corpus import data_dir

PIANO_DIR = data_dir() / "piano"
HYBRID_SR = 4410
"""Sample rate of the paper's hybrid demo (Hz)."""

def _piano_dir(data_dir: str | Path | None) -> Path:
    d = Path(data_dir) if data_dir is not None else PIANO_DIR
    if not (d / "piano.json").exists():
        raise FileNotFoundError(
            f"No piano recording in {d} (piano.json missing). The files live in data/piano of the "
            "repository; run from a source checkout, pass data_dir, or re-render them with "
            "`python -m innmf.data.piano_render --out data/piano`."
        )
    return d


def piano_metadata(data_dir: str | Path | None = None) -> dict:
    """Contents of ``data/piano/piano.json`` (notes, onsets, provenance)."""
    return json.loads((_piano_dir(data_dir) / "piano.json").read_text())


def _read(path: Path, sr: int) -> np.ndarray:
    x, file_sr = sf.read(path, dtype="float64")
    if x.ndim > 1:
        x = x.mean(axis=1)
    if sr == file_sr:
        return x
    g = np.gcd(int(sr), int(file_sr))
    return resample_poly(x, int(sr) // g, int(file_sr) // g)


def load_piano(sr: int = HYBRID_SR, data_dir: str | Path | None = None) -> tuple[np.ndarray, int]:
    """The two-note piano mix, resampled to ``sr`` (default 4410 Hz as in the paper).

    Returns:
        (x, sr).
    """
    d = _piano_dir(data_dir)
    return _read(d / piano_metadata(d)["files"]["mix"], sr), int(sr)


def load_piano_stems(
    sr: int = HYBRID_SR, data_dir: str | Path | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """The mix and each note rendered alone (mix = sum of stems up to 16-bit rounding).

    Returns:
        (mix, {note name: stem}, sr).
    """
    d = _piano_dir(data_dir)
    files = piano_metadata(d)["files"]
    stems = {name: _read(d / fname, sr) for name, fname in files.items() if name != "mix"}
    return _read(d / files["mix"], sr), stems, int(sr)
