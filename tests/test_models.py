"""The three iN-NMF models (innmf.models.implicit); the training loop is in tests/test_training.py."""

import numpy as np
import pytest
import torch

from innmf.paper.divergences import kl_divergence
from innmf.models.implicit import ImplicitWH, ImplicitWNMF, fit_activations
from innmf.models.nmf import nmf
from innmf.tf.stft import frequency_coordinate


pytestmark = pytest.mark.usefixtures("one_thread")  # fixture in conftest.py


def _templates(n_fft: int) -> np.ndarray:
    """Three smooth spectral templates sampled at an STFT's bins (a function of frequency)."""
    x = frequency_coordinate(n_fft) + 0.5
    return np.stack([np.exp(-(((x - c) / 0.08) ** 2)) + 0.05 for c in (0.2, 0.5, 0.8)], axis=1)


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(0)
    H = rng.random((3, 40)) + 0.1
    return _templates(256) @ H, frequency_coordinate(256), H


@pytest.fixture(scope="module")
def fitted(planted):
    V, f, _ = planted
    model = ImplicitWNMF(3, hidden=32, n_freqs=6, seed=0)
    assert model.fit(V, f, epochs=300) is model  # sklearn's face: fit returns the model
    return model


def test_reaches_classic_nmf_kl(planted, fitted):
    V, f, _ = planted
    inr_kl = kl_divergence(V, fitted.W_ @ fitted.H_)
    classic = nmf(V, 3, 300, init="random", seed=0)
    classic_kl = kl_divergence(V, classic.W @ classic.H)
    assert inr_kl <= 1.1 * classic_kl
    assert fitted.history_.shape == (300,) and fitted.history_[-1] < 0.01 * fitted.history_[0]
    assert fitted.H_.shape == (3, 40) and fitted.W_.shape == (129, 3)


def test_sample_W_reproduces_the_fitted_W_exactly(planted, fitted):
    _, f, _ = planted
    np.testing.assert_array_equal(fitted.sample_W(f), fitted.W_)
    # in another order only round-off may differ (SIMD lanes see other neighbours)
    np.testing.assert_allclose(fitted.sample_W(f[::-1]), fitted.W_[::-1], rtol=1e-5)
    assert fitted.sample_W(np.linspace(-0.5, 0.5, 7)).shape == (7, 3)


def test_same_seed_same_numbers_and_rng_untouched(planted):
    V, f, _ = planted
    state = torch.random.get_rng_state()
    runs = [ImplicitWNMF(3, hidden=8, n_freqs=4, seed=s) for s in (5, 5, 6)]
    histories = [m.fit(V, f, epochs=15).history_ for m in runs]
    assert torch.equal(state, torch.random.get_rng_state())
    np.testing.assert_array_equal(histories[0], histories[1])
    np.testing.assert_array_equal(runs[0].H_, runs[1].H_)
    assert not np.array_equal(histories[0], histories[2])


def test_refit_H_at_another_window_size(planted, fitted):
    _, _, H = planted
    V_other = _templates(200) @ H  # the same sources seen with a 200-point window
    H_new = fitted.refit_H(V_other, frequency_coordinate(200), epochs=300)
    assert H_new.shape == (3, 40) and np.all(H_new >= 0)
    W_other = fitted.sample_W(frequency_coordinate(200))
    assert kl_divergence(V_other, W_other @ H_new) < 0.05 * fitted.refit_history_[0]


def test_fit_activations_with_two_fixed_dictionaries(planted):
    V, _, H = planted
    W = _templates(256)
    fit = fit_activations(V, [W[:, :2], W[:, 2:]], epochs=300)
    assert [h.shape for h in fit.H] == [(2, 40), (1, 40)]
    assert fit.losses[-1] < 1e-3 * fit.losses[0]
    np.testing.assert_allclose(fit.estimates[0] + fit.estimates[1], V, rtol=0.05)
    np.testing.assert_allclose(np.vstack(fit.H), H, rtol=0.1, atol=0.02)


