"""The fast H refit (KL multiplicative updates with W fixed, ``innmf.models.refit``) against independent references."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from innmf.accel.activations import fit_activations_fixed_W
from innmf.models.implicit import ImplicitWNMF
from innmf.models.refit import MU_REFIT_ITER, fit_H_mu, initial_activations
from innmf.paper.divergences import kl_divergence
from innmf.tf.stft import frequency_coordinate

pytestmark = pytest.mark.usefixtures("one_thread")


def _problem(F=60, T=45, K=4, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.random((F, K)) + 0.05
    H = rng.random((K, T)) * 2.0
    V = W @ H * rng.uniform(0.7, 1.3, size=(F, T))  # not exactly factorisable: the optimum has KL > 0
    return V, W


def test_matches_scikit_learn_with_the_dictionary_fixed():
    """scikit-learn's MU in its transposed convention, V^T ~ H^T W^T, its "components" W^T held fixed.

    With ``update_H=False`` scikit-learn ignores the given start of the factor it learns
    and starts from the constant sqrt(mean(V) / K), so the refit is given that start here.
    """
    from sklearn.decomposition import non_negative_factorization

    V, W = _problem()
    K, n_iter = W.shape[1], 150
    start = np.full((K, V.shape[1]), np.sqrt(V.mean() / K))
    H, losses = fit_H_mu(V, W, n_iter, dtype=torch.float64, H=start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's convergence warning: tol=0 runs every iteration
        Ht_ref, W_fixed, done = non_negative_factorization(
            V.T, W=start.T.copy(), H=W.T.copy(), n_components=K, init="custom", update_H=False, solver="mu",
            beta_loss="kullback-leibler", max_iter=n_iter, tol=0)
    assert done == n_iter
    np.testing.assert_array_equal(W_fixed, W.T)  # sklearn kept the dictionary
    np.testing.assert_allclose(H, Ht_ref.T, rtol=1e-9, atol=1e-12)
    assert losses.shape == (1,)
    np.testing.assert_allclose(losses[0], kl_divergence(V, W @ H), rtol=1e-9)


def test_matches_the_papers_plain_updates_from_the_rprop_start():
    """The default start, then :func:`innmf.paper.mu.update_H` (numpy, the definition) as many times."""
    from innmf.paper import mu

    V, W = _problem(seed=5)
    H, _ = fit_H_mu(V, W, 60, seed=3, dtype=torch.float64)
    expected = initial_activations(W.shape[1], V.shape[1], 3)
    for _ in range(60):
        expected = mu.update_H(V, W, expected, 1.0)
    np.testing.assert_allclose(H, expected, rtol=1e-10, atol=1e-13)


def test_recovers_exact_activations():
    """Hand case: V = W H* with W of full column rank has the unique KL minimiser H*, and MU reaches it."""
    rng = np.random.default_rng(1)
    W = rng.random((40, 3)) + 0.1
    H_true = rng.random((3, 25)) + 0.2
    H, losses = fit_H_mu(W @ H_true, W, 3000, seed=0, dtype=torch.float64, loss_every=20)
    np.testing.assert_allclose(H, H_true, rtol=2e-3)
    assert losses[-1] < 1e-12
    assert np.all(np.diff(losses) <= 1e-15)  # MU never increases the objective (up to rounding at the optimum)


def test_starts_where_the_rprop_refit_starts():
    """The same seed gives the same initial H as the Rprop refit (its first recorded loss is the KL at the start)."""
    V, W = _problem(seed=2)
    seed = 11
    _, history = fit_activations_fixed_W(torch.as_tensor(V), torch.as_tensor(W), 1, seed=seed)
    H0 = initial_activations(W.shape[1], V.shape[1], seed)
    np.testing.assert_allclose(history[0], kl_divergence(V, W @ H0), rtol=1e-12)


def test_refit_option_of_the_model():
    rng = np.random.default_rng(4)
    V = rng.random((257, 40)) ** 2
    coords = frequency_coordinate(512)
    model = ImplicitWNMF(3, hidden=8, seed=5).fit(V, coords, epochs=3)
    H = model.refit_H(V, coords, epochs=40, optimizer="mu", loss_every=10)
    H_direct, losses = fit_H_mu(V, model.sample_W(coords), 40, seed=model.seed + 2, loss_every=10)
    np.testing.assert_array_equal(H, H_direct)
    np.testing.assert_array_equal(model.refit_history_, losses)
    assert H.shape == (3, 40) and np.all(H >= 0)
    assert model.transform(V, coords, optimizer="mu").shape == (3, 40)  # the default count, MU_REFIT_ITER
    assert MU_REFIT_ITER >= 100


@pytest.mark.parametrize("bad, message", [(dict(n_iter=0), "n_iter"), (dict(seed=-1), "seed")])
def test_bad_options_are_refused(bad, message):
    V, W = _problem()
    with pytest.raises(ValueError, match=message):
        fit_H_mu(V, W, **{"n_iter": 5, **bad})


def test_mismatched_shapes_are_refused():
    V, W = _problem()
    with pytest.raises(ValueError, match="sample W at V's bins"):
        fit_H_mu(V, W[:-1], 5)


def test_reference_backend_runs_the_plain_updates():
    """``backend="reference"`` refits by :mod:`innmf.paper.mu`'s numpy updates: the same H up to float32 rounding."""
    rng = np.random.default_rng(6)
    V = rng.random((257, 30)) ** 2
    coords = frequency_coordinate(512)
    fast = ImplicitWNMF(2, hidden=8, seed=1).fit(V, coords, epochs=2)
    ref = ImplicitWNMF(2, hidden=8, seed=1, backend="reference").fit(V, coords, epochs=2)
    np.testing.assert_allclose(ref.sample_W(coords), fast.sample_W(coords), rtol=1e-4, atol=1e-6)
    H_ref = ref.refit_H(V, coords, epochs=30, optimizer="mu")
    H_fast = fast.refit_H(V, coords, epochs=30, optimizer="mu")
    np.testing.assert_allclose(H_ref, H_fast, rtol=2e-3, atol=1e-5)


def test_an_unknown_refit_optimizer_names_every_choice():
    """refit_H takes "mu" besides the training optimizers; a typo is refused with all three named."""
    import numpy as np
    import pytest

    from innmf.models.implicit import ImplicitWNMF

    V = np.random.default_rng(0).random((9, 6)) + 0.1
    model = ImplicitWNMF(rank=2, hidden=4, n_freqs=2, seed=0).fit(V, np.linspace(-0.5, 0.4, 9), epochs=2)
    with pytest.raises(ValueError, match="rprop.*adam.*mu"):
        model.refit_H(V, np.linspace(-0.5, 0.4, 9), epochs=2, optimizer="sgd")
