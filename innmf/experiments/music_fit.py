"""The methods of the music experiment: learn a dictionary per source, separate a mixture.

Chapter "Music and environmental sound". A *system* is a method on a
representation (:mod:`innmf.experiments.music_reps`). Every system models the
compressed magnitudes m^p of the points as m̂_i = Σ_k W_k(f_i)·(B Hᵀ)_{ik} and
fits the same weighted KL (each point weighted by its time-frequency area); they
differ only in how W is learnt from a source's training audio and in what B is:

* ``NMF`` on a regular representation (an STFT, the constant-Q matrix form): W
  free per frequency, H free per frame (B a gather), KL multiplicative updates;
* ``NMF-grid`` on the points of an irregular one: W free per distinct frequency,
  H on a fine time grid read at each point's time by linear interpolation: the
  non-neural twin of iN-NMF (:func:`innmf.paper.point_mu.fit_point_nmf`);
* ``iN-NMF`` on the same points: W_k(f) the paper's networks, H on the same grid
  (:class:`innmf.models.point_inr.ImplicitWPoints`);
* ``NMF-raster-<s>ms``: the constant-Q points interpolated per band onto a common
  time grid of step s (a matrix), NMF there, the model read back at the points.

Points with continuous frequencies (the sinusoidal peaks) have no distinct frequencies
to hold W: both point methods keep W on the representation's nodes ``Analysis.freq_grid``
(the bins of the zero-padded FFT the peaks were found on) and read it at a peak by
linear interpolation between its two nodes; ``NMF-grid`` has W free there, iN-NMF the
networks sampled there (in training too, so the networks cost per node, not per peak,
and the model that learns W is the one that separates with it).

Separation is the supervised protocol of the speech chapters: the sources'
dictionaries are fixed side by side and only the activations are fitted on the
mixture, by the same solver and iteration count for every system; Wiener-like masks
M_s = m̂_s / Σ_j m̂_j on the compressed magnitudes, raised back by 1/p, the mixture's
phase kept, inverted. ``oracle`` takes the masks from the true stems (the ceiling of
this family of masks); ``floor`` gives each source the mixture divided by the number
of sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from innmf.experiments.music_reps import Analysis, analyse, time_grid
from innmf.models.point_inr import ImplicitWPoints, hz_coordinate
from innmf.paper.metrics import separation_metrics_per_source
from innmf.paper.point_mu import fit_point_nmf, interpolation_matrix
from innmf.paper.separation import wiener_masks


@dataclass(frozen=True)
class System:
    """A method on a representation, e.g. ``System("iN-NMF", "cqt")``."""

    method: str
    representation: str

    @property
    def label(self) -> str:
        return f"{self.method} | {self.representation}"

    @property
    def raster_step(self) -> float | None:
        """The raster's time step (s) of an ``NMF-raster-<s>ms`` system, else None."""
        if not self.method.startswith("NMF-raster-"):
            return None
        return float(self.method.removeprefix("NMF-raster-").removesuffix("ms")) / 1000.0


@dataclass(frozen=True)
class Dictionary:
    """A source's dictionary: W (F x K) at the distinct frequencies ``freqs`` (Hz)."""

    freqs: np.ndarray
    W: np.ndarray
    history: np.ndarray


def _gather(index: np.ndarray, n: int) -> sp.csr_matrix:
    return sp.csr_matrix((np.ones(len(index)), (np.arange(len(index)), index)), shape=(len(index), n))


def _raster(an: Analysis, step: float, duration: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each band's magnitudes interpolated (held at the ends) onto one time grid: (f, t, m, weights)."""
    grid = time_grid(duration, step)
    f_out, m_out, w_out = [], [], []
    for fk in np.unique(an.f):
        band = an.f == fk
        order = np.argsort(an.t[band])
        m_out.append(np.interp(grid, an.t[band][order], an.magnitudes[band][order]))
        f_out.append(np.full(len(grid), fk))
        w_out.append(np.full(len(grid), step * float(an.bandwidth[band][0]) / 0.5))
    f, m, w = (np.concatenate(a) for a in (f_out, m_out, w_out))
    return f, np.tile(grid, len(f_out)), m, w


def _operators(system: System, an: Analysis, duration: float, settings: dict[str, Any]
               ) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix, np.ndarray, np.ndarray, sp.csr_matrix | None]:
    """(freqs, targets, B, weights, point frequencies, B at the points) of a system on an analysis."""
    p = float(settings["power"])
    step = system.raster_step
    if step is not None:
        f, t, mag, w = _raster(an, step, duration)
        grid = time_grid(duration, step)
        return f, mag**p, interpolation_matrix(t, grid, kind="nearest"), w, an.f, interpolation_matrix(an.t, grid)
    if system.method == "NMF":
        t_u, t_index = np.unique(an.t, return_inverse=True)
        return an.f, an.magnitudes**p, _gather(t_index, len(t_u)), an.weights, an.f, None
    B = interpolation_matrix(an.t, time_grid(duration, float(settings["time_step"])))
    return an.f, an.magnitudes**p, B, an.weights, an.f, None


