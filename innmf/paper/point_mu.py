"""Weighted KL-NMF of a point set through fixed linear sampling operators, by multiplicative updates.

The non-neural twin of iN-NMF (functional NMF, cf. Hautecoeur & Glineur 2020). Points
(t_i, f_i, m_i), i = 1..L, with weights w_i >= 0 (the time-frequency area each stands
for) are modelled through W on a frequency grid (F x K) and H on a time grid (K x T),
carried to the points by fixed non-negative operators A (L x F) and B (L x T):

    m_hat_i = sum_k (A W)_ik (B H^T)_ik,
    D = sum_i w_i (m_i log(m_i / m_hat_i) - m_i + m_hat_i) / sum_i w_i    (0 log 0 = 0).

With b = B H^T, m_hat_i = sum_{f,k} A_if W_fk b_ik is a non-negative sum, so Jensen's
inequality on -log with lambda_ifk = A_if W~_fk b_ik / m~_i (current W~, its model m~)
gives the majoriser G(W) = sum_i w_i [-m_i sum_fk lambda_ifk log(A_if W_fk b_ik / lambda_ifk)
+ sum_fk A_if W_fk b_ik] + const, tight at W~ and separable in W_fk. Setting
dG/dW_fk = -sum_i w_i m_i lambda_ifk / W_fk + sum_i w_i A_if b_ik to zero gives

    W <- W * A^T((w m / m_hat)[:, None] * B H^T) / A^T(w[:, None] * B H^T),

and symmetrically H^T <- H^T * B^T((w m / m_hat)[:, None] * A W) / B^T(w[:, None] * A W),
each never increasing D. Since dD/dW (unnormalised) = denominator - numerator, the step is
W_new - W = -(W / denominator) * gradient. On a full grid with 0/1 gather operators and
unit weights these are Lee & Seung's KL updates, and the safeguards are those of
:mod:`innmf.paper.mu` (model and denominators floored at EPSILON; H's entries at or below
ZERO_BELOW set to zero, W's not, as there for beta = 1), so both give the same numbers;
a node that no point touches (zero denominator) is so set to zero, as D does not depend on it.
The weights enter the updates divided by their mean, which leaves the rule unchanged
except where a floor acts, and so keeps the floors on classic NMF's scale whatever
unit the areas are in.

One method for a separation experiment's factorisations: a plain grid, a raster, the
grid-continuous model (linear interpolation), and a given, fixed W (A gathers the
distinct frequencies, ``fix_W=True``). Speed: D depends on W and H only through W H at
the grid cells (f, t) the operators touch (S_ic = A_if B_it), so each update is a few
(sparse F x T) @ (dense) csr products, sparse matrix-vector products with S, and W H on
those cells (one BLAS product when they fill a fair part of the grid): O(n_cells K + nnz(S))
per iteration, n_cells <= min(F T, nnz(S)), and no L x K array is ever formed.
Tested in ``tests/test_paper_point_mu.py``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import kl_div

from innmf.paper.mu import EPSILON, ZERO_BELOW


@dataclass
class PointNMFResult:
    """Output of :func:`fit_point_nmf`.

    Attributes:
        W: dictionary on the frequency grid, shape (F, K).
        H: activations on the time grid, shape (K, T).
        losses: weighted mean KL D after each recorded iteration.
        loss_iterations: the iterations ``losses`` belong to (0 = the initialisation).
        n_iter: number of iterations run.
    """

    W: np.ndarray
    H: np.ndarray
    losses: np.ndarray
    loss_iterations: np.ndarray
    n_iter: int


def interpolation_matrix(x: np.ndarray, grid: np.ndarray, kind: str = "linear") -> sp.csr_matrix:
    """The operator taking values on ``grid`` to the positions ``x`` (rows sum to 1).

    Args:
        x: positions (any shape, flattened), finite.
        grid: nodes, strictly increasing (at least 2 for ``"linear"``).
        kind: ``"linear"``: weights on the two neighbouring nodes, constant (clamped)
            outside the grid, as ``numpy.interp``; ``"nearest"``: a 1 at the nearest
            node (ties to the lower one). Positions on nodes give a 0/1 gather matrix.

    Returns:
        csr matrix of shape (len(x), len(grid)), float64.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    grid = np.asarray(grid, dtype=np.float64)
    if kind not in ("linear", "nearest"):
        raise ValueError(f"Unknown kind {kind!r}; use 'linear' or 'nearest'.")
    if grid.ndim != 1 or grid.size < (2 if kind == "linear" else 1):
        raise ValueError(f"grid must be 1-D with at least {2 if kind == 'linear' else 1} nodes for {kind!r}, "
                         f"got shape {grid.shape}.")
    if not np.all(np.isfinite(grid)) or np.any(np.diff(grid) <= 0):
        raise ValueError("grid must be finite and strictly increasing; sort it and drop repeated nodes.")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or infinite positions.")
    rows = np.arange(x.size)
    if kind == "nearest":
        j = np.zeros(x.size, dtype=np.intp)
        if grid.size > 1:
            j = np.clip(np.searchsorted(grid, x), 1, grid.size - 1)
            j = np.where(x - grid[j - 1] <= grid[j] - x, j - 1, j)  # ties to the lower node, as an argmin
        return sp.csr_matrix((np.ones(x.size), (rows, j)), shape=(x.size, grid.size))
    j = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, grid.size - 2)
    t = np.clip((x - grid[j]) / (grid[j + 1] - grid[j]), 0.0, 1.0)
    A = sp.csr_matrix((np.concatenate([1.0 - t, t]), (np.tile(rows, 2), np.concatenate([j, j + 1]))),
                      shape=(x.size, grid.size))
    A.eliminate_zeros()  # positions on nodes: exactly one stored 1 per row
    return A


