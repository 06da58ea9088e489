"""Time-frequency point clouds: a representation as a set of points (t, f, m).

iN-NMF models m_i ≈ Σ_k W_k(f_i)·H_k(t_i) for points that need not lie on a grid
(book/paper_setup.md §1). :class:`PointCloud` holds such points with, for each point, the
representation it came from, so that several representations can be joined (the
paper's hybrid: laid one after another in time, :func:`concat_in_time`) or overlaid
on one time axis (:func:`overlay`). Used by the hybrid and irregular chapters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


def _frozen(a: np.ndarray, dtype: type) -> np.ndarray:
    a = np.array(a, dtype=dtype, copy=True).reshape(-1)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class PointCloud:
    """Points (t_i in s, f_i in Hz, m_i ≥ 0) with the source representation of each.

    Attributes:
        t: time of each point (s).
        f: frequency of each point (Hz).
        m: magnitude of each point (non-negative).
        source: index into ``source_names`` for each point.
        source_names: one name per representation, e.g. ``("stft-128", "cqt")``.
        sr: sample rate of the analysed signal (Hz); sets the Nyquist frequency used
            by :meth:`normalised_coordinates`.
        durations: end (s) of the signal each source analysed, on the cloud's time
            axis; used to lay sources one after another (:func:`concat_in_time`).
            Defaults to the largest time of each source.
        starts: start (s) of each source's signal on the cloud's time axis (0 unless
            the source was shifted); ``t - starts[source]`` is the time within the
            analysed signal (:meth:`local_times`).
    """

    t: np.ndarray
    f: np.ndarray
    m: np.ndarray
    source: np.ndarray
    source_names: tuple[str, ...]
    sr: float | None = None
    durations: tuple[float, ...] = field(default=())
    starts: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        t, f, m = _frozen(self.t, np.float64), _frozen(self.f, np.float64), _frozen(self.m, np.float64)
        source = _frozen(self.source, np.int64)
        names = tuple(str(n) for n in self.source_names)
        if not (len(t) == len(f) == len(m) == len(source)):
            raise ValueError(
                f"t, f, m and source must have one entry per point; got lengths "
                f"{len(t)}, {len(f)}, {len(m)}, {len(source)}."
            )
        for name, a in (("t", t), ("f", f), ("m", m)):
            if not np.all(np.isfinite(a)):
                raise ValueError(f"Point cloud {name} contains NaN or infinite values.")
        if np.any(m < 0):
            raise ValueError("Point cloud magnitudes must be non-negative (take |X| first).")
        if len(names) == 0:
            raise ValueError("A point cloud needs at least one source name.")
        if len(source) and (source.min() < 0 or source.max() >= len(names)):
            raise ValueError(f"Source indices must lie in [0, {len(names) - 1}] for {len(names)} source names.")
        durations = tuple(float(d) for d in self.durations)
        if not durations:
            durations = tuple(float(t[source == s].max(initial=0.0)) for s in range(len(names)))
        if len(durations) != len(names):
            raise ValueError(f"Need one duration per source ({len(names)}), got {len(durations)}.")
        starts = tuple(float(s) for s in self.starts) or (0.0,) * len(names)
        if len(starts) != len(names):
            raise ValueError(f"Need one start time per source ({len(names)}), got {len(starts)}.")
        if self.sr is not None and not self.sr > 0:
            raise ValueError(f"Sample rate must be positive, got {self.sr}.")
        values = {"t": t, "f": f, "m": m, "source": source, "source_names": names, "durations": durations,
                  "starts": starts}
        for key, value in values.items():
            object.__setattr__(self, key, value)

    # constructors --------------------------------------------------------------------
    @classmethod
    def from_matrix(
        cls, M: np.ndarray, times: np.ndarray, freqs: np.ndarray, name: str, sr: float | None = None,
        duration: float | None = None,
    ) -> "PointCloud":
        """Points of a regular grid (an STFT): M has shape (len(freqs), len(times)).

        Args:
            M: magnitudes, frequencies along rows and frames along columns.
            times: time (s) of each column.
            freqs: frequency (Hz) of each row.
            name: name of the representation.
            sr: sample rate of the analysed signal.
            duration: length (s) of the analysed signal.
        """
        M = np.asarray(M, dtype=np.float64)
        times, freqs = np.asarray(times, dtype=np.float64), np.asarray(freqs, dtype=np.float64)
        if M.shape != (len(freqs), len(times)):
            raise ValueError(f"M has shape {M.shape} but there are {len(freqs)} frequencies and {len(times)} times.")
        tt, ff = np.meshgrid(times, freqs)
        return cls(tt, ff, M, np.zeros(M.size, dtype=np.int64), (name,), sr,
                   (duration,) if duration is not None else ())

    @classmethod
    def from_bins(
        cls, times: Sequence[np.ndarray], freqs: np.ndarray, mags: Sequence[np.ndarray], name: str,
        sr: float | None = None, duration: float | None = None,
    ) -> "PointCloud":
        """Points of a representation with its own time grid per frequency bin (a CQT).

        Args:
            times: one array of frame times (s) per bin.
            freqs: centre frequency (Hz) of each bin.
            mags: one array of magnitudes per bin, same lengths as ``times``.
            name: name of the representation.
            sr: sample rate of the analysed signal.
            duration: length (s) of the analysed signal.
        """
        if not (len(times) == len(mags) == len(freqs)):
            raise ValueError(f"Need one time array and one magnitude array per bin ({len(freqs)} bins).")
        for k, (tk, mk) in enumerate(zip(times, mags)):
            if len(tk) != len(mk):
                raise ValueError(f"Bin {k}: {len(tk)} times but {len(mk)} magnitudes.")
        t = np.concatenate([np.asarray(tk, dtype=np.float64) for tk in times]) if len(times) else np.zeros(0)
        m = np.concatenate([np.asarray(mk, dtype=np.float64) for mk in mags]) if len(mags) else np.zeros(0)
        f = np.repeat(np.asarray(freqs, dtype=np.float64), [len(tk) for tk in times])
        return cls(t, f, m, np.zeros(len(t), dtype=np.int64), (name,), sr,
                   (duration,) if duration is not None else ())

    # basic access --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.m)

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}: {int(np.sum(self.source == s))}" for s, n in enumerate(self.source_names))
        return f"PointCloud({len(self)} points; {parts}; sr={self.sr})"

    def select(self, source: int | str) -> "PointCloud":
        """The points of one source (by index or name), as a one-source cloud."""
        s = self.source_names.index(source) if isinstance(source, str) else int(source)
        if not 0 <= s < len(self.source_names):
            raise ValueError(f"No source {source!r}; sources are {self.source_names}.")
        keep = self.source == s
        return PointCloud(self.t[keep], self.f[keep], self.m[keep], np.zeros(int(keep.sum()), dtype=np.int64),
                          (self.source_names[s],), self.sr, (self.durations[s],), (self.starts[s],))

    def with_magnitudes(self, m: np.ndarray) -> "PointCloud":
        """The same points with new magnitudes (e.g. compressed m^p or a model's output)."""
        return PointCloud(self.t, self.f, m, self.source, self.source_names, self.sr, self.durations, self.starts)

    def power(self, p: float) -> "PointCloud":
        """Magnitudes raised to ``p`` (the paper's targets are m^0.5)."""
        return self.with_magnitudes(self.m ** p)

    def shift_time(self, offset: float) -> "PointCloud":
        """All times moved by ``offset`` seconds."""
        return PointCloud(self.t + offset, self.f, self.m, self.source, self.source_names, self.sr,
                          tuple(d + offset for d in self.durations), tuple(s + offset for s in self.starts))

    def local_times(self) -> np.ndarray:
        """Time of each point within the signal its source analysed: t − starts[source]."""
        return self.t - np.asarray(self.starts)[self.source]

    @property
    def duration(self) -> float:
        """End of the latest source (s)."""
        return max(self.durations)

    def is_regular(self, source: int = 0) -> bool:
        """Whether a source's points fill a full (time × frequency) grid exactly once."""
        keep = self.source == source
        t, f = self.t[keep], self.f[keep]
        n, nt, nf = int(keep.sum()), len(np.unique(t)), len(np.unique(f))
        if n == 0 or nt * nf != n:
            return False
        distinct_pairs = np.unique(np.stack([t, f], axis=1), axis=0).shape[0]
        return distinct_pairs == n

    def grid(self, source: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, freqs, M) of a regular source, M of shape (len(freqs), len(times))."""
        if not self.is_regular(source):
            raise ValueError(f"Source {self.source_names[source]!r} is not a regular grid; use its points.")
        keep = self.source == source
        times, ti = np.unique(self.t[keep], return_inverse=True)
        freqs, fi = np.unique(self.f[keep], return_inverse=True)
        M = np.zeros((len(freqs), len(times)))
        M[fi, ti] = self.m[keep]
        return times, freqs, M

    # coordinates for the networks -------------------------------------------------------
    def normalised_coordinates(
        self, t_max: float | None = None, f_max: float | None = None
    ) -> tuple[np.ndarray, np.ndarray, "CoordinateMap"]:
        """Network inputs as in the paper's hybrid demo: t/t_max and f/(sr/2) (book/paper_setup.md §4).

        Args:
            t_max: time mapped to 1 (default: :attr:`duration`).
            f_max: frequency mapped to 1 (default: the Nyquist frequency sr/2, else max f).

        Returns:
            (u, v, mapping): u = t/t_max and v = f/f_max in [0, 1] for points within
            the defaults, and the :class:`CoordinateMap` that maps back.
        """
        t_max = self.duration if t_max is None else float(t_max)
        if f_max is None:
            f_max = self.sr / 2 if self.sr is not None else float(self.f.max(initial=0.0))
        mapping = CoordinateMap(t_max=t_max, f_max=float(f_max))
        u, v = mapping.to_unit(self.t, self.f)
        return u, v, mapping


@dataclass(frozen=True)
class CoordinateMap:
    """Affine map between seconds/Hz and the networks' unit coordinates."""

    t_max: float
    f_max: float

    def __post_init__(self) -> None:
        if not (self.t_max > 0 and self.f_max > 0):
            raise ValueError(f"t_max and f_max must be positive, got {self.t_max} and {self.f_max}.")

    def to_unit(self, t: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(t/t_max, f/f_max)."""
        return np.asarray(t, dtype=np.float64) / self.t_max, np.asarray(f, dtype=np.float64) / self.f_max

    def from_unit(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Back to seconds and Hz."""
        return np.asarray(u, dtype=np.float64) * self.t_max, np.asarray(v, dtype=np.float64) * self.f_max


def _join(clouds: Sequence[PointCloud], offsets: Sequence[float]) -> PointCloud:
    if len(clouds) == 0:
        raise ValueError("Nothing to join: pass at least one point cloud.")
    srs = {c.sr for c in clouds if c.sr is not None}
    if len(srs) > 1:
        raise ValueError(f"Clouds analysed at different sample rates {sorted(srs)}; resample first.")
    t, f, m, source, names, durations, starts = [], [], [], [], [], [], []
    for cloud, offset in zip(clouds, offsets):
        t.append(cloud.t + offset)
        f.append(cloud.f)
        m.append(cloud.m)
        source.append(cloud.source + len(names))
        names.extend(cloud.source_names)
        durations.extend(d + offset for d in cloud.durations)
        starts.extend(s + offset for s in cloud.starts)
    return PointCloud(np.concatenate(t), np.concatenate(f), np.concatenate(m), np.concatenate(source),
                      tuple(names), srs.pop() if srs else None, tuple(durations), tuple(starts))


def concat_in_time(clouds: Sequence[PointCloud], gap: float = 0.0) -> PointCloud:
    """Lay clouds one after another in time (the paper's hybrid representation).

    Cloud j is shifted by the sum of the durations of clouds 0..j-1 plus j·gap, so
    each keeps its own time stamps relative to its own start.

    Args:
        clouds: the clouds, in order.
        gap: silence (s) between consecutive clouds.
    """
    if gap < 0:
        raise ValueError(f"gap must be non-negative, got {gap}.")
    offsets, start = [], 0.0
    for cloud in clouds:
        offsets.append(start)
        start += cloud.duration + gap
    return _join(clouds, offsets)


def overlay(clouds: Sequence[PointCloud]) -> PointCloud:
    """Join clouds on the same time axis (several analyses of one signal, overlaid)."""
    return _join(clouds, [0.0] * len(clouds))
