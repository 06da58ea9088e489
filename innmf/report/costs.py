"""What not retraining costs, read from its records: tables, a figure and computed sentences.

``results/bench/costs.json`` holds the tidy table of :func:`innmf.experiments.costs.measure_costs`
(each method's steps timed at every N and K, and the parameter counts) and
``results/bench/refit-mu.json`` the rows of :func:`innmf.experiments.costs.compare_refits`
(iN-NMF's scores with H fitted by the paper's Rprop and by MU, on a recorded run's
trials); ``python -m innmf.tools.bench.costs`` made both (``results/bench/README.md``).
This module reads them back and never measures. The chapter "Reproducing at scale"
("What not retraining costs") shows what it returns.

What serving a new window size N costs, per route (:data:`ROUTES`):

* NMF retrains: W and H learned again at N;
* iN-NMF (the paper's recipe) samples W at N and refits H by Rprop;
* iN-NMF with the fast refit samples W and refits H by MU (:mod:`innmf.models.refit`);
* NMF-interp interpolates N0's NMF dictionary to N and refits H by Rprop (the same
  refit as iN-NMF's on another W: its time is the one measured for iN-NMF's).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from innmf.experiments.costs import (
    ACTIVATIONS, DICTIONARY, ENCODING, INTERP, MU_LABEL, REFIT_MU, REFIT_RPROP, RPROP_LABEL, SAMPLE, TRAIN,
)

ROUTES: dict[str, list[tuple[str, str]]] = {
    "NMF: retrain W and H": [("NMF", TRAIN)],
    "iN-NMF: sample W, refit H by Rprop (paper)": [("iN-NMF", SAMPLE), ("iN-NMF", REFIT_RPROP)],
    "iN-NMF: sample W, refit H by MU": [("iN-NMF", SAMPLE), ("iN-NMF", REFIT_MU)],
    "NMF-interp: interpolate W, refit H by Rprop": [("NMF-interp", INTERP), ("iN-NMF", REFIT_RPROP)],
}
"""Each way of serving a new N, as the (method, step) rows whose times add up to it."""
PAPER_ROUTE, MU_ROUTE, RETRAIN_ROUTE = list(ROUTES)[1], list(ROUTES)[2], list(ROUTES)[0]


def load_record(path: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """A record of ``python -m innmf.tools.bench.costs`` and its ``rows`` as a table."""
    record = json.loads(Path(path).read_text())
    return record, pd.DataFrame(record["rows"])


def machine_sentence(record: dict[str, Any]) -> str:
    """Where and when a record was made, from its own keys."""
    load = record.get("load_average_before", [math.nan])[0], record.get("load_average_after", [math.nan])[0]
    shared = ("shared with other jobs" if record.get("machine_shared") else "not marked as shared")
    threads = record.get("threads", "?")
    # no commit: the record keeps it, and a page shows one hash only, its own build's, in its footer
    return (f"CPU {record.get('cpu_model', '?')} ({record.get('cores', '?')} cores, {shared}: load average "
            f"{load[0]:.1f} before and {load[1]:.1f} after), {threads} thread(s) per process, torch "
            f"{record.get('torch_version', '?')}, {record.get('date', '?')}; "
            f"{record['bench_seconds'] / 60:.1f} min in all.")


def _times(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["unit"] == "s"]


def route_costs(table: pd.DataFrame) -> pd.DataFrame:
    """Seconds to serve each N by each route (:data:`ROUTES`), per rank K.

    Returns:
        Columns ``route, rank, n_fft, seconds`` (the sum of the route's medians).
    """
    times = _times(table).set_index(["method", "step", "rank", "n_fft"])["value"]
    rows = []
    for route, steps in ROUTES.items():
        for K in sorted(table["rank"].unique()):
            for n in sorted(table.loc[table["unit"] == "s", "n_fft"].unique()):
                keys = [(m, s, K, n) for m, s in steps]
                if all(k in times.index for k in keys):
                    rows.append({"route": route, "rank": int(K), "n_fft": int(n), "seconds": float(sum(times[k] for k in keys))})
    return pd.DataFrame(rows)


def training_costs(table: pd.DataFrame, train_n_fft: int) -> pd.DataFrame:
    """The one-off training at N0, per rank: NMF's and iN-NMF's seconds and their ratio."""
    t = _times(table)
    t = t[(t["step"] == TRAIN) & (t["n_fft"] == int(train_n_fft))].pivot(index="rank", columns="method", values="value")
    out = pd.DataFrame({"rank": t.index.astype(int), "NMF (s)": t["NMF"].to_numpy(), "iN-NMF (s)": t["iN-NMF"].to_numpy()})
    out["iN-NMF / NMF"] = out["iN-NMF (s)"] / out["NMF (s)"]
    return out


def step_table(table: pd.DataFrame, rank: int) -> pd.DataFrame:
    """Every timed step at one rank: N in columns, seconds (median at the recipe's count), and how it was timed."""
    t = _times(table)
    t = t[t["rank"] == int(rank)].copy()
    t["step"] = t["method"] + ": " + t["step"]
    t["how"] = [f"{int(timed)} of {int(full)} timed" if timed < full else f"{int(full)} timed" if full > 1 else "one call"
                for timed, full in zip(t["timed_iterations"], t["iterations"])]
    wide = t.pivot(index=["step", "how"], columns="n_fft", values="value").reset_index()
    wide.columns = [c if isinstance(c, str) else f"N = {c} (s)" for c in wide.columns]
    return wide


def parameter_table(table: pd.DataFrame, rank: int) -> pd.DataFrame:
    """Parameters per method at one rank: W's representation, H and the frozen constants, N in columns."""
    p = table[(table["unit"] == "parameters") & (table["rank"] == int(rank))].copy()
    order = {DICTIONARY: 0, ACTIVATIONS: 1, ENCODING: 2}
    p["order"] = p["step"].map(order)
    wide = p.pivot(index=["method", "order", "step"], columns="n_fft", values="value").reset_index().drop(columns="order")
    wide.columns = [c if isinstance(c, str) else f"N = {c}" for c in wide.columns]
    return wide


def break_even(table: pd.DataFrame, train_n_fft: int) -> pd.DataFrame:
    """After how many new window sizes iN-NMF's route has cost less than retraining NMF at each, per rank and route.

    Serving m new sizes costs NMF m x r (its median retraining over the N measured
    other than N0) and iN-NMF t + m x q (its training at N0, then its median route);
    both train once at N0 (NMF's training there is one of its m + 1 fits). The
    break-even m = (t - n0) / (r - q) when r > q, else never (infinite).

    Returns:
        Columns ``rank, route, retrain_s, route_s, extra_training_s, break_even``.
    """
    routes = route_costs(table)
    train = training_costs(table, train_n_fft).set_index("rank")
    rows = []
    for K in sorted(routes["rank"].unique()):
        others = routes[(routes["rank"] == K) & (routes["n_fft"] != int(train_n_fft))]
        r = float(others.loc[others["route"] == RETRAIN_ROUTE, "seconds"].median())
        extra = float(train.loc[K, "iN-NMF (s)"] - train.loc[K, "NMF (s)"])
        for route in (PAPER_ROUTE, MU_ROUTE):
            q = float(others.loc[others["route"] == route, "seconds"].median())
            rows.append({"rank": int(K), "route": route, "retrain_s": r, "route_s": q, "extra_training_s": extra,
                         "break_even": extra / (r - q) if r > q else math.inf})
    return pd.DataFrame(rows)


def cost_sentences(table: pd.DataFrame, train_n_fft: int, rank: int) -> list[str]:
    """What the record says at one rank, every number computed from it."""
    train = training_costs(table, train_n_fft).set_index("rank").loc[int(rank)]
    routes = route_costs(table)
    routes = routes[(routes["rank"] == int(rank)) & (routes["n_fft"] != int(train_n_fft))]

    def span(route: str) -> str:
        s = routes.loc[routes["route"] == route, "seconds"]
        return f"{s.min():.3g}–{s.max():.3g} s"

    retrain = routes.loc[routes["route"] == RETRAIN_ROUTE].set_index("n_fft")["seconds"]
    paper = routes.loc[routes["route"] == PAPER_ROUTE].set_index("n_fft")["seconds"]
    mu = routes.loc[routes["route"] == MU_ROUTE].set_index("n_fft")["seconds"]
    paper_ratio, mu_ratio = (paper / retrain).median(), (mu / retrain).median()
    even = break_even(table, train_n_fft)
    even = even[even["rank"] == int(rank)].set_index("route")["break_even"]
    t = _times(table)
    sample = t[(t["step"] == SAMPLE) & (t["rank"] == int(rank))]["value"]

    def after(route: str) -> str:
        m = even[route]
        return "never" if not np.isfinite(m) else f"after {math.ceil(m)} new window sizes"

    return [
        f"Training at N0 = {train_n_fft} (K = {rank}): iN-NMF's networks take {train['iN-NMF (s)']:.3g} s, "
        f"{train['iN-NMF / NMF']:.1f} times NMF's {train['NMF (s)']:.3g} s.",
        f"Serving another N without retraining: sampling W takes {1e3 * sample.min():.3g}–{1e3 * sample.max():.3g} ms; "
        f"with the paper's Rprop refit of H the whole route takes {span(PAPER_ROUTE)}, "
        f"{paper_ratio:.2f} times the {span(RETRAIN_ROUTE)} of retraining NMF there (median ratio over N); "
        f"with the MU refit {span(MU_ROUTE)}, {mu_ratio:.2f} times.",
        f"Counting iN-NMF's extra training at N0, its route has cost less in all than retraining NMF "
        f"{after(PAPER_ROUTE)} with the Rprop refit and {after(MU_ROUTE)} with the MU refit.",
    ]


def plot_costs(table: pd.DataFrame, train_n_fft: int) -> Any:
    """Time to serve each N per route, one panel per rank (log scale); dotted: iN-NMF's one-off training.

    Chapter "Reproducing at scale". Each route is drawn in its method's look
    (:mod:`innmf.report.style`); iN-NMF's MU refit dashed with hollow markers beside its Rprop refit.

    Args:
        table: the record's rows (:func:`load_record`).
        train_n_fft: N0, where iN-NMF's networks were trained.

    Returns:
        The figure (a pyplot figure: one axes per rank, one legend for all).
    """
    from innmf.report import style

    routes = route_costs(table)
    train = training_costs(table, train_n_fft).set_index("rank")
    ranks = sorted(routes["rank"].unique())
    fig = style.figure(aspect=0.62, pyplot=True)
    axes = fig.subplots(1, len(ranks), sharey=True, squeeze=False)[0]
    for ax, K in zip(axes, ranks):
        for route in ROUTES:
            r = routes[(routes["route"] == route) & (routes["rank"] == K)]
            look = style.look(route)
            hollow = route == MU_ROUTE  # the same method as the paper's route, another refit
            ax.plot(r["n_fft"], r["seconds"], marker=look.marker, color=look.color, ls="--" if hollow else "-",
                    mfc="none" if hollow else look.color, label=route, ms=5)
        ax.axhline(train.loc[K, "iN-NMF (s)"], color=style.REFERENCE, ls=":", lw=1.2,
                   label=f"iN-NMF's one-off training at N0 = {train_n_fft}")
        ax.set(yscale="log", title=f"K = {K}", xlabel="N (samples)")
        sizes = sorted(routes.loc[routes["rank"] == K, "n_fft"].unique())
        ax.set_xticks(sizes, [str(n) for n in sizes], rotation=90)
    axes[0].set_ylabel("seconds (one thread)")
    style.figure_legend(fig, axes[:1], ncols=1)
    return fig


def refit_rows(record: dict[str, Any]) -> pd.DataFrame:
    """The refit comparison's tidy rows (``trial, speakers, experiment, method, n_fft, metric, value``)."""
    return pd.DataFrame(record["rows"])


def refit_effect(rows: pd.DataFrame) -> pd.DataFrame:
    """MU against Rprop per experiment, N and metric (KL and SDR), paired per trial, speaker-level 95 % intervals.

    Through :func:`innmf.report.stats.paired_summary` with the paper's Rprop fit as the
    baseline: ``ratio`` (KL: MU / Rprop, interval ``ratio_low``-``ratio_high``) and
    ``mean_diff`` (SDR: MU − Rprop in dB, interval ``speaker_low``-``speaker_high``).
    """
    from innmf.report.stats import paired_summary

    rows = rows[rows["metric"].isin(["kl", "sdr"])]
    s = paired_summary(rows, baseline=RPROP_LABEL, treatment=MU_LABEL)
    return s[["experiment", "metric", "n_fft", "n", "n_speakers", "mean_baseline", "mean_treatment", "mean_diff",
              "speaker_low", "speaker_high", "ratio", "ratio_low", "ratio_high"]]


def effect_table(effect: pd.DataFrame) -> pd.DataFrame:
    """:func:`refit_effect` for reading (chapter "Reproducing at scale", one table per quantity):
    KL as the ratio MU / Rprop, SDR as MU − Rprop (dB), each with its interval.

    Returns:
        Numbers, for :func:`innmf.report.captioned.table` to print: ``N (samples)``,
        ``trials``, ``speakers``, ``quantity``, ``Rprop mean``, ``MU mean``,
        ``estimate``, ``95 % low``, ``95 % high``.
    """
    rows = []
    for r in effect.itertuples():
        kl = r.metric == "kl"
        est, low, high = (r.ratio, r.ratio_low, r.ratio_high) if kl else (r.mean_diff, r.speaker_low, r.speaker_high)
        rows.append({"N (samples)": r.n_fft, "trials": r.n, "speakers": r.n_speakers,
                     "quantity": "KL ratio MU / Rprop" if kl else "SDR MU − Rprop (dB)",
                     "Rprop mean": r.mean_baseline, "MU mean": r.mean_treatment,
                     "estimate": est, "95 % low": low, "95 % high": high})
    return pd.DataFrame(rows).sort_values(["quantity", "N (samples)"], ignore_index=True)


def recorded_agreement(rows: pd.DataFrame, recorded: pd.DataFrame) -> pd.DataFrame:
    """How close the comparison's Rprop arm comes to the recorded run's iN-NMF values, trial by trial.

    The Rprop arm replays the recorded trials with the same seeds; the code changed
    since the recording only in float rounding, which Rprop's sign-following amplifies
    (``results/paper-embedded/README.md``), so the values agree closely, not exactly.

    Returns:
        Per metric: ``pairs``, the median and largest absolute difference, and the
        median of the recorded values (for scale).
    """
    ours = rows[rows["method"] == RPROP_LABEL][["trial", "n_fft", "metric", "value"]]
    ref = recorded[recorded["method"] == "iN-NMF"][["trial", "n_fft", "metric", "value"]]
    both = ours.merge(ref, on=["trial", "n_fft", "metric"], suffixes=("", "_recorded"))
    both["diff"] = (both["value"] - both["value_recorded"]).abs()
    return (both.groupby("metric")
            .agg(pairs=("diff", "size"), median_abs_diff=("diff", "median"), max_abs_diff=("diff", "max"),
                 median_recorded=("value_recorded", "median"))
            .reset_index())


def refit_sentences(record: dict[str, Any], effect: pd.DataFrame) -> list[str]:
    """What the refit comparison says, every number from the record or the paired summary."""
    kl = effect[effect["metric"] == "kl"]
    sdr = effect[effect["metric"] == "sdr"]
    n_trials = len(record.get("trial_keys", []))
    s = record.get("settings", {})
    return [
        f"{n_trials} trials of the recorded run (`{record.get('store', '?')}`), both speakers' networks retrained with "
        f"the run's seeds ({s.get('inr_epochs', '?')} epochs); H refit at each N by {s.get('refit_epochs', '?')} Rprop "
        f"epochs or {record['mu_iter']} MU iterations from the same start, and the mixture's activations fitted by "
        f"{s.get('sep_epochs', '?')} Rprop epochs or the same {record['mu_iter']} MU iterations.",
        f"KL, MU / Rprop − 1: from {kl['ratio'].min() - 1:+.2e} to {kl['ratio'].max() - 1:+.2e} over the window sizes "
        f"(95 % speaker-level intervals from {kl['ratio_low'].min() - 1:+.2e} to {kl['ratio_high'].max() - 1:+.2e}).",
        f"SDR, MU − Rprop: from {sdr['mean_diff'].min():+.2f} to {sdr['mean_diff'].max():+.2f} dB over the window sizes "
        f"(95 % speaker-level intervals from {sdr['speaker_low'].min():+.2f} to {sdr['speaker_high'].max():+.2f} dB).",
    ]
