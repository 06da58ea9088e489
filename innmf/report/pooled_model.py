"""Speaker-level intervals pooled across window sizes: one joint model with N as a fixed effect.

The recorded run evaluates the same trials at every window size N. A per-trial paired
difference at N, ``d[t, N]`` (iN-NMF − NMF at N, or a transfer away from N0), is
modelled over the sizes together:

    d[t, N] = mu_N + s_a(t) + s_b(t) + u_t + e[t, N],
    s ~ N(0, sigma_s^2),  u ~ N(0, sigma_u^2),  e[t, N] ~ N(0, sigma_N^2).

- ``mu_N``, one mean per size, is the fixed effect: the quantity each endpoint estimates.
- ``s`` is one effect per speaker, the same at every N: a voice that favours one method
  does so at every size. This is the pooling: fitted one size at a time, the speaker
  variance is one estimate per size from six speakers, at 0 at one size and positive at
  the next, and the interval's width follows it.
- ``u`` is a trial effect, because the same trials (the same mixture and excerpts, and for
  a transfer the same N0 scores subtracted at every N) repeat at every size. Without it
  the correlation of one trial's differences across N could only be explained by its two
  speakers, and would be read as speaker variance.
- ``sigma_N^2``, one residual variance per size: a transfer near N0 varies less than one
  far from it, and a common variance would give every size the same width.

The variance components are fitted by restricted maximum likelihood (REML) on the
trials complete at every size. The estimate at N is the plain mean over the trials at N
(the number the tables show) and its standard error is the model's,
``Var(mean_N) = (sigma_s^2 sum_s m_s^2 + n (sigma_u^2 + sigma_N^2)) / n^2`` with ``m_s``
the trials of speaker s. With one size the trial effect is not identified and is left
out: the model is then that of :mod:`innmf.report.speaker_model`.

**Degrees of freedom: speakers − 1.** The interval is the plain mean ± t(S − 1) times the
model's standard error, S the speakers. The two usual small-sample corrections were
tried on data simulated with the recorded design
(:func:`innmf.report.pooled_coverage.coverage_study`) and fail it in
opposite directions:

- *Satterthwaite* (``df = 2 (c' theta)^2 / c' I^-1 c``, ``I`` the REML expected information;
  Kenward–Roger's df for one contrast is built on the same ``I^-1``). With each speaker in
  about a third of the trials, the mean weighs the speaker variance ``sum_s m_s^2 / n``
  times more than the trial noise, while S speakers estimate it from S − 1 contrasts.
  Where the estimate is 0 the df fall to about 1 and the interval becomes several times
  wider than it needs to be (the test checks both: it covers, and it is far wider). It
  stays available, :func:`satterthwaite_df`, as the column ``satterthwaite_df``: a small
  value says the speakers' share of the error is poorly pinned down.
- *Parametric bootstrap of the t statistic* at the fitted components: where the speaker
  variance is estimated at 0 it calibrates against a world without speakers, which is
  the instability to be removed, and it costs hundreds of refits per endpoint.

t(S − 1) is the few-clusters rule (the speakers are the clusters): the speaker variance
has at most S − 1 independent contrasts. On data simulated with the recorded design (40
trials, 6 speakers, four sizes) the 95 % interval at N0 covers the true mean at least 90 %
of the time, with or without speaker effects and whether trial effects or residual noise
dominate, and is conservative without speaker effects
(``tests/test_report_pooled_coverage.py``, 400 datasets per setting, a band that an
interval covering 87 % would fail). What pooling buys is one speaker variance for all the
paper's sizes instead of one per size, each from six speakers, that jumps between 0 and a
positive value from one size, or one recording, to the next.

Used by :mod:`innmf.report.transfer` and :func:`innmf.report.stats.paired_summary`
(chapters "Reconstruction across window sizes", "Separating two speakers", "A paired
look at the comparison" and the findings page "What holds up").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps
from threadpoolctl import ThreadpoolController

from innmf.report.speaker_model import MIN_SPEAKERS, SPEAKER_SEPARATOR, speaker_design

PAPER_N_FFTS: tuple[int, ...] = (1000, 1500, 2000, 2500)
"""The paper's window sizes: the sizes whose differences share one model."""
COLUMNS = ("estimate", "se", "df", "low", "high", "p", "n", "n_speakers", "speaker_share", "satterthwaite_df")


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    # Scanning the loaded libraries costs more than a fit: once per process.
    return ThreadpoolController()


