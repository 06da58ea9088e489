"""Every chapter figure function in the book's one style (innmf.report.style).

Each figure is built on small synthetic inputs and rendered the way the book shows it
(the inline backend's PNG: the figure's dpi, a tight box, scaled down to the 672 px
column when wider). Then: every visible text is at least ``MIN_TEXT_PX`` screen px,
a method has one colour in every figure, counting axes tick at whole numbers, every
labelled series is in a legend, and no label shows raw ``W_15(f)`` or ``|X|^p``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import Collection  # noqa: E402
from matplotlib.colors import same_color, to_rgb  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from innmf.report import style  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
N_FFTS = (1000, 1500, 2000, 2500)
COUNTING = re.compile(r"component|iteration|epoch|worker", re.IGNORECASE)


def _results() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for n_fft in N_FFTS:
        for trial in range(6):
            for method, shift in (("NMF", 0.0), ("iN-NMF", 0.3), ("NMF-interp", -0.2)):
                for metric, scale in (("sdr", 1.0), ("stoi", 0.01), ("kl", 1e-4)):
                    rows.append({"trial": trial, "speakers": f"s{trial % 3}+s{3 + trial % 2}",
                                 "experiment": "reconstruction" if metric == "kl" else "separation",
                                 "method": method, "n_fft": n_fft, "metric": metric,
                                 "value": 5.0 * scale + scale * (shift + rng.standard_normal())})
    return pd.DataFrame(rows)


def _costs_table() -> pd.DataFrame:
    from innmf.experiments.costs import INTERP, REFIT_MU, REFIT_RPROP, SAMPLE, TRAIN

    steps = [("NMF", TRAIN, 2.0), ("iN-NMF", TRAIN, 30.0), ("iN-NMF", SAMPLE, 0.01),
             ("iN-NMF", REFIT_RPROP, 1.5), ("iN-NMF", REFIT_MU, 0.2), ("NMF-interp", INTERP, 0.001)]
    return pd.DataFrame([{"method": m, "step": s, "n_fft": n, "rank": k, "unit": "s", "value": v * k / 10 * n / 2000}
                         for k in (10, 20, 40) for n in (512, 1000, 2000, 4096) for m, s, v in steps])


def _music_rows() -> pd.DataFrame:
    from test_music_run import MEANS, _rows

    return pd.DataFrame(_rows("chorales", "validation", 4, MEANS, 0) + _rows("chorales", "test", 8, MEANS, 1)
                        + _rows("guitar", "validation", 4, MEANS, 2) + _rows("guitar", "test", 8, MEANS, 3))


def _study_rows() -> pd.DataFrame:
    from test_inr_study import simulated

    return simulated({"paper": 0.0, "draw 2": 0.1, "3000 epochs": 0.5, "Adam": -0.2, "SIREN init": 0.0,
                      "Gaussian features": 0.3}, n_trials=12, n_speakers=6)


def _summary_figure():
    from test_report_endpoints import results
    from test_report_summary import SETS, music

    from innmf.report import summary
    from innmf.report.endpoints import endpoint_table

    return summary.summary_figure(endpoint_table(results()), music(SETS))


def _cloud():
    from innmf.tf.pointcloud import PointCloud, concat_in_time

    rng = np.random.default_rng(0)
    times, freqs = np.arange(20) * 0.05 + 0.025, np.arange(30) * 100.0
    grid = PointCloud.from_matrix(rng.random((30, 20)) + 0.1, times, freqs, "STFT, N = 128", sr=8000.0, duration=1.0)
    dots = PointCloud.from_bins([np.sort(rng.uniform(0, 1, 40)) for _ in range(5)], np.arange(1, 6) * 440.0,
                                [rng.random(40) + 0.1 for _ in range(5)], "sinusoidal model", sr=8000.0, duration=1.0)
    return concat_in_time([grid, dots])


def _peers() -> pd.DataFrame:
    from innmf.report.speed import PEERS

    machines = ("CPU AMD EPYC (family 25, model 1, stepping 1), 1 thread(s)", "NVIDIA H200, 16 thread(s)")
    rows = [{"measurement": m, "machine": machine, "peer": PEERS[p], "speedup": 0.5 + i + j, "fastest": i == 0}
            for m, peers in (("iN-NMF training epoch (K=20, h=64, V 1001x319)", ("published_structure", "plain_eager")),
                             ("KL-MU NMF iteration (K=20, V 1001x319)", ("sklearn_float32",)))
            for j, machine in enumerate(machines) for i, p in enumerate(peers)]
    return pd.DataFrame(rows)


def _builders() -> dict[str, Callable[[], object]]:
    from innmf.report import costs, figures, inr_study, music, speed
    from innmf.report.clouds import plot_cloud
    from innmf.report.published import published_kl
    from innmf.report.stats import paired_summary

    rng = np.random.default_rng(1)
    results = _results()
    rec = results[results["experiment"] == "reconstruction"]
    sep = results[results["experiment"] == "separation"]
    # without integer ticks, rank 8's template axis and rank 20's activation axis tick at halves
    factors = {K: (rng.random((51, K)), rng.random((K, 40)), np.sort(rng.uniform(0, 8000, 51)), np.arange(40) * 0.0625)
               for K in (8, 20)}
    music_rows = _music_rows()
    table = music.endpoint(music_rows)
    return {
        "kl_vs_window": lambda: figures.kl_vs_window(rec, published=published_kl()),
        "split_violins": lambda: figures.split_violins(sep, "sdr"),
        "split_violins_interp": lambda: figures.split_violins(sep, "sdr", methods=("NMF-interp", "iN-NMF")),
        "paired_differences": lambda: figures.paired_differences(
            paired_summary(results[results["method"] != "NMF-interp"])),
        "factors": lambda: figures.factors(*factors[20],
                                           title="iN-NMF of speaker 1: W sampled at the 1001 bins of N = 2000"),
        "factors_rank8": lambda: figures.factors(*factors[8]),
        "convergence": lambda: figures.convergence(
            {"NMF, 200 MU iterations": np.geomspace(1, 1e-3, 50),
             "iN-NMF, 300 Rprop epochs": np.geomspace(2, 1e-2, 30)}, title="speaker 1, N = 2000, K = 10"),
        "ablation_curves": lambda: figures.convergence(
            {"paper: J = 10, sin, h = 64": np.geomspace(2, 1e-2, 30), "J = 1": np.geomspace(3, 1e-1, 30),
             "relu": np.geomspace(2, 5e-2, 30)}, ylabel="mean KL divergence"),
        "plot_costs": lambda: costs.plot_costs(_costs_table(), 2000),
        "study_figure": lambda: inr_study.study_figure(_study_rows()),
        "plot_endpoint": lambda: music.plot_endpoint(music_rows, table),
        "plot_sensitivity": lambda: music.plot_sensitivity(music.comparator_sensitivity(music_rows)),
        "plot_representations": lambda: music.plot_representations(
            rng.standard_normal(8000 * 2) * 0.1, 8000, _music_cqt(), seconds=1.5),
        "plot_cloud": lambda: plot_cloud(_cloud()).figure,
        "summary_figure": _summary_figure,
        "speedup_figure": lambda: speed.speedup_figure(_peers()),
    }


def _music_cqt() -> dict:
    from innmf.experiments.music import music_settings

    return music_settings("paper")["cqt"]


NAMES = [
    "kl_vs_window", "split_violins", "split_violins_interp", "paired_differences", "factors", "factors_rank8", "convergence",
    "ablation_curves", "plot_costs", "study_figure", "plot_endpoint", "plot_sensitivity", "plot_representations",
    "plot_cloud", "summary_figure", "speedup_figure"]


@pytest.fixture(scope="module")
def rendered() -> dict[str, tuple[object, int]]:
    """Every figure with the width of the PNG the book would show; closed at the end."""
    out = {name: build() for name, build in _builders().items()}
    widths = {name: style.png_width(fig) for name, fig in out.items()}
    yield {name: (fig, widths[name]) for name, fig in out.items()}
    for fig in out.values():
        plt.close(fig)


def _texts(fig) -> list[Text]:
    """The texts a reader sees: visible, non-empty, not on a hidden axes (an unused panel)."""
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
            and (t.axes is None or t.axes.get_visible())]


def test_every_chapter_figure_function_is_covered() -> None:
    assert sorted(_builders()) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_text_is_at_least_the_body_texts_small_print(rendered, name) -> None:
    fig, width = rendered[name]
    assert fig.dpi == style.DPI, f"{name} is drawn at {fig.dpi} dpi, not the book's {style.DPI}"
    assert width <= style.COLUMN_PX, f"{name}: its PNG is {width} px wide, so the page shrinks it to the column"
    small = sorted({(round(style.displayed_px(t.get_fontsize(), fig.dpi, width), 1), t.get_text()[:40])
                    for t in _texts(fig)
                    if style.displayed_px(t.get_fontsize(), fig.dpi, width) < style.MIN_TEXT_PX})
    assert not small, (f"{name}: PNG {width} px wide (column {style.COLUMN_PX} px); text shown below "
                       f"{style.MIN_TEXT_PX} px: {small[:6]}")


@pytest.mark.parametrize("name", NAMES)
def test_every_labelled_series_is_in_a_legend(rendered, name) -> None:
    fig, _ = rendered[name]
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
    named = {t.get_text() for legend in legends for t in legend.get_texts()}
    series = {label for ax in fig.axes for label in ax.get_legend_handles_labels()[1]}
    assert series <= named, f"{name}: series in no legend: {sorted(series - named)}"


@pytest.mark.parametrize("name", NAMES)
def test_counting_axes_tick_at_whole_numbers(rendered, name) -> None:
    fig, _ = rendered[name]
    for ax in fig.axes:
        for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            if not COUNTING.search(axis.get_label_text()) or axis.get_scale() != "linear":
                continue
            ticks = [v for v in axis.get_majorticklocs() if min(lo, hi) <= v <= max(lo, hi)]
            assert ticks and np.allclose(ticks, np.round(ticks)), f"{name}: {axis.get_label_text()!r} ticks {ticks}"


RAW_MARKUP = re.compile(r"[A-Za-z]_[{\w]|\^")


@pytest.mark.parametrize("name", NAMES)
def test_symbols_are_mathtext(rendered, name) -> None:
    fig, _ = rendered[name]
    raw = [t.get_text() for t in _texts(fig) if RAW_MARKUP.search(re.sub(r"\$[^$]*\$", "", t.get_text()))]
    assert not raw, f"{name}: raw markup outside $...$: {raw}"


def _colour(handle) -> object:
    if isinstance(handle, Line2D):
        return handle.get_color()
    if isinstance(handle, Patch):
        return handle.get_facecolor()
    if isinstance(handle, Collection):
        colours = handle.get_facecolor()
        colours = colours if len(colours) else handle.get_edgecolor()
        return colours[0] if len(colours) else None
    return None


def _legend_colours(fig) -> dict[str, object]:
    """Each legend entry's colour, as the legend draws it."""
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
    return {text.get_text(): _colour(handle) for legend in legends
            for handle, text in zip(legend.legend_handles, legend.get_texts()) if _colour(handle) is not None}


