"""innmf.models.nmf against scikit-learn's multiplicative updates and planted factorisations."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.decomposition import NMF

from innmf.paper.divergences import beta_divergence
from innmf.models.nmf import init_factors, nmf


pytestmark = pytest.mark.usefixtures("one_thread")  # fixture in conftest.py


@pytest.fixture(scope="module")
def spectrum():
    rng = np.random.default_rng(0)
    W = rng.gamma(0.5, 1.0, (80, 6))
    H = rng.gamma(0.5, 1.0, (6, 50))
    return (W @ H + 0.05 * rng.random((80, 50))) ** 0.5


@pytest.mark.parametrize("beta", [1.0, 2.0, 0.0])
def test_loss_never_increases(spectrum, beta):
    res = nmf(spectrum, 5, 150, beta=beta, init="random", seed=1, dtype=torch.float64)
    assert len(res.losses) == 150
    assert np.all(np.diff(res.losses) <= 1e-12 * res.losses[:-1])
    # the history is honest: its last value is the divergence of the returned factors
    assert res.losses[-1] == pytest.approx(beta_divergence(spectrum, res.W @ res.H, beta), rel=1e-9)


@pytest.mark.parametrize("beta,sk_name", [(1.0, "kullback-leibler"), (2.0, "frobenius")])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_matches_sklearn_mu(spectrum, beta, sk_name, dtype):
    n_iter, rank = 200, 5
    W0, H0 = init_factors(torch.tensor(spectrum), rank, "paper", seed=4)
    ours = nmf(spectrum, rank, n_iter, beta=beta, W=W0, H=H0, dtype=dtype)
    model = NMF(rank, solver="mu", beta_loss=sk_name, init="custom", max_iter=n_iter, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W_sk = model.fit_transform(spectrum, W=W0.numpy().copy(), H=H0.numpy().copy())
    ours_loss = beta_divergence(spectrum, ours.W.astype(np.float64) @ ours.H, beta)
    sk_loss = beta_divergence(spectrum, W_sk @ model.components_, beta)
    assert ours_loss == pytest.approx(sk_loss, rel=1e-2)
    if dtype == torch.float64:  # same algorithm, same order of operations
        np.testing.assert_allclose(ours.W, W_sk, rtol=1e-8, atol=1e-12)
    assert ours.W.dtype == (np.float64 if dtype == torch.float64 else np.float32)


def test_planted_low_rank_is_recovered():
    rng = np.random.default_rng(7)
    F, T, K = 60, 40, 3
    W = np.zeros((F, K))
    for k in range(K):  # disjoint supports make the factorisation unique up to scale
        W[20 * k : 20 * k + 20, k] = rng.random(20) + 0.5
    H = rng.random((K, T)) + 0.1
    H[:, :K] = np.eye(K)  # a frame where only component k sounds: unique up to scale
    V = W @ H
    res = nmf(V, K, 3000, init="random", seed=0, dtype=torch.float64)
    assert res.losses[-1] < 1e-8
    assert np.abs(res.W @ res.H - V).max() < 1e-3 * V.max()
    corr = np.corrcoef(W.T, res.W.T)[:K, K:]
    assert np.all(corr.max(axis=1) > 0.999)


def test_fixed_dictionaries_learn_activations_only():
    rng = np.random.default_rng(2)
    W1, W2 = rng.random((50, 3)), rng.random((50, 2))
    H1, H2 = rng.random((3, 30)) + 0.1, rng.random((2, 30)) + 0.1
    V = W1 @ H1 + W2 @ H2
    W = np.hstack([W1, W2])
    res = nmf(V, 5, 2000, W=W, fix_W=True, init="random", dtype=torch.float64)
    np.testing.assert_array_equal(res.W, W)
    assert np.all(np.diff(res.losses) <= 1e-12 * res.losses[:-1] + 1e-15)  # until round-off
    np.testing.assert_allclose(res.H, np.vstack([H1, H2]), rtol=0.05, atol=0.02)


def test_paper_init_and_seeds():
    V = torch.ones(400, 300)
    W, H = init_factors(V, 20, "paper", seed=0)
    assert W.shape == (400, 20) and H.shape == (20, 300)
    assert float(W.mean()) == pytest.approx(10.0, abs=0.05)
    assert float(W.std()) == pytest.approx(1.0, abs=0.05)
    assert float(W.min()) > 0 and float(H.min()) > 0
    W2, _ = init_factors(V, 20, "paper", seed=0)
    W3, _ = init_factors(V, 20, "paper", seed=1)
    assert torch.equal(W, W2) and not torch.equal(W, W3)
    Wr, Hr = init_factors(4 * V, 4, "random", seed=0)
    # sklearn's scale: sqrt(mean(V) / K) |N(0, 1)|, so E = sqrt(1) * sqrt(2 / pi)
    assert float(Wr.mean()) == pytest.approx(np.sqrt(2 / np.pi), rel=0.05)
    a = nmf(np.ones((10, 8)) + np.eye(10, 8), 2, 20, seed=3)
    b = nmf(np.ones((10, 8)) + np.eye(10, 8), 2, 20, seed=3)
    np.testing.assert_array_equal(a.W, b.W)


def test_loss_every_records_the_same_values(spectrum):
    full = nmf(spectrum, 4, 30, dtype=torch.float64)
    sparse = nmf(spectrum, 4, 30, dtype=torch.float64, loss_every=7)
    np.testing.assert_array_equal(sparse.loss_iterations, [7, 14, 21, 28, 30])
    np.testing.assert_allclose(sparse.losses, full.losses[sparse.loss_iterations - 1], rtol=1e-12)
    np.testing.assert_array_equal(full.loss_iterations, np.arange(1, 31))


def test_bad_input_raises(spectrum):
    with pytest.raises(ValueError, match="negative"):
        nmf(-spectrum, 3, 5)
    with pytest.raises(ValueError, match="fix_W"):
        nmf(spectrum, 3, 5, fix_W=True)
    with pytest.raises(ValueError, match="Shapes"):
        nmf(spectrum, 3, 5, W=np.ones((7, 3)))
    with pytest.raises(ValueError, match="init"):
        nmf(spectrum, 3, 5, init="nndsvd")
    with pytest.raises(ValueError, match="2-D"):
        nmf(np.ones(5), 1, 5)
    with pytest.raises(ValueError, match="NaN"):
        nmf(np.full((3, 3), np.nan), 1, 5)
