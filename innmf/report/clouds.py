"""Plots of point clouds that show how each part is sampled.

Regular parts (an STFT) are drawn as images with ``pcolormesh``, one cell per grid
point; irregular parts (a CQT with a time grid per bin, sinusoidal peaks) as dots at
their exact (t, f), so the irregular sampling is visible. One logarithmic colour
scale is shared by all parts. Used by the hybrid and irregular chapters.
"""

from __future__ import annotations

import numpy as np

from innmf.tf.pointcloud import PointCloud


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges half-way between centres (for pcolormesh)."""
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def plot_cloud(
    cloud: PointCloud,
    ax=None,  # noqa: ANN001 (matplotlib Axes)
    dynamic_range_db: float = 60.0,
    cmap: str = "magma_r",
    point_size: float = 2.0,
    log_frequency: bool = False,
    label_sources: bool = True,
    colorbar: bool = True,
):  # noqa: ANN201
    """Draw every source of ``cloud``: grids with pcolormesh, other points with scatter.

    Args:
        cloud: the points.
        ax: matplotlib Axes (default: a new figure).
        dynamic_range_db: colours span this many dB below the largest magnitude.
        cmap: colour map.
        point_size: marker area for irregular points.
        log_frequency: logarithmic frequency axis.
        label_sources: write each source's name at the top of its time span and separate
            sources that follow one another with dashed lines.
        colorbar: add a colour bar.

    Returns:
        The Axes.
    """
    from matplotlib.colors import LogNorm

    from innmf.report import style

    if len(cloud) == 0:
        raise ValueError("Nothing to plot: the point cloud is empty.")
    if ax is None:
        ax = style.figure(aspect=0.45, pyplot=True).add_subplot()
    top = float(cloud.m.max())
    if top <= 0:
        raise ValueError("All magnitudes are zero; nothing to show on a log colour scale.")
    norm = LogNorm(vmin=top * 10 ** (-dynamic_range_db / 20), vmax=top, clip=True)
    floor = norm.vmin
    artist = None
    for s, name in enumerate(cloud.source_names):
        part = cloud.select(s)
        if len(part) == 0:
            continue
        if part.is_regular():
            times, freqs, M = part.grid()
            artist = ax.pcolormesh(_edges(times), _edges(freqs), np.maximum(M, floor),
                                   norm=norm, cmap=cmap, shading="flat", rasterized=True)
        else:
            order = np.argsort(part.m)  # strongest drawn last, on top
            artist = ax.scatter(part.t[order], part.f[order],
                                c=np.maximum(part.m[order], floor), s=point_size, norm=norm, cmap=cmap,
                                linewidths=0, rasterized=True)
        if label_sources and len(cloud.source_names) > 1:
            # inside the axes: above them the names would collide with the title
            ax.annotate(name, xy=(cloud.starts[s], 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3, -3), textcoords="offset points", fontsize=style.SMALL_PT, va="top",
                        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})
            if s > 0 and cloud.starts[s] > cloud.starts[s - 1]:
                ax.axvline(cloud.starts[s], color=style.REFERENCE, lw=0.8, ls="--")
    if log_frequency:
        ax.set_yscale("log")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    if colorbar and artist is not None:
        ax.figure.colorbar(artist, ax=ax, label="magnitude")
    return ax
