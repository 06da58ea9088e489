"""iN-NMF of a weighted point set: implicit W_k(f), activations H on a fine time grid.

Chapter "Music and environmental sound". The points (t_i, f_i, m_i) of any
time-frequency representation, a constant-Q transform with a hop per band or
several STFTs at once, are modelled as

    m̂_i = Σ_k W_k(f_i) · (B Hᵀ)_{ik},

W_k a component network of the paper (:class:`innmf.models.inr.ComponentNetworks`,
Fourier features then sine layers, softplus output) and H a free non-negative
matrix on a fine time grid, read at each point's time through a fixed linear
interpolation operator B (L x T). This is the paper's
speech model (implicit W, free H) carried to points that share no time grid. The
objective is the weighted mean generalised KL of :func:`innmf.paper.point_mu.weighted_kl`,
each point weighted by the time-frequency area it stands for, and training is
full-batch Rprop (the paper's optimiser) on the networks and on H's logits.

Its non-neural twin fits the same objective with W free at each distinct frequency
(:func:`innmf.paper.point_mu.fit_point_nmf`); the experiment
(:mod:`innmf.experiments.music`) fits every method's activations on test mixtures
with that same solver, W fixed, so the methods differ only in how W was learned.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as nnf

from innmf.models.inr import ComponentNetworks
from innmf.models.training import train


SPARSE_CELLS_RATIO = 16
"""W H is formed only at the touched (frequency, time) cells when the F x T grid has more than this many
cells per (point, cell) entry: the dense product costs F·T·K, the sparse one about that many entries
times K with scattered reads. Constant-Q and STFT clouds touch a large part of their grid (ratio about
1 and 6 to 8 at 8 kHz: dense, as they always were); sinusoidal peaks on the zero-padded FFT's nodes
about 1/45 of it (a voice's 48 s of training audio: 0.3 s an epoch against 1.4 s dense)."""


class ImplicitWPoints:
    """iN-NMF on points: K component networks W_k(f), H (K x T) free on a time grid.

    Args:
        rank: K, components of the dictionary.
        hidden: width h of each network (the paper: 64 for speech).
        n_freqs: J, Fourier-feature frequencies of the encoding (the paper: 10).
        seed: seeds the networks, their encoding and H's initialisation.
        dtype: parameter dtype.
    """

    def __init__(self, rank: int, hidden: int = 64, n_freqs: int = 10, seed: int = 0,
                 dtype: torch.dtype = torch.float32):
        if int(rank) != rank or rank < 1:
            raise ValueError(f"rank K must be a positive integer, got {rank!r}.")
        self.rank, self.seed, self.dtype = int(rank), int(seed), dtype
        self.net = ComponentNetworks(self.rank, hidden=hidden, n_freqs=n_freqs, seed=self.seed, dtype=dtype)
        self.H_: np.ndarray | None = None
        self.history_: np.ndarray | None = None
        self._logits: torch.nn.Parameter | None = None

    def fit(self, v: np.ndarray, B: sp.spmatrix, m: np.ndarray, weights: np.ndarray, epochs: int = 1000,
            lr: float = 1e-3, progress: bool = False, A: sp.spmatrix | None = None) -> "ImplicitWPoints":
        """Fit the networks and H on the points.

        Args:
            v: each point's frequency coordinate (:func:`hz_coordinate`, in [-0.5, 0.5]);
                with ``A``, the coordinates of the nodes A reads from.
            B: (L, T) interpolation operator from H's time grid to each point's time.
            m: the points' targets (the paper fits magnitudes^0.5), non-negative.
            weights: each point's weight (its time-frequency area), non-negative.
            epochs: full-batch Rprop steps (the paper: 1000).
            lr: Rprop's initial step (the paper: 1e-3).
            progress: a tqdm bar.
            A: (L, F) non-negative operator from W at the nodes ``v`` to the points, e.g.
                linear interpolation for points whose frequencies are continuous (sinusoidal
                peaks, chapter "Music and environmental sound": the networks then cost per node,
                not per point); None: each point at its own coordinate.

        Returns:
            The model; ``H_`` holds H and ``history_`` the weighted KL before each step.
        """
        loss_fn, params = self._objective(v, B, m, weights, A)
        self.history_ = train(loss_fn, params, epochs, "rprop", lr, progress, "iN-NMF (points)")
        self.H_ = nnf.softplus(self._logits).detach().double().numpy()
        return self

    def _objective(self, v: np.ndarray, B: sp.spmatrix, m: np.ndarray, weights: np.ndarray,
                   A: sp.spmatrix | None = None) -> tuple[Callable[[], torch.Tensor], list[torch.nn.Parameter]]:
        """Validate the points, initialise H; return (the objective as a function, the parameters)."""
        v, m, w = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (v, m, weights))
        if A is not None:
            A = sp.csr_matrix(A, dtype=np.float64)
            if A.shape != (len(m), len(v)) or np.any(A.data < 0) or np.any(np.diff(v) <= 0):
                raise ValueError(f"A must be a non-negative (points x nodes) = ({len(m)}, {len(v)}) operator and the "
                                 f"nodes strictly increasing; got A of shape {A.shape}.")
        if not ((len(v) if A is None else len(m)) == len(m) == len(w) == B.shape[0]):
            raise ValueError(f"v, m, weights and B's rows must match; got {len(v)}, {len(m)}, {len(w)}, {B.shape[0]}.")
        if len(m) == 0:
            raise ValueError("No points to fit.")
        if not (np.all(np.isfinite(m)) and np.all(m >= 0) and np.all(np.isfinite(w)) and np.all(w >= 0)):
            raise ValueError("Targets and weights must be finite and non-negative (take magnitudes first).")
        if not w.sum() > 0:
            raise ValueError("The weights sum to zero.")
        check_coordinates(v)
        B = sp.csr_matrix(B, dtype=np.float64)
        T = B.shape[1]
        # The objective depends on W and H only through W H at the (frequency, grid time)
        # cells the points touch: C maps the cells (row-major F x T) to the points.
        if A is None:
            coords, f_index = np.unique(v, return_inverse=True)
            rows = np.repeat(np.arange(len(v)), np.diff(B.indptr))
            cols, data = f_index[rows] * T + B.indices, B.data
        else:
            coords, (rows, cols, data) = v, _face_split(A, B)
        # Points with continuous frequencies (sinusoidal peaks) touch a small part of the F x T
        # grid: W H then only at the cells touched, else (constant-Q, STFT clouds) on the whole grid.
        sparse = len(coords) * T > SPARSE_CELLS_RATIO * len(cols)
        if sparse:
            cells, cols = np.unique(cols, return_inverse=True)
            cell_f, cell_t = cells // T, cells % T
        C = sp.csr_matrix((data, (rows, cols.reshape(-1))),
                          shape=(len(m), len(cells) if sparse else len(coords) * T))
        Ct = C.T.tocsr()
        gen = torch.Generator().manual_seed(self.seed + 2)
        init = torch.rand(self.rank, B.shape[1], generator=gen, dtype=torch.float64)
        logits = torch.nn.Parameter(init.to(self.dtype))
        self._logits = logits
        xt = torch.as_tensor(coords, dtype=self.dtype)
        wn = w / w.sum()
        const = float(np.sum(wn * np.where(m > 0, m * np.log(np.where(m > 0, m, 1.0)) - m, 0.0)))

        def loss_fn() -> torch.Tensor:
            # The networks see the distinct frequencies only; the points enter through C, and
            # the exact gradients reach the parameters through a surrogate whose derivative
            # is the objective's (its value: the objective itself).
            W = self.net(xt)  # (F, K)
            H = nnf.softplus(logits)  # (K, T)
            Wn, Hn = W.detach().double().numpy(), H.detach().double().numpy()
            wh = np.einsum("ck,ck->c", Wn[cell_f], Hn.T[cell_t]) if sparse else (Wn @ Hn).ravel()
            m_hat = np.maximum(C @ wh, 1e-12)
            value = float(np.sum(wn * (m_hat - m * np.log(m_hat)))) + const
            grad = Ct @ (wn * (1.0 - m / m_hat))
            if sparse:
                grad_cells = sp.csr_matrix((grad, (cell_f, cell_t)), shape=(len(coords), T))
                grad_W, grad_H = grad_cells @ Hn.T, (grad_cells.T @ Wn).T
            else:
                grad_cells = grad.reshape(len(coords), T)
                grad_W, grad_H = grad_cells @ Hn.T, Wn.T @ grad_cells
            surrogate = ((W * torch.as_tensor(grad_W, dtype=W.dtype)).sum()
                         + (H * torch.as_tensor(grad_H, dtype=H.dtype)).sum())
            return surrogate - surrogate.detach() + value

        return loss_fn, [*self.net.parameters(), logits]

    def sample_W(self, v: np.ndarray) -> np.ndarray:
        """The dictionary sampled at frequency coordinates ``v``: (len(v), K)."""
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        check_coordinates(v)
        with torch.no_grad():
            return self.net(torch.as_tensor(v, dtype=self.dtype)).double().numpy()


