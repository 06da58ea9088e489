"""Model 2 of the paper (arXiv:2404.04439): W(f) and H(t) both implicit, fitted on a point cloud.

:class:`ImplicitWH` fits the K frequency networks W(f) and the K time networks H(t) on
points (t_i, f_i, m_i) (the hybrid / irregular experiments). Each network is evaluated
at the *distinct* coordinates present (about 1k frequencies and a few thousand times
for ~100k points) and the values are gathered to the points (:mod:`innmf.models.distinct`).
Also re-exported by :mod:`innmf.models.implicit`. Used by the chapter "Hybrid
representations" (:mod:`innmf.experiments.hybrid`, :mod:`innmf.experiments.irregular`).

Coordinates are the paper's hybrid-demo units, both in [0, 1] (``coordinate_range``):
t / t_max (:func:`innmf.tf.stft.time_coordinate`) and f / (sr/2)
(:func:`innmf.tf.stft.frequency_coordinate` with ``hz=``, ``sr=``); seconds and Hz are
refused. The model has the same scikit-learn face as
:class:`~innmf.models.implicit.ImplicitWNMF` (``fit`` -> self, ``transform``,
``fit_transform``, ``sample_W``, ``W_``, ``H_``, ``components_`` K x F, ``history_``).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import torch
from torch import nn

from innmf.accel.kl import KLTarget, mean_kl
from innmf.data.validation import check_array, check_choice, check_device, check_dtype, check_float, check_int
from innmf.models.backends import check_backend, export_stacked, import_stacked, make_networks
from innmf.models.distinct import GatherRows as _GatherRows  # noqa: F401 - its former home: tests import it from here
from innmf.models.distinct import Side, distinct_coordinates
from innmf.models.common import (
    SEED_MAX, EstimatorFace, check_activations_memory, check_converted, check_finite_fit, check_networks, check_training,
    coordinates,
    dtype_name, fork_rng, load_model_file, rebuilt, save_model_file,
)
from innmf.models.training import make_step, train
from innmf.paper import inmf

TIME_HINT = ("make them with innmf.time_coordinate(t_seconds, t_max) (t / t_max) or "
             "PointCloud.normalised_coordinates()")
FREQUENCY_HINT = ("make them with innmf.frequency_coordinate(hz=f_hz, sr=sr) (f / (sr/2)) or "
                  "PointCloud.normalised_coordinates()")


class ImplicitWH(EstimatorFace, nn.Module):
    """Model 2: implicit W(f) and H(t) fitted on a point cloud (t_i, f_i, m_i).

    m_hat_i = sum_k W_k(f_i) H_k(t_i). With ``evaluation="distinct"`` each network
    is evaluated once per distinct coordinate and gathered to the points (the
    inverse indices are computed once, before training); ``"pointwise"`` evaluates
    both networks at every point, which is what the published code does, kept for
    comparison (``innmf bench``). The ``"reference"`` backend always evaluates
    pointwise (the definition; same points drawn per epoch).

    Args:
        rank: K (the paper's hybrid demo: 2).
        hidden: width h (the demo: 16).
        n_freqs: J.
        n_layers: layers of width h.
        activation: ``"sin"`` or ``"relu"``.
        init: ``"default"`` or ``"siren"``.
        shared_encoding: one encoding for all components of a network.
        evaluation: ``"distinct"`` (default) or ``"pointwise"``.
        seed: seeds both networks and the per-epoch sampling of points.
        device: where to train; checked once, here.
        dtype: parameter dtype (torch.float32 or torch.float64).
        backend: ``"auto"``, ``"fast"`` or ``"reference"`` (see :mod:`innmf.models.backends`).
    """

    coordinate_range = (0.0, 1.0)
    """The time and frequency coordinates the networks are built for (t / t_max and f / (sr/2))."""

    _fitted_attributes = ("W_", "H_", "components_", "history_")

    def __init__(
        self,
        rank: int = 2,
        hidden: int = 16,
        n_freqs: int = 10,
        n_layers: int = 4,
        activation: str = "sin",
        init: str = "default",
        shared_encoding: bool = False,
        evaluation: str = "distinct",
        seed: int = 0,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        backend: str = "auto",
    ):
        super().__init__()
        self._remember_params(dict(
            rank=rank, hidden=hidden, n_freqs=n_freqs, n_layers=n_layers, activation=activation, init=init,
            shared_encoding=shared_encoding, evaluation=evaluation, seed=seed, device=device, dtype=dtype, backend=backend,
        ))
        check_choice(evaluation, "evaluation", ("distinct", "pointwise"))
        self.device, self.dtype, self.evaluation = check_device(device), check_dtype(dtype), evaluation
        self.backend = check_backend(backend)
        design = check_networks(rank, hidden, n_freqs, n_layers, activation, init, seed, self.dtype, self.device, n_networks=2)
        self.seed = design["seed"]
        self.config_ = dict(
            rank=design["rank"], hidden=design["hidden"], n_freqs=design["n_freqs"], n_layers=design["n_layers"],
            activation=activation, init=init, shared_encoding=bool(shared_encoding), evaluation=evaluation, seed=self.seed,
            dtype=dtype_name(self.dtype), backend=backend,
        )
        self._net_options = dict(
            hidden=design["hidden"], n_layers=design["n_layers"], activation=activation, init=init, n_freqs=design["n_freqs"],
            shared_encoding=bool(shared_encoding), device=self.device, dtype=self.dtype,
        )
        self.W_net = make_networks(backend, design["rank"], seed=self.seed, **self._net_options)
        self.H_net = make_networks(backend, design["rank"], seed=self.seed + 104729, **self._net_options)
        self._history: np.ndarray | None = None
        self.refit_history_: np.ndarray | None = None
        self._train_f: torch.Tensor | None = None
        self._train_t: torch.Tensor | None = None
        self._fitted = False

    @property
    def rank(self) -> int:
        """K, the number of components."""
        return self.W_net.n_components

    @property
    def history_(self) -> np.ndarray:
        """The mean KL over each recorded epoch's points in the last :meth:`fit`."""
        self._check_fitted("history_")
        return self._history

    def _times(self, t, name: str = "t") -> torch.Tensor:
        return coordinates(t, name, self.device, self.dtype, self.coordinate_range, TIME_HINT)

    def _freqs(self, f, name: str = "f") -> torch.Tensor:
        return coordinates(f, name, self.device, self.dtype, self.coordinate_range, FREQUENCY_HINT)

    def _cloud(self, t, f, m) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The points (t_i, f_i, m_i) checked: coordinates in range, magnitudes finite and non-negative, one of each per point."""
        tt, ff = self._times(t), self._freqs(f)
        checked = check_array(m, "m", ndim=(1, 2), layout="(P,), one magnitude per point")
        mm = (torch.as_tensor(checked) if isinstance(checked, np.ndarray) else checked).to(self.device, self.dtype)
        if mm.ndim == 2 and mm.shape[1] != 1:
            raise ValueError(f"m must have shape (P,) or (P, 1), one magnitude per point; got {tuple(mm.shape)}.")
        mm = mm.reshape(-1)
        check_converted(mm, "m", self.dtype)
        if not (tt.numel() == ff.numel() == mm.numel()):
            raise ValueError(f"t, f and m must have one entry per point; got {tt.numel()}, {ff.numel()}, {mm.numel()}.")
        return tt, ff, mm

    def _batch(self, n: int, fraction, seed: int):
        """The per-epoch draw of points: a function giving ``idx`` (None for full batch)."""
        fraction = check_float(fraction, "fraction (share of the points per epoch)", above=0.0, maximum=1.0)
        n_batch = max(1, int(round(fraction * n)))
        gen = torch.Generator(device=self.device).manual_seed(seed)
        return lambda: torch.randperm(n, generator=gen, device=self.device)[:n_batch] if n_batch < n else None

    def _objective(self, t, f, m, fraction: float):
        """Validate the cloud, index the distinct coordinates once; return (loss_fn, params)."""
        tt, ff, mm = self._cloud(t, f, m)
        draw = self._batch(mm.numel(), fraction, self.seed + 2)
        params = [*self.W_net.parameters(), *self.H_net.parameters()]
        if self.backend == "reference":

            def reference_loss() -> torch.Tensor:
                idx = draw()
                sel = slice(None) if idx is None else idx
                return inmf.loss_implicit_WH(self.W_net, self.H_net, tt[sel], ff[sel], mm[sel])

            return reference_loss, params
        target = KLTarget(mm)
        if self.evaluation == "distinct":
            f_coords, f_index = torch.unique(ff, return_inverse=True)
            t_coords, t_index = torch.unique(tt, return_inverse=True)
        else:
            f_coords, f_index, t_coords, t_index = ff, None, tt, None
        cfg = self.config_
        check_activations_memory(f_coords.numel() + t_coords.numel(), cfg["rank"], cfg["hidden"], cfg["n_layers"], self.dtype,
                                 self.device, f"Fitting {2 * cfg['rank']} networks on {mm.numel()} points")
        w_side = Side(self.W_net, f_coords, f_index)
        h_side = Side(self.H_net, t_coords, t_index)

        def loss_fn() -> torch.Tensor:
            idx = draw()
            m_hat = (w_side.values(idx) * h_side.values(idx)).sum(dim=1)
            return mean_kl(m_hat, target if idx is None else target.subset(idx))

        return loss_fn, params

    def fit(
        self,
        t,
        f,
        m,
        epochs: int = 1000,
        fraction: float = 0.5,
        optimizer: str = "rprop",
        lr: float = 1e-3,
        progress: bool = False,
        loss_every: int = 1,
    ) -> "ImplicitWH":
        """Fit both networks on the cloud (continues from the current weights).

        Args:
            t: time coordinates of the points in [0, 1]: t / t_max (``innmf.time_coordinate``).
            f: frequency coordinates in [0, 1]: Hz / (sr / 2) (``innmf.frequency_coordinate(hz=..., sr=...)``).
            m: magnitudes, non-negative (the paper fits m^0.5).
            epochs: steps (the paper: 1000).
            fraction: share of the points drawn at random for each epoch (the paper:
                0.5); 1.0 is full batch.
            optimizer: ``"rprop"`` or ``"adam"``.
            lr: learning rate.
            progress: tqdm bar.
            loss_every: record the loss every this many epochs (1: every epoch).

        Returns:
            The model itself; the loss history (mean KL over each epoch's points) is in ``history_``.
        """
        epochs, optimizer, lr, loss_every = check_training(epochs, optimizer, lr, loss_every)
        with fork_rng(self.device):
            torch.manual_seed(self.seed)
            loss_fn, params = self._objective(t, f, m, fraction)
            self._history = train(loss_fn, params, epochs, optimizer, lr, progress, "iN-NMF (W, H implicit)", loss_every,
                                  reference=self.backend == "reference")
        check_finite_fit(self._history, params, "ImplicitWH.fit", self.dtype)
        self._train_f = distinct_coordinates(f).to(self.device, self.dtype)
        self._train_t = distinct_coordinates(t).to(self.device, self.dtype)
        self._fitted = True
        return self

    def fit_transform(self, t, f, m, **fit_options) -> np.ndarray:
        """scikit-learn's ``fit_transform``: :meth:`fit`, then ``H_`` (K x T at the cloud's distinct times, ascending)."""
        return self.fit(t, f, m, **fit_options).H_

    def epoch_function(self, t, f, m, fraction: float = 0.5, optimizer: str = "rprop", lr: float = 1e-3):
        """One training epoch of :meth:`fit` as a callable (``innmf bench`` times it)."""
        _, optimizer, lr, _ = check_training(1, optimizer, lr, 1)
        loss_fn, params = self._objective(t, f, m, fraction)
        return make_step(loss_fn, params, optimizer, lr, reference=self.backend == "reference")

    def transform(
        self,
        t,
        f,
        m,
        epochs: int = 1000,
        fraction: float = 0.5,
        optimizer: str = "rprop",
        lr: float = 1e-3,
        progress: bool = False,
        seed: int | None = None,
        loss_every: int = 1,
    ) -> np.ndarray:
        """scikit-learn's ``transform``: the activations of a new cloud under the learnt W(f) (fixed).

        A fresh H(t) network of the model's design (seeded by ``seed``, default the
        model's seed + 3) is fitted on the points with W sampled at their frequencies;
        the model itself is unchanged. Arguments as :meth:`fit`.

        Returns:
            H, shape (K, T') at the distinct times of ``t`` in ascending order (``np.unique(t)``);
            the loss history is kept in ``refit_history_``.
        """
        self._check_fitted("transform")
        epochs, optimizer, lr, loss_every = check_training(epochs, optimizer, lr, loss_every)
        seed = self.seed + 3 if seed is None else check_int(seed, "seed", minimum=0, maximum=SEED_MAX)
        tt, ff, mm = self._cloud(t, f, m)
        H_net = make_networks(self.backend, self.rank, seed=seed, **self._net_options)
        with torch.no_grad():
            f_coords, f_index = torch.unique(ff, return_inverse=True)
            W_at = self.W_net(f_coords).index_select(0, f_index)  # the dictionary, fixed, at every point
        draw = self._batch(mm.numel(), fraction, seed + 2)
        if self.backend == "reference":

            def loss_fn() -> torch.Tensor:
                idx = draw()
                sel = slice(None) if idx is None else idx
                return inmf.objective(mm[sel], inmf.model_points(W_at[sel], H_net(tt[sel])))
        else:
            target = KLTarget(mm)
            h_side = Side(H_net, *torch.unique(tt, return_inverse=True))

            def loss_fn() -> torch.Tensor:
                idx = draw()
                W = W_at if idx is None else W_at.index_select(0, idx)
                return mean_kl((W * h_side.values(idx)).sum(dim=1), target if idx is None else target.subset(idx))

        with fork_rng(self.device):
            torch.manual_seed(seed)
            self.refit_history_ = train(loss_fn, list(H_net.parameters()), epochs, optimizer, lr, progress,
                                        "iN-NMF transform", loss_every, reference=self.backend == "reference")
        check_finite_fit(self.refit_history_, list(H_net.parameters()), "ImplicitWH.transform", self.dtype)
        with torch.inference_mode():
            return H_net(distinct_coordinates(t).to(self.device, self.dtype)).T.cpu().numpy()

    @property
    def W_(self) -> np.ndarray:
        """W (F x K) at the distinct frequencies of the training cloud, ascending (the paper's orientation)."""
        self._check_fitted("W_")
        return self.sample_W(self._train_f)

    @property
    def H_(self) -> np.ndarray:
        """H (K x T) at the distinct times of the training cloud, ascending."""
        self._check_fitted("H_")
        if self._train_t is None:
            raise ValueError("This model was saved by an older innmf without its training times; use sample_H(t).")
        return self.sample_H(self._train_t)

    @property
    def components_(self) -> np.ndarray:
        """The frequency templates as scikit-learn orients them: K x F (``W_.T``). Before innmf 0.2 this was F x K (now ``W_``)."""
        return np.ascontiguousarray(self.W_.T)

    def save(self, path: str | os.PathLike) -> None:
        """Write both networks' weights and the settings that rebuild the model to one file (see :meth:`load`)."""
        self._check_fitted("save()")
        state = {"W_net": export_stacked(self.W_net), "H_net": export_stacked(self.H_net),
                 "train_f": self._train_f.detach().cpu().clone(), "train_t": self._train_t.detach().cpu().clone(),
                 "history": None if self._history is None else torch.from_numpy(np.asarray(self._history))}
        save_model_file(path, "ImplicitWH", self.config_, state)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu", backend: str | None = None) -> "ImplicitWH":
        """Read a model written by :meth:`save` (``backend`` overrides the saved one; only tensors are unpickled).

        Raises:
            FileNotFoundError: no such file.
            innmf.ModelFileError: not an innmf ImplicitWH file (truncated, damaged, foreign).
        """
        device = check_device(device)
        if backend is not None:
            check_backend(backend)
        config, state = load_model_file(path, "ImplicitWH")

        def build() -> "ImplicitWH":
            model = cls(**{**config, "backend": backend or config["backend"]}, device=device)
            import_stacked(model.W_net, state["W_net"])
            import_stacked(model.H_net, state["H_net"])
            moved = {k: None if state.get(k) is None else state[k].to(model.device, model.dtype) for k in ("train_f", "train_t")}
            model._train_f, model._train_t = moved["train_f"], moved["train_t"]
            model._history = None if state["history"] is None else state["history"].numpy()
            model._fitted = model._train_f is not None  # files of older versions could hold an unfitted model
            return model

        return rebuilt(path, "ImplicitWH", build)

    def sample_W(self, f_coords) -> np.ndarray:
        """Sample the frequency templates: (F, K) at frequency coordinates in [0, 1] (f / (sr/2))."""
        self._check_fitted("sample_W")
        with torch.inference_mode():
            return self.W_net(self._freqs(f_coords, "f_coords")).cpu().numpy()

    def sample_H(self, t_coords) -> np.ndarray:
        """Sample the activations: (K, T) at time coordinates in [0, 1] (t / t_max)."""
        self._check_fitted("sample_H")
        with torch.inference_mode():
            return self.H_net(self._times(t_coords, "t_coords")).T.cpu().numpy()

    def W(self, f_coords) -> np.ndarray:
        """Deprecated name of :meth:`sample_W` (the name :class:`~innmf.models.implicit.ImplicitWNMF` uses too)."""
        warnings.warn("ImplicitWH.W(f) is deprecated and will be removed in the next release; use sample_W(f).",
                      DeprecationWarning, stacklevel=2)
        return self.sample_W(f_coords)

    def H(self, t_coords) -> np.ndarray:
        """Deprecated name of :meth:`sample_H`."""
        warnings.warn("ImplicitWH.H(t) is deprecated and will be removed in the next release; use sample_H(t).",
                      DeprecationWarning, stacklevel=2)
        return self.sample_H(t_coords)

    def predict(self, t, f) -> np.ndarray:
        """The model's magnitude m_hat at each point (t_i, f_i) (coordinates in [0, 1])."""
        self._check_fitted("predict")
        tt, ff = self._times(t), self._freqs(f)
        if tt.numel() != ff.numel():
            raise ValueError(f"t and f must have one entry per point; got {tt.numel()} and {ff.numel()}.")
        with torch.inference_mode():
            return (self.W_net(ff) * self.H_net(tt)).sum(dim=1).cpu().numpy()
