"""Irregular representations measured on ground truth: two piano notes that overlap in time.

Chapter "Irregular and hybrid representations". The demo's two notes barely overlap
(C3 from 0.1 s to 1.3 s, E3 from 1.2 s), so their envelopes are anticorrelated and an
activation that merely switches at mid-recording correlates well with both: the
envelope correlation of :mod:`innmf.experiments.hybrid` cannot tell unmixing from
switching. Here the second stem is moved earlier (``shift`` s) so the notes sound
together for about a second, the stems stay the ground truth, and every method is
scored at every point of the representation:

* representations (:func:`representation`): the per-bin-hop CQT, the sinusoidal
  model (off-grid peaks) and the paper's hybrid cloud (STFT-128, STFT-1024 and CQT
  laid one after another in time), all of the mixture; each stem analysed the same
  way gives its magnitude at the same points (for the sinusoidal model: the stem's
  windowed spectrum at the mixture's peaks, :func:`innmf.tf.sinusoidal.spectrum_at`);
* methods, rank 2, on the same 90 % of the points (a seeded draw; paired):
  ``iN-NMF`` (implicit W(f) and H(t), :class:`innmf.models.implicit.ImplicitWH`) on
  the points; ``NMF-raster``: the points interpolated onto a regular grid
  (:mod:`innmf.tf.raster`), KL NMF there, the model read back at the points;
  ``blind``: no spectra at all, everything before the midpoint of the mixture's
  active span to one component and everything after to the other;
* scores (:func:`score_components`): each component's Wiener mask applied to the
  mixture's compressed magnitudes, raised back to magnitudes, components assigned to
  notes by the best match (the factorisation is unsupervised, so its order is
  arbitrary; the same search for every method), the per-note SNR on the points
  against the stem's magnitudes, the KL on the 10 % held-out points, and the envelope
  correlation of the activations with each note's energy envelope (what chapter 5's
  earlier test measured), shown for the blind baseline too.

:func:`irregular_experiment` returns the tidy table, :func:`irregular_verdict` the
paired verdict per representation.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from innmf.data.piano import HYBRID_SR, load_piano_stems
from innmf.paper.metrics import kl_divergence
from innmf.paper.separation import wiener_masks
from innmf.tf.cqt import cqt
from innmf.tf.hybrid import energy_envelope, paper_hybrid_cloud
from innmf.tf.pointcloud import PointCloud
from innmf.tf.raster import rasterise_lines, rasterise_scattered, sample_grid
from innmf.tf.sinusoidal import sinusoidal_analysis, spectrum_at

REPRESENTATIONS: tuple[str, ...] = ("cqt", "sinusoidal", "hybrid")
METHODS: tuple[str, ...] = ("iN-NMF", "NMF-raster", "blind")
POWER = 0.5
"""Targets are m^0.5, as in the paper's hybrid demo."""
_SINUSOIDAL = dict(window_length=1024, hop=256, threshold_db=-60.0, track=True, min_partial_frames=3)
_CQT = dict(f_min=20.0, bins_per_octave=64, n_octaves=6.7, Q=64.0, hop_fraction=1 / 8)
_GRID_HOP = 32
"""Time step (samples) of the NMF-raster grids: the hop of the demo's STFT-128."""


@dataclass(frozen=True)
class OverlapMixture:
    """Two notes and their sum; ``stems`` are the ground truth.

    Attributes:
        mixture: the sum of the stems.
        stems: note name → its signal (the second moved ``shift`` s earlier).
        sr: sample rate (Hz).
        shift: how far the second note was moved (s).
        overlap: seconds during which both notes are within 30 dB of their peaks.
    """

    mixture: np.ndarray
    stems: dict[str, np.ndarray]
    sr: int
    shift: float
    overlap: float