class JointReml:
    """REML of the joint model, block-diagonalised by the eigenvectors of Z Z'.

    With Z Z' = Q diag(k) Q', rotating the trials by Q' turns the covariance of the
    n x K differences into n independent K x K blocks ``k_i sigma_s^2 J + sigma_u^2 J + D``,
    so every quantity is a sum over n small blocks. Behind :func:`joint_intervals`
    (chapters "Reconstruction across window sizes" and "Separating two speakers").

    Args:
        y: trials x sizes, complete.
        design: trials x speakers incidence (:func:`innmf.report.speaker_model.speaker_design`).
        common_residual: one residual variance for every size (the model statsmodels can fit).
    """

    def __init__(self, y: np.ndarray, design: np.ndarray, common_residual: bool = False) -> None:
        n, k = y.shape
        eig, q = np.linalg.eigh(design @ design.T)
        eig = np.where(eig > 1e-9 * max(float(eig.max()), 1.0), eig, 0.0)
        self.y, self.q1, self.n, self.k = q.T @ y, q.T @ np.ones(n), n, k
        ones = np.ones((k, k))
        # Each parameter: its weight per rotated trial and its K x K pattern.
        self.parts: list[tuple[str, np.ndarray, np.ndarray]] = [("speaker", eig, ones)]
        if k > 1:
            self.parts.append(("trial", np.ones(n), ones))
        if common_residual:
            self.parts.append(("residual", np.ones(n), np.eye(k)))
        else:
            self.parts += [(f"residual{j}", np.ones(n), np.diag(np.eye(k)[j])) for j in range(k)]
        self.names = [name for name, _, _ in self.parts]
        self.weights = np.array([w for _, w, _ in self.parts])      # (p, n)
        self.patterns = np.array([m for _, _, m in self.parts])     # (p, K, K)

    def _solve(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """Inverse blocks, A = X'V^-1 X, residuals from the GLS means, V^-1 residuals, log|V| + log|A|."""
        blocks = np.einsum("p,pn,pij->nij", theta, self.weights, self.patterns)
        inv = np.linalg.inv(blocks)
        a = np.einsum("n,nij->ij", self.q1**2, inv)
        beta = np.linalg.solve(a, np.einsum("n,nij,nj->i", self.q1, inv, self.y))
        resid = self.y - np.outer(self.q1, beta)
        p = np.einsum("nij,nj->ni", inv, resid)
        logdet = float(np.linalg.slogdet(blocks)[1].sum() + np.linalg.slogdet(a)[1])
        return inv, a, resid, p, logdet

    def criterion(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """−2 restricted log-likelihood (up to a constant) and its gradient ``tr(P V_j) − y'P V_j P y``."""
        inv, a, resid, p, logdet = self._solve(theta)
        value = logdet + float(np.sum(resid * p))
        inv_m = inv[None] @ self.patterns[:, None]                   # (p, n, K, K): C_i^-1 M_j
        trace_v = np.einsum("pn,pnii->p", self.weights, inv_m)
        middle = np.einsum("n,pn,pnil->pil", self.q1**2, self.weights, inv_m @ inv[None])
        trace_x = np.einsum("ij,pji->p", np.linalg.inv(a), middle)
        quad = np.einsum("pn,ni,pij,nj->p", self.weights, p, self.patterns, p)
        return value, trace_v - trace_x - quad

    def information(self, theta: np.ndarray) -> np.ndarray:
        """Expected REML information ``1/2 tr(P V_j P V_k)``, block by block.

        With P = V^-1 − V^-1 X A^-1 X' V^-1 the trace splits into a sum over blocks of
        ``C^-1 M_j C^-1 M_k``, a cross term and ``tr(A^-1 H_j A^-1 H_k)``, ``H_j = X' V^-1 V_j V^-1 X``.
        """
        inv, a, _, _, _ = self._solve(theta)
        a_inv = np.linalg.inv(a)
        inv_m = inv[None] @ self.patterns[:, None]                           # (p, n, K, K)
        both = np.einsum("pn,qn,pnij,qnji->pq", self.weights, self.weights, inv_m, inv_m)
        h = np.einsum("n,pn,pnil->pil", self.q1**2, self.weights, inv_m @ inv[None])
        # X'V^-1 V_j V^-1 V_k V^-1 X, summed over the blocks (X is q_i I_K in block i)
        triple = np.einsum("n,pn,qn,pnij,qnjk,nkl->pqil", self.q1**2, self.weights, self.weights,
                           inv_m, inv_m, inv, optimize=True)
        cross = np.einsum("li,pqil->pq", a_inv, triple)
        last = np.einsum("ij,pjk,kl,qli->pq", a_inv, h, a_inv, h, optimize=True)
        return 0.5 * (both - 2 * cross + last)

    def fit(self) -> np.ndarray:
        """REML estimates, in the order of :attr:`names`; the two shared components may be 0."""
        # L-BFGS-B's small LAPACK calls ran over ten times slower on a busy machine with threaded BLAS.
        with _blas().limit(limits=1, user_api="blas"):
            return self._fit()

    def _fit(self) -> np.ndarray:
        centred = self.y - np.outer(self.q1, self.q1 @ self.y) / self.n
        column = np.maximum(np.mean(centred**2, axis=0), 1e-12)
        # A residual variance pinned at 0 makes a block singular; 1e-6 of the spread is far below any rounding.
        bounds = [(1e-6 * float(column.mean()), None) if name.startswith("residual") else (0.0, None)
                  for name in self.names]
        # One start: on 150 simulated designs four different starts reached the same optimum to 1e-10.
        start = np.array([column.mean() / 6 if name == "speaker" else column.mean() / 3 if name == "trial" else
                          column.mean() / 2 if name == "residual" else column[int(name[8:])] / 2
                          for name in self.names])
        res = optimize.minimize(self.criterion, start, jac=True, method="L-BFGS-B", bounds=bounds,
                                options={"ftol": 1e-13, "gtol": 1e-10, "maxiter": 500})
        return np.asarray(res.x)


def satterthwaite_df(weights: np.ndarray, theta: np.ndarray, information: np.ndarray) -> float:
    """Satterthwaite degrees of freedom of ``weights' theta``, a variance linear in the components.

    ``2 (w' theta)^2 / (w' I^-1 w)`` with ``I`` the REML expected information
    (:meth:`JointReml.information`); infinite when the variance is known exactly.
    Chapters "Reconstruction across window sizes" and "Separating two speakers".

    Args:
        weights: the variance's coefficient on each component.
        theta: the components (REML estimates).
        information: their expected information, same order.

    Returns:
        The degrees of freedom of a t quantile for a standard error ``sqrt(w' theta)``.
    """
    spread = float(weights @ np.linalg.pinv(information) @ weights)
    return 2 * float(weights @ theta) ** 2 / spread if spread > 0 else math.inf


@lru_cache(maxsize=256)
def _components(data: bytes, shape: tuple[int, int], labels: tuple[str, ...]
                ) -> tuple[tuple[str, ...], np.ndarray, np.ndarray | None]:
    """Names, REML estimates and expected information of complete trials x sizes data (cached)."""
    # A chapter and the findings page judge the same differences several times: fit them once.
    y = np.frombuffer(data).reshape(shape)
    design, _ = speaker_design(list(labels))
    # REML is scale-equivariant: fit on unit scale, where the optimiser's tolerances mean the same for KL and SDR.
    scale = float(np.sqrt(np.mean((y - y.mean(axis=0)) ** 2)))
    model = JointReml(y / scale if scale > 0 else y, design)
    if scale == 0:
        return tuple(model.names), np.zeros(len(model.names)), None
    fitted = model.fit()
    theta, information = fitted * scale**2, model.information(fitted) / scale**4
    for array in (theta, information):
        array.setflags(write=False)  # shared between calls
    return tuple(model.names), theta, information


def joint_intervals(values: pd.DataFrame, labels: pd.Series, confidence: float = 0.95) -> pd.DataFrame:
    """Speaker-level intervals of the mean at every size (a column of ``values``) under one joint model.

    Chapters "Reconstruction across window sizes" and "Separating two speakers", through
    :func:`pooled_intervals`.

    Args:
        values: trials x window sizes (NaN where a trial lacks a size), indexed by trial.
        labels: the trials' ``"spkA+spkB"`` labels, indexed by trial.
        confidence: level of the two-sided intervals.

    Returns:
        One row per size (index ``n_fft``) with :data:`COLUMNS`: the plain mean, its
        standard error, ``df`` (speakers − 1), the interval, the two-sided ``p`` against 0,
        the trials, the speakers, ``speaker_share`` (``2 sigma_s^2`` over a difference's
        variance) and ``satterthwaite_df`` (a diagnostic: how well the data pin the standard
        error down; not used by the interval, see the module docstring).

    Raises:
        ValueError: fewer than 3 complete trials or :data:`MIN_SPEAKERS` speakers.
    """
    observed = values.notna().to_numpy()
    complete = observed.all(axis=1)
    all_labels = [str(label) for label in labels.reindex(values.index)]
    incidence, names = speaker_design(all_labels) if len(all_labels) else (np.zeros((0, 0)), [])
    kept = [label for label, ok in zip(all_labels, complete) if ok]
    n_kept = len({s for label in kept for s in label.split(SPEAKER_SEPARATOR)})
    if len(kept) < 3 or n_kept < MIN_SPEAKERS:
        raise ValueError(
            f"{len(kept)} trial(s) complete at every size with {n_kept} speaker(s): a speaker-level "
            f"interval needs at least 3 trials and {MIN_SPEAKERS} speakers; run more trials (n_trials) on more speakers.")
    y = values.to_numpy(dtype=float)
    component_names, theta, information = _components(y[complete].tobytes(), y[complete].shape, tuple(kept))
    df = n_kept - 1
    t_quantile = float(sps.t.ppf(0.5 + confidence / 2, df))
    rows = []
    for j, n_fft in enumerate(values.columns):
        column = y[observed[:, j], j]
        counts = incidence[observed[:, j]].sum(axis=0)  # each speaker's trials among those at this size
        n, m2 = len(column), float(counts @ counts)
        weight = {"speaker": m2 / n**2, "trial": 1.0 / n, "residual": 1.0 / n, f"residual{j}": 1.0 / n}
        c = np.array([weight.get(name, 0.0) for name in component_names])
        var = float(c @ theta)
        se = math.sqrt(max(var, 0.0))
        estimate = float(column.mean())
        half = t_quantile * se
        p = float(2 * sps.t.sf(abs(estimate) / se, df)) if se > 0 else (1.0 if estimate == 0 else 0.0)
        shared = 2 * float(theta[0])
        total = shared + n * (var - c[0] * theta[0])  # 2 sigma_s^2 + sigma_u^2 + sigma_N^2
        rows.append({"n_fft": n_fft, "estimate": estimate, "se": se, "df": df, "low": estimate - half,
                     "high": estimate + half, "p": p, "n": n, "n_speakers": n_kept,
                     "speaker_share": shared / total if total > 0 else 0.0,
                     "satterthwaite_df": satterthwaite_df(c, theta, information) if information is not None
                     else math.inf})
    return pd.DataFrame(rows).set_index("n_fft")[list(COLUMNS)]


def pooled_intervals(values: pd.DataFrame, labels: pd.Series, pooled: Sequence[int] = PAPER_N_FFTS,
                     confidence: float = 0.95) -> pd.DataFrame:
    """The one inference path: the sizes in ``pooled`` share one joint model; any other has its own.

    The speaker variance is assumed the same at the paper's sizes; beyond them (512 and
    4096 in the recorded run, where the recorded KL differences vary more between
    speakers) that assumption is not made, and a size is fitted alone (the model with one
    size). Chapters "Reconstruction across window sizes", "Separating two speakers" and
    the findings page.

    Args:
        values: trials x window sizes, indexed by trial (see :func:`joint_intervals`).
        labels: the trials' speakers labels, indexed by trial.
        pooled: the sizes whose variance components are pooled (default: the paper's).
        confidence: level of the intervals.

    Returns:
        :func:`joint_intervals`' rows, one per column of ``values``, in its order.
    """
    inside = [n for n in values.columns if n in set(pooled)]
    groups = ([inside] if inside else []) + [[n] for n in values.columns if n not in set(pooled)]
    return pd.concat([joint_intervals(values[group], labels, confidence) for group in groups]).loc[list(values.columns)]

