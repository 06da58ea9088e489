"""The training loop (innmf.models.training) and the fast path's pieces against the paper's plain ones:
mean_kl against autograd through innmf.paper.inmf.objective, FlatRprop against torch.optim.Rprop."""

import numpy as np
import pytest
import torch

from innmf.accel.kl import KLTarget, mean_kl
from innmf.accel.optim import FlatRprop
from innmf.models.training import fit_H, train
from innmf.paper import inmf


def test_mean_kl_is_the_paper_objective_value_and_gradient():
    rng = np.random.default_rng(0)
    m = torch.tensor(rng.gamma(0.5, 1.0, (40, 30)))
    m[rng.random((40, 30)) < 0.2] = 0.0  # zeros in the data, as spectra have
    m_hat = torch.tensor(rng.gamma(2.0, 0.5, (40, 30)), requires_grad=True)
    fast = mean_kl(m_hat, KLTarget(m))
    (grad_fast,) = torch.autograd.grad(fast, m_hat)
    plain = inmf.objective(m, m_hat)
    (grad_plain,) = torch.autograd.grad(plain, m_hat)
    assert float(fast.detach()) == pytest.approx(float(plain.detach()), rel=1e-12)
    torch.testing.assert_close(grad_fast, grad_plain, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad_plain.numpy(), (1 - m.numpy() / m_hat.detach().numpy()) / m.numel())


def test_flat_rprop_is_torch_rprop_bit_for_bit():
    ps = [torch.randn(4, 3, requires_grad=True), torch.randn(5, requires_grad=True)]
    qs = [p.detach().clone().requires_grad_() for p in ps]
    ours, theirs = FlatRprop(qs, lr=0.01), inmf.optimizer(ps, "rprop", lr=0.01)
    assert isinstance(theirs, torch.optim.Rprop)
    for _ in range(50):
        for params, opt in ((ps, theirs), (qs, ours)):
            opt.zero_grad()
            sum((torch.sin(3 * p) + p**2).sum() for p in params).backward()
            opt.step()
    for p, q in zip(ps, qs):
        assert torch.equal(p, q)


@pytest.mark.parametrize("reference", [False, True])
@pytest.mark.parametrize("optimizer", ["adam", "rprop"])
def test_both_optimisers_train_on_both_paths(optimizer, reference):
    m = torch.tensor([[0.5, 2.0], [1.0, 0.0]])
    target = KLTarget(m)
    p = torch.nn.Parameter(torch.zeros(2, 2))
    loss = (lambda: inmf.objective(m, torch.nn.functional.softplus(p))) if reference else \
        (lambda: mean_kl(torch.nn.functional.softplus(p), target))
    losses = train(loss, [p], 200, optimizer, lr=0.05, reference=reference)
    assert losses.shape == (200,) and losses[-1] < 0.05 * losses[0]
    with pytest.raises(ValueError, match="optimizer"):
        train(loss, [p], 2, "sgd", reference=reference)


def test_fit_H_fast_and_reference_agree():
    rng = np.random.default_rng(1)
    W = torch.tensor(rng.random((30, 4)) + 0.1)
    V = W @ torch.tensor(rng.random((4, 25)) + 0.1)
    H_fast, loss_fast = fit_H(V, W, 60, seed=3)
    H_ref, loss_ref = fit_H(V, W, 60, seed=3, reference=True)
    np.testing.assert_allclose(loss_fast, loss_ref, rtol=1e-9)
    torch.testing.assert_close(H_fast, H_ref, rtol=1e-8, atol=1e-12)
    with pytest.raises(ValueError, match="rows"):
        fit_H(V, W[:5], 2, reference=True)