def overlapping_notes(shift: float = 0.9, sr: int = HYBRID_SR, data_dir: Any = None) -> OverlapMixture:
    """The demo's two piano notes with the second moved ``shift`` seconds earlier.

    Args:
        shift: seconds; 0.9 moves E3's onset from 1.2 s to 0.3 s, so it sounds with
            C3 (until 1.3 s) for about a second. The freed end is silence.
        sr: sample rate (the demo's 4410 Hz).
        data_dir: the piano folder (default ``data/piano``).
    """
    _, stems, sr = load_piano_stems(sr, data_dir)
    names = list(stems)
    if len(names) != 2:
        raise ValueError(f"Expected two piano stems, found {names}.")
    n = int(round(shift * sr))
    if not 0 <= n < len(stems[names[1]]):
        raise ValueError(f"shift must lie in [0, {len(stems[names[1]]) / sr:.2f}) s, got {shift}.")
    second = stems[names[1]]
    stems = {names[0]: stems[names[0]], names[1]: np.concatenate([second[n:], np.zeros(n)])}
    mixture = stems[names[0]] + stems[names[1]]
    grid = np.arange(0, len(mixture)) / sr
    active = [energy_envelope(x, sr, grid) for x in stems.values()]
    both = np.logical_and(*[e > 1e-3 * e.max() for e in active])
    return OverlapMixture(mixture, stems, int(sr), float(shift), float(both.sum() / sr))


@dataclass(frozen=True)
class Representation:
    """The mixture's points and each note's magnitude at the same points.

    Attributes:
        name: ``cqt``, ``sinusoidal`` or ``hybrid``.
        cloud: the mixture's points, magnitudes uncompressed.
        references: note → (n_points,) the stem's magnitude at every point.
        lines: for :func:`innmf.tf.raster.rasterise_lines`, ``"f"`` (CQT bins) or
            ``"t"`` (sinusoidal frames); None: scattered (the hybrid cloud).
    """

    name: str
    cloud: PointCloud
    references: dict[str, np.ndarray]
    lines: str | None


def _same_points(a: PointCloud, b: PointCloud, what: str) -> None:
    if not (np.array_equal(a.t, b.t) and np.array_equal(a.f, b.f)):
        raise AssertionError(f"The {what} of a stem does not have the mixture's points.")


def representation(name: str, notes: OverlapMixture) -> Representation:
    """One representation of the mixture, with ground truth at its points."""
    sr = notes.sr
    if name == "cqt":
        cloud = cqt(notes.mixture, sr, **_CQT).points("cqt")
        refs = {}
        for note, x in notes.stems.items():
            ref = cqt(x, sr, **_CQT).points("cqt")
            _same_points(cloud, ref, "CQT")
            refs[note] = np.asarray(ref.m)
        return Representation(name, cloud, refs, "f")
    if name == "sinusoidal":
        peaks = sinusoidal_analysis(notes.mixture, sr, **_SINUSOIDAL)
        win, hop = _SINUSOIDAL["window_length"], _SINUSOIDAL["hop"]
        refs = {note: spectrum_at(x, sr, peaks.frame, peaks.f, win, hop) for note, x in notes.stems.items()}
        return Representation(name, peaks.points(), refs, "t")
    if name == "hybrid":
        cloud = paper_hybrid_cloud(notes.mixture, sr, power=1.0)
        refs = {}
        for note, x in notes.stems.items():
            ref = paper_hybrid_cloud(x, sr, power=1.0)
            _same_points(cloud, ref, "hybrid cloud")
            refs[note] = np.asarray(ref.m)
        return Representation(name, cloud, refs, None)
    raise ValueError(f"Unknown representation {name!r}; choose from {list(REPRESENTATIONS)}.")


