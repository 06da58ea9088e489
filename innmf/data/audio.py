"""Reading recordings into the form every experiment uses: float32, mono, 16 kHz.

Used by every corpus reader (``innmf.data.sources.timit``, ``innmf.data.sources.folders``, the
embedded corpus) and so, indirectly, by every speech notebook of the book.

Files are decoded with libsndfile (python ``soundfile``) except NIST SPHERE
(TIMIT's format), which is parsed here so that a compressed SPHERE file gets a
clear error with its fix instead of libsndfile's generic "format not recognised".
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf

from innmf import SAMPLE_RATE

SPHERE_MAGIC = b"NIST_1A"
SILENCE_PEAK = 1e-4
"""A file whose peak magnitude is below this (-80 dBFS) counts as silent."""
SOUND_BLOCK_SECONDS = 0.05
"""Blocks of this length whose RMS (DC removed) reaches ``SILENCE_PEAK`` count as sound."""
MIN_SOUND_FRACTION = 0.25
"""A file (or trial segment) with less sound than this fraction is refused as mostly silent."""


class CorpusError(ValueError):
    """A corpus or one of its files cannot serve the experiments; the message says why and how to fix it."""


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says, without decoding the samples.

    Attributes:
        frames: samples per channel in the file.
        sample_rate: the file's sample rate (Hz).
        channels: number of channels.
    """

    frames: int
    sample_rate: int
    channels: int

    @property
    def frames_16k(self) -> int:
        """Samples after resampling to 16 kHz (the exact length :func:`read_audio` returns)."""
        return resampled_length(self.frames, self.sample_rate)


