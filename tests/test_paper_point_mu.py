"""innmf.paper.point_mu (weighted KL-NMF of points through fixed operators) against classic MU,
dense brute-force formulas, autograd gradients, numpy.interp and scipy's kl_div."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from innmf.paper import mu
from innmf.paper import point_mu as pm
from innmf.paper.divergences import kl_divergence

pytestmark = pytest.mark.usefixtures("one_thread")  # fixture in conftest.py


def full_grid(F: int, T: int, seed: int = 0):
    """Every (f, t) of an F x T grid as points, in a shuffled order, with its gather operators."""
    rng = np.random.default_rng(seed)
    freqs, times = np.sort(rng.uniform(0, 8000, F)), np.sort(rng.uniform(0, 3, T))
    ff, tt = np.meshgrid(np.arange(F), np.arange(T), indexing="ij")
    order = rng.permutation(F * T)
    fi, ti = ff.ravel()[order], tt.ravel()[order]
    A, B = pm.interpolation_matrix(freqs[fi], freqs), pm.interpolation_matrix(times[ti], times)
    return fi, ti, A, B


def scattered(L: int, F: int, T: int, seed: int):
    """Random points (some outside the grids, where the operators clamp) with linear operators,
    positive data and random weights (a few zero)."""
    rng = np.random.default_rng(seed)
    fgrid, tgrid = np.cumsum(rng.uniform(0.5, 1.5, F)), np.cumsum(rng.uniform(0.5, 1.5, T))
    A = pm.interpolation_matrix(rng.uniform(fgrid[0] - 1, fgrid[-1] + 1, L), fgrid)
    B = pm.interpolation_matrix(rng.uniform(tgrid[0] - 1, tgrid[-1] + 1, L), tgrid)
    m = rng.gamma(0.7, 1.0, L)
    w = rng.uniform(0.1, 2.0, L) * (rng.random(L) > 0.05)
    return m, w, A, B


def dense_update_W(m, w, A, B, W, H):
    """The rule by dense matrices, the weights as given; nodes that no point touches (a zero
    denominator, where the classic floor gives W * 0 / EPSILON) go to zero."""
    A, B = A.toarray(), B.toarray()
    BHt = B @ H.T
    m_hat = ((A @ W) * BHt).sum(1)
    numerator, denominator = A.T @ ((w * m / m_hat)[:, None] * BHt), A.T @ (w[:, None] * BHt)
    return W * np.divide(numerator, denominator, out=np.zeros_like(W), where=denominator > 0)


def dense_update_H(m, w, A, B, W, H):
    return dense_update_W(m, w, B, A, H.T, W.T).T


# small grids: W H by one product on the grid; large grid, few points: W H cell by cell
REGIMES = {"dense-cells": (300, 9, 11), "sparse-cells": (150, 300, 300)}


@pytest.fixture
def problem(request):
    L, F, T = REGIMES[request.param]
    m, w, A, B = scattered(L, F, T, seed=3)
    rng = np.random.default_rng(4)
    return m, w, A, B, rng.uniform(0.2, 1.0, (F, 3)), rng.uniform(0.2, 1.0, (3, T))


# (1) a full regular grid with gather operators is classic KL-NMF


@pytest.mark.parametrize("weight", [1.0, 0.37])
def test_full_grid_equals_classic_mu(weight):
    F, T, K = 12, 15, 3
    rng = np.random.default_rng(1)
    V = rng.gamma(0.5, 1.0, (F, T)) + 0.01
    W, H = rng.uniform(0.1, 1.0, (F, K)), rng.uniform(0.1, 1.0, (K, T))
    fi, ti, A, B = full_grid(F, T)
    m, w = V[fi, ti], np.full(F * T, weight)
    np.testing.assert_allclose(pm.update_W(m, w, A, B, W, H), mu.update_W(V, W, H, 1.0), rtol=1e-12)
    np.testing.assert_allclose(pm.update_H(m, w, A, B, W, H), mu.update_H(V, W, H, 1.0), rtol=1e-12)
    res = pm.fit_point_nmf(m, w, A, B, K, 40, W=W, H=H, loss_every=7)
    W1, H1, losses = W, H, [kl_divergence(V, W @ H)]
    for it in range(1, 41):
        W1, H1 = mu.step(V, W1, H1, 1.0)
        if it % 7 == 0 or it == 40:
            losses.append(kl_divergence(V, W1 @ H1))
    np.testing.assert_allclose(res.W, W1, rtol=1e-10)
    np.testing.assert_allclose(res.H, H1, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(res.losses, losses, rtol=1e-10)
    np.testing.assert_array_equal(res.loss_iterations, [0, 7, 14, 21, 28, 35, 40])
    assert res.n_iter == 40


def test_classic_safeguards_carry_over():
    # W H zero off the diagonal: floored, finite; H entries that would fall below float64's eps: zeroed
    V = np.array([[1.0, 0.5], [0.5, 1.0]])
    W, H = np.eye(2), np.array([[1.0, 1e-300], [1e-300, 1.0]])
    fi, ti, A, B = full_grid(2, 2)
    H1 = pm.update_H(V[fi, ti], np.ones(4), A, B, W, H)
    np.testing.assert_array_equal(H1, mu.update_H(V, W, H, 1.0))
    assert H1[0, 1] == 0.0 and H1[1, 0] == 0.0


@pytest.mark.parametrize("problem", list(REGIMES), indirect=True)
def test_one_step_equals_the_dense_rule(problem):
    m, w, A, B, W, H = problem
    np.testing.assert_allclose(pm.update_W(m, w, A, B, W, H), dense_update_W(m, w, A, B, W, H), rtol=1e-12)
    np.testing.assert_allclose(pm.update_H(m, w, A, B, W, H), dense_update_H(m, w, A, B, W, H), rtol=1e-12)


@pytest.mark.parametrize("problem", list(REGIMES), indirect=True)
def test_fit_equals_iterated_steps(problem):
    m, w, A, B, W, H = problem
    res = pm.fit_point_nmf(m, w, A, B, 3, 5, W=W, H=H, loss_every=1)
    losses = [pm.weighted_kl(m, pm.point_model(A, W, B, H), w)]
    for _ in range(5):
        W = pm.update_W(m, w, A, B, W, H)
        H = pm.update_H(m, w, A, B, W, H)
        losses.append(pm.weighted_kl(m, pm.point_model(A, W, B, H), w))
    np.testing.assert_allclose(res.W, W, rtol=1e-12)
    np.testing.assert_allclose(res.H, H, rtol=1e-12)
    np.testing.assert_allclose(res.losses, losses, rtol=1e-12)


# (2) majorisation-minimisation: the weighted objective never increases


@pytest.mark.parametrize("problem", list(REGIMES), indirect=True)
@pytest.mark.parametrize("fixed", ["W", "H", None])
def test_objective_never_increases(problem, fixed):
    m, w, A, B, W, H = problem
    res = pm.fit_point_nmf(m, w, A, B, 3, 200, W=W, H=H, fix_W=fixed == "W", fix_H=fixed == "H", loss_every=1)
    assert res.losses.size == 201
    assert np.all(np.diff(res.losses) <= 1e-13 * res.losses[:-1])
    assert res.losses[-1] < 0.9 * res.losses[0]  # and it does move


# (3) an exactly factorisable problem is fitted


def test_exact_factorisation_is_recovered():
    rng = np.random.default_rng(5)
    F, T, K, L = 6, 8, 2, 400
    _, w, A, B = scattered(L, F, T, seed=6)
    W_true, H_true = rng.uniform(0.1, 1.0, (F, K)), rng.uniform(0.1, 1.0, (K, T))
    m = pm.point_model(A, W_true, B, H_true)
    free = pm.fit_point_nmf(m, w, A, B, K, 2000, seed=1, loss_every=500)
    assert free.losses[-1] < 1e-6 * free.losses[0]
    given_W = pm.fit_point_nmf(m, w, A, B, K, 500, seed=1, W=W_true, fix_W=True, loss_every=500)
    assert given_W.losses[-1] < 1e-10
    np.testing.assert_allclose(given_W.H, H_true, rtol=1e-4)


# (4) the MU step is a scaled gradient step


@pytest.mark.parametrize("problem", ["dense-cells"], indirect=True)
def test_step_is_a_scaled_gradient_step(problem):
    m, w, A, B, W, H = problem
    Ad, Bd = A.toarray(), B.toarray()
    Wt, Ht = torch.tensor(W, requires_grad=True), torch.tensor(H, requires_grad=True)
    m_hat = ((torch.tensor(Ad) @ Wt) * (torch.tensor(Bd) @ Ht.T)).sum(1)
    mt, wt = torch.tensor(m), torch.tensor(w)
    D = (wt * (torch.special.xlogy(mt, mt / m_hat) - mt + m_hat)).sum()  # unnormalised weighted KL
    gW, gH = torch.autograd.grad(D, (Wt, Ht))
    den_W = Ad.T @ (w[:, None] * (Bd @ H.T))
    np.testing.assert_allclose(pm.update_W(m, w, A, B, W, H) - W, -W / den_W * gW.numpy(), rtol=1e-9, atol=1e-14)
    den_H = (Bd.T @ (w[:, None] * (Ad @ W))).T
    np.testing.assert_allclose(pm.update_H(m, w, A, B, W, H) - H, -H / den_H * gH.numpy(), rtol=1e-9, atol=1e-14)


# (5) the operators


def test_linear_interpolation_is_numpy_interp():
    rng = np.random.default_rng(7)
    grid = np.cumsum(rng.uniform(0.1, 2.0, 30))
    x = np.concatenate([rng.uniform(grid[0] - 5, grid[-1] + 5, 500), grid, [grid[0] - 1e9, grid[-1] + 1e9]])
    A = pm.interpolation_matrix(x, grid)
    assert isinstance(A, sp.csr_matrix) and A.shape == (x.size, grid.size)
    np.testing.assert_allclose(np.asarray(A.sum(1)).ravel(), 1.0, rtol=1e-15)
    assert np.diff(A.indptr).max() <= 2 and A.data.min() > 0
    for values in rng.normal(size=(3, grid.size)):  # np.interp clamps outside the grid too
        np.testing.assert_allclose(A @ values, np.interp(x, grid, values), rtol=1e-12, atol=1e-12)


def test_positions_on_nodes_give_a_gather_matrix():
    grid = np.array([-1.0, 0.5, 2.0, 7.0])
    idx = np.array([3, 0, 2, 2, 1, 3])
    for kind in ("linear", "nearest"):
        A = pm.interpolation_matrix(grid[idx], grid, kind)
        np.testing.assert_array_equal(A.toarray(), np.eye(4)[idx])
        np.testing.assert_array_equal(A.indices, idx)


def test_nearest_is_brute_force_argmin():
    rng = np.random.default_rng(8)
    grid = np.arange(10.0) ** 1.5
    midpoints = (grid[1:] + grid[:-1]) / 2  # ties: the lower node, as argmin
    x = np.concatenate([rng.uniform(-3, 35, 400), midpoints, [-100.0, 100.0]])
    A = pm.interpolation_matrix(x, grid, "nearest")
    np.testing.assert_array_equal(A.indices, np.argmin(np.abs(x[:, None] - grid[None, :]), axis=1))
    np.testing.assert_array_equal(A.data, 1.0)
    one = pm.interpolation_matrix(x, np.array([4.0]), "nearest")
    np.testing.assert_array_equal(one.toarray(), np.ones((x.size, 1)))


def test_point_model_is_the_dense_sum():
    m, w, A, B = scattered(50, 5, 7, seed=9)
    rng = np.random.default_rng(9)
    W, H = rng.random((5, 4)), rng.random((4, 7))
    want = np.einsum("if,fk,kt,it->i", A.toarray(), W, H, B.toarray())
    np.testing.assert_allclose(pm.point_model(A, W, B, H), want, rtol=1e-13)
    np.testing.assert_allclose(pm.point_model(A.toarray(), W, B.toarray(), H), want, rtol=1e-13)


# the objective


def test_weighted_kl_against_the_unweighted_kl():
    rng = np.random.default_rng(10)
    m, m_hat = rng.gamma(0.5, 1.0, 60) * (rng.random(60) > 0.2), rng.uniform(0.1, 2.0, 60)
    assert pm.weighted_kl(m, m_hat, np.full(60, 3.0)) == pytest.approx(kl_divergence(m, m_hat), rel=1e-14)
    counts = rng.integers(0, 4, 60)  # integer weights = points repeated that many times
    counts[0] = 1
    want = kl_divergence(np.repeat(m, counts), np.repeat(m_hat, counts))
    assert pm.weighted_kl(m, m_hat, counts) == pytest.approx(want, rel=1e-13)
    assert pm.weighted_kl(np.zeros(2), np.array([0.0, 2.0]), np.ones(2)) == 1.0  # 0 log 0 = 0
    assert pm.weighted_kl(np.ones(2), np.array([0.0, 1.0]), np.ones(2)) == np.inf
    assert pm.weighted_kl(np.ones(2), np.array([0.0, 1.0]), np.array([0.0, 1.0])) == 0.0  # a zero weight ignores it


# (6) fixed factors, (7) weights as multiplicities, (8) seeds


def test_fixed_factors_are_bit_identical():
    m, w, A, B = scattered(200, 6, 9, seed=11)
    rng = np.random.default_rng(11)
    W, H = rng.random((6, 3)), rng.random((3, 9))
    W_in, H_in = W.copy(), H.copy()
    assert np.array_equal(pm.fit_point_nmf(m, w, A, B, 3, 20, W=W, fix_W=True).W, W_in)
    assert np.array_equal(pm.fit_point_nmf(m, w, A, B, 3, 20, H=H, fix_H=True).H, H_in)
    both = pm.fit_point_nmf(m, w, A, B, 3, 20, W=W, H=H)
    assert not np.array_equal(both.W, W_in) and not np.array_equal(both.H, H_in)
    np.testing.assert_array_equal(W, W_in)  # the inputs are not written to
    np.testing.assert_array_equal(H, H_in)


def test_duplicate_points_equal_a_doubled_weight():
    m, w, A, B = scattered(120, 5, 8, seed=12)
    dup = np.concatenate([np.arange(120), [17, 40]])
    w_dup, w_two = w[dup].copy(), w.copy()
    w_dup[[17, 40]] = 1.0
    w_dup[[120, 121]] = 1.0
    w_two[[17, 40]] = 2.0
    a = pm.fit_point_nmf(m[dup], w_dup, A[dup], B[dup], 3, 50, seed=2, loss_every=5)
    b = pm.fit_point_nmf(m, w_two, A, B, 3, 50, seed=2, loss_every=5)
    np.testing.assert_allclose(a.W, b.W, rtol=1e-11)
    np.testing.assert_allclose(a.H, b.H, rtol=1e-11)
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-12)


def test_seeded_initialisation():
    m, w, A, B = scattered(100, 5, 6, seed=13)
    a, b = pm.fit_point_nmf(m, w, A, B, 4, 10, seed=3), pm.fit_point_nmf(m, w, A, B, 4, 10, seed=3)
    assert np.array_equal(a.W, b.W) and np.array_equal(a.H, b.H) and np.array_equal(a.losses, b.losses)
    assert not np.array_equal(a.W, pm.fit_point_nmf(m, w, A, B, 4, 10, seed=4).W)
    rng = np.random.default_rng(3)  # scikit-learn's "random", sqrt(mean / K) |N(0, 1)| with the weighted mean; W, H
    scale = np.sqrt(np.sum(w * m) / np.sum(w) / 4)
    W0, H0 = scale * np.abs(rng.standard_normal((5, 4))), scale * np.abs(rng.standard_normal((4, 6)))
    init = pm.fit_point_nmf(m, w, A, B, 4, 0, seed=3)
    np.testing.assert_array_equal(init.W, W0)
    np.testing.assert_array_equal(init.H, H0)
    assert init.losses.size == 1 and init.loss_iterations.tolist() == [0]
    np.testing.assert_array_equal(pm.fit_point_nmf(m, w, A, B, 4, 0, seed=3, W=np.ones((5, 4))).H, H0)


# (9) bad input


def test_bad_operators_are_named():
    grid = np.array([0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        pm.interpolation_matrix([0.5], np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="at least 2 nodes"):
        pm.interpolation_matrix([0.5], np.array([1.0]))
    with pytest.raises(ValueError, match="NaN or infinite positions"):
        pm.interpolation_matrix([np.nan], grid)
    with pytest.raises(ValueError, match="Unknown kind"):
        pm.interpolation_matrix([0.5], grid, "cubic")


def test_bad_fit_inputs_are_named():
    m, w, A, B = scattered(30, 4, 5, seed=14)
    W, H = np.ones((4, 2)), np.ones((2, 5))
    cases = [
        (dict(m=-m), "m has negative entries"),
        (dict(m=m[:-1]), r"weights must have shape \(29,\)"),
        (dict(m=np.where(np.arange(30) == 3, np.nan, m)), "m contains NaN"),
        (dict(weights=-w), "weights has negative entries"),
        (dict(weights=np.zeros(30)), "weights sum to zero"),
        (dict(weights=w[:-1]), r"weights must have shape \(30,\)"),
        (dict(A=-A), "A must be finite and non-negative"),
        (dict(B=B[:-1]), "B must have one row per point"),
        (dict(W=np.ones((3, 2))), r"W must have shape \(4, 2\)"),
        (dict(H=-H), "H has negative entries"),
        (dict(W=np.full((4, 2), np.inf)), "W contains NaN"),
        (dict(rank=0), "rank must be an integer >= 1"),
        (dict(rank=2.5), "rank must be an integer >= 1"),
        (dict(rank=True), "rank must be an integer >= 1"),
        (dict(n_iter=-1), "n_iter must be an integer >= 0"),
        (dict(loss_every=0), "loss_every must be an integer >= 1"),
        (dict(W=None, fix_W=True), "fix_W=True needs a given W"),
        (dict(H=None, fix_H=True), "fix_H=True needs a given H"),
    ]
    for change, message in cases:
        kwargs = dict(m=m, weights=w, A=A, B=B, rank=2, n_iter=1, W=W, H=H) | change
        with pytest.raises(ValueError, match=message):
            pm.fit_point_nmf(**kwargs)
    with pytest.raises(ValueError, match=r"W must be a 2-D matrix"):
        pm.update_W(m, w, A, B, np.ones(4), H)
    with pytest.raises(ValueError, match=r"H must have shape \(2, 5\)"):
        pm.update_H(m, w, A, B, W, np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"m_hat must have shape \(30,\)"):
        pm.weighted_kl(m, m[:-1], w)


@pytest.mark.parametrize("problem", ["sparse-cells"], indirect=True)
def test_cell_blocks_do_not_change_the_step(problem, monkeypatch):
    m, w, A, B, W, H = problem
    cells = pm._Cells(A, B, w)
    assert not cells.dense and cells.cells.size > 100  # W H cell by cell, in several blocks below
    whole = pm.update_W(m, w, A, B, W, H), pm.update_H(m, w, A, B, W, H)
    monkeypatch.setattr(pm, "_CHUNK", 7)
    np.testing.assert_array_equal(pm.update_W(m, w, A, B, W, H), whole[0])
    np.testing.assert_array_equal(pm.update_H(m, w, A, B, W, H), whole[1])
