"""Model 3 of the paper (arXiv:2404.04439): the activations of fixed dictionaries fitted on a mixture.

:func:`fit_activations` is the paper's iN-NMF supervised separation: H_1 and H_2 fitted on a
mixture with two fixed (sampled) dictionaries, by gradient descent (Rprop, lr 1e-3, by default)
on the mean generalised KL divergence; :class:`ActivationFit` is what it returns. Also
re-exported by :mod:`innmf.models.implicit`. Used by the chapter "Separation" (through
:mod:`innmf.experiments.trial` and :mod:`innmf.experiments.baselines`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from innmf.accel.activations import KERNELS
from innmf.data.validation import check_choice, check_device, check_dtype, check_int
from innmf.models.backends import check_backend
from innmf.models.common import SEED_MAX, as_matrix, check_finite_fit, check_training, fork_rng
from innmf.models.training import fit_H


@dataclass
class ActivationFit:
    """Output of :func:`fit_activations`.

    Attributes:
        H: one activation matrix per dictionary, H[i] of shape (K_i, T).
        estimates: each source's model magnitudes W_i H_i (F x T), for masks
            (:func:`innmf.paper.separation.separate` takes them as they are).
        losses: the mean KL per recorded epoch (also ``history_``, the models' name).
    """

    H: list[np.ndarray]
    estimates: list[np.ndarray]
    losses: np.ndarray

    @property
    def history_(self) -> np.ndarray:
        """The loss history under the models' name (``ImplicitWNMF.history_``): the same array as ``losses``."""
        return self.losses


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
    kernel: str = "blas",
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
        device: where to compute ("cpu", "cuda", "cuda:N"; checked before any work).
        dtype: computation dtype (torch.float32 or torch.float64).
        progress: tqdm bar.
        loss_every: record the loss every this many epochs (1: all).
        backend: ``"auto"``, ``"fast"`` or ``"reference"`` (autograd through
            :func:`innmf.paper.inmf.loss_fixed_W` and ``torch.optim``).
        kernel: the fast path's Rprop fit: ``"blas"`` (default, the recorded runs') or
            ``"fused"`` (CPU, one compiled pass per column block, :mod:`innmf.accel.refit_fused`;
            the same math, numbers within float rounding).

    Returns:
        :class:`ActivationFit`.
    """
    reference = check_backend(backend) == "reference"
    check_choice(kernel, "kernel", KERNELS)
    device, dtype = check_device(device), check_dtype(dtype)
    epochs, optimizer, lr, loss_every = check_training(epochs, optimizer, lr, loss_every)
    seed = check_int(seed, "seed", minimum=0, maximum=SEED_MAX)
    if isinstance(W_list, (np.ndarray, torch.Tensor)) and W_list.ndim == 2:
        raise TypeError("W_list is one matrix; pass a list of dictionaries, e.g. [W_1, W_2] (or [W] for one).")
    if len(W_list) < 1:
        raise ValueError("Give at least one dictionary in W_list, e.g. [W_1, W_2].")
    Vt = as_matrix(V_mix, device, dtype, "V_mix")
    Ws = [as_matrix(W, device, dtype, f"W_list[{i}]", layout="F x K_i") for i, W in enumerate(W_list)]
    for i, W in enumerate(Ws):
        if W.shape[0] != Vt.shape[0]:
            raise ValueError(f"W_list[{i}] has {W.shape[0]} rows but V_mix has {Vt.shape[0]}; sample each dictionary at "
                             "V_mix's bins (e.g. model.sample_W(innmf.frequency_coordinate(n_fft))).")
    sizes = [W.shape[1] for W in Ws]
    with fork_rng(device):
        H, losses = fit_H(Vt, torch.cat(Ws, dim=1), epochs, optimizer, lr, seed, progress, "fit activations",
                          loss_every, reference=reference, kernel=kernel)
    check_finite_fit(losses, [H], "fit_activations", dtype)
    Hs = list(torch.split(H, sizes, dim=0))
    with torch.no_grad():
        estimates = [(W @ Hi).cpu().numpy() for W, Hi in zip(Ws, Hs)]
    return ActivationFit(H=[h.cpu().numpy() for h in Hs], estimates=estimates, losses=losses)
