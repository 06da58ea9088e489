"""innmf.paper.mu (the plain MU steps) against scikit-learn, and the fast NMF paths against it."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.decomposition import NMF
from sklearn.decomposition._nmf import _multiplicative_update_h, _multiplicative_update_w

from innmf.models.nmf import init_factors, nmf
from innmf.paper import mu

pytestmark = pytest.mark.usefixtures("one_thread")  # fixture in conftest.py


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    V = (rng.gamma(0.5, 1.0, (70, 6)) @ rng.gamma(0.5, 1.0, (6, 45)) + 0.05 * rng.random((70, 45))) ** 0.5
    W = rng.random((70, 4)) + 0.1
    H = rng.random((4, 45)) + 0.1
    return V, W, H


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 1.5, 2.0, 3.0])
def test_one_step_equals_sklearn(problem, beta):
    V, W, H = problem
    gamma = mu.gamma(beta)
    W_sk = _multiplicative_update_w(V, W.copy(), H, beta, 0.0, 0.0, gamma)[0]
    np.testing.assert_allclose(mu.update_W(V, W, H, beta), W_sk, rtol=1e-12)
    H_sk = _multiplicative_update_h(V, W_sk, H.copy(), beta, 0.0, 0.0, gamma)
    np.testing.assert_allclose(mu.update_H(V, W_sk, H, beta), H_sk, rtol=1e-12)
    W1, H1 = mu.step(V, W, H, beta)  # W first, then H with the new W
    np.testing.assert_allclose(W1, W_sk, rtol=1e-12)
    np.testing.assert_allclose(H1, H_sk, rtol=1e-12)


def test_gamma_is_fevotte_idiers():
    assert mu.gamma(0.0) == 0.5 and mu.gamma(1.0) == mu.gamma(2.0) == mu.gamma(1.5) == 1.0
    assert mu.gamma(3.0) == 0.5 and mu.gamma(-1.0) == pytest.approx(1 / 3)


def test_safeguards():
    V = np.array([[1.0, 0.5], [0.5, 1.0]])
    W = np.array([[1.0, 0.0], [0.0, 1.0]])  # W H is zero off the diagonal: floored, no division by zero
    H = np.array([[1.0, 1e-300], [1e-300, 1.0]])
    H1 = mu.update_H(V, W, H, 1.0)
    assert np.all(np.isfinite(H1)) and H1[0, 1] == 0.0 and H1[1, 0] == 0.0  # below float64 eps: zeroed
    assert mu.update_H(V, W, H, 1.5)[0, 1] > 0.0  # beta > 1: no zeroing
    assert np.all(mu.model(W, H, 0.5) >= mu.EPSILON) and mu.model(W, H, 2.0).min() < mu.EPSILON


def test_reference_nmf_equals_sklearn_mu(problem):
    V = problem[0]
    W0, H0 = init_factors(torch.tensor(V), 5, "paper", seed=4)
    ref = nmf(V, 5, 200, W=W0, H=H0, dtype=torch.float64, backend="reference")
    model = NMF(5, solver="mu", beta_loss="kullback-leibler", init="custom", max_iter=200, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W_sk = model.fit_transform(V, W=W0.numpy().copy(), H=H0.numpy().copy())
    np.testing.assert_allclose(ref.W, W_sk, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ref.H, model.components_, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("beta", [1.0, 2.0, 0.0, 1.5])
@pytest.mark.parametrize("fix_W", [False, True])
def test_fast_path_equals_reference_float64(problem, beta, fix_W):
    # beta = 1 on the CPU is the fused KL kernels (where numba is installed); the others torch products
    V, W, _ = problem
    W = W if fix_W else None
    fast = nmf(V, 4, 150, beta=beta, W=W, fix_W=fix_W, seed=2, dtype=torch.float64)
    ref = nmf(V, 4, 150, beta=beta, W=W, fix_W=fix_W, seed=2, dtype=torch.float64, backend="reference")
    np.testing.assert_allclose(fast.W, ref.W, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(fast.H, ref.H, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(fast.losses, ref.losses, rtol=1e-9)
    np.testing.assert_array_equal(fast.loss_iterations, ref.loss_iterations)


def test_fast_path_equals_reference_float32(problem):
    V = problem[0]
    fast = nmf(V, 4, 100, seed=1, loss_every=10)
    ref = nmf(V, 4, 100, seed=1, loss_every=10, backend="reference")
    assert ref.W.dtype == fast.W.dtype == np.float32
    np.testing.assert_allclose(fast.W @ fast.H, ref.W @ ref.H, rtol=2e-3, atol=1e-4)
    np.testing.assert_allclose(fast.losses, ref.losses, rtol=2e-3)


def test_backend_is_checked(problem):
    with pytest.raises(ValueError, match="Unknown backend"):
        nmf(problem[0], 3, 2, backend="numba")
