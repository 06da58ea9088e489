"""Comparison figures for the book: KL curves, split violins, paired differences,
factor images and convergence curves.

Every function builds a standalone :class:`matplotlib.figure.Figure` (no pyplot
state, so it works under the Agg backend, never leaks open figures and shows once
when returned as a notebook cell's value) and returns it, sized, coloured and
lettered by :mod:`innmf.report.style`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from innmf.report import style
from innmf.report.style import METHOD_COLORS  # noqa: F401 (kept for code that imports it from here)

METRIC_LABELS = {
    "kl": "KL divergence",
    "sdr": "SDR (dB)",
    "sir": "SIR (dB)",
    "sar": "SAR (dB)",
    "stoi": "STOI",
}


def outside_legend(ax: Any, **kwargs: Any) -> Any:
    """A legend to the right of the axes, so it never covers data (every chapter's figures)."""
    return style.legend(ax, "right", **kwargs)


def audio_table(players: Sequence[tuple[str, np.ndarray]], rate: int) -> Any:
    """Audio players as an HTML table with one labelled row per signal.

    Chapters "NMF recap" and "Separating two speakers" play their signals this way, so
    each label stays next to its player.

    Args:
        players: ``(label, signal)`` pairs, in the order to show them.
        rate: sample rate in Hz.

    Returns:
        An ``IPython.display.HTML`` object (a ``<table class="audio-table">``).
    """
    from html import escape

    from IPython.display import HTML, Audio

    if not players:
        raise ValueError("audio_table needs at least one (label, signal) pair.")
    rows = []
    for label, signal in players:
        player = Audio(np.asarray(signal, dtype=float), rate=rate)._repr_html_()
        player = player.replace("<audio ", f'<audio aria-label="{escape(label)}" ', 1)
        rows.append(f"<tr><td>{escape(label)}</td><td>{player}</td></tr>")
    return HTML('<table class="audio-table"><thead><tr><th>signal</th><th>player</th></tr></thead><tbody>'
                + "".join(rows) + "</tbody></table>")


def _trained_at(n_fft: int) -> str:
    return f"iN-NMF's training size, N = {n_fft}"


def _metric_rows(df: pd.DataFrame, metric: str, name: str = "df") -> pd.DataFrame:
    needed = {"method", "n_fft", "metric"}
    missing = sorted(needed - set(df.columns))
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; pass a tidy results table.")
    rows = df[df["metric"] == metric]
    if rows.empty:
        raise ValueError(f"{name} has no rows for metric {metric!r}; it has {sorted(set(df['metric']))}.")
    return rows


def kl_vs_window(
    df: pd.DataFrame,
    published: pd.DataFrame | None = None,
    metric: str = "kl",
    train_n_fft: int | None = 2000,
) -> Figure:
    """Mean ± std of a metric (KL by default) against the window size N, per method.

    Chapter: "Reconstruction across window sizes" (the paper's KL figure).

    Args:
        df: tidy results (columns method, n_fft, metric, value).
        published: optional paper table (:func:`innmf.report.published.published_kl`),
            drawn dashed with hollow markers beside ours.
        metric: which metric to plot.
        train_n_fft: window size iN-NMF was trained at, marked by a dotted line
            (None for no mark).

    Returns:
        The figure (one axes).
    """
    rows = _metric_rows(df, metric)
    if "value" not in rows.columns:
        raise ValueError("df lacks the 'value' column; pass a tidy results table.")
    fig = style.figure(aspect=0.6)
    ax = fig.add_subplot()
    methods = list(dict.fromkeys(rows["method"]))
    all_n = sorted(set(rows["n_fft"]))
    for i, method in enumerate(methods):
        stats = rows[rows["method"] == method].groupby("n_fft")["value"].agg(["mean", "std"]).sort_index()
        look = style.look(method, i)
        ax.errorbar(stats.index, stats["mean"], yerr=np.nan_to_num(stats["std"].to_numpy()),
                    marker=look.marker, capsize=3, color=look.color, label=f"{method} (ours)")
    if published is not None:
        pub = _metric_rows(published, metric, "published")
        # A small shift keeps the two sets of error bars apart at the same N.
        shift = 0.01 * (max(all_n) - min(all_n) or max(all_n))
        for i, method in enumerate(dict.fromkeys(pub["method"])):
            p = pub[pub["method"] == method].sort_values("n_fft")
            look = style.look(method, methods.index(method) if method in methods else i)
            ax.errorbar(p["n_fft"] + shift, p["mean"], yerr=np.nan_to_num(p["std"].to_numpy(dtype=float)),
                        marker=look.marker, markerfacecolor="none", linestyle="--", capsize=3, color=look.color,
                        label=f"{method} (paper)")
        all_n = sorted(set(all_n) | set(pub["n_fft"]))
    if train_n_fft is not None:
        ax.axvline(train_n_fft, color=style.REFERENCE, linestyle=":", label=_trained_at(train_n_fft))
    ax.set_xticks(all_n, [str(n) for n in all_n], rotation=45 if len(all_n) > 6 else 0)
    ax.set_xlabel("Window size N (samples)")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    style.legend(ax, "below", ncols=2)
    return fig


def split_violins(
    df: pd.DataFrame,
    metric: str,
    train_n_fft: int | None = 2000,
    methods: Sequence[str] = ("NMF", "iN-NMF"),
) -> Figure:
    """Split violins per window size N: first method on the left half, second on the right.

    Chapter: "Separating two speakers" (the paper's separation figure). A group with
    fewer than two distinct values has no density, so it is drawn as dots instead.

    Args:
        df: tidy results (columns method, n_fft, metric, value).
        metric: which metric to plot (e.g. "sdr").
        train_n_fft: window size iN-NMF was trained at, shaded (None for no shading).
        methods: the two methods, (left, right).

    Returns:
        The figure (one axes); each violin half is a PolyCollection.
    """
    if len(methods) != 2:
        raise ValueError(f"split_violins needs exactly two methods (left, right), got {list(methods)}.")
    rows = _metric_rows(df, metric)
    n_ffts = sorted(set(rows["n_fft"]))
    positions = np.arange(len(n_ffts), dtype=float)
    fig = style.figure(aspect=0.55)
    ax = fig.add_subplot()
    handles = []
    if train_n_fft is not None and train_n_fft in n_ffts:
        pos = positions[n_ffts.index(train_n_fft)]
        ax.axvspan(pos - 0.5, pos + 0.5, color=style.SHADE, zorder=0)
        handles.append(Patch(color=style.SHADE, label=_trained_at(train_n_fft)))
    for side, method in enumerate(methods):
        color = style.color(method, side)
        sign = -1.0 if side == 0 else 1.0
        sub = rows[rows["method"] == method]
        if sub.empty:
            raise ValueError(f"No {metric!r} rows for method {method!r}; it has {sorted(set(rows['method']))}.")
        data = [sub.loc[sub["n_fft"] == n, "value"].to_numpy(dtype=float) for n in n_ffts]
        dense = [i for i, d in enumerate(data) if len(np.unique(d)) >= 2]
        if dense:
            parts = ax.violinplot([data[i] for i in dense], positions=positions[dense],
                                  widths=0.8, showextrema=False)
            for body, i in zip(parts["bodies"], dense):
                # Keep only this method's half of the symmetric violin.
                verts = body.get_paths()[0].vertices
                centre = positions[i]
                verts[:, 0] = np.clip(verts[:, 0], centre, np.inf) if sign > 0 else np.clip(verts[:, 0], -np.inf, centre)
                body.set_facecolor(color)
                body.set_edgecolor("black")
                body.set_alpha(0.7)
        for i, d in enumerate(data):
            if len(d) == 0:
                continue
            if i not in dense:
                ax.scatter(np.full(len(d), positions[i] + sign * 0.15), d, color=color, s=12, zorder=3)
            # Mean as a short bar inside the method's half.
            lo, hi = sorted((positions[i], positions[i] + sign * 0.3))
            ax.hlines(np.mean(d), lo, hi, color="black", linewidth=1.5, zorder=4)
        handles.append(Patch(facecolor=color, alpha=0.7, label=method))
    ax.set_xticks(positions, [str(n) for n in n_ffts], rotation=45 if len(n_ffts) > 6 else 0)
    ax.set_xlim(-0.6, len(n_ffts) - 0.4)
    ax.set_xlabel("Window size N (samples)")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    style.legend(ax, "below", handles=handles, ncols=len(handles))
    return fig


def paired_differences(
    summary: pd.DataFrame, metrics: Sequence[str] | None = None, label: str = "iN-NMF − NMF"
) -> Figure:
    """Forest plot of paired mean differences (treatment − baseline) with their 95 % intervals.

    The intervals are the speaker-level ones of :func:`innmf.report.stats.paired_summary`
    (``speaker_low``/``speaker_high``) where the summary has them, else the trial-level
    t-intervals (``ci_low``/``ci_high``). Chapter "Separating two speakers".

    Args:
        summary: output of :func:`innmf.report.stats.paired_summary`.
        metrics: metrics to show, one panel each (default: all in the summary).
        label: the difference shown (the summary's treatment − baseline).

    Returns:
        The figure, one axes per metric; a dashed line marks no difference.
    """
    needed = {"n_fft", "metric", "mean_diff", "ci_low", "ci_high"}
    missing = sorted(needed - set(summary.columns))
    if missing:
        raise ValueError(f"summary lacks column(s) {missing}; pass innmf.report.stats.paired_summary(results).")
    order = list(METRIC_LABELS)
    present = list(dict.fromkeys(summary["metric"]))
    metrics = list(metrics) if metrics is not None else sorted(present, key=lambda m: (order.index(m) if m in order else len(order), m))
    if not metrics:
        raise ValueError("summary has no rows to plot.")
    fig = style.figure(height=0.32 * summary["n_fft"].nunique() + 1.6)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        rows = summary[summary["metric"] == metric].sort_values("n_fft")
        if rows.empty:
            raise ValueError(f"summary has no rows for metric {metric!r}; it has {present}.")
        y = np.arange(len(rows))
        mean = rows["mean_diff"].to_numpy(dtype=float)
        low, high = rows["ci_low"].to_numpy(dtype=float), rows["ci_high"].to_numpy(dtype=float)
        if {"speaker_low", "speaker_high"} <= set(rows.columns):
            s_low, s_high = rows["speaker_low"].to_numpy(dtype=float), rows["speaker_high"].to_numpy(dtype=float)
            low, high = np.where(np.isfinite(s_low), s_low, low), np.where(np.isfinite(s_high), s_high, high)
        err = np.vstack([mean - low, high - mean])
        ax.errorbar(mean, y, xerr=np.nan_to_num(err), fmt="o", capsize=3, color=style.DIFFERENCE)
        ax.axvline(0.0, color=style.REFERENCE, linestyle="--")
        ax.set_yticks(y, [str(n) for n in rows["n_fft"]])
        ax.set_title(METRIC_LABELS.get(metric, metric))
    fig.supxlabel(label, fontsize=style.FONT_PT)
    axes[0].set_ylabel("Window size N (samples)")
    return fig


def factors(
    W: Any,
    H: Any,
    freqs: Any = None,
    times: Any = None,
    title: str | None = None,
) -> Figure:
    """Templates W (F x K) and activations H (K x T) as images.

    Chapters: "NMF recap", "Implicit neural factors" and "Irregular representations".
    Coordinates may be unevenly spaced (e.g. sampled INR templates).

    Args:
        W: templates, shape (F, K), K the rank.
        H: activations, shape (K, T).
        freqs: frequency (Hz) of each row of W (default: bin index).
        times: time (s) of each column of H (default: frame index).
        title: figure title.

    Returns:
        The figure, two axes: templates then activations.
    """
    W = np.asarray(W.detach().cpu().numpy() if hasattr(W, "detach") else W, dtype=float)
    H = np.asarray(H.detach().cpu().numpy() if hasattr(H, "detach") else H, dtype=float)
    if W.ndim != 2 or H.ndim != 2 or W.shape[1] != H.shape[0]:
        raise ValueError(f"W has shape {W.shape} and H has shape {H.shape}; expected (F, K) and (K, T).")
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(H))):
        raise ValueError("W or H contains NaN or infinite values.")
    F, K = W.shape
    T = H.shape[1]
    freqs = np.arange(F, dtype=float) if freqs is None else np.asarray(freqs, dtype=float)
    times = np.arange(T, dtype=float) if times is None else np.asarray(times, dtype=float)
    if freqs.shape != (F,) or times.shape != (T,):
        raise ValueError(f"Need {F} frequencies and {T} times, got {freqs.shape} and {times.shape}.")
    comps = np.arange(1, K + 1)
    fig = style.figure(aspect=0.5)
    ax_w, ax_h = fig.subplots(1, 2, width_ratios=[1, 2.2])
    ax_w.pcolormesh(comps, freqs, W, shading="nearest", cmap="magma")
    ax_w.set_xlabel("Component $k$")
    ax_w.set_ylabel("Frequency (Hz)")
    ax_w.set_title("Templates $W$")
    style.integer_ticks(ax_w.xaxis)
    ax_h.pcolormesh(times, comps, H, shading="nearest", cmap="magma")
    ax_h.set_xlabel("Time (s)")
    ax_h.set_ylabel("Component $k$")
    ax_h.set_title("Activations $H$")
    style.integer_ticks(ax_h.yaxis)
    if title:
        fig.suptitle(title, fontsize=style.TITLE_PT, wrap=True)
    return fig