def test_a_method_has_one_colour_in_every_figure(rendered) -> None:
    seen: dict[str, set[str]] = {}
    for name, (fig, _) in rendered.items():
        for label, colour in _legend_colours(fig).items():
            look = style.look(label)
            if look not in style.LOOKS.values():
                continue
            # alpha aside (violins are translucent), the colour is the look's
            assert same_color(to_rgb(colour), look.color), f"{name}: {label!r} drawn {colour}, its look is {look.color}"
            method = next(k for k, v in style.LOOKS.items() if v == look)
            seen.setdefault(method, set()).add(name)
    # the same method really is compared across figures, and the paper's recipe (the study's
    # "paper") is drawn in iN-NMF's look
    assert len(seen["NMF"]) >= 4 and len(seen["iN-NMF"]) >= 4 and "study_figure" in seen["iN-NMF"]
    assert style.look("paper") == style.look("iN-NMF")


def test_the_study_legend_names_the_papers_recipe_and_every_setting(rendered) -> None:
    fig, _ = rendered["study_figure"]
    (legend,) = fig.legends
    names = [t.get_text() for t in legend.get_texts()]
    assert names[0] == "paper" and {"Adam", "SIREN init", "3000 epochs"} <= set(names)


def test_the_rule_counts_scaling_down() -> None:
    assert style.displayed_px(9, 100, 672) == pytest.approx(12.5)
    assert style.displayed_px(9, 100, 1344) == pytest.approx(6.25)  # a 13.44 in figure halves its text
    assert (style.size(1.0)[0] + 2 * style.PAD_IN) * style.DPI == pytest.approx(style.COLUMN_PX)


def test_notebook_figures_are_sized_and_lettered_by_the_style() -> None:
    """Figures drawn in the chapters themselves take their size and small print from the style."""
    for path in sorted((ROOT / "notebooks").glob("*.py")):
        source = path.read_text()
        assert "figsize=" not in source, f"{path.name}: size figures with innmf.report.style.figure"
        sizes = [float(v) for v in re.findall(r"fontsize=([0-9.]+)", source)]
        assert all(v >= style.SMALL_PT for v in sizes), f"{path.name}: font sizes {sizes}"
        assert not re.search(r"fontsize=\"(x-|xx-)?small\"", source), path.name
        labels = re.findall(r"(?:label|title)=f?\"([^\"]*)\"", source)
        # an f-string's {placeholder} stands for a value: W_{k} is still raw, {n_fft} is not
        raw = [t for t in labels if RAW_MARKUP.search(re.sub(r"\{[^{}]*\}", "0", re.sub(r"\$[^$]*\$", "", t)))]
        assert not raw, f"{path.name}: raw markup outside $...$ in {raw}"
