"""Constant-Q NSGT with an exact inverse (innmf.tf.nsgt)."""

from __future__ import annotations

import numpy as np
import pytest

from innmf.tf.nsgt import NSGTPlan

SR, F_MIN, F_MAX, B = 8000, 50.0, 3500.0, 12


def _snr_db(x: np.ndarray, y: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(x**2) / np.sum((x - y) ** 2)))


def _chirp(length: int, sr: float) -> np.ndarray:
    t = np.arange(length) / sr
    return np.cos(2 * np.pi * (40 * t + 0.5 * (3800 - 40) / t[-1] * t**2))


def _reference_window(f: np.ndarray, k: int, sr: float, f_min: float, f_max: float, B: int) -> np.ndarray:
    """g_k(f) from the module docstring's definition, written out independently."""
    n_log = int(np.floor(B * np.log2(f_max / f_min) + 1e-9)) + 1
    centres = f_min * 2.0 ** (np.arange(-1, n_log + 1) / B)  # one below f_min, one above the top
    centres[-1] = min(centres[-1], sr / 2)
    rise = lambda a, b: np.where(f <= a, 0.0, np.where(f >= b, 1.0, np.sin(np.pi / 2 * (f - a) / (b - a)) ** 2))  # noqa: E731
    if k == 0:
        return 1.0 - rise(centres[0], centres[1])
    if k == n_log + 1:
        return rise(centres[-2], centres[-1])
    return rise(centres[k - 1], centres[k]) * (1.0 - rise(centres[k], centres[k + 1]))


@pytest.mark.parametrize("matrix_form", [False, True])
@pytest.mark.parametrize("length", [4000, 4001, 5003])
@pytest.mark.parametrize("kind", ["noise", "chirp"])
def test_perfect_reconstruction(matrix_form: bool, length: int, kind: str) -> None:
    x = np.random.default_rng(length).standard_normal(length) if kind == "noise" else _chirp(length, SR)
    plan = NSGTPlan(length, SR, F_MIN, F_MAX, B, matrix_form=matrix_form)
    assert _snr_db(x, plan.inverse(plan.forward(x))) > 100


def test_perfect_reconstruction_with_redundancy() -> None:
    x = np.random.default_rng(1).standard_normal(3001)
    plan = NSGTPlan(3001, SR, 80.0, 3000.0, 6, redundancy=1.7)
    assert _snr_db(x, plan.inverse(plan.forward(x))) > 100


@pytest.mark.parametrize("matrix_form", [False, True])
@pytest.mark.parametrize("k", [3, 30, 55])
def test_sinusoid_at_a_centre_reads_its_amplitude(matrix_form: bool, k: int) -> None:
    length, A = 2 * SR, 0.7
    plan = NSGTPlan(length, SR, F_MIN, F_MAX, B, matrix_form=matrix_form)
    x = A * np.cos(2 * np.pi * plan.freqs[k] * np.arange(length) / SR + 0.3)
    coefs = plan.forward(x)
    inside = (plan.times[k] > 0.3) & (plan.times[k] < 1.7)  # away from the wrap-around of the whole-signal FFT
    np.testing.assert_allclose(np.abs(coefs[k][inside]), A, rtol=0.02)
    level = [np.abs(c[np.argmin(np.abs(t - 1.0))]) for t, c in zip(plan.times, coefs)]
    assert int(np.argmax(level)) == k


