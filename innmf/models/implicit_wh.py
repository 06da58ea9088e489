"""Model 2 of the paper (arXiv:2404.04439): W(f) and H(t) both implicit, fitted on a point cloud.

:class:`ImplicitWH` fits the K frequency networks W(f) and the K time networks H(t) on
points (t_i, f_i, m_i) (the hybrid / irregular experiments). Each network is evaluated
at the *distinct* coordinates present (about 1k frequencies and a few thousand times
for ~100k points) and the values are gathered to the points (:class:`_Side`,
:class:`_GatherRows`). Also re-exported by :mod:`innmf.models.implicit`. Used by the
chapter "Hybrid representations" (:mod:`innmf.experiments.hybrid`,
:mod:`innmf.experiments.irregular`).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from innmf.accel.kl import KLTarget, mean_kl
from innmf.models.backends import check_backend, export_stacked, import_stacked, make_networks
from innmf.models.common import dtype_name, fork_rng, load_model_file, save_model_file
from innmf.models.training import make_step, train
from innmf.paper import inmf
from innmf.paper.encoding import as_coordinates


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
            dtype=dtype_name(dtype), backend=backend,
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
        with fork_rng(self.device):
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
        save_model_file(path, "ImplicitWH", self.config_, state)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu", backend: str | None = None) -> "ImplicitWH":
        """Read a model written by :meth:`save` (``backend`` overrides the saved one)."""
        config, state = load_model_file(path, "ImplicitWH")
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