def resampled_length(frames: int, sample_rate: int) -> int:
    """Length of ``frames`` samples at ``sample_rate`` after :func:`resample_to_16k`."""
    if sample_rate == SAMPLE_RATE:
        return frames
    g = gcd(SAMPLE_RATE, sample_rate)
    up, down = SAMPLE_RATE // g, sample_rate // g
    return -(-frames * up // down)  # ceil, as scipy.signal.resample_poly


def resample(x: np.ndarray, sample_rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Resample a 1-D signal with an exact rational polyphase filter.

    Args:
        x: mono signal.
        sample_rate: its sample rate (Hz).
        target: the rate wanted (Hz; default 16 kHz, the speech protocol's).

    Returns:
        float64 signal at ``target``, ``ceil(len(x) * target / sample_rate)`` samples.
    """
    if sample_rate == target:
        return np.asarray(x, dtype=np.float64)
    # imported here: scipy.signal (with scipy.stats) takes about a second to import, and most
    # corpora are at their target rate already
    from scipy.signal import resample_poly

    g = gcd(int(target), int(sample_rate))
    return resample_poly(np.asarray(x, dtype=np.float64), int(target) // g, int(sample_rate) // g)


def resample_to_16k(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Resample a 1-D signal to 16 kHz (:func:`resample`); ``resampled_length(len(x), sample_rate)`` long."""
    return resample(x, sample_rate)


def parse_sphere_header(raw: bytes, path: Path) -> dict[str, str | int]:
    """Parse a NIST SPHERE (``NIST_1A``) header.

    Args:
        raw: the file's first bytes (at least the header).
        path: the file, for error messages.

    Returns:
        The header fields (``-i`` fields as int, others as str), plus ``header_size``.
    """
    lines = raw[:1024].split(b"\n")
    if not lines or lines[0].strip() != SPHERE_MAGIC:
        raise CorpusError(f"{path}: not a NIST SPHERE file (no NIST_1A magic).")
    try:
        header_size = int(lines[1].strip())
    except (IndexError, ValueError):
        raise CorpusError(f"{path}: broken NIST SPHERE header (no header size on line 2).") from None
    fields: dict[str, str | int] = {"header_size": header_size}
    for line in raw[:header_size].split(b"\n")[2:]:
        line = line.strip()
        if line == b"end_head":
            break
        parts = line.split(None, 2)
        if len(parts) == 3:
            name, kind, value = (p.decode("ascii", "replace") for p in parts)
            fields[name] = int(value) if kind == "-i" else value
    return fields


def _read_sphere(path: Path, header_only: bool) -> tuple[np.ndarray | None, AudioInfo]:
    with open(path, "rb") as fh:
        head = fh.read(1024)
        fields = parse_sphere_header(head, path)
        coding = str(fields.get("sample_coding", "pcm"))
        if coding != "pcm":
            raise CorpusError(
                f"{path}: SPHERE sample_coding '{coding}' is compressed; decompress the corpus "
                "first (e.g. `sph2pipe -f wav IN OUT` or `sox IN OUT.wav`) and point innmf at the copy."
            )
        width = int(fields.get("sample_n_bytes", 2))
        if width != 2:
            raise CorpusError(f"{path}: SPHERE sample_n_bytes={width}; only 16-bit PCM is supported.")
        channels = int(fields.get("channel_count", 1))
        rate = int(fields.get("sample_rate", 0))
        if rate <= 0:
            raise CorpusError(f"{path}: SPHERE header has no sample_rate.")
        order = str(fields.get("sample_byte_format", "01"))
        dtype = "<i2" if order in ("01", "shortpack-v0") else ">i2"
        fh.seek(int(fields["header_size"]))
        if header_only:
            size = path.stat().st_size - int(fields["header_size"])
            frames = int(fields.get("sample_count", size // (2 * channels)))
            return None, AudioInfo(frames, rate, channels)
        data = np.frombuffer(fh.read(), dtype=dtype)
    frames = len(data) // channels
    if "sample_count" in fields and int(fields["sample_count"]) < frames:
        frames = int(fields["sample_count"])
    data = data[: frames * channels].reshape(frames, channels).astype(np.float64) / 32768.0
    return data, AudioInfo(frames, rate, channels)


def _is_sphere(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(7) == SPHERE_MAGIC


def audio_info(path: str | Path) -> AudioInfo:
    """Read a file's length, rate and channel count from its header.

    Args:
        path: a WAV/FLAC/OGG/SPHERE file.

    Returns:
        Its :class:`AudioInfo`.
    """
    path = Path(path)
    _check_file(path)
    if _is_sphere(path):
        return _read_sphere(path, header_only=True)[1]
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise _unreadable(path, err) from None
    return AudioInfo(int(info.frames), int(info.samplerate), int(info.channels))


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such audio file.")
    if path.stat().st_size == 0:
        raise CorpusError(f"{path}: the file is empty; remove it or replace it with the recording.")


def _unreadable(path: Path, err: Exception) -> CorpusError:
    return CorpusError(
        f"{path}: cannot decode this file ({err}). Convert it to WAV or FLAC "
        "(e.g. `ffmpeg -i IN OUT.flac`) or remove it from the corpus."
    )


def read_audio(path: str | Path) -> np.ndarray:
    """Decode a recording to float32 mono at 16 kHz and check it is usable.

    Channels are averaged (stereo mixed to mono); any sample rate is resampled
    with :func:`resample_to_16k`.

    Args:
        path: a WAV/FLAC/OGG/SPHERE file.

    Returns:
        float32 array, full scale at 1.0.

    Raises:
        CorpusError: empty, undecodable, non-finite or silent file (the message names the file).
    """
    path = Path(path)
    _check_file(path)
    if _is_sphere(path):
        data, info = _read_sphere(path, header_only=False)
        rate = info.sample_rate
    else:
        try:
            data, rate = sf.read(str(path), dtype="float64", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as err:
            raise _unreadable(path, err) from None
    assert data is not None
    if data.shape[0] == 0:
        raise CorpusError(f"{path}: the file holds no samples; remove it or replace it with the recording.")
    if not np.all(np.isfinite(data)):
        raise CorpusError(f"{path}: the file contains NaN or infinite samples; re-export it or remove it.")
    mono = data.mean(axis=1)
    problem = degenerate_audio(data, int(rate))
    if problem:
        raise CorpusError(f"{path}: {problem}")
    return resample_to_16k(mono, int(rate)).astype(np.float32)


def sound_fraction(x: np.ndarray, sample_rate: int) -> float:
    """Fraction of ``SOUND_BLOCK_SECONDS`` blocks of ``x`` whose RMS, DC removed, reaches ``SILENCE_PEAK``.

    Args:
        x: mono signal.
        sample_rate: its rate (Hz).

    Returns:
        A number in [0, 1] (0 for an empty signal).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return 0.0
    block = max(1, int(round(SOUND_BLOCK_SECONDS * sample_rate)))
    n = -(-x.size // block)
    padded = np.zeros(n * block)
    padded[: x.size] = x - x.mean()
    rms = np.sqrt(np.mean(padded.reshape(n, block) ** 2, axis=1))
    return float(np.mean(rms >= SILENCE_PEAK))


def degenerate_audio(data: np.ndarray, sample_rate: int) -> str | None:
    """What makes a recording useless for the experiments, with its fix, or None.

    Used by :func:`read_audio` (so by ``innmf corpus check`` and ``innmf reproduce``
    alike): silence, channels that cancel when mixed to mono, a constant (DC) signal,
    and recordings that are mostly silence.

    Args:
        data: samples, shape ``(frames, channels)``.
        sample_rate: the file's rate (Hz).

    Returns:
        A sentence saying what is wrong and how to fix it, or None if the audio is usable.
    """
    mono = data.mean(axis=1)
    seconds = len(mono) / sample_rate
    if np.max(np.abs(mono)) < SILENCE_PEAK:
        if data.shape[1] > 1 and np.max(np.abs(data)) >= SILENCE_PEAK:
            return ("its channels cancel when mixed to mono (one is the other phase-inverted, e.g. "
                    "left = -right), so nothing is left. Keep one channel (e.g. `sox IN OUT.wav remix 1`) "
                    "or invert one channel before mixing.")
        return "the recording is silent (peak below -80 dBFS); remove it from the corpus."
    if np.max(np.abs(mono - mono.mean())) < SILENCE_PEAK:
        return (f"the recording is a constant signal (a DC offset of {mono.mean():.3g}) with no sound; "
                "remove it or replace it with the recording.")
    fraction = sound_fraction(mono, sample_rate)
    if fraction < MIN_SOUND_FRACTION:
        return (f"the recording is mostly silent: only {fraction * seconds:.2f} s of its {seconds:.2f} s "
                f"hold sound (less than {MIN_SOUND_FRACTION:.0%}); trim the silence (e.g. `sox IN OUT.wav "
                "silence 1 0.1 0.1% reverse silence 1 0.1 0.1% reverse`) or remove the file.")
    return None