def _vector(v, name: str, L: int | None = None) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 1 or (L is not None and v.size != L):
        want = f"({L},)" if L is not None else "1-D"
        raise ValueError(f"{name} must have shape {want}, one value per point; got shape {v.shape}.")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    if np.any(v < 0):
        raise ValueError(f"{name} has negative entries; it must be non-negative.")
    return v


def _weights(w, L: int) -> np.ndarray:
    w = _vector(w, "weights", L)
    if not w.sum() > 0:
        raise ValueError("weights sum to zero; give at least one point a positive weight.")
    return w


def weighted_kl(m: np.ndarray, m_hat: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean generalised KL divergence D(m || m_hat) over points (0 log 0 = 0).

    Args:
        m: data, one non-negative value per point.
        m_hat: model, same shape; a zero where m > 0 gives ``inf``.
        weights: w_i >= 0 with a positive sum (zero-weight points are ignored).

    Returns:
        sum_i w_i (m_i log(m_i / m_hat_i) - m_i + m_hat_i) / sum_i w_i.
    """
    m = _vector(m, "m")
    m_hat, w = _vector(m_hat, "m_hat", m.size), _weights(weights, m.size)
    terms = kl_div(m, m_hat)  # the per-point terms of innmf.paper.divergences.kl_divergence, bit for bit
    used = w > 0  # a zero-weight point adds nothing, even an infinite term
    return float(np.sum(w[used] * terms[used]) / w.sum())


def _operator(X, name: str, L: int) -> sp.csr_matrix:
    X = sp.csr_matrix(X, dtype=np.float64, copy=True)
    if X.shape[0] != L:
        raise ValueError(f"{name} must have one row per point ({L}), got shape {X.shape}.")
    if not np.all(np.isfinite(X.data)) or np.any(X.data < 0):
        raise ValueError(f"{name} must be finite and non-negative (the updates are only monotone so).")
    X.sum_duplicates()
    X.eliminate_zeros()
    return X


def _factor(X, name: str, shape: tuple[int, int]) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {X.shape}.")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    if np.any(X < 0):
        raise ValueError(f"{name} has negative entries; NMF factors must be non-negative.")
    return X


def _checked(m, w, A, B, W, H):
    m = _vector(m, "m")
    A, B = _operator(A, "A", m.size), _operator(B, "B", m.size)
    if np.ndim(W) != 2:
        raise ValueError(f"W must be a 2-D matrix (F x K), got shape {np.shape(W)}.")
    K = np.shape(W)[1]
    W, H = _factor(W, "W", (A.shape[1], K)), _factor(H, "H", (K, B.shape[1]))
    return m, _weights(w, m.size), A, B, W, H


def point_model(A, W: np.ndarray, B, H: np.ndarray) -> np.ndarray:
    """m_hat_i = sum_k (A W)_ik (B H^T)_ik, unfloored (the direct definition).

    Args:
        A: frequency operator (L x F), sparse or dense. W: dictionary (F x K).
        B: time operator (L x T), sparse or dense. H: activations (K x T).

    Returns:
        The model at the L points.
    """
    L = np.shape(A)[0]
    _, _, A, B, W, H = _checked(np.zeros(L), np.ones(L), A, B, W, H)
    return np.einsum("ik,ik->i", A @ W, B @ H.T)


_CHUNK = 8192
"""Cells per block when W H is sampled cell by cell (temporaries of a few MB)."""


class _Cells:
    """The points seen through the grid cells (f, t) that their operators touch.

    m_hat = S wh, with S_ic = A_if B_it (L x n_cells) and wh = (W H) at the cells, so
    A^T diag(r) B = the F x T sparse matrix with data S^T r on those cells: both MU
    numerators and denominators become (sparse F x T) @ (dense) products, and no
    L x K array is ever formed. Built once per fit, O(nnz(S) log nnz(S)).
    """

    def __init__(self, A: sp.csr_matrix, B: sp.csr_matrix, w: np.ndarray):
        L, (F, T) = A.shape[0], (A.shape[1], B.shape[1])
        nA, nB = np.diff(A.indptr), np.diff(B.indptr)
        row_of_a = np.repeat(np.arange(L), nA)
        reps = nB[row_of_a]  # the face-splitting product: every A entry meets its row's B entries
        a = np.repeat(np.arange(A.nnz), reps)
        b = B.indptr[row_of_a[a]] + np.arange(a.size) - np.repeat(np.cumsum(reps) - reps, reps)
        cells, inverse = np.unique(A.indices[a].astype(np.int64) * T + B.indices[b], return_inverse=True)
        self.S = sp.csr_matrix((A.data[a] * B.data[b], (row_of_a[a], inverse.reshape(-1))), shape=(L, cells.size))
        self.St = self.S.T.tocsr()
        self.cells, self.f, self.t = cells, cells // T, cells % T  # sorted by (f, t): csr order
        # W H on the full grid by one BLAS product when the cells fill a fair part of it
        self.dense = F * T <= max(8 * cells.size, 1 << 16) and F * T <= 1 << 24
        self.order = np.lexsort((self.f, self.t))  # csr order of the transposed (T x F) pattern
        Cw = self.St @ w  # A^T diag(w) B on the cells: both denominators
        self.Cw, self.Cw_T = self._grid(Cw, F, T), self._grid(Cw[self.order], F, T, transposed=True)
        self.Cr, self.Cr_T = self._grid(Cw, F, T), self._grid(Cw[self.order], F, T, transposed=True)

    def _grid(self, data: np.ndarray, F: int, T: int, transposed: bool = False) -> sp.csr_matrix:
        rows, cols, n = (self.t[self.order], self.f[self.order], T) if transposed else (self.f, self.t, F)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
        return sp.csr_matrix((data.copy(), cols, indptr), shape=(T, F) if transposed else (F, T))

    def model(self, W: np.ndarray, H: np.ndarray) -> np.ndarray:
        """m_hat at the points (unfloored)."""
        if self.dense:
            wh = (W @ H).reshape(-1)[self.cells]
        else:
            Ht, wh = np.ascontiguousarray(H.T), np.empty(self.cells.size)
            for s in range(0, wh.size, _CHUNK):
                wh[s:s + _CHUNK] = np.einsum("ck,ck->c", W[self.f[s:s + _CHUNK]], Ht[self.t[s:s + _CHUNK]])
        return self.S @ wh

    def step_W(self, m: np.ndarray, w: np.ndarray, m_hat: np.ndarray, W: np.ndarray, H: np.ndarray) -> np.ndarray:
        self.Cr.data[:] = self.St @ (w * m / np.maximum(m_hat, EPSILON))
        return W * ((self.Cr @ H.T) / np.maximum(self.Cw @ H.T, EPSILON))

    def step_H(self, m: np.ndarray, w: np.ndarray, m_hat: np.ndarray, W: np.ndarray, H: np.ndarray) -> np.ndarray:
        self.Cr_T.data[:] = (self.St @ (w * m / np.maximum(m_hat, EPSILON)))[self.order]
        H = H * ((self.Cr_T @ W) / np.maximum(self.Cw_T @ W, EPSILON)).T
        return np.where(H <= ZERO_BELOW, 0.0, H)


def update_W(m, w, A, B, W: np.ndarray, H: np.ndarray) -> np.ndarray:
    """One MU step on the dictionary W (a new array; inputs unchanged).

    Args:
        m: data at the L points. w: their weights (>= 0, positive sum).
        A: frequency operator (L x F). B: time operator (L x T).
        W: dictionary (F x K). H: activations (K x T).

    Returns:
        W * A^T((w m / m_hat)[:, None] * B H^T) / A^T(w[:, None] * B H^T).
    """
    m, w, A, B, W, H = _checked(m, w, A, B, W, H)
    cells = _Cells(A, B, w / w.mean())
    return cells.step_W(m, w / w.mean(), cells.model(W, H), W, H)


def update_H(m, w, A, B, W: np.ndarray, H: np.ndarray) -> np.ndarray:
    """One MU step on the activations H (a new array; inputs unchanged).

    Args:
        m: data at the L points. w: their weights (>= 0, positive sum).
        A: frequency operator (L x F). B: time operator (L x T).
        W: dictionary (F x K). H: activations (K x T).

    Returns:
        H * [B^T((w m / m_hat)[:, None] * A W) / B^T(w[:, None] * A W)]^T, entries at
        or below ZERO_BELOW set to zero.
    """
    m, w, A, B, W, H = _checked(m, w, A, B, W, H)
    cells = _Cells(A, B, w / w.mean())
    return cells.step_H(m, w / w.mean(), cells.model(W, H), W, H)


def _int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def fit_point_nmf(m, weights, A, B, rank: int, n_iter: int, seed: int = 0, W: np.ndarray | None = None,
                  H: np.ndarray | None = None, fix_W: bool = False, fix_H: bool = False,
                  loss_every: int = 10) -> PointNMFResult:
    """Fit W (F x K) and H (K x T) to the weighted points by alternating MU steps, W then H.

    Args:
        m: data at the L points (non-negative). weights: w_i >= 0, positive sum.
        A: frequency operator (L x F), B: time operator (L x T); non-negative, e.g. from
            :func:`interpolation_matrix`.
        rank: K in the paper.
        n_iter: number of iterations (0 returns the initialisation).
        seed: seeds ``numpy.random.default_rng`` for the factors not given:
            ``sqrt(mean(m) / K) |N(0, 1)|`` (scikit-learn's ``"random"``, the mean weighted by
            w), W drawn first, then H (W's draws are made even when W is given, so H does
            not depend on that).
        W, H: initial factors (copied), or None.
        fix_W, fix_H: keep that factor as given (it must be given).
        loss_every: record D every this many iterations (and at 0 and at the end).

    Returns:
        :class:`PointNMFResult`.
    """
    K, n_iter, loss_every = _int(rank, "rank", 1), _int(n_iter, "n_iter", 0), _int(loss_every, "loss_every", 1)
    m = _vector(m, "m")
    w = _weights(weights, m.size)
    A, B = _operator(A, "A", m.size), _operator(B, "B", m.size)
    F, T = A.shape[1], B.shape[1]
    for fixed, given, name in ((fix_W, W, "W"), (fix_H, H, "H")):
        if fixed and given is None:
            raise ValueError(f"fix_{name}=True needs a given {name}.")
    rng = np.random.default_rng(seed)
    scale = np.sqrt(np.average(m, weights=w) / K)  # the weighted mean: a point of weight 2 = two points
    W0, H0 = scale * np.abs(rng.standard_normal((F, K))), scale * np.abs(rng.standard_normal((K, T)))
    W = W0 if W is None else _factor(W, "W", (F, K)).copy()
    H = H0 if H is None else _factor(H, "H", (K, T)).copy()

    w_unit = w / w.mean()
    cells = _Cells(A, B, w_unit)
    m_hat = cells.model(W, H)
    losses, loss_iters = [weighted_kl(m, m_hat, w)], [0]
    for it in range(1, n_iter + 1):
        if not fix_W:
            W = cells.step_W(m, w_unit, m_hat, W, H)
            m_hat = cells.model(W, H)
        if not fix_H:
            H = cells.step_H(m, w_unit, m_hat, W, H)
            m_hat = cells.model(W, H)
        if it % loss_every == 0 or it == n_iter:
            losses.append(weighted_kl(m, m_hat, w))
            loss_iters.append(it)
    return PointNMFResult(W=W, H=H, losses=np.asarray(losses), loss_iterations=np.asarray(loss_iters, dtype=np.int64),
                          n_iter=n_iter)
