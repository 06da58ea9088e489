"""The three iN-NMF models of the paper (arXiv:2404.04439), fitted with :mod:`innmf.models.training`.

1. :class:`ImplicitWNMF`: W(f) is K implicit networks of the frequency, H a free
   matrix (softplus of a parameter). Fit on an STFT at one window size, then
   :meth:`~ImplicitWNMF.sample_W` at any other bin frequencies and refit H alone
   (:meth:`~ImplicitWNMF.refit_H`): the speech experiments' window-size generalisation.
2. :class:`ImplicitWH`: W(f) and H(t) both implicit, fitted on a point cloud
   (t_i, f_i, m_i) (the hybrid / irregular experiments). Each network is evaluated
   at the *distinct* coordinates present (about 1k frequencies and a few thousand
   times for ~100k points) and the values are gathered to the points.
3. :func:`fit_activations`: supervised separation, H_1 and H_2 fitted on a mixture
   with two fixed (sampled) dictionaries, by gradient descent as in the paper.

All three minimise the mean generalised KL divergence with Rprop (lr 1e-3) by
default; every method takes a ``device``; seeds fix every number (private
generators, and the global RNG is left as it was). ``backend="reference"`` runs the
plain math of :mod:`innmf.paper` (:mod:`innmf.paper.inr` networks,
:mod:`innmf.paper.inmf` objectives through autograd, ``torch.optim.Rprop``);
``"auto"``/``"fast"`` the fast path (:mod:`innmf.models.backends`). The models have
an sklearn-style face: ``fit`` returns the model (the loss history is in
``history_``), ``transform`` refits activations with the dictionary fixed,
``components_`` is the dictionary at the training frequencies, and ``save``/``load``
keep a fitted model (weights and the settings that rebuild it) in one file. Used by the chapters
"Implicit neural factors", "Window-size generalisation", "Separation" and
"Hybrid representations".
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn

from innmf.accel.kl import KLTarget, mean_kl
from innmf.models.backends import check_backend, export_stacked, import_stacked, make_networks
from innmf.models.training import fit_H, make_step, train
from innmf.paper import inmf
from innmf.paper.encoding import as_coordinates

SAVE_FORMAT = 1
"""Version of the file layout written by ``save`` (``load`` refuses other versions)."""


def _matrix(V, device: torch.device, dtype: torch.dtype, name: str = "V") -> torch.Tensor:
    t = V if isinstance(V, torch.Tensor) else torch.as_tensor(np.asarray(V))
    if t.ndim != 2:
        raise ValueError(f"{name} must be a 2-D magnitude matrix (F x T), got shape {tuple(t.shape)}.")
    # row-major: spectrograms arrive as transposed (column-major) views, and elementwise
    # passes mixing that layout with the model's row-major W H run strided
    return t.to(device=device, dtype=dtype).contiguous()


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _save(path: str | os.PathLike, kind: str, config: dict, state: dict) -> None:
    torch.save({"format": SAVE_FORMAT, "class": kind, "config": config, "state": state}, path)


def _load(path: str | os.PathLike, kind: str) -> tuple[dict, dict]:
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(saved, dict) or saved.get("format") != SAVE_FORMAT or saved.get("class") != kind:
        raise ValueError(
            f"{os.fspath(path)} is not a saved {kind} (format {SAVE_FORMAT}); save the model with {kind}.save(path)."
        )
    config = dict(saved["config"])
    config["dtype"] = getattr(torch, config["dtype"])
    return config, saved["state"]


def _fork(device: torch.device):
    """Fork the global RNGs (CPU, and this CUDA device) so fitting leaves them untouched."""
    if device.type != "cuda":
        return torch.random.fork_rng(devices=[])
    index = device.index if device.index is not None else torch.cuda.current_device()
    return torch.random.fork_rng(devices=[index])


class ImplicitWNMF(nn.Module):
    """Model 1: implicit dictionary W(f) (K networks), free activations H.

    Args:
        rank: K in the paper (20 per speaker).
        hidden: network width h (the paper: 64).
        n_freqs: J, encoding frequencies (the paper: 10).
        n_layers: layers of width h (the paper: 4).
        activation: ``"sin"`` (the paper's) or ``"relu"``.
        init: ``"default"`` (PyTorch's, the paper's) or ``"siren"``.
        encoding: ``"paper"`` or ``"gaussian"`` (see :class:`innmf.paper.encoding.FourierEncoding`).
        encoding_scale: standard deviation of Gaussian encoding frequencies.
        trainable_encoding: learn the encoding too (the paper freezes it).
        shared_encoding: one encoding for all components (the published code draws one per component).
        seed: seeds the networks, the encoding and H's initialisation.
        device: where to train ("cpu", "cuda").
        dtype: parameter dtype.
        backend: ``"auto"`` (the fast path), ``"fast"`` or ``"reference"`` (the plain
            math of :mod:`innmf.paper`; see :mod:`innmf.models.backends`).
    """

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
        self.device = torch.device(device)
        self.dtype = dtype
        self.seed = int(seed)
        self.backend = check_backend(backend)
        self.config_ = dict(
            rank=int(rank), hidden=int(hidden), n_freqs=int(n_freqs), n_layers=int(n_layers), activation=activation,
            init=init, encoding=encoding, encoding_scale=float(encoding_scale),
            trainable_encoding=bool(trainable_encoding), shared_encoding=bool(shared_encoding), seed=self.seed,
            dtype=_dtype_name(dtype), backend=backend,
        )
        self.net = make_networks(
            backend, rank, hidden, n_layers, activation, init, n_freqs, encoding, encoding_scale, trainable_encoding,
            shared_encoding, seed, device, dtype,
        )
        self.logits: nn.Parameter | None = None
        self._train_coords: torch.Tensor | None = None
        self._train_features: torch.Tensor | None = None
        self.history_: np.ndarray | None = None
        self.refit_history_: np.ndarray | None = None

    @property
    def rank(self) -> int:
        return self.net.n_components

    def _objective(self, V, freq_coords):
        """Validate the data, initialise H, cache the frozen encoding; return (loss_fn, params)."""
        Vt = _matrix(V, self.device, self.dtype)
        f = as_coordinates(freq_coords, self.device, self.dtype)
        if f.numel() != Vt.shape[0]:
            raise ValueError(f"Got {f.numel()} frequency coordinates for {Vt.shape[0]} rows of V.")
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
            V: compressed magnitudes (F x T), e.g. an STFT at N = 2000.
            freq_coords: the F network coordinates of V's rows (the paper's
                k/(N/2+1) - 0.5: ``innmf.tf.stft.frequency_coordinate(N)``).
            epochs: full-batch steps (the paper: 1000).
            optimizer: ``"rprop"`` or ``"adam"``.
            lr: learning rate.
            progress: tqdm bar.
            loss_every: record the loss every this many epochs (1: every epoch).

        Returns:
            The model itself; the loss history (mean KL per recorded epoch) is in ``history_``.
        """
        with _fork(self.device):
            torch.manual_seed(self.seed)
            loss_fn, params = self._objective(V, freq_coords)
            self.history_ = train(loss_fn, params, epochs, optimizer, lr, progress, "iN-NMF fit", loss_every,
                                  reference=self.backend == "reference")
        return self

    def epoch_function(self, V, freq_coords, optimizer: str = "rprop", lr: float = 1e-3):
        """One training epoch of :meth:`fit` as a callable (``innmf bench`` times it).

        Sets up exactly as :meth:`fit` does (H re-initialised); each call of the
        returned function is one full-batch optimiser step and returns the loss.
        """
        loss_fn, params = self._objective(V, freq_coords)
        return make_step(loss_fn, params, optimizer, lr, reference=self.backend == "reference")

    @property
    def W_(self) -> np.ndarray:
        """The fitted dictionary (F x K) at the training frequencies."""
        if self.logits is None:
            raise ValueError("The model is not fitted yet; call fit() first.")
        with torch.inference_mode():
            if self._train_features is None:
                return self.net(self._train_coords).cpu().numpy()
            return self.net.forward_features(self._train_features).cpu().numpy()

    @property
    def components_(self) -> np.ndarray:
        """sklearn's name for the dictionary at the training frequencies, W (F x K) (= ``W_``)."""
        return self.W_

    @property
    def H_(self) -> np.ndarray:
        """The fitted activations (K x T)."""
        if self.logits is None:
            raise ValueError("The model is not fitted yet; call fit() first.")
        with torch.no_grad():
            return nnf.softplus(self.logits).cpu().numpy()

    def sample_W_tensor(self, freq_coords) -> torch.Tensor:
        """W sampled at any frequency coordinates, as a (F, K) tensor on the model's device."""
        with torch.inference_mode():
            W = self.net(as_coordinates(freq_coords, self.device, self.dtype))
        return W.clone()  # a normal tensor, usable in later autograd graphs

    def sample_W(self, freq_coords) -> np.ndarray:
        """Sample the dictionary at any frequency coordinates.

        Args:
            freq_coords: (F,) network coordinates (e.g. another window size's bins).

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
    ) -> np.ndarray:
        """Sample W at ``freq_coords`` (frozen) and fit new activations on ``V``.

        Args:
            V: magnitudes at another window size (F' x T').
            freq_coords: the F' coordinates of V's rows.
            epochs: steps (the paper: 1000).
            optimizer: ``"rprop"`` or ``"adam"``.
            lr: learning rate.
            progress: tqdm bar.
            seed: seed of H's initialisation (default: the model's seed + 2).
            loss_every: record the loss every this many epochs (1: all; the
                experiments, which only need H, record the first only).

        Returns:
            H, shape (K, T'); the loss history is kept in ``refit_history_``.
        """
        Vt = _matrix(V, self.device, self.dtype)
        W = self.sample_W_tensor(freq_coords)
        with _fork(self.device):
            H, self.refit_history_ = fit_H(
                Vt, W, epochs, optimizer, lr, self.seed + 2 if seed is None else seed, progress, "refit H",
                loss_every, reference=self.backend == "reference",
            )
        return H.cpu().numpy()

    def transform(self, V, freq_coords, **options) -> np.ndarray:
        """sklearn's ``transform``: activations of ``V`` under the learnt dictionary (fixed).

        The dictionary is sampled at ``freq_coords``, so V may come from any window size.
        ``options`` are those of :meth:`refit_H` (``epochs``, ``optimizer``, ``lr``, ...).

        Returns:
            H, shape (K, T).
        """
        return self.refit_H(V, freq_coords, **options)

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model (network weights, H, training coordinates, settings) to one file.

        :meth:`load` rebuilds it on any device and either backend, e.g. to sample the
        dictionary at another window size N elsewhere.
        """
        if self.logits is None:
            raise ValueError("The model is not fitted yet; call fit() before save().")
        state = {
            "networks": export_stacked(self.net),
            "logits": self.logits.detach().cpu().clone(),
            "train_coords": self._train_coords.detach().cpu().clone(),
            "history": None if self.history_ is None else torch.from_numpy(np.asarray(self.history_)),
        }
        _save(path, "ImplicitWNMF", self.config_, state)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu", backend: str | None = None) -> "ImplicitWNMF":
        """Read a model written by :meth:`save`.

        Args:
            path: the file.
            device: where to put it.
            backend: override the saved backend (the weights are the same on both).

        Returns:
            The fitted model: ``sample_W``, ``W_``, ``H_``, ``transform`` work as after ``fit``.
        """
        config, state = _load(path, "ImplicitWNMF")
        if backend is not None:
            config["backend"] = backend
        model = cls(**config, device=device)
        import_stacked(model.net, state["networks"])
        model.logits = nn.Parameter(state["logits"].to(model.device, model.dtype))
        model._train_coords = state["train_coords"].to(model.device, model.dtype)
        model._train_features = None
        model.history_ = None if state["history"] is None else state["history"].numpy()
        return model


@dataclass
class ActivationFit:
    """Output of :func:`fit_activations`.

    Attributes:
        H: one activation matrix per dictionary, H[i] of shape (K_i, T).
        estimates: each source's model magnitudes W_i H_i (F x T), for masks.
        losses: the mean KL per epoch.
    """

    H: list[np.ndarray]
    estimates: list[np.ndarray]
    losses: np.ndarray


def fit_activations(
    V_mix,
    W_list,
    epochs: int = 100,
    optimizer: str = "rprop",
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    progress: bool = False,
    loss_every: int = 1,
    backend: str = "auto",
) -> ActivationFit:
    """Model 3: fit the activations of fixed dictionaries on a mixture (supervised separation).

    The paper's iN-NMF separation: W_1, W_2 are sampled from the speakers' trained
    networks at the mixture's bin frequencies, and H_1, H_2 (softplus of parameters,
    initialised U[0, 1)) are fitted by gradient descent on
    KL(V_mix || W_1 H_1 + W_2 H_2).

    Args:
        V_mix: mixture magnitudes (F x T).
        W_list: the fixed dictionaries, each (F x K_i) (numpy or torch).
        epochs: steps (the paper: 100).
        optimizer: ``"rprop"`` or ``"adam"``.
        lr: learning rate.
        seed: seed of the initialisation.
        device: where to compute.
        dtype: computation dtype.
        progress: tqdm bar.
        loss_every: record the loss every this many epochs (1: all).
        backend: ``"auto"``, ``"fast"`` or ``"reference"`` (autograd through
            :func:`innmf.paper.inmf.loss_fixed_W` and ``torch.optim``).

    Returns:
        :class:`ActivationFit`.
    """
    reference = check_backend(backend) == "reference"
    device = torch.device(device)
    if len(W_list) < 1:
        raise ValueError("Give at least one dictionary.")
    Vt = _matrix(V_mix, device, dtype, "V_mix")
    Ws = [_matrix(W, device, dtype, f"W_list[{i}]") for i, W in enumerate(W_list)]
    for i, W in enumerate(Ws):
        if W.shape[0] != Vt.shape[0]:
            raise ValueError(f"W_list[{i}] has {W.shape[0]} rows but V_mix has {Vt.shape[0]}.")
        if bool((W < 0).any()):
            raise ValueError(f"W_list[{i}] has negative entries; dictionaries must be non-negative.")
    sizes = [W.shape[1] for W in Ws]
    with _fork(device):
        H, losses = fit_H(Vt, torch.cat(Ws, dim=1), epochs, optimizer, lr, seed, progress, "fit activations",
                          loss_every, reference=reference)
    Hs = list(torch.split(H, sizes, dim=0))
    with torch.no_grad():
        estimates = [(W @ Hi).cpu().numpy() for W, Hi in zip(Ws, Hs)]
    return ActivationFit(H=[h.cpu().numpy() for h in Hs], estimates=estimates, losses=losses)


class _GatherRows(torch.autograd.Function):
    """rows = values[index]; the backward pass sums gradients per row with ``bincount``.

    PyTorch's own backward (``index_add_``) is serial at best and, with two CPU
    threads, contends for the same few cache lines, far slower for the hybrid
    cloud's ~50k points gathered from ~7k rows (``results/bench/README.md``).
    """

    @staticmethod
    def forward(ctx, values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.shape = values.shape
        return values.index_select(0, index)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (index,) = ctx.saved_tensors
        n_rows, width = ctx.shape
        flat = (index * width).unsqueeze(1) + torch.arange(width, device=index.device)
        summed = torch.bincount(flat.reshape(-1), weights=grad.reshape(-1), minlength=n_rows * width)
        return summed.view(n_rows, width).to(grad.dtype), None


class _Side:
    """One factor of model 2: a network and the coordinates it is evaluated at.

    With ``index`` (distinct evaluation) the network runs on the distinct
    coordinates and ``index`` maps points to them; without it, it runs on the
    points themselves. A frozen encoding is computed once here.
    """

    def __init__(self, net: nn.Module, coords: torch.Tensor, index: torch.Tensor | None):
        self.net, self.coords, self.index = net, coords, index
        self.frozen = not net.encoding.trainable
        if self.frozen:
            with torch.no_grad():
                self.features = net.encoding(coords)

    def _run(self, rows: torch.Tensor | None) -> torch.Tensor:
        if self.frozen:
            feats = self.features if rows is None else self.features.index_select(0, rows)
        else:
            feats = self.net.encoding(self.coords if rows is None else self.coords.index_select(0, rows))
        return self.net.forward_features(feats)

    def values(self, idx: torch.Tensor | None) -> torch.Tensor:
        """(n, K) factor values at the points ``idx`` (all points when None)."""
        if self.index is None:
            return self._run(idx)
        distinct = self._run(None)
        return _GatherRows.apply(distinct, self.index if idx is None else self.index.index_select(0, idx))


class ImplicitWH(nn.Module):
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
        device: where to train.
        dtype: parameter dtype.
        backend: ``"auto"``, ``"fast"`` or ``"reference"`` (see :mod:`innmf.models.backends`).
    """

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
        if evaluation not in ("distinct", "pointwise"):
            raise ValueError(f"evaluation must be 'distinct' or 'pointwise', got {evaluation!r}.")
        self.device, self.dtype, self.seed, self.evaluation = torch.device(device), dtype, int(seed), evaluation
        self.backend = check_backend(backend)
        self.config_ = dict(
            rank=int(rank), hidden=int(hidden), n_freqs=int(n_freqs), n_layers=int(n_layers), activation=activation,
            init=init, shared_encoding=bool(shared_encoding), evaluation=evaluation, seed=self.seed,
            dtype=_dtype_name(dtype), backend=backend,
        )
        common = dict(
            hidden=hidden, n_layers=n_layers, activation=activation, init=init, n_freqs=n_freqs,
            shared_encoding=shared_encoding, device=device, dtype=dtype,
        )
        self.W_net = make_networks(backend, rank, seed=self.seed, **common)
        self.H_net = make_networks(backend, rank, seed=self.seed + 104729, **common)
        self.history_: np.ndarray | None = None
        self._train_f: torch.Tensor | None = None

    @property
    def rank(self) -> int:
        return self.W_net.n_components

    def _objective(self, t, f, m, fraction: float):
        """Validate the cloud, index the distinct coordinates once; return (loss_fn, params)."""
        tt = as_coordinates(t, self.device, self.dtype)
        ff = as_coordinates(f, self.device, self.dtype)
        mm = as_coordinates(m, self.device, self.dtype)
        if not (tt.numel() == ff.numel() == mm.numel()):
            raise ValueError(f"t, f and m must have one entry per point; got {tt.numel()}, {ff.numel()}, {mm.numel()}.")
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}.")
        n = mm.numel()
        n_batch = max(1, int(round(fraction * n)))
        gen = torch.Generator(device=self.device).manual_seed(self.seed + 2)
        self._train_f = torch.unique(ff)
        if self.backend == "reference":

            def reference_loss() -> torch.Tensor:
                idx = torch.randperm(n, generator=gen, device=self.device)[:n_batch] if n_batch < n else slice(None)
                return inmf.loss_implicit_WH(self.W_net, self.H_net, tt[idx], ff[idx], mm[idx])

            return reference_loss, [*self.W_net.parameters(), *self.H_net.parameters()]
        target = KLTarget(mm)
        if self.evaluation == "distinct":
            f_coords, f_index = torch.unique(ff, return_inverse=True)
            t_coords, t_index = torch.unique(tt, return_inverse=True)
        else:
            f_coords, f_index, t_coords, t_index = ff, None, tt, None
        w_side = _Side(self.W_net, f_coords, f_index)
        h_side = _Side(self.H_net, t_coords, t_index)

        def loss_fn() -> torch.Tensor:
            idx = None
            if n_batch < n:
                idx = torch.randperm(n, generator=gen, device=self.device)[:n_batch]
            m_hat = (w_side.values(idx) * h_side.values(idx)).sum(dim=1)
            return mean_kl(m_hat, target if idx is None else target.subset(idx))

        return loss_fn, [*self.W_net.parameters(), *self.H_net.parameters()]

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
    ) -> "ImplicitWH":
        """Fit both networks on the cloud (continues from the current weights).

        Args:
            t: time coordinates of the points (already normalised, e.g. t / t_max).
            f: frequency coordinates (e.g. Hz / (sr / 2)).
            m: magnitudes (the paper fits m^0.5).
            epochs: steps (the paper: 1000).
            fraction: share of the points drawn at random for each epoch (the paper:
                0.5); 1.0 is full batch.
            optimizer: ``"rprop"`` or ``"adam"``.
            lr: learning rate.
            progress: tqdm bar.

        Returns:
            The model itself; the loss history (mean KL over each epoch's points) is in ``history_``.
        """
        with _fork(self.device):
            torch.manual_seed(self.seed)
            loss_fn, params = self._objective(t, f, m, fraction)
            self.history_ = train(loss_fn, params, epochs, optimizer, lr, progress, "iN-NMF (W, H implicit)",
                                  reference=self.backend == "reference")
        return self

    def epoch_function(self, t, f, m, fraction: float = 0.5, optimizer: str = "rprop", lr: float = 1e-3):
        """One training epoch of :meth:`fit` as a callable (``innmf bench`` times it)."""
        loss_fn, params = self._objective(t, f, m, fraction)
        return make_step(loss_fn, params, optimizer, lr, reference=self.backend == "reference")

    @property
    def components_(self) -> np.ndarray:
        """The frequency templates W (F x K) at the distinct frequencies of the training cloud."""
        if self._train_f is None:
            raise ValueError("The model is not fitted yet; call fit() first.")
        return self.W(self._train_f)

    def save(self, path: str | os.PathLike) -> None:
        """Write both networks' weights and the settings that rebuild the model to one file (see :meth:`load`)."""
        state = {"W_net": export_stacked(self.W_net), "H_net": export_stacked(self.H_net),
                 "train_f": None if self._train_f is None else self._train_f.detach().cpu().clone(),
                 "history": None if self.history_ is None else torch.from_numpy(np.asarray(self.history_))}
        _save(path, "ImplicitWH", self.config_, state)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu", backend: str | None = None) -> "ImplicitWH":
        """Read a model written by :meth:`save` (``backend`` overrides the saved one)."""
        config, state = _load(path, "ImplicitWH")
        if backend is not None:
            config["backend"] = backend
        model = cls(**config, device=device)
        import_stacked(model.W_net, state["W_net"])
        import_stacked(model.H_net, state["H_net"])
        model._train_f = None if state["train_f"] is None else state["train_f"].to(model.device, model.dtype)
        model.history_ = None if state["history"] is None else state["history"].numpy()
        return model

    def W(self, f_coords) -> np.ndarray:
        """Sample the frequency templates: (F, K) at the given coordinates."""
        with torch.inference_mode():
            return self.W_net(as_coordinates(f_coords, self.device, self.dtype)).cpu().numpy()

    def H(self, t_coords) -> np.ndarray:
        """Sample the activations: (K, T) at the given time coordinates."""
        with torch.inference_mode():
            return self.H_net(as_coordinates(t_coords, self.device, self.dtype)).T.cpu().numpy()

    def predict(self, t, f) -> np.ndarray:
        """The model's magnitude m_hat at each point (t_i, f_i)."""
        with torch.inference_mode():
            W = self.W_net(as_coordinates(f, self.device, self.dtype))
            H = self.H_net(as_coordinates(t, self.device, self.dtype))
            if W.shape[0] != H.shape[0]:
                raise ValueError("t and f must have one entry per point.")
            return (W * H).sum(dim=1).cpu().numpy()
