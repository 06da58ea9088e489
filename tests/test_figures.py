"""Tests of innmf.report.figures: each figure builds, has the expected artists and leaks nothing."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from innmf.report import figures
from innmf.report.published import published_kl
from innmf.report.stats import paired_summary

N_FFTS = (1000, 1500, 2000, 2500)


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for n_fft in N_FFTS:
        for trial in range(8):
            for method, shift in (("NMF", 0.0), ("iN-NMF", 0.3)):
                rows.append({"trial": trial, "method": method, "n_fft": n_fft, "metric": "sdr",
                             "value": 4.0 + shift + rng.standard_normal()})
                rows.append({"trial": trial, "method": method, "n_fft": n_fft, "metric": "kl",
                             "value": 5e-4 * (1 + shift / 3) + 4e-5 * rng.standard_normal()})
    return pd.DataFrame(rows)


@pytest.fixture(autouse=True)
def no_pyplot_leak():
    before = set(plt.get_fignums())
    yield
    assert set(plt.get_fignums()) == before


def _render(fig: Figure) -> None:
    fig.canvas.draw()  # catches errors that only appear at draw time


def test_kl_vs_window(results) -> None:
    fig = figures.kl_vs_window(results, published=published_kl())
    _render(fig)
    (ax,) = fig.axes
    labels = ax.get_legend_handles_labels()[1]
    assert sorted(labels) == sorted(["NMF (ours)", "iN-NMF (ours)", "NMF (paper)", "iN-NMF (paper)",
                                     "iN-NMF's training size, N = 2000"])
    assert list(ax.get_xticks()) == list(N_FFTS)
    with pytest.raises(ValueError, match="no rows for metric"):
        figures.kl_vs_window(results, metric="stoi")


def test_split_violins_halves(results) -> None:
    fig = figures.split_violins(results, "sdr", train_n_fft=2000)
    _render(fig)
    (ax,) = fig.axes
    bodies = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bodies) == 2 * len(N_FFTS)
    # The first len(N_FFTS) bodies are NMF (left halves), the rest iN-NMF (right halves).
    for i, body in enumerate(bodies):
        x = body.get_paths()[0].vertices[:, 0]
        centre = i % len(N_FFTS)
        if i < len(N_FFTS):
            assert x.max() <= centre + 1e-12 and x.min() < centre - 0.05
        else:
            assert x.min() >= centre - 1e-12 and x.max() > centre + 0.05
    assert len(ax.patches) == 1  # the shaded training window
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(n) for n in N_FFTS]


def test_split_violins_single_trial_draws_points(results) -> None:
    fig = figures.split_violins(results[results["trial"] == 0], "sdr", train_n_fft=None)
    _render(fig)
    (ax,) = fig.axes
    assert not [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(ax.patches) == 0
    with pytest.raises(ValueError, match="exactly two"):
        figures.split_violins(results, "sdr", methods=("NMF",))


def test_paired_differences(results) -> None:
    summary = paired_summary(results)
    fig = figures.paired_differences(summary)
    _render(fig)
    assert len(fig.axes) == 2
    assert fig.axes[0].get_title() == "KL divergence"
    assert len(fig.axes[1].get_yticks()) == len(N_FFTS)
    with pytest.raises(ValueError, match="lacks column"):
        figures.paired_differences(summary.drop(columns="ci_low"))


def test_factors_and_convergence() -> None:
    rng = np.random.default_rng(1)
    W, H = rng.random((51, 3)), rng.random((3, 40))
    freqs = np.sort(rng.uniform(0, 8000, 51))  # uneven, as for sampled INR templates
    fig = figures.factors(W, H, freqs, np.arange(40) * 0.0625, title="toy")
    _render(fig)
    assert len(fig.axes) == 2
    assert fig.axes[0].get_ylim()[1] >= freqs.max()
    with pytest.raises(ValueError, match="expected"):
        figures.factors(W, H.T)
    with pytest.raises(ValueError, match="frequencies"):
        figures.factors(W, H, freqs[:-1])

    fig = figures.convergence({"NMF": np.geomspace(1, 1e-3, 50), "iN-NMF": np.geomspace(2, 1e-2, 30)})
    _render(fig)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log" and len(ax.get_lines()) == 2
    with pytest.raises(ValueError, match="positive"):
        figures.convergence({"bad": [1.0, 0.0]})


def test_format_table_headers_precision_and_missing_values():
    from innmf.report.format import format_table, signed

    df = pd.DataFrame({"n_fft": [1000, 2000], "ratio": [1.110995, np.nan], "mean_diff": [-0.1234, 0.5],
                       "ok": [True, False]})
    html = format_table(df, formats={"mean_diff": signed(2)}).to_html()
    assert "N (samples)" in html and "ratio iN-NMF / NMF" in html  # readable headers
    assert "1.11" in html and "1.110995" not in html  # three significant digits
    assert "–" in html and "nan" not in html.lower().replace("nan;", "")
    assert "\u22120.12" in html and "+0.50" in html  # U+2212 minus, as in the text
    assert "yes" in html and "True" not in html  # booleans as words
    assert "<th class=\"blank" not in html and "row0" in html  # the 0..n index is hidden
    with pytest.raises(ValueError, match="no column"):
        format_table(df, {"missing": "x"})


def test_audio_table_labels_every_player():
    html = figures.audio_table([("mixture", np.sin(np.arange(160.0))), ("estimate <a>", np.cos(np.arange(160.0)))],
                               rate=16000).data
    assert html.count("<audio") == 2 and html.count("<tr>") == 3
    assert 'aria-label="mixture"' in html and "estimate &lt;a&gt;" in html
    with pytest.raises(ValueError, match="at least one"):
        figures.audio_table([], rate=16000)
