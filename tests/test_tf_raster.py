"""Rasterising point clouds (issue 14's NMF-raster): closed forms that linear interpolation reproduces."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import interpn

from innmf.tf.raster import rasterise_lines, rasterise_scattered, sample_grid


def test_lines_with_their_own_grids_are_interpolated_along_each_line():
    # two CQT-like bins, each with its own time grid; m linear in t on each
    t = np.concatenate([np.linspace(0, 1, 5), np.linspace(0, 1, 9)])
    f = np.repeat([100.0, 50.0], [5, 9])
    m = np.where(f == 100.0, 2 + 3 * t, 1 - 0.5 * t)
    grid = np.linspace(0, 1, 17)
    lines, M = rasterise_lines(f, t, m, grid)
    np.testing.assert_array_equal(lines, [50.0, 100.0])
    np.testing.assert_allclose(M[0], 1 - 0.5 * grid, atol=1e-12)
    np.testing.assert_allclose(M[1], 2 + 3 * grid, atol=1e-12)


def test_lines_outside_their_points_hold_or_zero():
    line, along, m = np.zeros(2), np.array([1.0, 2.0]), np.array([4.0, 6.0])
    grid = np.array([0.0, 1.5, 3.0])
    np.testing.assert_allclose(rasterise_lines(line, along, m, grid)[1], [[4.0, 5.0, 6.0]])
    np.testing.assert_allclose(rasterise_lines(line, along, m, grid, "zero")[1], [[0.0, 5.0, 0.0]])


def test_scattered_is_exact_for_a_linear_field_and_zero_outside_the_hull():
    rng = np.random.default_rng(0)
    u, v = rng.random(400), rng.random(400)
    u[:4], v[:4] = [0, 0, 1, 1], [0, 1, 0, 1]  # the hull is the unit square
    M = rasterise_scattered(u, v, 1 + 2 * u + 3 * v, np.linspace(0, 1, 11), np.linspace(0, 1, 7))
    gu, gv = np.meshgrid(np.linspace(0, 1, 11), np.linspace(0, 1, 7))
    np.testing.assert_allclose(M, 1 + 2 * gu + 3 * gv, atol=1e-9)
    outside = rasterise_scattered(u, v, 1 + u, np.array([0.5, 2.0]), np.array([0.5, 0.6]))
    np.testing.assert_allclose(outside[:, 1], 0.0)


def test_sample_grid_is_bilinear_like_scipy_and_clips_to_the_edges():
    rows, cols = np.array([0.0, 1.0, 3.0]), np.array([0.0, 2.0, 4.0, 5.0])
    M = np.random.default_rng(1).random((3, 4))
    r, c = np.array([0.5, 2.0, 3.0]), np.array([1.0, 4.5, 0.0])
    reference = interpn((rows, cols), M, np.stack([r, c], axis=1), method="linear")
    np.testing.assert_allclose(sample_grid(rows, cols, M, r, c), reference, atol=1e-12)
    np.testing.assert_allclose(sample_grid(rows, cols, M, np.array([-1.0]), np.array([9.0])), [M[0, -1]])


def test_round_trip_on_the_grid_points_is_the_identity():
    rows, cols = np.linspace(0, 1, 6), np.linspace(0, 2, 9)
    M = np.random.default_rng(2).random((6, 9))
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    np.testing.assert_allclose(sample_grid(rows, cols, M, rr.ravel(), cc.ravel()), M.ravel(), atol=1e-12)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: rasterise_lines(np.zeros(3), np.zeros(2), np.zeros(3), np.arange(3.0)), "one coordinate"),
        (lambda: rasterise_lines(np.zeros(0), np.zeros(0), np.zeros(0), np.arange(3.0)), "No points"),
        (lambda: rasterise_lines(np.zeros(2), np.arange(2.0), np.zeros(2), np.array([1.0, 0.0])), "increasing"),
        (lambda: rasterise_lines(np.zeros(2), np.arange(2.0), np.zeros(2), np.arange(3.0), "x"), "outside"),
        (lambda: sample_grid(np.arange(2.0), np.arange(3.0), np.zeros((3, 2)), np.zeros(1), np.zeros(1)), "shape"),
        (lambda: rasterise_scattered(np.zeros(3), np.zeros(3), np.array([0, np.nan, 0]), np.arange(2.0),
                                     np.arange(2.0)), "finite"),
    ],
)
def test_bad_input_is_refused_with_a_reason(call, message):
    with pytest.raises(ValueError, match=message):
        call()