@pytest.mark.parametrize("length, matrix_form, redundancy", [(240, False, 1.0), (241, True, 1.0), (241, False, 1.5)])
def test_coefficients_equal_inner_products_with_the_atoms(length: int, matrix_form: bool, redundancy: float) -> None:
    """Brute force from the definition: explicit DFT sums, atoms in time, inner products."""
    sr, f_min, f_max, b = 1000.0, 40.0, 400.0, 4
    plan = NSGTPlan(length, sr, f_min, f_max, b, matrix_form=matrix_form, redundancy=redundancy)
    x = np.random.default_rng(7).standard_normal(length)
    n = np.arange(length)
    j = np.arange(length // 2 + 1)
    coefs = plan.forward(x)
    assert plan.n_bands == int(np.floor(b * np.log2(f_max / f_min) + 1e-9)) + 3
    for k in range(plan.n_bands):
        g = _reference_window(j * sr / length, k, sr, f_min, f_max, b)
        support = int(np.sum(g > 0))
        M = int(plan.n_coefs[k])
        assert M >= support * redundancy and M % 2 == 0
        # Atom m: (2/L)·Σ_j g(ω_j)·exp(2πi·j·(n − m·L/M)/L), a band-limited pulse centred at m·L/M samples.
        shifts = n[None, :] - (np.arange(M) * length / M)[:, None]
        atoms = (2.0 / length) * np.exp(2j * np.pi * shifts[:, :, None] * j / length) @ g
        reference = atoms.conj() @ x
        np.testing.assert_allclose(coefs[k], reference, atol=1e-10 * np.abs(reference).max())


def test_windows_partition_unity_and_frame_diagonal_positive() -> None:
    for length in (4000, 4001):
        plan = NSGTPlan(length, SR, F_MIN, F_MAX, B)
        total, squares = np.zeros(length // 2 + 1), np.zeros(length // 2 + 1)
        for k in range(plan.n_bands):
            bins, g = plan.window(k)
            np.testing.assert_allclose(g, _reference_window(bins * SR / length, k, SR, F_MIN, F_MAX, B), atol=1e-12)
            total[bins] += g
            squares[bins] += g**2
        np.testing.assert_allclose(total, 1.0, atol=1e-12)
        np.testing.assert_allclose(plan.frame_diagonal, squares, atol=1e-12)
        assert plan.frame_diagonal.min() >= 0.5 - 1e-12 and plan.frame_diagonal.max() <= 1 + 1e-12


def test_frame_operator_is_the_diagonal_D_and_adjoint_is_exact() -> None:
    length = 301
    plan = NSGTPlan(length, 1000.0, 40.0, 400.0, 4)
    rng = np.random.default_rng(3)
    # Dense frame operator adjoint∘forward, one impulse at a time: the circulant with spectrum D.
    S = np.stack([plan.adjoint(plan.forward(e)) for e in np.eye(length)], axis=1)
    expected = np.stack([np.fft.irfft(plan.frame_diagonal * np.fft.rfft(e), n=length) for e in np.eye(length)], axis=1)
    np.testing.assert_allclose(S, expected, atol=1e-12)
    # <forward(x), d> (hop-weighted) == <x, adjoint(d)> (positive-frequency inner product).
    x = rng.standard_normal(length)
    d = [rng.standard_normal(m) + 1j * rng.standard_normal(m) for m in plan.n_coefs]
    lhs = sum(length / (2 * m) * np.real(np.vdot(dk, ck)) for m, ck, dk in zip(plan.n_coefs, plan.forward(x), d))
    rhs = 2 / length * np.real(np.vdot(np.fft.rfft(plan.adjoint(d)), np.fft.rfft(x)))
    assert lhs == pytest.approx(rhs, rel=1e-10)

    # Canonical dual: inverse(d) is the least-squares signal for coefficients outside the range.
    def residual(y: np.ndarray) -> float:
        return sum(length / (2 * m) * np.sum(np.abs(ck - dk) ** 2) for m, ck, dk in zip(plan.n_coefs, plan.forward(y), d))

    best = plan.inverse(d)
    normal = plan.adjoint([ck - dk for ck, dk in zip(plan.forward(best), d)])
    assert np.max(np.abs(normal)) < 1e-10 * np.max(np.abs(plan.adjoint(d)))
    for _ in range(3):
        assert residual(best + 1e-3 * rng.standard_normal(length)) > residual(best)


def test_ragged_bands_have_their_own_hops_matrix_form_one() -> None:
    length = 4001
    ragged = NSGTPlan(length, SR, F_MIN, F_MAX, B)
    matrix = NSGTPlan(length, SR, F_MIN, F_MAX, B, matrix_form=True)
    assert len(np.unique(ragged.n_coefs)) > ragged.n_bands // 2
    assert len(np.unique(ragged.hops)) == len(np.unique(ragged.n_coefs))
    assert np.all(matrix.n_coefs == ragged.n_coefs.max())
    for plan in (ragged, matrix):
        np.testing.assert_allclose(plan.hops, length / (plan.n_coefs * SR))
        for t, h, m in zip(plan.times, plan.hops, plan.n_coefs):
            assert len(t) == m and t[0] == 0.0
            np.testing.assert_allclose(np.diff(t), h)
    # Both sample the same analytic band signals: equal where their times coincide (m = 0).
    x = _chirp(length, SR)
    np.testing.assert_allclose([c[0] for c in ragged.forward(x)], [c[0] for c in matrix.forward(x)], atol=1e-12)
    assert ragged.freqs[0] == 0.0 and ragged.freqs[-1] == SR / 2
    np.testing.assert_allclose(ragged.freqs[1:-1], F_MIN * 2.0 ** (np.arange(ragged.n_bands - 2) / B))


def test_linearity() -> None:
    rng = np.random.default_rng(5)
    plan = NSGTPlan(3000, SR, F_MIN, F_MAX, B)
    s1, s2 = rng.standard_normal(3000), _chirp(3000, SR)
    for c, c1, c2 in zip(plan.forward(s1 + s2), plan.forward(s1), plan.forward(s2)):
        np.testing.assert_allclose(c, c1 + c2, atol=1e-12)


def test_flat_views_points_and_masks() -> None:
    plan = NSGTPlan(3000, SR, F_MIN, F_MAX, B)
    x = _chirp(3000, SR)
    coefs = plan.forward(x)
    flat = plan.flatten(coefs)
    assert flat.shape == (plan.n_points,) and plan.n_points == int(plan.n_coefs.sum())
    for a, b in zip(plan.unflatten(flat), coefs):
        np.testing.assert_array_equal(a, b)
    cloud = plan.points(coefs, name="nsgt-test")
    assert len(cloud) == plan.n_points and cloud.source_names == ("nsgt-test",)
    assert cloud.duration == pytest.approx(3000 / SR)
    np.testing.assert_array_equal(cloud.m, np.abs(flat))
    np.testing.assert_array_equal(cloud.t, np.concatenate(plan.times))
    np.testing.assert_array_equal(cloud.f, np.repeat(plan.freqs, plan.n_coefs))
    np.testing.assert_array_equal(plan.flat_areas(), np.repeat(plan.areas, plan.n_coefs))
    # A mask that keeps one band keeps exactly that band's coefficients, phase included.
    k = 20
    keep = (cloud.f == plan.freqs[k]).astype(float)
    masked = plan.apply_mask(coefs, 0.5 * keep)
    for i, (c, cm) in enumerate(zip(coefs, masked)):
        np.testing.assert_array_equal(cm, 0.5 * c if i == k else 0 * c)


def test_mask_resynthesis_separates_two_tones() -> None:
    length = 2 * SR
    plan = NSGTPlan(length, SR, F_MIN, F_MAX, B)
    t = np.arange(length) / SR
    low, high = np.cos(2 * np.pi * plan.freqs[20] * t), 0.5 * np.cos(2 * np.pi * plan.freqs[50] * t + 1.0)
    cloud_f = np.repeat(plan.freqs, plan.n_coefs)
    mask = (cloud_f < plan.freqs[35]).astype(float)
    estimate = plan.inverse(plan.apply_mask(plan.forward(low + high), mask))
    inside = slice(SR // 4, length - SR // 4)
    assert _snr_db(low[inside], estimate[inside]) > 40


def test_areas_and_bandwidths_tile_the_plane() -> None:
    plan = NSGTPlan(4001, SR, F_MIN, F_MAX, B)
    assert np.all(plan.areas > 0) and np.all(plan.bandwidths > 0)
    np.testing.assert_allclose(plan.areas, plan.hops * plan.bandwidths)
    assert plan.bandwidths.sum() == pytest.approx(SR / 2)
    assert plan.flat_areas().sum() == pytest.approx(plan.duration * SR / 2)
    f = plan.freqs[1:-1]
    inner = plan.bandwidths[2:-2]
    np.testing.assert_allclose(inner, (f[2:] - f[:-2]) / 2)


@pytest.mark.parametrize("kwargs, message", [
    ({"f_max": 4000.0}, "below Nyquist"),
    ({"f_min": 0.0}, "f_min must be positive"),
    ({"f_min": 3600.0, "f_max": 3500.0}, "must be below f_max"),
    ({"bins_per_octave": 0}, "bins_per_octave"),
    ({"redundancy": 0.5}, "redundancy"),
    ({"length": 100, "bins_per_octave": 48}, "holds no rfft bin"),
])
def test_bad_plans(kwargs: dict, message: str) -> None:
    args = {"length": 4000, "sr": SR, "f_min": F_MIN, "f_max": F_MAX, "bins_per_octave": B} | kwargs
    with pytest.raises(ValueError, match=message):
        NSGTPlan(**args)


def test_bad_signals_coefficients_and_masks() -> None:
    plan = NSGTPlan(1000, SR, 200.0, F_MAX, 3)
    with pytest.raises(ValueError, match="plan was built for 1000"):
        plan.forward(np.zeros(999))
    bad = np.zeros(1000)
    bad[3] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        plan.forward(bad)
    coefs = plan.forward(np.ones(1000))
    with pytest.raises(ValueError, match=f"Expected {plan.n_bands} coefficient arrays"):
        plan.inverse(coefs[:-1])
    with pytest.raises(ValueError, match="Band 2 needs"):
        plan.inverse(coefs[:2] + [coefs[2][:-1]] + coefs[3:])
    with pytest.raises(ValueError, match="one flat array"):
        plan.inverse(plan.flatten(coefs))
    with pytest.raises(ValueError, match="one per point"):
        plan.unflatten(np.zeros(plan.n_points + 1))
    with pytest.raises(ValueError, match="non-negative"):
        plan.apply_mask(coefs, -np.ones(plan.n_points))
    with pytest.raises(ValueError, match="must be real"):
        plan.apply_mask(coefs, np.ones(plan.n_points) * 1j)