def learn_dictionary(system: System, x: np.ndarray, settings: dict[str, Any], seed: int = 0) -> Dictionary:
    """Learn one source's dictionary from its training audio.

    Args:
        system: the method and representation.
        x: the source's training signal (its training pieces one after another).
        settings: the experiment's settings (:data:`innmf.experiments.music.PROFILES`).
        seed: seeds the factors' initialisation and the networks.

    Returns:
        The :class:`Dictionary` at the representation's distinct frequencies.
    """
    sr, K = float(settings["sr"]), int(settings["rank"])
    rep = "cqt" if system.raster_step is not None else system.representation
    an = analyse(rep, x, sr, settings["cqt"])
    f, m, B, w, _, _ = _operators(system, an, len(x) / sr, settings)
    if an.freq_grid is None:
        freqs, f_index = np.unique(f, return_inverse=True)
        A = _gather(f_index, len(freqs))
    else:
        freqs = an.freq_grid
        A = interpolation_matrix(f, freqs)
    if system.method == "iN-NMF":
        model = ImplicitWPoints(K, hidden=int(settings["hidden"]), n_freqs=int(settings["n_freqs"]), seed=seed)
        if an.freq_grid is None:
            model.fit(hz_coordinate(f, sr), B, m, w, epochs=int(settings["inr_epochs"]))
        else:
            model.fit(hz_coordinate(freqs, sr), B, m, w, epochs=int(settings["inr_epochs"]), A=A)
        return Dictionary(freqs, model.sample_W(hz_coordinate(freqs, sr)), model.history_)
    res = fit_point_nmf(m, w, A, B, K, int(settings["train_iter"]), seed=seed)
    return Dictionary(freqs, res.W, np.asarray(res.losses))


def _rows_of(dictionary: Dictionary, freqs: np.ndarray) -> np.ndarray:
    pos = np.clip(np.searchsorted(dictionary.freqs, freqs), 0, len(dictionary.freqs) - 1)
    if not np.allclose(dictionary.freqs[pos], freqs, rtol=1e-9, atol=1e-9):
        raise ValueError("The mixture's representation has frequencies the dictionary was not learnt at; "
                         "learn and separate with the same representation settings and sample rate.")
    return dictionary.W[pos]


def source_models(system: System, an: Analysis, dictionaries: Sequence[Dictionary], duration: float,
                  settings: dict[str, Any], seed: int = 0) -> list[np.ndarray]:
    """Fit the activations on a mixture's analysis with the dictionaries fixed; each source's model at its points."""
    f, m, B, w, f_points, B_points = _operators(system, an, duration, settings)
    if an.freq_grid is None:
        freqs, f_index = np.unique(f, return_inverse=True)
        W = np.hstack([_rows_of(d, freqs) for d in dictionaries])
        A = _gather(f_index, len(freqs))
    else:  # continuous frequencies: every dictionary on the same nodes, read by linear interpolation
        nodes = dictionaries[0].freqs
        if any(d.freqs.shape != nodes.shape or not np.array_equal(d.freqs, nodes) for d in dictionaries):
            raise ValueError("The sources' dictionaries lie on different frequency nodes; learn them with one system.")
        W, A = np.hstack([d.W for d in dictionaries]), interpolation_matrix(f, nodes)
    res = fit_point_nmf(m, w, A, B, W.shape[1], int(settings["test_iter"]), seed=seed, W=W, fix_W=True)
    if B_points is not None:  # a raster: read the model back at the analysis' own points
        A, B = _gather(np.searchsorted(freqs, f_points), len(freqs)), B_points
    AW, Z = A @ W, B @ res.H.T
    K = int(settings["rank"])
    return [np.sum(AW[:, s * K:(s + 1) * K] * Z[:, s * K:(s + 1) * K], axis=1) for s in range(len(dictionaries))]


def masked_estimates(an: Analysis, models: Sequence[np.ndarray], power: float) -> list[np.ndarray]:
    """Each source's signal: its Wiener-like mask on the compressed mixture, raised by 1/p, inverted."""
    compressed = an.magnitudes**power
    phase = np.exp(1j * np.angle(an.coefs))
    masks = wiener_masks([np.asarray(m)[None, :] for m in models])  # points as one row
    return [an.invert(((mask[0] * compressed) ** (1.0 / power)) * phase) for mask in masks]


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR (dB, Le Roux et al. 2019): the estimate against its projection on the reference."""
    s, e = np.asarray(reference, dtype=np.float64), np.asarray(estimate, dtype=np.float64)
    alpha = float(e @ s) / float(s @ s)
    target = alpha * s
    return float(10.0 * np.log10(float(target @ target) / max(float((e - target) @ (e - target)), 1e-300)))


def score(stems: np.ndarray, estimates: Sequence[np.ndarray], sr: float) -> dict[str, np.ndarray]:
    """SDR, SIR, SAR (BSS-eval, estimate i against stem i) and SI-SDR per source (dB)."""
    est = np.stack([np.asarray(e)[: stems.shape[1]] for e in estimates])
    out = separation_metrics_per_source(stems, est, sr=int(sr), stoi=False)
    out["si_sdr"] = np.array([si_sdr(s, e) for s, e in zip(stems, est)])
    return out
