"""Score-informed NMF of one mixture: components per (voice, pitch), activations zero outside the notes.

Chapter "Music and environmental sound"; the unsupervised task of the music experiment
(``--set task=score-informed``, :mod:`innmf.experiments.music_score_run`). The classic
score-informed NMF (Ewert & Müller 2012) needs no training piece: each test mixture is
factorised alone, with one component k per (voice, distinct MIDI pitch that voice plays),

* W_k initialised as a harmonic comb at the pitch's fundamental (:func:`harmonic_comb`);
* H_k initialised to a positive constant inside the note spans of that voice at that pitch,
  widened by ``tolerance`` seconds on either side, and to exactly zero elsewhere; the
  multiplicative updates keep a zero at zero, so the score constrains the activations;
* every point i of the representation reads H_k at its own time, multiplied by the score mask
  m_k(t_i) (the indicator of the tolerant spans, a function of continuous time), so on points
  whose times lie on no grid the score acts at each point's own time:

      m̂_i = Σ_k (A W)_ik · m_k(t_i) · (B Hᵀ)_ik.

Each voice's model is the sum of its components' models, inverted through the Wiener-like masks
of the supervised systems (:func:`innmf.experiments.music_fit.masked_estimates`). Methods, all
fitting the same weighted KL from the same comb and mask:

* ``NMF`` on a regular representation (an STFT) and ``NMF-grid`` on irregular points (H on a
  fine time grid read by linear interpolation): W free, KL multiplicative updates (``score_iter``);
* ``iN-NMF`` on irregular points: W_k(f) the paper's networks, first fitted to the comb
  (``comb_epochs`` Rprop steps on the KL to it), then networks and H = softplus(logits) · mask on
  the grid trained together by Rprop (``inr_epochs``), the paper's optimiser.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as nnf

from innmf.data.stems import Note
from innmf.experiments.music_fit import System, _gather, _operators
from innmf.experiments.music_reps import Analysis, time_grid
from innmf.models.inr import ComponentNetworks
from innmf.models.point_inr import hz_coordinate
from innmf.models.training import train
from innmf.paper.mu import EPSILON


def midi_hz(key: int) -> float:
    """Equal-tempered frequency (Hz) of a MIDI key, A4 = 69 = 440 Hz."""
    return 440.0 * 2.0 ** ((int(key) - 69) / 12.0)


def components(notes: dict[str, Sequence[Note]], sources: Sequence[str]) -> list[tuple[str, int]]:
    """One component per (source, distinct MIDI key it plays), sources in ``sources`` order, keys ascending."""
    return [(s, key) for s in sources for key in sorted({n[1] for n in notes.get(s, ())})]


def score_mask(times: np.ndarray, notes: dict[str, Sequence[Note]], comps: Sequence[tuple[str, int]],
               tolerance: float) -> np.ndarray:
    """m_k(t): 1 where a note of component k's voice and key sounds, widened by ``tolerance`` s, else 0.

    Args:
        times: (n,) times (s) to evaluate the masks at (the points' times, or H's grid).
        notes: source -> its notes.
        comps: the components (:func:`components`).
        tolerance: seconds added before each onset and after each note-off.

    Returns:
        (n, K) array of 0.0 and 1.0.
    """
    t = np.asarray(times, dtype=np.float64)
    M = np.zeros((t.size, len(comps)))
    for k, (src, key) in enumerate(comps):
        for _, nkey, on, off, _ in notes[src]:
            if nkey == key:
                M[(t >= on - tolerance) & (t <= off + tolerance), k] = 1.0
    return M


def harmonic_comb(freqs: np.ndarray, widths: np.ndarray, keys: Sequence[int], settings: dict[str, Any]) -> np.ndarray:
    """W's start: per key, triangles at its first ``harmonics`` partials (heights 1/h) on a floor.

    A partial h of fundamental f0 covers |f − h·f0| < max(h·f0·(2^(comb_cents/1200) − 1), width(f)):
    at least the detuning allowed by ``comb_cents``, and never narrower than the representation's
    own frequency extent there (an STFT bin, a constant-Q band), so a partial is never lost
    between two points. ``comb_floor`` everywhere else lets a component take what is not harmonic.

    Args:
        freqs: (F,) the distinct frequencies (Hz) W lives at.
        widths: (F,) each frequency's band extent (Hz).
        keys: MIDI key of each component.
        settings: ``harmonics``, ``comb_cents``, ``comb_floor``.

    Returns:
        (F, K) non-negative, each column's peak 1 + floor.
    """
    f, width = np.asarray(freqs, dtype=np.float64)[:, None], np.asarray(widths, dtype=np.float64)[:, None]
    W = np.zeros((f.shape[0], len(keys)))
    detune = 2.0 ** (float(settings["comb_cents"]) / 1200.0) - 1.0
    for k, key in enumerate(keys):
        h = np.arange(1, int(settings["harmonics"]) + 1)[None, :]
        centre = h * midi_hz(key)
        half = np.maximum(centre * detune, width)
        W[:, k] = np.max(np.maximum(0.0, 1.0 - np.abs(f - centre) / half) / h, axis=1)
    return W + float(settings["comb_floor"])


def fit_masked_mu(m: np.ndarray, w: np.ndarray, A: sp.csr_matrix, B: sp.csr_matrix, M: np.ndarray,
                  W: np.ndarray, H: np.ndarray, n_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted KL multiplicative updates of m̂ = Σ_k (AW)_k · M_k · (BHᵀ)_k, W then H, ``n_iter`` times.

    The majorisation of :mod:`innmf.paper.point_mu` with the mask folded into B per component:
    W ← W ⊙ Aᵀ(r ⊙ Z) / Aᵀ(w ⊙ Z) with Z = M ⊙ BHᵀ and r = w m / m̂, and H ← H ⊙ Bᵀ(r ⊙ M ⊙ AW) /
    Bᵀ(w ⊙ M ⊙ AW); a zero of W or H stays exactly zero.

    Args:
        m: (L,) targets. w: (L,) weights. A: (L, F), B: (L, T) operators. M: (L, K) point masks.
        W: (F, K), H: (K, T) starting factors (not modified).
        n_iter: iterations.

    Returns:
        ``(W, H)``.
    """
    w = w / w.mean()  # as fit_point_nmf: the floors act on classic NMF's scale
    At, Bt = A.T.tocsr(), B.T.tocsr()
    W, H = W.copy(), H.copy()
    for _ in range(int(n_iter)):
        Z = M * (B @ H.T)
        ratio = w * m / np.maximum(np.einsum("ik,ik->i", A @ W, Z), EPSILON)
        W = W * (At @ (ratio[:, None] * Z)) / np.maximum(At @ (w[:, None] * Z), EPSILON)
        AW = M * (A @ W)
        ratio = w * m / np.maximum(np.einsum("ik,ik->i", AW, B @ H.T), EPSILON)
        H = H * ((Bt @ (ratio[:, None] * AW)) / np.maximum(Bt @ (w[:, None] * AW), EPSILON)).T
    return W, H