def _face_split(A: sp.csr_matrix, B: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point, cell f·T + t, A_if·B_it) for every pair of stored entries of A and B in one row."""
    T = B.shape[1]
    row_a = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    reps = np.diff(B.indptr)[row_a]  # every A entry meets its row's B entries
    a = np.repeat(np.arange(A.nnz), reps)
    b = B.indptr[row_a[a]] + np.arange(a.size) - np.repeat(np.cumsum(reps) - reps, reps)
    return row_a[a], A.indices[a].astype(np.int64) * T + B.indices[b], A.data[a] * B.data[b]


def hz_coordinate(f_hz: np.ndarray, sr: float) -> np.ndarray:
    """The networks' frequency coordinate of a frequency in Hz: f/(sr/2) − 0.5, in [-0.5, 0.5].

    The range of :class:`innmf.models.implicit.ImplicitWNMF`'s STFT coordinates
    (:func:`innmf.tf.stft.frequency_coordinate`), linear in Hz so that points of any
    representation (constant-Q bands, several STFTs) share one axis.
    """
    return np.asarray(f_hz, dtype=np.float64) / (float(sr) / 2.0) - 0.5


def check_coordinates(v: np.ndarray) -> None:
    """Refuse coordinates outside [-0.5, 0.5] (Hz or seconds passed by mistake)."""
    if v.size and (not np.all(np.isfinite(v)) or v.min() < -0.5 - 1e-9 or v.max() > 0.5 + 1e-9):
        raise ValueError(f"Frequency coordinates must lie in [-0.5, 0.5] (got {np.nanmin(v):.4g} to {np.nanmax(v):.4g}); "
                         "convert Hz with innmf.models.point_inr.hz_coordinate(f_hz, sr).")