def convergence(histories: Mapping[str, Any], ylabel: str = "KL divergence", title: str | None = None) -> Figure:
    """Loss against iteration (log-scaled loss), one line per run.

    Chapters: "NMF recap" and "Implicit neural factors".

    Args:
        histories: name → sequence of positive, finite losses, one per iteration/epoch.
        ylabel: label of the loss axis.
        title: axes title.

    Returns:
        The figure (one axes, one line per history).
    """
    if not histories:
        raise ValueError("convergence needs at least one loss history.")
    fig = style.figure(aspect=0.55)
    ax = fig.add_subplot()
    unnamed = 0
    for name, hist in histories.items():
        h = np.asarray(hist, dtype=float).ravel()
        if h.size == 0 or not np.all(np.isfinite(h)) or np.any(h <= 0):
            raise ValueError(f"History {name!r} must be non-empty, finite and positive for a log scale.")
        look = style.look(str(name), unnamed)
        unnamed += look not in style.LOOKS.values()  # the palette's next colour for the next unnamed run
        ax.plot(np.arange(1, h.size + 1), h, color=look.color, label=str(name))
    ax.set_yscale("log")
    ax.set_xlabel("Iteration")
    style.integer_ticks(ax.xaxis)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=style.TITLE_PT, wrap=True)
    style.legend(ax, "below", ncols=2 if len(histories) > 3 else 1)
    return fig