def score_components(
    m: np.ndarray, components: Sequence[np.ndarray], references: dict[str, np.ndarray], power: float = POWER
) -> tuple[dict[str, float], tuple[int, ...]]:
    """Per-note SNR on the points of the Wiener-masked mixture, components matched to notes.

    Component k's estimate is (M_k · m^p)^(1/p), M_k = V̂_k / Σ_j V̂_j its soft mask
    (as the speech separation, :mod:`innmf.paper.separation`); note j's SNR is
    10 log10(Σ r_j² / Σ (r_j − estimate)²) over all points, r_j the stem's magnitudes.

    Args:
        m: the mixture's magnitudes at the points (uncompressed).
        components: each component's model of the compressed magnitudes at the points.
        references: note → the stem's magnitudes at the points.
        power: the compression p the components model.

    Returns:
        ``({note: SNR in dB}, assignment)``: ``assignment[j]`` is the component given to
        note j, the one of all one-to-one assignments with the highest mean SNR.
    """
    m = np.asarray(m, dtype=np.float64)
    notes = list(references)
    if len(components) != len(notes):
        raise ValueError(f"Got {len(components)} components for {len(notes)} notes; use rank {len(notes)}.")
    masks = wiener_masks([np.asarray(c, dtype=np.float64) for c in components])
    estimates = [(mask * m**power) ** (1.0 / power) for mask in masks]
    best: tuple[float, dict[str, float], tuple[int, ...]] | None = None
    for perm in itertools.permutations(range(len(components))):
        snr = {}
        for note, k in zip(notes, perm):
            r = np.asarray(references[note], dtype=np.float64)
            err = float(np.sum((r - estimates[k]) ** 2))
            snr[note] = 10.0 * np.log10(float(np.sum(r**2)) / max(err, 1e-300))
        mean = float(np.mean(list(snr.values())))
        if best is None or mean > best[0]:
            best = (mean, snr, perm)
    assert best is not None
    return best[1], best[2]


def _envelope_r(activations: np.ndarray, envelopes: dict[str, np.ndarray], assignment: tuple[int, ...]) -> float:
    """Mean over notes of the correlation of the assigned activation with the note's envelope^0.25."""
    rs = []
    for (note, env), k in zip(envelopes.items(), assignment):
        a, e = activations[k], np.asarray(env) ** 0.25  # H of m^0.5 grows like energy^(1/4)
        rs.append(float(np.corrcoef(a, e)[0, 1]) if np.ptp(a) > 0 and np.ptp(e) > 0 else np.nan)
    return float(np.mean(rs))


@dataclass(frozen=True)
class _Fitted:
    components: list[np.ndarray]  # per component, its model at every point
    activations: np.ndarray  # (K, len(envelope times)), on the cloud's time axis


def _fit_inr(rep: Representation, train: np.ndarray, times_axis: np.ndarray, rank: int, seed: int,
             settings: dict[str, Any]) -> _Fitted:
    from innmf.models.implicit_wh import ImplicitWH

    cloud = rep.cloud
    u, v, mapping = cloud.normalised_coordinates()
    target = np.asarray(cloud.m) ** POWER
    model = ImplicitWH(rank, hidden=int(settings["hidden"]), seed=seed, device=settings["device"])
    model.fit(np.array(u[train]), np.array(v[train]), target[train], epochs=int(settings["epochs"]),
              fraction=float(settings["fraction"]))
    W, H = model.W(np.array(v)), model.H(np.array(u))
    return _Fitted([W[:, k] * H[k] for k in range(rank)], model.H(times_axis / mapping.t_max))


def _fit_raster(rep: Representation, train: np.ndarray, times_axis: np.ndarray, rank: int, seed: int,
                settings: dict[str, Any]) -> _Fitted:
    from innmf.models.nmf import nmf

    cloud, sr = rep.cloud, float(rep.cloud.sr)
    target = np.asarray(cloud.m) ** POWER
    t, f = np.asarray(cloud.t), np.asarray(cloud.f)
    grid_t = np.arange(0.0, cloud.duration, _GRID_HOP / sr)
    if rep.lines == "f":  # CQT: every bin kept, interpolated along its own time grid
        rows, V = rasterise_lines(f[train], t[train], target[train], grid_t)
        cols = grid_t
    elif rep.lines == "t":  # sinusoidal: every frame kept, interpolated between its peaks
        cols, M = rasterise_lines(t[train], f[train], target[train], np.linspace(0.0, sr / 2, 513), "zero")
        rows, V = np.linspace(0.0, sr / 2, 513), M.T
    else:  # hybrid: scattered, in the networks' unit coordinates
        u, v, mapping = cloud.normalised_coordinates()
        rows, cols = np.linspace(0.0, 1.0, 513), grid_t / mapping.t_max
        V = rasterise_scattered(u[train], v[train], target[train], cols, rows)
        t, f = u, v
        times_axis = times_axis / mapping.t_max
    n_iter = int(settings["nmf_iter"])
    res = nmf(np.maximum(V, 0.0), rank, n_iter, seed=seed, device=settings["device"], loss_every=max(n_iter, 1))
    comps = [np.maximum(sample_grid(rows, cols, np.outer(res.W[:, k], res.H[k]), f, t), 0.0) for k in range(rank)]
    acts = np.stack([np.interp(times_axis, cols, res.H[k]) for k in range(rank)])
    return _Fitted(comps, acts)


