"""The closed-form activation fit equals the autograd fit it replaces."""

import numpy as np
import pytest
import torch
import torch.nn.functional as nnf

from innmf.accel.activations import fit_activations_fixed_W
from innmf.paper.divergences import kl_divergence
from innmf.accel.kl import KLTarget, mean_kl
from innmf.models.training import train


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    W = torch.as_tensor(rng.gamma(1.0, 1.0, (50, 4)))
    V = W @ torch.as_tensor(rng.gamma(1.0, 1.0, (4, 30))) + 1e-3
    V[0, :5] = 0.0  # zeros in the target are allowed (0 log 0 = 0)
    return V, W


def _autograd_fit(V, W, epochs, optimizer, seed):
    """The straightforward version: autograd through softplus, W H and the KL."""
    gen = torch.Generator().manual_seed(seed)
    logits = torch.nn.Parameter(torch.rand(W.shape[1], V.shape[1], generator=gen, dtype=torch.float64).to(V.dtype))
    target = KLTarget(V)
    losses = train(lambda: mean_kl(W @ nnf.softplus(logits), target), [logits], epochs, optimizer, 1e-3)
    return nnf.softplus(logits.detach()), losses


@pytest.mark.parametrize("optimizer", ["rprop", "adam"])
def test_matches_autograd_in_float64(problem, optimizer):
    V, W = problem
    H_ref, loss_ref = _autograd_fit(V, W, 60, optimizer, seed=3)
    H, losses = fit_activations_fixed_W(V, W, 60, optimizer, seed=3)
    np.testing.assert_allclose(H.numpy(), H_ref.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(losses, loss_ref, rtol=1e-10)


def test_loss_is_the_mean_kl_before_each_update(problem):
    V, W = problem
    H, losses = fit_activations_fixed_W(V, W, 5, seed=1)
    gen = torch.Generator().manual_seed(1)
    H0 = nnf.softplus(torch.rand(W.shape[1], V.shape[1], generator=gen, dtype=torch.float64))
    assert losses[0] == pytest.approx(kl_divergence(V.numpy(), (W @ H0).numpy()), rel=1e-12)
    assert losses[-1] < losses[0]


def test_loss_every_records_a_subset_and_changes_nothing_else(problem):
    V, W = problem
    H_all, all_losses = fit_activations_fixed_W(V, W, 10, seed=0)
    H_some, some = fit_activations_fixed_W(V, W, 10, seed=0, loss_every=4)
    np.testing.assert_array_equal(H_some.numpy(), H_all.numpy())
    np.testing.assert_array_equal(some, all_losses[[0, 4, 8]])


def test_bad_input(problem):
    V, W = problem
    with pytest.raises(ValueError, match="frequency bins"):
        fit_activations_fixed_W(V, W[:-1], 3)
    with pytest.raises(ValueError, match="negative"):
        fit_activations_fixed_W(-V, W, 3)
    with pytest.raises(ValueError, match="epochs"):
        fit_activations_fixed_W(V, W, 0)
    with pytest.raises(ValueError, match="loss_every"):
        fit_activations_fixed_W(V, W, 3, loss_every=0)
    with pytest.raises(ValueError, match="optimizer"):
        fit_activations_fixed_W(V, W, 3, optimizer="sgd")
