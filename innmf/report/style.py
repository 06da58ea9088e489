"""The book's one figure style: sizes, fonts, and one colour and marker per method.

Every chapter's figures are built through this module, so a method looks the same in
every figure and every figure's text is readable in the book without zooming.

The size rule. Jupyter Book shows a cell's PNG in the text column, 672 px wide, and
scales a wider PNG down to it. The inline backend saves a figure at the figure's own
dpi with a tight bounding box. Text of ``points`` points is therefore shown at

    displayed px = points × dpi / 72 × min(1, 672 / PNG width in px)

(:func:`displayed_px`). The body text's small print (captions, tables) is about
12–13 px, so no text in a figure may be shown smaller than :data:`MIN_TEXT_PX` = 12 px.
Figures are at most :data:`COLUMN_IN` = 6.52 in wide at :data:`DPI` = 100: with the
0.1 in the tight box pads on each side the PNG is at most the column's 672 px, so it
is never scaled down, and :data:`FONT_PT` = 10 pt (labels, titles) shows at 13.9 px,
:data:`SMALL_PT` = 9 pt (ticks, legends, notes) at 12.5 px. Constrained layout keeps
everything, outside legends included, inside the figure.

Colours and markers. :data:`LOOKS` gives each method, each setting of the study
"iN-NMF at its best" and the music references one colour and one marker; the paper's
recipe is iN-NMF as the paper trains it, so it looks like iN-NMF. A series named
otherwise takes :data:`PALETTE`'s colours (unordered things) or :func:`sequence`
(ordered ones, e.g. window sizes: dark to light), so they are not read as methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

COLUMN_PX = 672
"""Width of the book's text column in screen px (sphinx-book-theme, desktop)."""
DPI = 100
PAD_IN = 0.1
"""What the tight box adds around a figure's drawn content on each side (``savefig.pad_inches``)."""
COLUMN_IN = (COLUMN_PX - 2 * PAD_IN * DPI) / DPI
"""A full-width figure in inches: with the tight box's padding its PNG is at most the column, shown unscaled."""
FONT_PT = 10.0
SMALL_PT = 9.0
TITLE_PT = 12.0
MIN_TEXT_PX = 12.0
"""The smallest text a figure may show, in screen px (the body text's small print)."""


@dataclass(frozen=True)
class Look:
    """How one method or setting is drawn in every figure."""

    color: str
    marker: str


LOOKS: dict[str, Look] = {
    "NMF": Look("#1f77b4", "s"),
    "iN-NMF": Look("#ff7f0e", "o"),
    "NMF-interp": Look("#2ca02c", "^"),
    "NMF-resample": Look("#d62728", "v"),
    "NMF-grid": Look("#9467bd", "D"),
    "floor": Look("#7f7f7f", "|"),
    "oracle": Look("#000000", "P"),
    # the study "iN-NMF at its best": the paper's recipe is iN-NMF; its other draws are
    # shades of it, each changed recipe its own colour and marker
    "paper": Look("#ff7f0e", "o"),
    "draw 2": Look("#fdae6b", "o"),
    "draw 3": Look("#a63603", "o"),
    "3000 epochs": Look("#8c564b", "p"),
    "Adam": Look("#e377c2", "X"),
    "SIREN init": Look("#bcbd22", "h"),
    "Gaussian features": Look("#17becf", "*"),
    # the music chapter's irregular representations, both drawn for iN-NMF
    "cqt": Look("#ff7f0e", "o"),
    "multires": Look("#a63603", "D"),
}
METHOD_COLORS: dict[str, str] = {name: look.color for name, look in LOOKS.items()}
PALETTE: tuple[str, ...] = ("#332288", "#44aa99", "#882255", "#cc6677", "#999933", "#117733", "#88ccee")
"""Colours of series that are not methods (Paul Tol's muted scheme, minus its lightest)."""
DIFFERENCE = "#000000"
"""A paired difference (treatment − baseline) and its interval."""
REFERENCE = "0.45"
"""Reference lines: no difference, a training window size, a target."""
SHADE = "0.92"
"""Shading behind a marked window size."""
_SEPARATORS = " ,:(|"


def look(label: str, index: int = 0) -> Look:
    """The look of a series: its own, a method's it is named after, else the palette's ``index``-th.

    ``"iN-NMF (ours)"``, ``"NMF, 200 MU iterations"`` and ``"paper: J = 10"`` take the
    looks of iN-NMF, NMF and the paper's recipe (a name followed by a space, comma,
    colon, bracket or bar); ``"NMF-raster-16ms"`` is not NMF. Every chapter's figures.

    Args:
        label: the series' legend label.
        index: position among the figure's unnamed series.

    Returns:
        Its colour and marker.
    """
    if label in LOOKS:
        return LOOKS[label]
    named = [k for k in LOOKS if label.startswith(k) and label[len(k)] in _SEPARATORS]
    if named:
        return LOOKS[max(named, key=len)]
    return Look(PALETTE[index % len(PALETTE)], "o")


