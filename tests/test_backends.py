"""backend="reference" (the plain math of innmf.paper) against the fast path, and the models' sklearn face."""

import numpy as np
import pytest
import torch

from innmf.models.backends import make_networks, to_fast, to_reference
from innmf.models.implicit import ImplicitWH, ImplicitWNMF, fit_activations
from innmf.models.inr import ComponentNetworks
from innmf.paper.inr import ReferenceNetworks
from innmf.tf.stft import frequency_coordinate

pytestmark = pytest.mark.usefixtures("one_thread")  # fixture in conftest.py

CONFIGS = [
    dict(),
    dict(shared_encoding=True),
    dict(activation="relu", init="siren"),
]


def _pair(dtype=torch.float32, **config):
    kwargs = dict(hidden=16, n_layers=4, n_freqs=6, seed=3, dtype=dtype, **config)
    return ReferenceNetworks(5, **kwargs), ComponentNetworks(5, **kwargs)


@pytest.mark.parametrize("config", CONFIGS)
def test_fast_networks_are_the_reference_function(config):
    x = torch.linspace(-0.5, 0.5, 301)
    for dtype, tol in ((torch.float32, 2e-6), (torch.float64, 1e-13)):
        ref, fast = _pair(dtype, **config)
        torch.testing.assert_close(fast(x), ref(x), rtol=tol, atol=tol)
        torch.testing.assert_close(fast(x, raw=True), ref(x, raw=True), rtol=tol, atol=tol)


@pytest.mark.parametrize("config", CONFIGS)
def test_gradients_agree(config):
    x = torch.linspace(-0.5, 0.5, 97, dtype=torch.float64)
    ref, fast = _pair(torch.float64, **config)
    weights = torch.rand(97, 5, dtype=torch.float64)
    for net in (ref, fast):
        (net(x) * weights).sum().backward()
    # the reference's gradients, stacked the fast networks' way, one layer at a time
    for i, (w, b) in enumerate(zip(fast.weights, fast.biases)):
        torch.testing.assert_close(w.grad, torch.stack([ref.linears(k)[i].weight.grad.T for k in range(5)]))
        torch.testing.assert_close(b.grad, torch.stack([ref.linears(k)[i].bias.grad for k in range(5)]))