def _sparse_torch(X: sp.csr_matrix) -> torch.Tensor:
    coo = X.tocoo()
    index = torch.as_tensor(np.vstack([coo.row, coo.col]), dtype=torch.int64)
    return torch.sparse_coo_tensor(index, torch.as_tensor(coo.data, dtype=torch.float32), X.shape,
                                   check_invariants=False).coalesce()


def fit_masked_inr(m: np.ndarray, w: np.ndarray, A: sp.csr_matrix, B: sp.csr_matrix, M: np.ndarray,
                   M_grid: np.ndarray, coords: np.ndarray, comb: np.ndarray, H0: float, settings: dict[str, Any],
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """iN-NMF of the same model: W_k(f) networks started on the comb, H = softplus(logits) ⊙ grid mask.

    Args:
        m, w, A, B, M: as :func:`fit_masked_mu` (A reads W at the distinct frequencies ``coords``).
        M_grid: (K, T) the score mask at H's grid times: H is exactly zero where it is 0.
        coords: (F,) the networks' frequency coordinates (:func:`innmf.models.point_inr.hz_coordinate`).
        comb: (F, K) the comb the networks are first fitted to.
        H0: H's starting value inside the spans.
        settings: ``hidden``, ``n_freqs``, ``comb_epochs``, ``inr_epochs``.
        seed: seeds the networks.

    Returns:
        ``(W at coords (F, K), H (K, T), the objective's history)``.
    """
    K = comb.shape[1]
    net = ComponentNetworks(K, hidden=int(settings["hidden"]), n_freqs=int(settings["n_freqs"]), seed=seed)
    xt, target = torch.as_tensor(coords, dtype=torch.float32), torch.as_tensor(comb, dtype=torch.float32)

    def comb_loss() -> torch.Tensor:  # generalised KL to the comb: the networks start harmonic, as NMF's W does
        out = net(xt).clamp_min(1e-12)
        return (out - target * torch.log(out)).mean()

    train(comb_loss, list(net.parameters()), int(settings["comb_epochs"]), "rprop", 1e-3)
    A_t, B_t = _sparse_torch(A), _sparse_torch(B)
    M_t, mask_t = torch.as_tensor(M, dtype=torch.float32), torch.as_tensor(M_grid, dtype=torch.float32)
    m_t = torch.as_tensor(m, dtype=torch.float32)
    wn = torch.as_tensor(w / w.sum(), dtype=torch.float32)
    start = float(np.log(np.expm1(max(H0, 1e-6))))  # softplus(start) = H0
    logits = torch.nn.Parameter(torch.full(M_grid.shape, start, dtype=torch.float32))

    def loss() -> torch.Tensor:
        H = nnf.softplus(logits) * mask_t  # exactly zero outside the tolerant spans
        m_hat = (torch.sparse.mm(A_t, net(xt)) * M_t * torch.sparse.mm(B_t, H.T)).sum(1).clamp_min(1e-12)
        return (wn * (m_hat - m_t * torch.log(m_hat))).sum()

    history = train(loss, [*net.parameters(), logits], int(settings["inr_epochs"]), "rprop", 1e-3)
    with torch.no_grad():
        W, H = net(xt).double().numpy(), (nnf.softplus(logits) * mask_t).double().numpy()
    return W, H, history


def score_models(system: System, an: Analysis, notes: dict[str, Sequence[Note]], sources: Sequence[str],
                 duration: float, settings: dict[str, Any], seed: int = 0) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Factorise one mixture's analysis under its score; each source's model at the points.

    Args:
        system: ``NMF`` on a regular representation, ``NMF-grid`` or ``iN-NMF`` on points.
        an: the mixture's :class:`Analysis` (continuous-frequency ones are not supported).
        notes: source -> its notes (:func:`innmf.data.stems.read_notes`).
        sources: the sources, in the order of the returned models.
        duration: the mixture's length (s).
        settings: the task's settings (:data:`innmf.experiments.music_score_run.SCORE`).
        seed: seeds the networks.

    Returns:
        ``(models, fit)``: one (L,) model per source (zeros for a source without notes), and the fit's
        ``components``, ``W``, ``H``, ``grid`` (H's times) and ``mask`` (the score mask on the grid, K x T).
    """
    if system.raster_step is not None or an.freq_grid is not None:
        raise ValueError(f"The score-informed task has no {system.label}: use NMF on a regular representation, "
                         "NMF-grid or iN-NMF on cqt or multires.")
    notes = {s: [n for n in notes.get(s, ()) if n[2] < duration] for s in sources}  # an excerpt: its notes only
    comps = components(notes, sources)
    if not comps:
        raise ValueError("The score has no note in any source; the score-informed task needs notes.")
    f, m, B, w, _, _ = _operators(system, an, duration, settings)
    freqs, f_index = np.unique(f, return_inverse=True)
    A = _gather(f_index, len(freqs))
    widths = np.zeros(len(freqs))
    np.maximum.at(widths, f_index, an.bandwidth)
    grid = np.unique(an.t) if system.method == "NMF" else time_grid(duration, float(settings["time_step"]))
    tol = float(settings["tolerance"])
    M, M_grid = score_mask(an.t, notes, comps, tol), score_mask(grid, notes, comps, tol).T
    comb = harmonic_comb(freqs, widths, [key for _, key in comps], settings)
    # H's start: one value for every active entry, so the starting model's weighted mean is the data's
    start = np.einsum("ik,ik->i", A @ comb, M * (B @ M_grid.T))
    H0 = float(np.sum(w * m) / max(np.sum(w * start), EPSILON))
    if system.method == "iN-NMF":
        W, H, history = fit_masked_inr(m, w, A, B, M, M_grid, hz_coordinate(freqs, float(settings["sr"])), comb,
                                       H0, settings, seed=seed)
    else:
        W, H = fit_masked_mu(m, w, A, B, M, comb, H0 * M_grid, int(settings["score_iter"]))
        history = np.array([])
    per_comp = (A @ W) * M * (B @ H.T)
    models = [per_comp[:, [k for k, (s, _) in enumerate(comps) if s == src]].sum(axis=1) for src in sources]
    return models, {"components": comps, "W": W, "H": H, "grid": grid, "mask": M_grid, "history": history}
