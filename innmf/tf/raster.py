"""Rasterising a point cloud: irregular (t, f, m) points onto a regular grid by interpolation, and back.

What a user without iN-NMF does with an irregular representation: interpolate it
onto a grid, factorise the matrix with classic NMF, and read the model back at the
original points. The chapter "Irregular and hybrid representations" compares that
baseline (``NMF-raster``, :mod:`innmf.experiments.irregular`) with iN-NMF fitted on
the points themselves. Two rasterisers, both linear:

* :func:`rasterise_lines` for points that lie on lines of one constant coordinate:
  a CQT's bins (constant f, each with its own time grid) or a sinusoidal model's
  frames (constant t, peaks at scattered frequencies). Each line is interpolated
  along itself onto a common grid, so the grid keeps every line exactly;
* :func:`rasterise_scattered` for anything else (the hybrid cloud, whose segments
  have different grids): linear interpolation on a Delaunay triangulation of the
  points, zero outside their convex hull.

:func:`sample_grid` maps a grid (the NMF model) back to the points, bilinearly.
Arrays in, arrays out: the coordinates may be seconds/Hz or the networks' unit ones.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import LinearNDInterpolator, RegularGridInterpolator


def _points(*arrays: np.ndarray) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays]
    if len({len(a) for a in out}) != 1:
        raise ValueError(f"Need one coordinate and one magnitude per point; got lengths {[len(a) for a in out]}.")
    if len(out[0]) == 0:
        raise ValueError("No points to rasterise.")
    if not all(np.all(np.isfinite(a)) for a in out):
        raise ValueError("Point coordinates and magnitudes must be finite.")
    return out


def _axis(grid: np.ndarray, name: str) -> np.ndarray:
    grid = np.asarray(grid, dtype=np.float64).reshape(-1)
    if len(grid) < 2 or np.any(np.diff(grid) <= 0):
        raise ValueError(f"The {name} grid must have at least 2 strictly increasing values.")
    return grid


def rasterise_lines(
    line: np.ndarray, along: np.ndarray, m: np.ndarray, grid_along: np.ndarray, outside: str = "hold"
) -> tuple[np.ndarray, np.ndarray]:
    """Points on lines of constant ``line`` coordinate, each interpolated along itself onto ``grid_along``.

    Args:
        line: the constant coordinate of each point's line (a CQT's f, a frame's t).
        along: the coordinate along the line (a CQT bin's t, a peak's f).
        m: the magnitudes.
        grid_along: the common grid (strictly increasing).
        outside: beyond a line's first and last point, ``"hold"`` its end values (a
            CQT bin's first and last frames) or ``"zero"`` (no peak: no energy).

    Returns:
        ``(lines, M)``: the distinct line coordinates (ascending) and M of shape
        (len(lines), len(grid_along)); a line with one point is constant along the grid.
    """
    line, along, m = _points(line, along, m)
    grid_along = _axis(grid_along, "along")
    if outside not in ("hold", "zero"):
        raise ValueError(f"outside must be 'hold' or 'zero', got {outside!r}.")
    lines, which = np.unique(line, return_inverse=True)
    M = np.zeros((len(lines), len(grid_along)))
    order = np.lexsort((along, which))
    bounds = np.searchsorted(which[order], np.arange(len(lines) + 1))
    for j in range(len(lines)):
        idx = order[bounds[j]:bounds[j + 1]]
        fill = {} if outside == "hold" else {"left": 0.0, "right": 0.0}
        M[j] = np.interp(grid_along, along[idx], m[idx], **fill)
    return lines, M


def rasterise_scattered(
    u: np.ndarray, v: np.ndarray, m: np.ndarray, grid_u: np.ndarray, grid_v: np.ndarray
) -> np.ndarray:
    """Scattered points, linearly interpolated (Delaunay) onto the grid ``grid_v`` x ``grid_u``.

    Give coordinates of comparable scale (the networks' unit ones, t/t_max and
    f/(sr/2)): the triangulation depends on it.

    Args:
        u: first coordinate of each point (time).
        v: second coordinate (frequency).
        m: the magnitudes.
        grid_u: the grid's columns (strictly increasing).
        grid_v: the grid's rows (strictly increasing).

    Returns:
        M of shape (len(grid_v), len(grid_u)), zero outside the points' convex hull.
    """
    u, v, m = _points(u, v, m)
    grid_u, grid_v = _axis(grid_u, "u"), _axis(grid_v, "v")
    interpolate = LinearNDInterpolator(np.stack([u, v], axis=1), m, fill_value=0.0)
    gu, gv = np.meshgrid(grid_u, grid_v)
    return interpolate(gu, gv)


def sample_grid(grid_rows: np.ndarray, grid_cols: np.ndarray, M: np.ndarray, rows: np.ndarray,
                cols: np.ndarray) -> np.ndarray:
    """A grid's values at points, bilinearly; points outside the grid take its edge values.

    Args:
        grid_rows: the grid's row coordinates (strictly increasing), e.g. frequencies.
        grid_cols: its column coordinates (strictly increasing), e.g. times.
        M: (len(grid_rows), len(grid_cols)) values, e.g. an NMF model W_k H_k.
        rows: each point's row coordinate.
        cols: each point's column coordinate.

    Returns:
        (n_points,) values.
    """
    grid_rows, grid_cols = _axis(grid_rows, "row"), _axis(grid_cols, "column")
    M = np.asarray(M, dtype=np.float64)
    if M.shape != (len(grid_rows), len(grid_cols)):
        raise ValueError(f"M has shape {M.shape} but the grid is {len(grid_rows)} x {len(grid_cols)}.")
    rows, cols = _points(rows, cols)
    r = np.clip(rows, grid_rows[0], grid_rows[-1])
    c = np.clip(cols, grid_cols[0], grid_cols[-1])
    return RegularGridInterpolator((grid_rows, grid_cols), M, method="linear")(np.stack([r, c], axis=1))