def test_converters_both_ways():
    x = torch.linspace(-0.5, 0.5, 50, dtype=torch.float64)
    ref, fast = _pair(torch.float64, shared_encoding=False)
    with torch.no_grad():  # move away from the shared seed so that the copy is what is tested
        for p in ref.parameters():
            p.add_(0.01 * torch.randn_like(p))
    torch.testing.assert_close(to_fast(ref)(x), ref(x), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(to_reference(fast)(x), fast(x), rtol=1e-13, atol=1e-13)
    assert isinstance(make_networks("reference", 3, hidden=4), ReferenceNetworks)
    assert isinstance(make_networks("auto", 3, hidden=4), ComponentNetworks)
    with pytest.raises(ValueError, match="Unknown backend"):
        make_networks("bmm", 3)


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(0)
    x = frequency_coordinate(256) + 0.5
    W = np.stack([np.exp(-(((x - c) / 0.08) ** 2)) + 0.05 for c in (0.2, 0.5, 0.8)], axis=1)
    return W @ (rng.random((3, 40)) + 0.1), frequency_coordinate(256), W


def test_implicit_W_short_training_agrees(planted):
    V, f, _ = planted
    runs = {b: ImplicitWNMF(3, hidden=16, n_freqs=6, seed=1, dtype=torch.float64, backend=b).fit(V, f, epochs=30)
            for b in ("reference", "auto")}
    np.testing.assert_allclose(runs["auto"].history_, runs["reference"].history_, rtol=1e-6)
    np.testing.assert_allclose(runs["auto"].W_, runs["reference"].W_, rtol=1e-5, atol=1e-8)
    f2 = frequency_coordinate(200)
    H = {b: m.refit_H(_at(V, 200), f2, epochs=20) for b, m in runs.items()}
    np.testing.assert_allclose(H["auto"], H["reference"], rtol=1e-5, atol=1e-8)
    # float32 (the experiments' dtype): the same course within rounding
    r32 = {b: ImplicitWNMF(3, hidden=16, n_freqs=6, seed=1, backend=b).fit(V, f, epochs=30) for b in ("reference", "fast")}
    np.testing.assert_allclose(r32["fast"].history_, r32["reference"].history_, rtol=2e-3)


def _at(V: np.ndarray, n_fft: int) -> np.ndarray:
    """V's rows resampled to another window size's bins (a stand-in for its STFT at n_fft)."""
    old, new = np.linspace(0, 1, V.shape[0]), np.linspace(0, 1, n_fft // 2 + 1)
    return np.stack([np.interp(new, old, col) for col in V.T], axis=1)


def test_fit_activations_agree(planted):
    V, _, W = planted
    fits = {b: fit_activations(V, [W[:, :2], W[:, 2:]], epochs=40, seed=2, dtype=torch.float64, backend=b)
            for b in ("reference", "fast")}
    np.testing.assert_allclose(fits["fast"].losses, fits["reference"].losses, rtol=1e-8)
    for a, b in zip(fits["fast"].H, fits["reference"].H):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("fraction", [1.0, 0.5])
def test_implicit_WH_agrees(fraction):
    rng = np.random.default_rng(1)
    t, f = rng.integers(0, 30, 600) / 30, rng.integers(0, 20, 600) / 20
    m = rng.gamma(1.0, 1.0, 600)
    fits = {b: ImplicitWH(2, hidden=8, n_freqs=4, seed=0, dtype=torch.float64, backend=b).fit(
        t, f, m, epochs=15, fraction=fraction) for b in ("reference", "auto")}
    np.testing.assert_allclose(fits["auto"].history_, fits["reference"].history_, rtol=1e-7)
    np.testing.assert_allclose(fits["auto"].predict(t, f), fits["reference"].predict(t, f), rtol=1e-6)


def test_sklearn_face_and_save_load(planted, tmp_path):
    V, f, _ = planted
    model = ImplicitWNMF(3, hidden=16, n_freqs=6, seed=4)
    assert model.fit(V, f, epochs=20) is model
    np.testing.assert_array_equal(model.components_, model.W_.T)  # scikit-learn's K x F; W_ is the paper's F x K
    assert model.components_.shape == (3, 129)
    f2 = frequency_coordinate(200)
    np.testing.assert_array_equal(model.transform(_at(V, 200), f2, epochs=5), model.refit_H(_at(V, 200), f2, epochs=5))
    path = tmp_path / "model.pt"
    model.save(path)
    loaded = ImplicitWNMF.load(path)
    np.testing.assert_array_equal(loaded.sample_W(f2), model.sample_W(f2))  # another N, same W
    np.testing.assert_array_equal(loaded.W_, model.W_)
    np.testing.assert_array_equal(loaded.H_, model.H_)
    np.testing.assert_array_equal(loaded.history_, model.history_)
    plain = ImplicitWNMF.load(path, backend="reference")  # sampled on the plain math, no kernels
    np.testing.assert_allclose(plain.sample_W(f2), model.sample_W(f2), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="not fitted"):
        ImplicitWNMF(2, hidden=4).save(tmp_path / "unfitted.pt")
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a saved ImplicitWNMF"):
        ImplicitWNMF.load(tmp_path / "other.pt")


def test_implicit_WH_save_load(tmp_path):
    rng = np.random.default_rng(2)
    t, f = rng.integers(0, 30, 400) / 30, rng.integers(0, 20, 400) / 20
    m = rng.gamma(1.0, 1.0, 400)
    model = ImplicitWH(2, hidden=8, n_freqs=4, seed=0).fit(t, f, m, epochs=5)
    assert model.components_.shape == (2, 20)
    model.save(tmp_path / "wh.pt")
    loaded = ImplicitWH.load(tmp_path / "wh.pt")
    grid = np.linspace(0, 1, 33)
    np.testing.assert_array_equal(loaded.sample_W(grid), model.sample_W(grid))
    np.testing.assert_array_equal(loaded.predict(t, f), model.predict(t, f))
