"""The three iN-NMF models of the paper (arXiv:2404.04439), fitted with :mod:`innmf.models.training`.

1. :class:`ImplicitWNMF`: W(f) is K implicit networks of the frequency, H a free
   matrix (softplus of a parameter). Fit on an STFT at one window size, then
   :meth:`~ImplicitWNMF.sample_W` at any other bin frequencies and refit H alone
   (:meth:`~ImplicitWNMF.refit_H`): the speech experiments' window-size generalisation.
2. :class:`ImplicitWH` (:mod:`innmf.models.implicit_wh`): W(f) and H(t) both implicit, fitted on a point cloud
   (t_i, f_i, m_i) (the hybrid / irregular experiments). Each network is evaluated
   at the *distinct* coordinates present (about 1k frequencies and a few thousand
   times for ~100k points) and the values are gathered to the points.
3. :func:`fit_activations` (:mod:`innmf.models.activations`): supervised separation, H_1 and H_2 fitted on a mixture
   with two fixed (sampled) dictionaries, by gradient descent as in the paper.

All three minimise the mean generalised KL divergence with Rprop (lr 1e-3) by
default; every method takes a ``device``; seeds fix every number (private
generators, and the global RNG is left as it was). ``backend="reference"`` runs the
plain math of :mod:`innmf.paper` (:mod:`innmf.paper.inr` networks,
:mod:`innmf.paper.inmf` objectives through autograd, ``torch.optim.Rprop``);
``"auto"``/``"fast"`` the fast path (:mod:`innmf.models.backends`). Both models have
scikit-learn's face (:class:`~innmf.models.common.EstimatorFace`): ``fit`` returns the
model (the loss history is in ``history_``), ``transform`` fits activations with the
dictionary fixed, ``fit_transform``, ``components_`` the dictionary as K x F (scikit-learn's
orientation; ``W_`` is the paper's F x K), ``n_components``, ``get_params``/``set_params``;
``sample_W`` samples the dictionary anywhere in the networks' coordinate range
(``coordinate_range``; :func:`innmf.tf.stft.frequency_coordinate` makes the right
coordinates, anything outside is refused); everything that needs a fit raises
:class:`~innmf.data.validation.NotFittedError` before it; ``save``/``load`` keep a fitted
model (weights and the settings that rebuild it) in one file. Used by the chapters
"Implicit neural factors", "Window-size generalisation", "Separation" and
"Hybrid representations".

This module holds model 1; models 2 and 3 live in their own modules and are
re-exported here, so ``from innmf.models.implicit import ImplicitWH, fit_activations``
keeps working. What the three share is in :mod:`innmf.models.common`.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn

from innmf.accel.activations import KERNELS
from innmf.accel.kl import KLTarget, mean_kl
from innmf.data.validation import check_choice, check_device, check_dtype, check_float, check_int
from innmf.models.activations import ActivationFit, fit_activations
from innmf.models.backends import check_backend, export_stacked, import_stacked, make_networks
from innmf.models.common import (
    OPTIMIZERS, SAVE_FORMAT, SEED_MAX, EstimatorFace, as_matrix, check_activations_memory, check_finite_fit, check_networks, check_training,
    coordinates,
    dtype_name, fork_rng, load_model_file, rebuilt, save_model_file,
)
from innmf.models.implicit_wh import ImplicitWH
from innmf.models.training import fit_H, make_step, train
from innmf.paper import inmf

__all__ = ["SAVE_FORMAT", "ActivationFit", "ImplicitWH", "ImplicitWNMF", "fit_activations"]

FREQUENCY_HINT = "make them with innmf.frequency_coordinate(n_fft), the paper's k/(N/2+1) - 0.5 for STFT bin k"


class ImplicitWNMF(EstimatorFace, nn.Module):
    """Model 1: implicit dictionary W(f) (K networks), free activations H.

    Frequencies enter the networks as the paper's coordinates in [-0.5, 0.5]
    (``coordinate_range``): bin k of an N-point STFT is k/(N/2+1) - 0.5,
    :func:`innmf.tf.stft.frequency_coordinate` (``innmf.frequency_coordinate(n_fft)``).

    Args:
        rank: K in the paper (20 per speaker).
        hidden: network width h (the paper: 64).
        n_freqs: J, encoding frequencies (the paper: 10).
        n_layers: layers of width h (the paper: 4).
        activation: ``"sin"`` (the paper's) or ``"relu"``.
        init: ``"default"`` (PyTorch's, the paper's) or ``"siren"``.
        encoding: ``"paper"``, ``"gaussian"`` or ``"siren"`` (see :class:`innmf.paper.encoding.FourierEncoding`).
        encoding_scale: standard deviation of Gaussian encoding frequencies.
        trainable_encoding: learn the encoding too (the paper freezes it).
        shared_encoding: one encoding for all components (the published code draws one per component).
        seed: seeds the networks, the encoding and H's initialisation.
        device: where to train ("cpu", "cuda", "cuda:N"); checked once, here.
        dtype: parameter dtype (torch.float32 or torch.float64).
        backend: ``"auto"`` (the fast path), ``"fast"`` or ``"reference"`` (the plain
            math of :mod:`innmf.paper`; see :mod:`innmf.models.backends`).
    """

    coordinate_range = (-0.5, 0.5)
    """The frequency coordinates the networks are built for (``frequency_coordinate(n_fft)`` lies in it)."""

    _fitted_attributes = ("W_", "H_", "components_", "history_")

    def __init__(
        self,
        rank: int,
        hidden: int = 64,
        n_freqs: int = 10,
        n_layers: int = 4,
        activation: str = "sin",
        init: str = "default",
        encoding: str = "paper",
        encoding_scale: float = 10.0,
        trainable_encoding: bool = False,
        shared_encoding: bool = False,
        seed: int = 0,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        backend: str = "auto",
    ):
        super().__init__()
        self._remember_params(dict(
            rank=rank, hidden=hidden, n_freqs=n_freqs, n_layers=n_layers, activation=activation, init=init, encoding=encoding,
            encoding_scale=encoding_scale, trainable_encoding=trainable_encoding, shared_encoding=shared_encoding, seed=seed,
            device=device, dtype=dtype, backend=backend,
        ))
        self.device = check_device(device)
        self.dtype = check_dtype(dtype)
        self.backend = check_backend(backend)
        check_choice(encoding, "encoding", ("paper", "gaussian", "siren"))
        design = check_networks(rank, hidden, n_freqs, n_layers, activation, init, seed, self.dtype, self.device,
                                encoding=encoding)
        encoding_scale = check_float(encoding_scale, "encoding_scale", above=0.0)
        self.seed = design["seed"]
        self.config_ = dict(
            rank=design["rank"], hidden=design["hidden"], n_freqs=design["n_freqs"], n_layers=design["n_layers"],
            activation=activation, init=init, encoding=encoding, encoding_scale=encoding_scale,
            trainable_encoding=bool(trainable_encoding), shared_encoding=bool(shared_encoding), seed=self.seed,
            dtype=dtype_name(self.dtype), backend=backend,
        )
        self.net = make_networks(
            backend, design["rank"], design["hidden"], design["n_layers"], activation, init, design["n_freqs"], encoding,
            encoding_scale, bool(trainable_encoding), bool(shared_encoding), self.seed, self.device, self.dtype,
        )
        self.logits: nn.Parameter | None = None
        self._train_coords: torch.Tensor | None = None
        self._train_features: torch.Tensor | None = None
        self._fitted = False
        self._history: np.ndarray | None = None
        self.refit_history_: np.ndarray | None = None

    @property
    def rank(self) -> int:
        """K, the number of components."""
        return self.net.n_components

    @property
    def history_(self) -> np.ndarray:
        """The mean KL at each recorded epoch of the last :meth:`fit`."""
        self._check_fitted("history_")
        return self._history

    def _coords(self, freq_coords, name: str = "freq_coords") -> torch.Tensor:
        return coordinates(freq_coords, name, self.device, self.dtype, self.coordinate_range, FREQUENCY_HINT)

    def _objective(self, V, freq_coords):
        """Validate the data, initialise H, cache the frozen encoding; return (loss_fn, params)."""
        Vt = as_matrix(V, self.device, self.dtype)
        f = self._coords(freq_coords)
        if f.numel() != Vt.shape[0]:
            raise ValueError(f"Got {f.numel()} frequency coordinates for {Vt.shape[0]} rows of V; "
                             "pass one per row (frequency bin) of V.")
        cfg = self.config_
        check_activations_memory(Vt.shape[0], cfg["rank"], cfg["hidden"], cfg["n_layers"], self.dtype, self.device,
                                 f"Fitting {cfg['rank']} networks on V {tuple(Vt.shape)}")
        target = KLTarget(Vt)
        gen = torch.Generator().manual_seed(self.seed + 1)
        init = torch.rand(self.rank, Vt.shape[1], generator=gen, dtype=torch.float64)
        self.logits = nn.Parameter(init.to(self.device, self.dtype))
        self._train_coords = f
        self._train_features = None
        if self.backend == "reference":
            return (lambda: inmf.loss_implicit_W(self.net, self.logits, Vt, f)), [*self.net.parameters(), self.logits]
        frozen = not self.net.encoding.trainable
        features = self._features(f) if frozen else None  # the encoding never changes: compute it once
        self._train_features = features

        def loss_fn() -> torch.Tensor:
            W = self.net.forward_features(features if frozen else self.net.encoding(f))
            return mean_kl(W @ nnf.softplus(self.logits), target)

        return loss_fn, [*self.net.parameters(), self.logits]

    def _features(self, f: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.net.encoding(f)

    def fit(
        self,
        V,
        freq_coords,
        epochs: int = 1000,
        optimizer: str = "rprop",
        lr: float = 1e-3,
        progress: bool = False,
        loss_every: int = 1,
    ) -> "ImplicitWNMF":
        """Learn W's networks and H on a magnitude matrix (continues from the current
        network weights; H starts afresh at softplus(U[0, 1)), as in the paper).

        Args:
            V: compressed magnitudes (F x T), e.g. an STFT at N = 2000 (``innmf.magnitude``).
            freq_coords: the F network coordinates of V's rows, in [-0.5, 0.5]: the paper's
                k/(N/2+1) - 0.5, ``innmf.frequency_coordinate(N)`` (Hz are refused).
            epochs: full-batch steps (the paper: 1000).
            optimizer: ``"rprop"`` or ``"adam"``.
            lr: learning rate.
            progress: tqdm bar.
            loss_every: record the loss every this many epochs (1: every epoch).

        Returns:
            The model itself; the loss history (mean KL per recorded epoch) is in ``history_``.
        """
        epochs, optimizer, lr, loss_every = check_training(epochs, optimizer, lr, loss_every)
        with fork_rng(self.device):
            torch.manual_seed(self.seed)
            loss_fn, params = self._objective(V, freq_coords)
            self._history = train(loss_fn, params, epochs, optimizer, lr, progress, "iN-NMF fit", loss_every,
                                  reference=self.backend == "reference")
        check_finite_fit(self._history, params, "ImplicitWNMF.fit", self.dtype)
        self._fitted = True
        return self

    def fit_transform(self, V, freq_coords, **fit_options) -> np.ndarray:
        """scikit-learn's ``fit_transform``: :meth:`fit`, then the fitted activations ``H_`` (K x T)."""
        return self.fit(V, freq_coords, **fit_options).H_

    def epoch_function(self, V, freq_coords, optimizer: str = "rprop", lr: float = 1e-3):
        """One training epoch of :meth:`fit` as a callable (``innmf bench`` times it).

        Sets up exactly as :meth:`fit` does (H re-initialised); each call of the
        returned function is one full-batch optimiser step and returns the loss.
        """
        _, optimizer, lr, _ = check_training(1, optimizer, lr, 1)
        loss_fn, params = self._objective(V, freq_coords)
        return make_step(loss_fn, params, optimizer, lr, reference=self.backend == "reference")

    @property
    def W_(self) -> np.ndarray:
        """The fitted dictionary at the training frequencies, the paper's W (F x K)."""
        self._check_fitted("W_")
        with torch.inference_mode():
            if self._train_features is None:
                return self.net(self._train_coords).cpu().numpy()
            return self.net.forward_features(self._train_features).cpu().numpy()

    @property
    def components_(self) -> np.ndarray:
        """The dictionary at the training frequencies as scikit-learn orients it: K x F (``W_.T``).

        Before innmf 0.2 this was F x K; the paper's F x K dictionary is ``W_``.
        """
        return np.ascontiguousarray(self.W_.T)

    @property
    def H_(self) -> np.ndarray:
        """The fitted activations (K x T)."""
        self._check_fitted("H_")
        with torch.no_grad():
            return nnf.softplus(self.logits).cpu().numpy()

    def sample_W_tensor(self, freq_coords) -> torch.Tensor:
        """W sampled at any frequency coordinates in [-0.5, 0.5], as a (F, K) tensor on the model's device."""
        self._check_fitted("sample_W")
        with torch.inference_mode():
            W = self.net(self._coords(freq_coords))
        return W.clone()  # a normal tensor, usable in later autograd graphs

    def sample_W(self, freq_coords) -> np.ndarray:
        """Sample the dictionary at any frequency coordinates.

        Args:
            freq_coords: (F,) network coordinates in [-0.5, 0.5], e.g. another window
                size's bins: ``innmf.frequency_coordinate(n_fft)``.

        Returns:
            W, shape (F, K), non-negative.
        """
        return self.sample_W_tensor(freq_coords).cpu().numpy()

    def refit_H(
        self,
        V,
        freq_coords,
        epochs: int = 1000,
        optimizer: str = "rprop",
        lr: float = 1e-3,
        progress: bool = False,
        seed: int | None = None,
        loss_every: int = 1,
        kernel: str = "blas",
    ) -> np.ndarray:
        """Sample W at ``freq_coords`` (frozen) and fit new activations on ``V`` (= :meth:`transform`).

        Args:
            V: magnitudes at another window size (F' x T').
            freq_coords: the F' coordinates of V's rows (``innmf.frequency_coordinate(N')``).
            epochs: steps (the paper: 1000); with ``optimizer="mu"``, MU iterations
                (a few hundred: :data:`innmf.models.refit.MU_REFIT_ITER`).
            optimizer: ``"rprop"`` (the paper's) or ``"adam"``; or ``"mu"``, the fast
                refit: KL multiplicative updates of H with W fixed, from the same start
                (:func:`innmf.models.refit.fit_H_mu`; ``lr`` is not used).
            lr: learning rate.
            progress: tqdm bar.
            seed: seed of H's initialisation (default: the model's seed + 2).
            loss_every: record the loss every this many epochs (1: all; the
                experiments, which only need H, record the first only).
            kernel: the Rprop refit's implementation: ``"blas"`` (default, the recorded
                runs') or ``"fused"`` (CPU, one compiled pass per column block:
                :mod:`innmf.accel.refit_fused`; the same math, numbers within float rounding).

        Returns:
            H, shape (K, T'); the loss history is kept in ``refit_history_``.
        """
        self._check_fitted("transform (refit_H)")
        mu = check_choice(optimizer, "optimizer", (*OPTIMIZERS, "mu")) == "mu"
        if check_choice(kernel, "kernel", KERNELS) != "blas" and (mu or self.backend == "reference"):
            raise ValueError(f"kernel={kernel!r} is the fast path's Rprop refit: not with optimizer='mu' or "
                             "backend='reference'.")
        epochs, optimizer, lr, loss_every = check_training(epochs, "rprop" if mu else optimizer, lr, loss_every)
        seed = self.seed + 2 if seed is None else check_int(seed, "seed", minimum=0, maximum=SEED_MAX)
        Vt = as_matrix(V, self.device, self.dtype)
        W = self.sample_W_tensor(freq_coords)
        if W.shape[0] != Vt.shape[0]:
            raise ValueError(f"Got {W.shape[0]} frequency coordinates for {Vt.shape[0]} rows of V; pass one per row of V.")
        if mu:
            from innmf.models.refit import fit_H_mu

            H_mu, self.refit_history_ = fit_H_mu(Vt, W, epochs, seed, self.device, self.dtype, loss_every,
                                                 "reference" if self.backend == "reference" else "auto")
            return H_mu
        with fork_rng(self.device):
            H, self.refit_history_ = fit_H(Vt, W, epochs, optimizer, lr, seed, progress, "refit H", loss_every,
                                           reference=self.backend == "reference", kernel=kernel)
        check_finite_fit(self.refit_history_, [H], "ImplicitWNMF.transform", self.dtype)
        return H.cpu().numpy()

    def transform(self, V, freq_coords, **options) -> np.ndarray:
        """scikit-learn's ``transform``: activations of ``V`` under the learnt dictionary (fixed).

        The dictionary is sampled at ``freq_coords``, so V may come from any window size.
        ``options`` are those of :meth:`refit_H` (``epochs``, ``optimizer``, ``lr``, ...).

        Returns:
            H, shape (K, T) (the paper's orientation: V is F x T, V ~ W H).
        """
        return self.refit_H(V, freq_coords, **options)

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model (network weights, H, training coordinates, settings) to one file.

        :meth:`load` rebuilds it on any device and either backend, e.g. to sample the
        dictionary at another window size N elsewhere.
        """
        self._check_fitted("save()")
        state = {
            "networks": export_stacked(self.net),
            "logits": self.logits.detach().cpu().clone(),
            "train_coords": self._train_coords.detach().cpu().clone(),
            "history": None if self._history is None else torch.from_numpy(np.asarray(self._history)),
        }
        save_model_file(path, "ImplicitWNMF", self.config_, state)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu", backend: str | None = None) -> "ImplicitWNMF":
        """Read a model written by :meth:`save` (only tensors are unpickled: ``torch.load(weights_only=True)``).

        Args:
            path: the file.
            device: where to put it.
            backend: override the saved backend (the weights are the same on both).

        Returns:
            The fitted model: ``sample_W``, ``W_``, ``H_``, ``transform`` work as after ``fit``.

        Raises:
            FileNotFoundError: no such file.
            innmf.ModelFileError: not an innmf ImplicitWNMF file (truncated, damaged, foreign).
        """
        device = check_device(device)
        if backend is not None:
            check_backend(backend)
        config, state = load_model_file(path, "ImplicitWNMF")

        def build() -> "ImplicitWNMF":
            model = cls(**{**config, "backend": backend or config["backend"]}, device=device)
            import_stacked(model.net, state["networks"])
            model.logits = nn.Parameter(state["logits"].to(model.device, model.dtype))
            model._train_coords = state["train_coords"].to(model.device, model.dtype)
            model._train_features = None
            model._history = None if state["history"] is None else state["history"].numpy()
            model._fitted = True
            return model

        return rebuilt(path, "ImplicitWNMF", build)
