"""innmf.paper.divergences against closed forms, scipy and scikit-learn's beta-divergence."""

import numpy as np
import pytest
import torch
from scipy.special import kl_div
from sklearn.decomposition._nmf import _beta_divergence

from innmf.paper.divergences import beta_divergence, beta_from_name, euclidean, is_divergence, kl_divergence


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(3)
    V = rng.random((30, 20)) + 0.01
    W, H = rng.random((30, 4)) + 0.01, rng.random((4, 20)) + 0.01
    return V, W, H


def test_kl_matches_scipy_elementwise(pair):
    V, W, H = pair
    V_hat = W @ H
    assert kl_divergence(V, V_hat, "sum") == pytest.approx(kl_div(V, V_hat).sum(), rel=1e-12)
    assert kl_divergence(V, V_hat) == pytest.approx(kl_div(V, V_hat).mean(), rel=1e-12)


@pytest.mark.parametrize("beta,name", [(1, "kl"), (0, "is"), (2, "euclidean"), (1.5, None), (0.5, None), (3, None)])
def test_sum_matches_sklearn_beta_divergence(pair, beta, name):
    V, W, H = pair
    expected = _beta_divergence(V, W, H, beta)
    assert beta_divergence(V, W @ H, beta, "sum") == pytest.approx(expected, rel=1e-9)
    if name:
        assert beta_divergence(V, W @ H, name, "sum") == pytest.approx(expected, rel=1e-9)


def test_closed_forms():
    # KL(2 || 1) = 2 log 2 - 1, IS(2 || 1) = 2 - log 2 - 1, half squared error (2 - 1)^2 / 2
    V, V_hat = np.array([[2.0]]), np.array([[1.0]])
    assert kl_divergence(V, V_hat) == pytest.approx(2 * np.log(2) - 1)
    assert is_divergence(V, V_hat) == pytest.approx(1 - np.log(2))
    assert euclidean(V, V_hat) == pytest.approx(0.5)


def test_itakura_saito_has_minus_one():
    """IS(x || x) is zero (the published code's +1 would make it 2)."""
    x = np.array([0.3, 1.0, 7.0])
    assert is_divergence(x, x) == pytest.approx(0.0, abs=1e-15)


def test_zeros_are_safe():
    V = np.array([0.0, 1.0, 0.0])
    V_hat = np.array([0.5, 1.0, 0.0])
    # 0 log 0 = 0: the KL of a zero target is the model value itself
    assert kl_divergence(V, V_hat, "sum") == pytest.approx(0.5)
    assert kl_divergence(V, V_hat, "sum", floor=1e-12) == pytest.approx(0.5 + 1e-12)
    # a zero model under positive data: infinite, so strict is an error and a floor makes it finite
    with pytest.raises(ValueError, match="infinite"):
        kl_divergence(np.array([1.0]), np.array([0.0]))
    with pytest.raises(ValueError, match="infinite"):
        kl_divergence(torch.tensor([1.0]), torch.tensor([0.0]))
    assert kl_divergence(np.array([1.0]), np.array([0.0]), floor=1e-12) == pytest.approx(np.log(1e12) - 1)
    assert np.isfinite(beta_divergence(np.array([1.0]), np.array([0.0]), "kl"))  # the family floors at TINY
    assert np.isfinite(is_divergence(V, V_hat))
    t = kl_divergence(torch.tensor(V), torch.tensor(V_hat), "sum")
    assert float(t) == pytest.approx(0.5)


def test_kl_terms_are_scipys_bit_for_bit():
    # the recorded runs' KL values came from scipy's kl_div: the one KL must give the same floats
    rng = np.random.default_rng(5)
    V = rng.gamma(0.3, 1.0, (257, 93)) ** 0.5
    V[rng.random(V.shape) < 0.1] = 0.0
    V_hat = (rng.gamma(2.0, 1.0, (257, 5)) @ rng.gamma(2.0, 0.1, (5, 93))).astype(np.float32)
    V_hat[0, :3] = 0.0
    V[0, :3] = 0.0
    assert kl_divergence(V, V_hat) == float(np.mean(kl_div(V, V_hat.astype(np.float64))))
    assert kl_divergence(V, V_hat, "sum") == float(np.sum(kl_div(V, V_hat.astype(np.float64))))


def test_bad_values_are_named():
    with pytest.raises(ValueError, match="V_hat contains NaN"):
        kl_divergence(np.ones(3), np.array([1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="empty"):
        kl_divergence(np.ones(0), np.ones(0))
    with pytest.raises(ValueError, match="floor must be positive"):
        kl_divergence(np.ones(3), np.ones(3), floor=0.0)


def test_torch_and_numpy_agree_and_gradient_is_right(pair):
    V, W, H = pair
    V_hat = W @ H
    for beta in (0, 1, 2, 1.5):
        ref = beta_divergence(V, V_hat, beta)
        got = beta_divergence(torch.tensor(V), torch.tensor(V_hat), beta)
        assert isinstance(got, torch.Tensor) and float(got) == pytest.approx(ref, rel=1e-10)
    Vh = torch.tensor(V_hat, requires_grad=True)
    kl_divergence(torch.tensor(V), Vh).backward()
    expected = (1 - V / V_hat) / V.size
    np.testing.assert_allclose(Vh.grad.numpy(), expected, rtol=1e-10)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="shape"):
        kl_divergence(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="non-negative"):
        kl_divergence(np.array([-1.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="reduction"):
        euclidean(np.ones(2), np.ones(2), reduction="max")
    with pytest.raises(ValueError, match="same kind"):
        kl_divergence(np.ones(2), torch.ones(2))
    with pytest.raises(ValueError, match="Unknown divergence"):
        beta_from_name("cosine")


def test_kl_gradient_is_finite_where_the_data_are_zero():
    # d/dv_hat (v log(v / v_hat) - v + v_hat) = 1 - v / v_hat: exactly 1 where v = 0 (autograd through
    # xlogy would give 0 / 0 there, and the reference backend's training would turn NaN)
    V = torch.tensor([0.0, 2.0, 0.0], dtype=torch.float64)
    V_hat = torch.tensor([0.5, 1.0, 3.0], dtype=torch.float64, requires_grad=True)
    kl_divergence(V, V_hat, "sum").backward()
    torch.testing.assert_close(V_hat.grad, torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64))
    V_hat.grad = None
    kl_divergence(V, V_hat, "sum", floor=1e-12).backward()
    torch.testing.assert_close(V_hat.grad, torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64))
