"""The hybrid-representation experiment: iN-NMF with implicit W and H on a point cloud.

Chapter "Irregular and hybrid representations" (``notebooks/05_irregular_hybrid.py``).
The paper fits rank-2 implicit factors W_k(f), H_k(t) to the two piano notes
analysed three ways and laid one after another in time (book/paper_setup.md §4), and only
*shows* the result. This module fits the same model (:func:`fit_hybrid`) and
quantifies it:

* :func:`activation_note_correlation`: in every segment, the Pearson correlation of
  each activation H_k(t) with each note's energy envelope, and
  :func:`note_assignment`: which note each component follows, whether that
  assignment is one-to-one in every segment and the same in all of them;
* :func:`fm_frequency_error`: for an irregular representation on its own, how far
  the frequencies of a regular STFT and of the sinusoidal model's points lie from
  the true instantaneous frequency of a frequency-modulated tone (the paper's
  Figure 1 signal).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from innmf.data.piano import HYBRID_SR, load_piano_stems
from innmf.tf.hybrid import energy_envelope
from innmf.tf.pointcloud import CoordinateMap, PointCloud
from innmf.tf.signals import fm_instantaneous_frequency, fm_signal
from innmf.tf.sinusoidal import spectral_peaks
from innmf.tf.stft import stft, stft_frequencies, stft_times

Envelopes = Callable[[np.ndarray], dict[str, np.ndarray]]


@dataclass(frozen=True)
class HybridFit:
    """A fitted :class:`innmf.models.implicit.ImplicitWH` and its factors sampled for inspection.

    Scale: W_k·H_k is unchanged by W_k → c·W_k, H_k → H_k/c. Here each sampled W_k is
    scaled to a peak of 1 on ``freqs`` and H_k carries the scale, so H_k(t) is in the
    units of the targets (compressed magnitudes) and activations are comparable.

    Attributes:
        model: the fitted model (its networks can be sampled anywhere).
        losses: mean KL over each epoch's points (length ``epochs``).
        mapping: seconds/Hz ↔ the networks' unit coordinates.
        freqs: the fine frequency grid W is sampled on (Hz, 0 to Nyquist).
        W: (len(freqs), K) templates, each with peak 1.
        segment_names: one name per segment (the cloud's sources).
        times: per segment, its distinct times within the analysed signal (s).
        H: per segment, (K, len(times[name])) activations at those times.
        scale: (K,) peak of each raw W_k (what H_k was multiplied by).
        seconds: wall time of the fit (not reproducible; never print it in a check).
    """

    model: object
    losses: np.ndarray
    mapping: CoordinateMap
    freqs: np.ndarray
    W: np.ndarray
    segment_names: tuple[str, ...]
    times: dict[str, np.ndarray]
    H: dict[str, np.ndarray]
    scale: np.ndarray
    seconds: float

    @property
    def rank(self) -> int:
        """K, the number of components."""
        return self.W.shape[1]

    def sample_H(self, t: np.ndarray) -> np.ndarray:
        """Activations at times ``t`` on the *fitted cloud's* time axis (s), scaled as ``H``.

        Returns:
            (K, len(t)).
        """
        u, _ = self.mapping.to_unit(np.asarray(t, dtype=float), np.zeros(1))
        return self.model.sample_H(np.array(u, dtype=np.float64)) * self.scale[:, None]

    def sample_W(self, f: np.ndarray) -> np.ndarray:
        """Templates at frequencies ``f`` (Hz), scaled as ``W``: (len(f), K)."""
        _, v = self.mapping.to_unit(np.zeros(1), np.asarray(f, dtype=float))
        return self.model.sample_W(np.array(v, dtype=np.float64)) / self.scale[None, :]


def _segment_times(cloud: PointCloud) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per source: distinct times on the cloud's axis, and the same times within the signal."""
    axis, local = {}, {}
    for s, name in enumerate(cloud.source_names):
        t = np.unique(cloud.t[cloud.source == s])
        axis[name], local[name] = t, t - cloud.starts[s]
    return axis, local


def fit_hybrid(
    cloud: PointCloud,
    rank: int = 2,
    hidden: int = 16,
    epochs: int = 1000,
    fraction: float = 0.5,
    seed: int = 0,
    device: str = "cpu",
    n_freqs: int = 10,
    optimizer: str = "rprop",
    lr: float = 1e-3,
    n_grid: int = 2048,
    progress: bool = True,
) -> HybridFit:
    """Fit implicit W(f) and H(t) to a (hybrid) point cloud, as the paper's piano demo.

    Coordinates are the paper's: t / t_max (the cloud's duration) and f / (sr/2)
    (:meth:`PointCloud.normalised_coordinates`). The magnitudes are fitted as given,
    so compress them first (``paper_hybrid_cloud`` returns m^0.5).

    Args:
        cloud: the points, with a sample rate (for the Nyquist frequency).
        rank: K in the paper (2: one component per note).
        hidden: width h of every network (the demo: 16).
        epochs: optimisation steps (the demo: 1000).
        fraction: share of the points drawn at random for each epoch (the demo: 0.5).
        seed: fixes the networks' initialisation and the per-epoch draws.
        device: where to train.
        n_freqs: J, frequencies of the Fourier encoding.
        optimizer: ``"rprop"`` (the paper's) or ``"adam"``.
        lr: learning rate.
        n_grid: number of frequencies W is sampled at (0 to Nyquist).
        progress: tqdm progress bar.

    Returns:
        A :class:`HybridFit`.
    """
    from innmf.models.implicit_wh import ImplicitWH

    if len(cloud) == 0:
        raise ValueError("The point cloud is empty; nothing to fit.")
    if cloud.sr is None:
        raise ValueError("The point cloud has no sample rate; build it with sr= so f can be scaled by sr/2.")
    if n_grid < 2:
        raise ValueError(f"n_grid must be at least 2, got {n_grid}.")
    u, v, mapping = cloud.normalised_coordinates()
    model = ImplicitWH(rank, hidden=hidden, n_freqs=n_freqs, seed=seed, device=device)
    start = time.perf_counter()
    # np.array copies: the cloud's arrays are read-only and torch warns on those.
    losses = model.fit(np.array(u), np.array(v), np.array(cloud.m), epochs=epochs, fraction=fraction,
                       optimizer=optimizer, lr=lr, progress=progress).history_
    seconds = time.perf_counter() - start
    freqs = np.linspace(0.0, mapping.f_max, n_grid)
    W_raw = model.sample_W(freqs / mapping.f_max)
    scale = np.maximum(W_raw.max(axis=0), np.finfo(float).tiny)
    axis, local = _segment_times(cloud)
    H = {name: model.sample_H(axis[name] / mapping.t_max) * scale[:, None] for name in cloud.source_names}
    return HybridFit(model, np.asarray(losses), mapping, freqs, W_raw / scale, tuple(cloud.source_names), local,
                     H, scale, seconds)


def note_envelopes(
    times: np.ndarray, sr: int = HYBRID_SR, window_seconds: float = 0.05, data_dir: str | os.PathLike | None = None
) -> dict[str, np.ndarray]:
    """Energy envelope of each piano note (from its stem) at ``times`` (s within the recording).

    For a hybrid cloud use ``cloud.local_times()`` or, for a time grid on the cloud's
    axis, subtract ``cloud.starts[s]`` of the segment.
    """
    _, stems, sr = load_piano_stems(sr, data_dir)
    return {name: energy_envelope(stem, sr, times, window_seconds) for name, stem in stems.items()}


def activation_note_correlation(
    fit: HybridFit,
    cloud: PointCloud | None = None,
    envelopes: Envelopes | None = None,
    exponent: float = 0.25,
) -> pd.DataFrame:
    """Pearson correlation of every activation with every note's energy envelope, per segment.

    H_k scales compressed magnitudes m^p, and m grows like the amplitude A while the
    energy envelope E grows like A², so H_k of a note should be proportional to
    E^(p/2): ``exponent`` = 0.25 for the paper's p = 0.5 (1 correlates with E itself).

    Args:
        fit: from :func:`fit_hybrid`.
        cloud: sample H at this cloud's segment times (via the model) instead of the
            fit's stored ones, e.g. a cloud with an extra segment the model never saw.
            Its time axis must be the fitted cloud's.
        envelopes: maps times within the recording (s) to ``{note: envelope}``
            (default :func:`note_envelopes` of the piano stems).
        exponent: envelopes are raised to this power before correlating.

    Returns:
        One row per (segment, component): columns ``segment``, ``component``
        (1-based, as H_1, H_2), one column per note with the correlation, and
        ``follows`` (the note it correlates with most).

    Raises:
        ValueError: a segment has fewer than 3 times, or H_k or an envelope is constant
            there (the correlation is undefined).
    """
    if envelopes is None:
        envelopes = note_envelopes
    if cloud is None:
        names, times, Hs = fit.segment_names, fit.times, fit.H
    else:
        axis, times = _segment_times(cloud)
        names = tuple(cloud.source_names)
        Hs = {name: fit.sample_H(axis[name]) for name in names}
    rows = []
    for name in names:
        t, H = times[name], Hs[name]
        if len(t) < 3:
            raise ValueError(f"Segment {name!r} has {len(t)} distinct times; need at least 3 for a correlation.")
        env = {note: np.asarray(e, dtype=float) ** exponent for note, e in envelopes(t).items()}
        for k in range(H.shape[0]):
            row: dict[str, object] = {"segment": name, "component": k + 1}
            for note, e in env.items():
                if np.ptp(H[k]) == 0 or np.ptp(e) == 0:
                    raise ValueError(
                        f"In segment {name!r}, {'H_' + str(k + 1) if np.ptp(H[k]) == 0 else note + ' envelope'} "
                        "is constant, so its correlation is undefined; check the fit or the time range."
                    )
                row[note] = float(np.corrcoef(H[k], e)[0, 1])
            rows.append(row)
    df = pd.DataFrame(rows)
    notes = [c for c in df.columns if c not in ("segment", "component")]
    df["follows"] = df[notes].idxmax(axis=1)
    return df


def note_assignment(corr: pd.DataFrame, min_r: float = 0.5) -> pd.DataFrame:
    """Summarise :func:`activation_note_correlation`: which note each component follows.

    Args:
        corr: its output.
        min_r: a component "follows" its note only if the correlation is at least this.

    Returns:
        One row per segment: ``H_k`` columns with the note each component correlates
        with most, ``min r`` (the weakest of those correlations), ``one-to-one`` (every
        component follows a different note, each with r ≥ ``min_r``) and
        ``consistent`` (one-to-one, and the same assignment as in every other
        segment). An extra row ``all`` says whether every segment is consistent.
    """
    notes = [c for c in corr.columns if c not in ("segment", "component", "follows")]
    rows = []
    for name, part in corr.groupby("segment", sort=False):
        part = part.sort_values("component")
        follows = part["follows"].tolist()
        best = [float(r[n]) for (_, r), n in zip(part.iterrows(), follows)]
        row: dict[str, object] = {"segment": name}
        row.update({f"H_{k}": n for k, n in zip(part["component"], follows)})
        row["min r"] = min(best)
        row["one-to-one"] = len(set(follows)) == len(follows) and min(best) >= min_r
        rows.append(row)
    df = pd.DataFrame(rows)
    h_cols = [c for c in df.columns if c.startswith("H_")]
    patterns = {tuple(r) for r in df[h_cols].itertuples(index=False)}
    df["consistent"] = df["one-to-one"] & (len(patterns) == 1)
    total = {"segment": "all", **{c: "" for c in h_cols}, "min r": float(df["min r"].min()),
             "one-to-one": bool(df["one-to-one"].all()), "consistent": bool(df["consistent"].all())}
    if len(notes) < len(h_cols):
        total["one-to-one"] = total["consistent"] = False
    return pd.concat([df, pd.DataFrame([total])], ignore_index=True)


def fm_frequency_error(
    sr: float = 8000.0,
    seconds: float = 2.0,
    f_carrier: float = 440.0,
    f_mod: float = 4.0,
    depth: float = 60.0,
    n_fft: int = 256,
    hop: int | None = None,
) -> pd.DataFrame:
    """How closely a regular STFT and the sinusoidal model locate an FM tone's frequency.

    The signal is :func:`innmf.tf.signals.fm_signal` (one partial). In every frame
    the STFT's strongest bin (a grid frequency) and the sinusoidal model's strongest
    peak (parabolic interpolation, off the grid; :func:`spectral_peaks` with the same
    window length and hop) are compared with the true instantaneous frequency
    f_c + depth·sin(2π f_mod t) at the frame centre. Frames whose window is not
    entirely inside the signal are included (the analyses do not pad).

    Args:
        sr: sample rate (Hz).
        seconds: duration.
        f_carrier, f_mod, depth: the FM tone (Hz).
        n_fft: window length N of both analyses.
        hop: hop (default N/4).

    Returns:
        Rows ``STFT (strongest bin)`` and ``sinusoidal model (strongest peak)``;
        columns ``frames``, ``grid spacing (Hz)`` (sr/N for the STFT, sr/(4N) for the
        zero-padded peak search), ``median |error| (Hz)``, ``95th pct (Hz)``,
        ``max (Hz)``.
    """
    hop = n_fft // 4 if hop is None else int(hop)
    x = fm_signal(sr, seconds, f_carrier, f_mod, depth)
    X = np.abs(stft(x, n_fft, hop))
    t_stft = stft_times(X.shape[1], n_fft, sr, hop)
    f_stft = stft_frequencies(n_fft, sr)[np.argmax(X, axis=0)]
    peaks = spectral_peaks(x, sr, window_length=n_fft, hop=hop)
    order = np.lexsort((-peaks.m, peaks.frame))  # strongest first within each frame
    frame, first = np.unique(peaks.frame[order], return_index=True)
    t_sin, f_sin = peaks.t[order][first], peaks.f[order][first]
    if len(frame) != X.shape[1]:
        raise ValueError(f"The sinusoidal model found peaks in {len(frame)} of {X.shape[1]} frames; "
                         "use a longer signal or a shorter window.")
    rows = {}
    for label, t, f, spacing in (("STFT (strongest bin)", t_stft, f_stft, sr / n_fft),
                                 ("sinusoidal model (strongest peak)", t_sin, f_sin, sr / (4 * n_fft))):
        err = np.abs(f - fm_instantaneous_frequency(t, f_carrier, f_mod, depth))
        rows[label] = {"frames": len(t), "grid spacing (Hz)": spacing, "median |error| (Hz)": np.median(err),
                       "95th pct (Hz)": np.percentile(err, 95), "max (Hz)": err.max()}
    return pd.DataFrame(rows).T.astype({"frames": int})