def _segments(cloud: PointCloud, sr: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Envelope times: a 10 ms grid in each segment, on the cloud's axis and within the signal."""
    axis, local, seg = [], [], []
    for s, (start, end) in enumerate(zip(cloud.starts, cloud.durations)):
        t = np.arange(0.0, end - start, 0.01)
        axis.append(t + start)
        local.append(t)
        seg.append(np.full(len(t), s))
    return np.concatenate(axis), np.concatenate(local), np.concatenate(seg)


def _blind(rep: Representation, notes: OverlapMixture, local_points: np.ndarray, local_grid: np.ndarray) -> _Fitted:
    """The spectrally blind split at the midpoint of the mixture's active span (within each segment)."""
    sr = notes.sr
    grid = np.arange(len(notes.mixture)) / sr
    env = energy_envelope(notes.mixture, sr, grid)
    active = grid[env > 1e-3 * env.max()]
    switch = 0.5 * (active[0] + active[-1])
    before = (local_points < switch).astype(float)
    mix_env = energy_envelope(notes.mixture, sr, local_grid) ** 0.25
    g = (local_grid < switch).astype(float)
    return _Fitted([before, 1.0 - before], np.stack([mix_env * g, mix_env * (1.0 - g)]))


def irregular_experiment(
    seeds: Sequence[int] = (0, 1, 2),
    representations: Sequence[str] = REPRESENTATIONS,
    epochs: int = 300,
    hidden: int = 16,
    fraction: float = 0.5,
    nmf_iter: int = 500,
    holdout: float = 0.1,
    shift: float = 0.9,
    device: str = "cpu",
) -> pd.DataFrame:
    """Run the overlapping-notes experiment: every method on every representation and seed.

    Args:
        seeds: one paired run per seed (the held-out draw, the networks' and NMF's init).
        representations: any of :data:`REPRESENTATIONS`.
        epochs: iN-NMF's Rprop epochs (the profiles' ``hybrid_epochs``).
        hidden: width h of its networks (``hybrid_hidden``).
        fraction: share of the training points per epoch (``hybrid_fraction``).
        nmf_iter: NMF-raster's KL multiplicative updates.
        holdout: share of the points held out of every fit for the KL.
        shift: how far the second note is moved earlier (s), see :func:`overlapping_notes`.
        device: where to fit.

    Returns:
        Tidy rows (seed, representation, method, metric, value); metrics ``snr`` (mean
        over the notes, dB), ``snr <note>``, ``kl_heldout`` (not for ``blind``) and
        ``envelope_r`` (mean over the notes).
    """
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must lie in (0, 1), got {holdout}.")
    settings = {"epochs": epochs, "hidden": hidden, "fraction": fraction, "nmf_iter": nmf_iter, "device": device}
    notes = overlapping_notes(shift)
    rows: list[dict[str, Any]] = []
    for name in representations:
        rep = representation(name, notes)
        cloud, m = rep.cloud, np.asarray(rep.cloud.m)
        axis_t, local_t, seg = _segments(cloud, notes.sr)
        envelopes = {note: energy_envelope(x, notes.sr, local_t) for note, x in notes.stems.items()}
        blind = _blind(rep, notes, cloud.local_times(), local_t)
        for seed in seeds:
            held = np.random.default_rng(seed).random(len(m)) < holdout
            fits = {"iN-NMF": _fit_inr(rep, ~held, axis_t, 2, seed, settings),
                    "NMF-raster": _fit_raster(rep, ~held, axis_t, 2, seed, settings), "blind": blind}
            for method, fit in fits.items():
                snr, assignment = score_components(m, fit.components, rep.references)
                base = {"seed": int(seed), "representation": name, "method": method}
                rows.append({**base, "metric": "snr", "value": float(np.mean(list(snr.values())))})
                rows += [{**base, "metric": f"snr {note}", "value": value} for note, value in snr.items()]
                if method != "blind":
                    model = np.sum(fit.components, axis=0)[held]
                    kl = kl_divergence(m[held] ** POWER, np.maximum(model, 1e-12))
                    rows.append({**base, "metric": "kl_heldout", "value": float(kl)})
                rows.append({**base, "metric": "envelope_r", "value": _envelope_r(fit.activations, envelopes,
                                                                                 assignment)})
    return pd.DataFrame(rows, columns=["seed", "representation", "method", "metric", "value"])


def irregular_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per representation and method: the mean over seeds of SNR, held-out KL and envelope r,
    with the SNR's range over seeds (the chapter's table).

    Returns:
        Rows (representation, method) in :data:`REPRESENTATIONS` x :data:`METHODS`
        order; columns ``seeds``, ``snr``, ``snr_min``, ``snr_max``, ``kl_heldout``
        (NaN for ``blind``), ``envelope_r``.
    """
    keep = table[table["metric"].isin(["snr", "kl_heldout", "envelope_r"])]
    means = keep.pivot_table(index=["representation", "method"], columns="metric", values="value", aggfunc="mean")
    snr = table[table["metric"] == "snr"].groupby(["representation", "method"])["value"]
    out = pd.DataFrame({"seeds": snr.count(), "snr": means["snr"], "snr_min": snr.min(), "snr_max": snr.max(),
                        "kl_heldout": means.get("kl_heldout"), "envelope_r": means["envelope_r"]})
    order = [(r, m) for r in REPRESENTATIONS for m in METHODS if (r, m) in out.index]
    return out.loc[order]


def irregular_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """:func:`irregular_experiment`'s arguments for a profile (the chapter calls it).

    ``smoke`` (the book's tests) only exercises the code: one seed, the CQT alone,
    60 epochs, numbers without meaning. ``quick``: three seeds, every representation,
    the profile's ``hybrid_epochs``; ``paper``: five seeds.
    """
    profile = settings.get("profile", "quick")
    smoke = profile == "smoke"
    return {
        "seeds": tuple(range(1 if smoke else 3 if profile == "quick" else 5)),
        "representations": ("cqt",) if smoke else REPRESENTATIONS,
        "epochs": 60 if smoke else int(settings["hybrid_epochs"]),
        "hidden": int(settings["hybrid_hidden"]),
        "fraction": float(settings["hybrid_fraction"]),
        "nmf_iter": 100 if smoke else 500,
        "device": settings["device"],
    }


def irregular_verdict(
    table: pd.DataFrame, metric: str = "snr", method: str = "iN-NMF", baseline: str = "NMF-raster"
) -> pd.DataFrame:
    """Paired verdict per representation: ``method`` against ``baseline`` over seeds.

    Args:
        table: output of :func:`irregular_experiment`.
        metric: ``snr`` (higher is better) or ``kl_heldout`` (lower is better), ...
        method: the method judged.
        baseline: what it is judged against.

    Returns:
        One row per representation: ``seeds``, both methods' means, ``mean_diff``
        (method − baseline), ``wins`` (seeds where the method is better), and
        ``verdict``: "better", "worse" (in every seed) or "mixed".
    """
    higher_better = metric != "kl_heldout"
    part = table[table["metric"] == metric]
    wide = part.pivot_table(index=["representation", "seed"], columns="method", values="value", aggfunc="first")
    for name in (method, baseline):
        if name not in wide.columns:
            raise ValueError(f"No {metric!r} rows for method {name!r}; found {list(wide.columns)}.")
    rows = []
    for rep, group in wide.groupby(level="representation", sort=False):
        diff = (group[method] - group[baseline]).dropna()
        better = diff > 0 if higher_better else diff < 0
        wins, n = int(better.sum()), len(diff)
        verdict = "better" if wins == n else "worse" if wins == 0 and (diff != 0).all() else "mixed"
        rows.append({"representation": rep, "metric": metric, "seeds": n, method: float(group[method].mean()),
                     baseline: float(group[baseline].mean()), "mean_diff": float(diff.mean()), "wins": wins,
                     "verdict": f"{method} {verdict} than {baseline}" if verdict != "mixed" else "mixed"})
    return pd.DataFrame(rows)
