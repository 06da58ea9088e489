"""Point clouds (innmf.tf.pointcloud) and their plots (innmf.report.clouds)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection, QuadMesh  # noqa: E402

from innmf.tf.pointcloud import CoordinateMap, PointCloud, concat_in_time, overlay  # noqa: E402
from innmf.report.clouds import plot_cloud  # noqa: E402


def _grid_cloud(name: str = "grid", duration: float = 1.0) -> PointCloud:
    times = np.array([0.25, 0.5, 0.75])
    freqs = np.array([0.0, 100.0])
    M = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    return PointCloud.from_matrix(M, times, freqs, name, sr=400.0, duration=duration)


def _bin_cloud(name: str = "bins") -> PointCloud:
    return PointCloud.from_bins([np.array([0.1, 0.9]), np.array([0.2, 0.4, 0.6])], np.array([50.0, 150.0]),
                                [np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])], name, sr=400.0, duration=1.0)


def test_from_matrix_layout_and_grid_round_trip() -> None:
    cloud = _grid_cloud()
    assert len(cloud) == 6
    # Point (row i, column j) has frequency freqs[i], time times[j], magnitude M[i, j].
    i = np.flatnonzero((cloud.f == 100.0) & (cloud.t == 0.5))
    assert cloud.m[i] == 5.0
    assert cloud.is_regular()
    times, freqs, M = cloud.grid()
    np.testing.assert_array_equal(M, [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(times, [0.25, 0.5, 0.75])


def test_from_bins_is_irregular() -> None:
    cloud = _bin_cloud()
    assert len(cloud) == 5 and not cloud.is_regular()
    np.testing.assert_array_equal(cloud.f, [50, 50, 150, 150, 150])
    with pytest.raises(ValueError, match="not a regular grid"):
        cloud.grid()


def test_concat_in_time_lays_sources_one_after_another() -> None:
    a, b = _grid_cloud("a", duration=1.0), _bin_cloud("b")
    joined = concat_in_time([a, b], gap=0.5)
    assert joined.source_names == ("a", "b")
    assert len(joined) == len(a) + len(b)
    np.testing.assert_allclose(joined.select("b").t, b.t + 1.5)
    np.testing.assert_allclose(joined.select(0).t, a.t)
    assert joined.starts == (0.0, 1.5) and joined.durations == (1.0, 2.5)
    np.testing.assert_allclose(joined.local_times(), np.concatenate([a.t, b.t]))
    # Three in a row, and a joined cloud joined again keeps its layout.
    again = concat_in_time([joined, a])
    assert again.starts == (0.0, 1.5, 2.5)
    np.testing.assert_array_equal(again.source, np.repeat([0, 1, 2], [6, 5, 6]))


def test_overlay_shares_the_time_axis() -> None:
    a, b = _grid_cloud("a"), _bin_cloud("b")
    both = overlay([a, b])
    np.testing.assert_array_equal(both.t, np.concatenate([a.t, b.t]))
    assert both.starts == (0.0, 0.0)
    with pytest.raises(ValueError, match="different sample rates"):
        overlay([a, PointCloud([0.0], [1.0], [1.0], [0], ("c",), sr=8000.0)])
    with pytest.raises(ValueError, match="at least one"):
        overlay([])


def test_normalised_coordinates_and_mapping_back() -> None:
    cloud = concat_in_time([_grid_cloud("a"), _bin_cloud("b")])
    u, v, mapping = cloud.normalised_coordinates()
    assert mapping == CoordinateMap(t_max=2.0, f_max=200.0)  # total duration, Nyquist of 400 Hz
    assert u.min() >= 0 and u.max() <= 1 and v.min() >= 0 and v.max() <= 1
    np.testing.assert_allclose(u, cloud.t / 2.0)
    t, f = mapping.from_unit(u, v)
    np.testing.assert_allclose(t, cloud.t)
    np.testing.assert_allclose(f, cloud.f)
    _, _, custom = cloud.normalised_coordinates(t_max=4.0, f_max=1000.0)
    assert custom.to_unit(2.0, 500.0) == (0.5, 0.5)
    with pytest.raises(ValueError, match="positive"):
        CoordinateMap(0.0, 1.0)


def test_frozen_and_validated() -> None:
    cloud = _grid_cloud()
    with pytest.raises(ValueError):
        cloud.m[0] = 3.0  # read-only arrays
    with pytest.raises(AttributeError):
        cloud.sr = 8000.0  # frozen dataclass
    with pytest.raises(ValueError, match="one entry per point"):
        PointCloud([0.0, 1.0], [1.0], [1.0], [0], ("x",))
    with pytest.raises(ValueError, match="non-negative"):
        PointCloud([0.0], [1.0], [-1.0], [0], ("x",))
    with pytest.raises(ValueError, match="NaN"):
        PointCloud([np.nan], [1.0], [1.0], [0], ("x",))
    with pytest.raises(ValueError, match="Source indices"):
        PointCloud([0.0], [1.0], [1.0], [1], ("x",))
    with pytest.raises(ValueError, match="No source"):
        cloud.select(3)


def test_power_and_magnitudes() -> None:
    cloud = _grid_cloud()
    np.testing.assert_allclose(cloud.power(0.5).m, np.sqrt(cloud.m))
    assert cloud.power(0.5).source_names == cloud.source_names
    assert "grid: 6" in repr(cloud)


def test_plot_uses_mesh_for_grids_and_dots_for_the_rest() -> None:
    cloud = concat_in_time([_grid_cloud("a"), _bin_cloud("b")])
    fig, ax = plt.subplots()
    plot_cloud(cloud, ax)
    kinds = [type(c) for c in ax.collections]
    assert QuadMesh in kinds and PathCollection in kinds
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    assert mesh.get_array().size == 6
    dots = next(c for c in ax.collections if isinstance(c, PathCollection))
    np.testing.assert_allclose(np.sort(dots.get_offsets()[:, 0]), np.sort(cloud.select("b").t))
    assert [t.get_text() for t in ax.texts] == ["a", "b"]
    plt.close(fig)
    with pytest.raises(ValueError, match="empty"):
        plot_cloud(PointCloud(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, int), ("x",)))