def color(label: str, index: int = 0) -> str:
    """The colour of :func:`look` (every chapter's figures)."""
    return look(label, index).color


def sequence(n: int) -> list[str]:
    """``n`` colours for ordered series (window sizes, encoding sizes), dark to light.

    Viridis without its yellow end, which is too pale on white. Chapters "Implicit
    neural factors" and "Reproducing at scale".
    """
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(float(v)) for v in np.linspace(0.0, 0.78, max(n, 1))][:n]


def size(width: float = 1.0, aspect: float = 0.5, height: float | None = None) -> tuple[float, float]:
    """Figure size in inches: ``width`` as a fraction of the column, ``height`` in inches or ``aspect`` × width."""
    if not 0 < width <= 1:
        raise ValueError(f"width is a fraction of the 672 px column, 0 < width <= 1; got {width}.")
    w = width * COLUMN_IN
    return w, (height if height is not None else aspect * w)


def figure(width: float = 1.0, aspect: float = 0.5, height: float | None = None, pyplot: bool = False) -> Figure:
    """An empty figure in the book's style, sized for the 672 px column, constrained layout.

    Every chapter's figures start here. Without ``pyplot`` it is a standalone Figure
    (show it as a cell's value); with it, pyplot tracks it, for cells that end in
    ``plt.show()``.

    Args:
        width: fraction of the column's width (1: 6.52 in, 672 px with the tight box's padding).
        aspect: height / width, when ``height`` is not given.
        height: height in inches.
        pyplot: create it through pyplot.

    Returns:
        The figure, with no axes yet.
    """
    figsize = size(width, aspect, height)
    if pyplot:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=figsize, dpi=DPI, layout="constrained")
    return Figure(figsize=figsize, dpi=DPI, layout="constrained")


def integer_ticks(axis: Any, most: int = 6) -> Any:
    """Ticks only at whole numbers, at most ``most`` + 1 of them, on an axis that counts (components,
    iterations, epochs): never 2.5 components, and two-digit labels that do not run into each other."""
    axis.set_major_locator(MaxNLocator(nbins=most, integer=True, steps=[1, 2, 5, 10]))
    return axis


def math_label(symbol: str, index: int | str | None = None, argument: str | None = None) -> str:
    """A symbol as mathtext: ``math_label("W", 15, "f")`` is ``$W_{15}(f)$``, never the raw ``W_15(f)``."""
    text = symbol + (f"_{{{index}}}" if index is not None else "")
    return f"${text}({argument})$" if argument else f"${text}$"


POWER_MAGNITUDE = r"$|X|^p$"
"""The compressed magnitudes the models fit."""


def legend(ax: Any, where: str = "right", handles: Sequence[Any] | None = None, **kwargs: Any) -> Any:
    """A legend in the book's small print, placed where it covers no data (every chapter's figures).

    Args:
        ax: the axes whose series it names.
        where: ``"right"`` (outside, beside the axes), ``"below"`` (under the whole
            figure, below every label: constrained layout makes room) or any matplotlib
            ``loc`` inside the axes.
        handles: the handles (default: the axes' labelled artists).
        **kwargs: passed to ``legend`` (``ncols``, ``title``, ...).

    Returns:
        The legend.
    """
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    else:
        labels = [h.get_label() for h in handles]
    common = {"fontsize": SMALL_PT, "title_fontsize": SMALL_PT, "frameon": False, **kwargs}
    if where == "below":
        return ax.figure.legend(handles, labels, loc="outside lower center", **common)
    place: dict[str, Any] = ({"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0}
                             if where == "right" else {"loc": where})
    return ax.legend(handles, labels, **place, **common)


def figure_legend(fig: Any, axes: Iterable[Any] | None = None, ncols: int = 2, where: str = "lower center") -> Any:
    """One legend under (or over) the whole figure naming every labelled series of ``axes`` once.

    Panels that share series (the study's two panels, one panel per rank) get one
    legend with every series, including those only one panel draws.

    Args:
        fig: the figure (constrained layout makes room for the legend).
        axes: the axes to collect from (default: all of the figure's).
        ncols: legend columns.
        where: ``"lower center"`` or ``"upper center"``, outside the axes.

    Returns:
        The legend.
    """
    seen: dict[str, Any] = {}
    for ax in fig.axes if axes is None else axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    return fig.legend(list(seen.values()), list(seen), loc=f"outside {where}", ncols=ncols, fontsize=SMALL_PT,
                      frameon=False)


def displayed_px(points: float, dpi: float, png_width: int) -> float:
    """Screen px of text of ``points`` points in a PNG of ``png_width`` px at ``dpi`` shown in the column."""
    return points * dpi / 72.0 * min(1.0, COLUMN_PX / png_width)


def png_width(fig: Any) -> int:
    """Width in px of the PNG the book shows for ``fig``: saved like the inline backend (its dpi, tight box)."""
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight",
                facecolor=fig.get_facecolor(), edgecolor=fig.get_edgecolor())
    buffer.seek(0)
    with Image.open(buffer) as image:
        return image.size[0]