@pytest.fixture(scope="module")
def cloud():
    rng = np.random.default_rng(1)
    n = 4000
    t = rng.integers(0, 60, n) / 60
    f = rng.integers(0, 50, n) / 50
    W = np.stack([np.exp(-(((f - 0.3) / 0.1) ** 2)), np.exp(-(((f - 0.7) / 0.1) ** 2))], axis=1) + 0.01
    H = np.stack([t, 1 - t], axis=1) + 0.05
    return t, f, (W * H).sum(axis=1)


def test_implicit_W_and_H_on_a_point_cloud(cloud):
    t, f, m = cloud
    model = ImplicitWH(2, hidden=16, n_freqs=6, seed=0)
    history = model.fit(t, f, m, epochs=150, fraction=0.5).history_
    assert history[-1] < 0.01 * history[0]
    assert model.sample_W(np.linspace(0, 1, 11)).shape == (11, 2)
    assert model.sample_H(np.linspace(0, 1, 13)).shape == (2, 13)
    m_hat = model.predict(t, f)
    assert m_hat.shape == m.shape and np.all(m_hat >= 0)
    assert kl_divergence(m, m_hat) < 0.05 * history[0]


@pytest.mark.parametrize("fraction", [1.0, 0.5])
def test_distinct_evaluation_equals_pointwise(cloud, fraction):
    t, f, m = cloud
    a = ImplicitWH(2, hidden=8, n_freqs=4, seed=3, evaluation="distinct").fit(t, f, m, epochs=4, fraction=fraction).history_
    b = ImplicitWH(2, hidden=8, n_freqs=4, seed=3, evaluation="pointwise").fit(t, f, m, epochs=4, fraction=fraction).history_
    np.testing.assert_allclose(a, b, rtol=1e-5)


def test_gather_rows_gradient():
    from innmf.models.implicit_wh import _GatherRows

    values = torch.randn(7, 3, dtype=torch.float64, requires_grad=True)
    index = torch.tensor([0, 6, 6, 2, 0, 0, 5])
    assert torch.autograd.gradcheck(lambda v: _GatherRows.apply(v, index), (values,))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(planted):
    V, f, _ = planted
    cpu = ImplicitWNMF(3, hidden=8, n_freqs=4, seed=0, backend="reference").fit(V, f, epochs=5).history_
    gpu = ImplicitWNMF(3, hidden=8, n_freqs=4, seed=0, device="cuda").fit(V, f, epochs=5).history_
    np.testing.assert_allclose(cpu, gpu, rtol=1e-3)


def test_bad_input_raises(planted, cloud):
    V, f, _ = planted
    with pytest.raises(ValueError, match="frequency coordinates"):
        ImplicitWNMF(2, hidden=4).fit(V, f[:-1], epochs=1)
    with pytest.raises(ValueError, match="negative"):
        ImplicitWNMF(2, hidden=4).fit(-V, f, epochs=1)
    with pytest.raises(ValueError, match="optimizer"):
        ImplicitWNMF(2, hidden=4).fit(V, f, epochs=1, optimizer="sgd")
    with pytest.raises(ValueError, match="not fitted"):
        ImplicitWNMF(2, hidden=4).H_
    t, fc, m = cloud
    with pytest.raises(ValueError, match="fraction"):
        ImplicitWH(2, hidden=4).fit(t, fc, m, epochs=1, fraction=1.5)
    with pytest.raises(ValueError, match="one entry per point"):
        ImplicitWH(2, hidden=4).fit(t[:-1], fc, m, epochs=1)
    with pytest.raises(ValueError, match="rows"):
        fit_activations(V, [np.ones((5, 2))], epochs=1)


def test_loss_every_skips_loss_values_not_gradients(planted):
    V, f, _ = planted
    every = ImplicitWNMF(3, hidden=8, n_freqs=4, seed=0)
    some = ImplicitWNMF(3, hidden=8, n_freqs=4, seed=0)
    h_every = every.fit(V, f, epochs=15).history_
    h_some = some.fit(V, f, epochs=15, loss_every=7).history_
    np.testing.assert_array_equal(some.W_, every.W_)
    np.testing.assert_array_equal(some.H_, every.H_)
    np.testing.assert_array_equal(h_some, h_every[[0, 7, 14]])
    assert np.isfinite(h_some).all()
    with pytest.raises(ValueError, match="loss_every"):
        some.fit(V, f, epochs=3, loss_every=0)
