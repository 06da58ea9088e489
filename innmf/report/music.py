"""Tables and the pre-registered verdict of the music experiment.

Chapter "Music and environmental sound" and the findings page (claim 4). Rows come
from :func:`innmf.experiments.music.run_music`. A piece is the unit of inference:
each system's score on a piece is the mean over its sources, and every comparison
is paired by piece.

The primary endpoint, fixed before the recorded run (results/music/PREREGISTRATION.md)
and read here, never re-chosen after it:

* for each data set (a corpus, e.g. one timbre condition) and each irregular
  representation r (the ragged constant-Q ``cqt``, the two-resolution cloud
  ``multires``): Δ_r = SDR(iN-NMF on r) − SDR(the grid comparator), the mean over
  the test pieces of the per-piece difference, with its t interval (df = pieces − 1);
* the grid comparator is the system among the regular and raster ones (NMF on each
  STFT, on the constant-Q matrix form, on the constant-Q rasters) with the highest
  mean SDR on the *validation* pieces, chosen before any test piece is looked at;
* the family is every (data set, r) of the run; Holm's adjustment over it; a
  verdict "better"/"worse" needs a Holm-adjusted p below :data:`ALPHA`, otherwise
  the interval is reported as "no difference shown";
* per data set, the claim is supported, contradicted or not shown (:func:`claim_verdict`).

Secondary, reported but not judged: iN-NMF minus its non-neural twin ``NMF-grid``
on the same points (what the networks add), every system against the floor, and
iN-NMF against every grid candidate (:func:`comparator_sensitivity`: how much the verdict
leans on the validation pieces' choice).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from innmf.report.format import signed
from innmf.report.stats import holm

PRIMARY_METRIC = "sdr"
JUDGED = "iN-NMF"
TWIN = "NMF-grid"
ALPHA = 0.05
LEVEL = 0.95


def label(method: str, representation: str) -> str:
    """A system's name in tables: ``method | representation``."""
    return f"{method} | {representation}"


def is_grid_candidate(method: str) -> bool:
    """Regular-grid and raster systems: the candidates for the comparator."""
    return method == "NMF" or method.startswith("NMF-raster-")


def piece_scores(rows: pd.DataFrame, metric: str = PRIMARY_METRIC) -> pd.DataFrame:
    """Per (dataset, split, piece), each system's score: the mean over the piece's sources.

    Returns:
        A wide table indexed by (dataset, split, piece), one column per system label.
    """
    part = rows[rows["metric"] == metric]
    if part.empty:
        raise ValueError(f"No rows for metric {metric!r}; found {sorted(rows['metric'].unique())}.")
    labels = part["method"] + " | " + part["representation"]
    wide = part.assign(system=labels).pivot_table(index=["dataset", "split", "piece"], columns="system",
                                                  values="value", aggfunc="mean")
    return wide


def select_comparator(rows: pd.DataFrame, metric: str = PRIMARY_METRIC) -> dict[str, str]:
    """Each data set's grid comparator: the candidate with the best mean on the validation pieces.

    Raises:
        ValueError: a data set without validation pieces (pass the comparator of a
            recorded run to :func:`endpoint` instead).
    """
    wide = piece_scores(rows, metric)
    out = {}
    for dataset, group in wide.groupby(level="dataset"):
        val = group.xs("validation", level="split") if "validation" in group.index.get_level_values("split") else None
        if val is None or val.empty:
            raise ValueError(f"{dataset} has no validation pieces to choose the grid comparator on.")
        candidates = [c for c in val.columns if is_grid_candidate(c.split(" | ")[0]) and val[c].notna().all()]
        out[dataset] = str(val[candidates].mean().idxmax())
    return out


def _interval(diff: np.ndarray) -> tuple[float, float, float]:
    n = len(diff)
    if n < 2:
        return np.nan, np.nan, np.nan
    se = float(np.std(diff, ddof=1) / np.sqrt(n))
    half = float(stats.t.ppf(0.5 + LEVEL / 2, n - 1)) * se
    p = float(stats.ttest_1samp(diff, 0.0).pvalue) if se > 0 else (0.0 if np.mean(diff) != 0 else 1.0)
    return float(np.mean(diff)) - half, float(np.mean(diff)) + half, p


def endpoint(rows: pd.DataFrame, comparators: dict[str, str] | None = None) -> pd.DataFrame:
    """The pre-registered primary endpoint, one row per (data set, irregular representation).

    Args:
        rows: the run's rows.
        comparators: data set → comparator label; default chosen on this run's
            validation pieces (:func:`select_comparator`).

    Returns:
        Columns ``dataset``, ``representation``, ``comparator``, ``pieces``, ``judged``
        and ``comparator_sdr`` (means), ``delta`` with ``low``/``high`` (95 % t interval),
        ``p``, ``p_holm``, ``floor``, ``oracle`` (the representation's ceiling), ``twin_delta``
        (iN-NMF − NMF-grid), ``verdict``; secondary and not judged, ``posthoc_comparator`` (the grid
        candidate best on the *test* pieces, chosen after seeing them) with ``posthoc_delta``,
        ``posthoc_low`` and ``posthoc_high`` (iN-NMF minus it, unadjusted 95 % t interval).
    """
    comparators = comparators or select_comparator(rows)
    wide = piece_scores(rows)
    out = []
    for dataset, group in wide.groupby(level="dataset"):
        test = group.xs("test", level="split")
        comp = comparators[dataset]
        reps = sorted({c.split(" | ")[1] for c in test.columns if c.startswith(JUDGED + " | ")})
        for rep in reps:
            judged = test[label(JUDGED, rep)]
            diff = (judged - test[comp]).dropna().to_numpy()
            low, high, p = _interval(diff)
            twin = test.get(label(TWIN, rep))
            best = max((c for c in test.columns if is_grid_candidate(c.split(" | ")[0]) and test[c].notna().all()),
                       key=lambda c: test[c].mean())
            post = (judged - test[best]).dropna().to_numpy()
            post_low, post_high, _ = _interval(post)
            out.append({"posthoc_comparator": best, "posthoc_delta": float(np.mean(post)), "posthoc_low": post_low,
                        "posthoc_high": post_high,"dataset": dataset, "representation": rep, "comparator": comp, "pieces": len(diff),
                        "judged": float(judged.mean()), "comparator_sdr": float(test[comp].mean()),
                        "delta": float(np.mean(diff)), "low": low, "high": high, "p": p,
                        "floor": float(test[label("floor", "none")].mean()),
                        "oracle": float(test[label("oracle", rep)].mean()),
                        "twin_delta": float((judged - twin).mean()) if twin is not None else np.nan})
    table = pd.DataFrame(out)
    if table.empty:
        return table
    finite = table["p"].notna()
    table["p_holm"] = np.nan
    table.loc[finite, "p_holm"] = holm(table.loc[finite, "p"].to_numpy())
    table["verdict"] = [_verdict(r) for r in table.to_dict("records")]
    return table


def _verdict(r: dict[str, Any]) -> str:
    if not np.isfinite(r["p_holm"]):
        return "too few pieces to judge"
    if r["p_holm"] < ALPHA:
        word = "better" if r["delta"] > 0 else "worse"
        return f"iN-NMF {word} than {r['comparator']} by {abs(r['delta']):.2f} dB"
    return f"no difference shown (interval {signed(2)(r['low'])} to {signed(2)(r['high'])} dB)"


def holm_bound(table: pd.DataFrame, n_registered: int) -> pd.DataFrame:
    """The endpoint table judged as if every registered endpoint were recorded (a family recorded in part).

    Whatever the unrecorded endpoints' p-values, Holm over all ``n_registered`` endpoints adjusts each
    recorded p to at most ``n_registered`` x p (Bonferroni bounds Holm), so a verdict that holds at this
    bound cannot be overturned by the endpoints still to come; one that does not is provisional.

    Returns:
        ``table`` with ``p_holm`` replaced by the bound and ``verdict`` recomputed from it.
    """
    if n_registered < len(table):
        raise ValueError(f"{len(table)} endpoints recorded but only {n_registered} registered.")
    out = table.copy()
    out["p_holm"] = np.minimum(1.0, out["p"] * n_registered)
    out["verdict"] = [_verdict(r) for r in out.to_dict("records")]
    return out


def claim_verdict(table: pd.DataFrame) -> dict[str, str]:
    """Per data set, the claim "irregular data factorise better without a grid" from the endpoint table.

    Supported: iN-NMF better (Holm) on at least one representation and worse on none;
    contradicted: worse on at least one and better on none; otherwise not shown.
    """
    out = {}
    for dataset, group in table.groupby("dataset", sort=False):
        clear = group["p_holm"] < ALPHA
        better = int((clear & (group["delta"] > 0)).sum())
        worse = int((clear & (group["delta"] < 0)).sum())
        out[str(dataset)] = ("supported" if better and not worse else "contradicted" if worse and not better
                             else "not shown")
    return out


def claim_groups(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The endpoint rows judged together: per data set within each run (family), never pooled across runs.

    A data set judged by one run is named as it is; one judged by several (ADDENDUM-2.md judges
    the sinusoidal points on the data sets of the earlier runs) is named with each run's
    representations, e.g. ``chorales-piano (cqt, multires)`` and ``chorales-piano (sinusoidal)``.
    Chapters "What holds up" and "Music and environmental sound".
    """
    if "family" not in table.columns:
        return [(str(d), g) for d, g in table.groupby("dataset", sort=False)]
    runs = table.groupby("dataset", sort=False)["family"].nunique()
    out = []
    for _, part in table.groupby("family", sort=False):
        for dataset, group in part.groupby("dataset", sort=False):
            name = str(dataset) if runs[dataset] == 1 else f"{dataset} ({', '.join(group['representation'].unique())})"
            out.append((name, group))
    return out


def family_claims(table: pd.DataFrame) -> dict[str, str]:
    """:func:`claim_verdict` of each group of :func:`claim_groups`, keyed by its name."""
    return {name: claim_verdict(group)[str(group["dataset"].iloc[0])] for name, group in claim_groups(table)}


def comparator_sensitivity(rows: pd.DataFrame, comparators: dict[str, str] | None = None) -> pd.DataFrame:
    """Secondary, not judged: iN-NMF on each irregular representation against *every* grid candidate.

    The endpoint trusts the validation pieces to pick the grid comparator; with few of
    them the pick can be poor. This table shows how the difference depends on it: per
    (data set, representation, candidate), the paired mean difference on the test pieces
    with its unadjusted 95 % t interval, the candidate's rank on the validation and on the
    test pieces, and whether it was the pre-registered choice. The test-best candidate is
    chosen after seeing the test pieces, so the grid's side is favoured there.

    Returns:
        Columns ``dataset``, ``representation``, ``candidate``, ``chosen`` (bool),
        ``validation_rank`` and ``test_rank`` (1 = best SDR), ``delta``, ``low``, ``high``.
    """
    comparators = comparators or select_comparator(rows)
    wide = piece_scores(rows)
    out = []
    for dataset, group in wide.groupby(level="dataset"):
        test = group.xs("test", level="split")
        parts = set(group.index.get_level_values("split"))
        val = group.xs("validation", level="split") if "validation" in parts else None
        candidates = [c for c in test.columns if is_grid_candidate(c.split(" | ")[0]) and test[c].notna().all()]
        test_rank = test[candidates].mean().rank(ascending=False, method="min")
        val_rank = val[candidates].mean().rank(ascending=False, method="min") if val is not None else None
        reps = sorted({c.split(" | ")[1] for c in test.columns if c.startswith(JUDGED + " | ")})
        for rep in reps:
            for cand in candidates:
                diff = (test[label(JUDGED, rep)] - test[cand]).dropna().to_numpy()
                low, high, _ = _interval(diff)
                out.append({"dataset": dataset, "representation": rep, "candidate": cand,
                            "chosen": cand == comparators.get(dataset),
                            "validation_rank": int(val_rank[cand]) if val_rank is not None else np.nan,
                            "test_rank": int(test_rank[cand]), "delta": float(np.mean(diff)), "low": low, "high": high})
    table = pd.DataFrame(out)
    return table.sort_values(["dataset", "representation", "test_rank"]).reset_index(drop=True) if len(table) else table


def task_contrast(rows: pd.DataFrame, reference: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """Secondary, not judged (ADDENDUM-3.md): each system of one task minus the same system of another on the same pieces.

    What a score buys in place of training pieces: per data set (as recorded, :func:`base_dataset`) and
    system present in both, the mean over the shared ``split`` pieces of the paired SDR difference, with its
    unadjusted 95 % t interval. The floor, identical in both, is left out.

    Args:
        rows: one task's rows (e.g. the score-informed run's, named by :func:`task_named` or not).
        reference: the other task's rows on the same pieces (the supervised run, ``rows.csv``).

    Returns:
        Columns ``dataset``, ``system``, ``pieces``, ``task_sdr``, ``reference_sdr``, ``delta``, ``low``, ``high``.
    """
    mine = piece_scores(rows.assign(dataset=base_dataset(rows)))
    theirs = piece_scores(reference.assign(dataset=base_dataset(reference)))
    out = []
    for dataset, group in mine.groupby(level="dataset"):
        if dataset not in theirs.index.get_level_values("dataset"):
            continue
        a = group.xs(split, level="split").droplevel("dataset")
        b = theirs.xs((dataset, split), level=("dataset", "split"))
        pieces = a.index.intersection(b.index)
        for system in [c for c in a.columns if c in b.columns and not c.startswith("floor | ")]:
            diff = (a.loc[pieces, system] - b.loc[pieces, system]).dropna()
            low, high, _ = _interval(diff.to_numpy())
            out.append({"dataset": dataset, "system": system, "pieces": len(diff),
                        "task_sdr": float(a.loc[diff.index, system].mean()),
                        "reference_sdr": float(b.loc[diff.index, system].mean()),
                        "delta": float(diff.mean()), "low": low, "high": high})
    return pd.DataFrame(out, columns=["dataset", "system", "pieces", "task_sdr", "reference_sdr", "delta", "low",
                                      "high"])


def summary(rows: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """Per data set and system: mean over pieces of SDR, SI-SDR, SIR and SAR, and the SDR gain over the floor.

    Returns:
        Rows (dataset, system) sorted by mean SDR within a data set; ``pieces`` counts them.
    """
    parts = {m: piece_scores(rows, m) for m in ("sdr", "si_sdr", "sir", "sar") if m in set(rows["metric"])}
    out = []
    for dataset, group in parts["sdr"].groupby(level="dataset"):
        sel = group.xs(split, level="split")
        floor = sel[label("floor", "none")]
        for system in sel.columns:
            values = {m: float(t.xs(split, level="split").loc[dataset][system].mean()) for m, t in parts.items()}
            out.append({"dataset": dataset, "system": system, "pieces": int(sel[system].notna().sum()), **values,
                        "over_floor": float((sel[system] - floor).mean())})
    table = pd.DataFrame(out)
    return table.sort_values(["dataset", "sdr"], ascending=[True, False]).reset_index(drop=True)


RECORDED = {"chorales": ("results", "music", "rows.csv"), "addendum-1": ("results", "music", "addendum-rows.csv"),
            "addendum-2": ("results", "music", "addendum-2-rows.csv"),
            "addendum-3": ("results", "music", "addendum-3-rows.csv")}
"""The recorded runs kept in the repository, one Holm family each (results/music/README.md): the
pre-registered chorale run (PREREGISTRATION.md), the recorded stems and ambience of ADDENDUM-1.md,
the sinusoidal points of ADDENDUM-2.md and the unsupervised, score-informed task of ADDENDUM-3.md."""
REGISTERED = {"chorales": ("chorales-ensemble", "chorales-piano"), "addendum-1": ("muldjord-stems", "ambience-speech"),
              "addendum-2": ("chorales-ensemble", "chorales-piano", "muldjord-stems", "ambience-speech"),
              "addendum-3": ("chorales-ensemble", "chorales-piano")}
"""Each family's pre-registered data sets, as its rows name them (before :func:`task_named`): a data set
registered and absent from the rows is reported as not yet recorded (:func:`unrecorded`)."""
TASKS = {"addendum-3": "score-informed"}
"""Families of another task than the supervised one (their rows carry a ``task`` column): each data set of
such a run is named with its task, e.g. ``chorales-ensemble (score-informed)`` (:func:`task_named`), so its
rows, comparator, Holm family and claim stay apart from the supervised runs' on the same pieces and methods."""
SUPERVISED = tuple(f for f in RECORDED if f not in TASKS)
"""The recorded families of the supervised task (chapter 7 presents them together, the others in sections of their own)."""
BORROWS = {"addendum-2": ("chorales", "addendum-1")}
"""Runs that computed only new systems on the pieces of earlier runs (ADDENDUM-2.md: the sinusoidal
points, with the floor and the oracle): their family reads the grid candidates of its data sets from
those runs' rows, so the comparator is chosen among the same systems on the same validation pieces."""
ROW_KEY = ["dataset", "split", "piece", "method", "representation", "source", "metric"]


def task_named(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with each data set of a task other than the supervised one named with it.

    ``chorales-ensemble`` rows whose ``task`` is ``score-informed`` become ``chorales-ensemble (score-informed)``;
    rows without a ``task`` column, or with ``supervised``, are returned as they are.
    """
    if "task" not in rows.columns:
        return rows
    other = rows["task"].notna() & (rows["task"].astype(str) != "supervised")
    if not other.any():
        return rows
    out = rows.copy()
    out.loc[other, "dataset"] = out.loc[other, "dataset"].astype(str) + " (" + out.loc[other, "task"].astype(str) + ")"
    return out


def base_dataset(rows: pd.DataFrame) -> pd.Series:
    """Each row's data set as recorded, without the task :func:`task_named` added to its name."""
    if "task" not in rows.columns:
        return rows["dataset"].astype(str)
    return pd.Series([d.removesuffix(f" ({t})") if isinstance(t, str) else d
                      for d, t in zip(rows["dataset"].astype(str), rows["task"])], index=rows.index)


def _raw_files() -> dict[str, pd.DataFrame]:
    from innmf.data.paths import repository_root

    root = repository_root()
    if root is None:
        return {}
    paths = {family: root.joinpath(*parts) for family, parts in RECORDED.items()}
    return {family: pd.read_csv(path) for family, path in paths.items() if path.exists()}


def _rows_files() -> dict[str, pd.DataFrame]:
    return {family: task_named(rows) for family, rows in _raw_files().items()}


def unrecorded(family: str, rows: pd.DataFrame | None = None) -> list[str]:
    """The family's pre-registered data sets (:data:`REGISTERED`) that its rows do not hold.

    Args:
        family: a key of :data:`RECORDED`.
        rows: the family's rows (default: the recorded file, none when it is absent).
    """
    if rows is None:
        rows = _raw_files().get(family)
    present = set() if rows is None else set(base_dataset(rows))
    return [d for d in REGISTERED[family] if d not in present]


def recorded_runs() -> dict[str, pd.DataFrame]:
    """Each recorded run's rows by family (those this checkout has; empty outside a checkout).

    A family in :data:`BORROWS` gets its lenders' grid candidates for its data sets; its floor
    rows must equal theirs (the same mixtures and stems), else the run is not of the same pieces.

    Raises:
        ValueError: a borrowing run whose floor differs from its lenders' on a shared piece.
    """
    files = _rows_files()
    runs = {}
    for family, rows in files.items():
        lenders = [files[b] for b in BORROWS.get(family, ()) if b in files]
        lent = [r[r["dataset"].isin(set(rows["dataset"]))] for r in lenders]
        for other in lent:
            both = rows[rows["method"] == "floor"].merge(other[other["method"] == "floor"], on=ROW_KEY)
            if not np.allclose(both["value_x"], both["value_y"], rtol=0, atol=1e-6):
                raise ValueError(f"The floor of recorded run {family!r} differs from its lenders' on the same pieces: "
                                 "it did not separate the same mixtures, and its endpoint cannot borrow their grid.")
        grid = [r[r["method"].map(is_grid_candidate)] for r in lent]
        runs[family] = pd.concat([rows, *grid], ignore_index=True) if grid else rows
    return runs


def recorded_rows(families: Sequence[str] | None = None) -> pd.DataFrame | None:
    """Every recorded run's rows together (or those of ``families``), each (piece, system, source, metric) once,
    or None when there are none. A task other than the supervised one is in its data sets' names
    (:func:`task_named`), so its rows never merge with the supervised rows of the same pieces and methods."""
    files = {f: r for f, r in _rows_files().items() if families is None or f in families}
    return pd.concat(files.values(), ignore_index=True).drop_duplicates(ROW_KEY, ignore_index=True) if files else None


def recorded_endpoint(families: Sequence[str] | None = None) -> pd.DataFrame | None:
    """The primary endpoint of every recorded run (or of ``families``), each judged within its own family (its Holm
    adjustment and its comparators chosen on its validation pieces); a ``family`` column says which."""
    runs = {f: r for f, r in recorded_runs().items() if families is None or f in families}
    if not runs:
        return None
    return pd.concat([endpoint(rows).assign(family=family) for family, rows in runs.items()], ignore_index=True)


def recorded_claims(families: Sequence[str] | None = None) -> dict[str, dict[str, str]]:
    """Each recorded family's claim per data set (:func:`claim_verdict` within the family), so that a later
    family on the same data sets (ADDENDUM-2.md) reports its own claim and leaves the earlier ones as judged;
    a family of another task (ADDENDUM-3.md) names its data sets with it, e.g. ``chorales-ensemble (score-informed)``."""
    table = recorded_endpoint(families)
    if table is None:
        return {}
    return {str(family): claim_verdict(part) for family, part in table.groupby("family", sort=False)}


def plot_endpoint(rows: pd.DataFrame, table: pd.DataFrame, ax: Any = None) -> Any:
    """Per data set and irregular representation: each test piece's SDR difference (iN-NMF − comparator),
    the mean with its 95 % interval, and, for scale, the floor's and the oracle's difference to the comparator.

    Chapter "Music and environmental sound". Pieces light grey, the mean difference in
    the book's colour of differences, the floor in its own look (:mod:`innmf.report.style`).

    Args:
        rows: the music runs' rows.
        table: :func:`endpoint` of the same rows.
        ax: axes to draw on (default: a new pyplot figure).

    Returns:
        The matplotlib figure.
    """
    from innmf.report import style

    wide = piece_scores(rows)
    if ax is None:
        ax = style.figure(height=1.1 + 0.62 * len(table), pyplot=True).add_subplot()
    floor_look = style.look("floor")
    for y, r in enumerate(table.to_dict("records")):
        test = wide.xs((r["dataset"], "test"), level=("dataset", "split"))
        diff = test[label(JUDGED, r["representation"])] - test[r["comparator"]]
        jitter = np.random.default_rng(y).uniform(-0.15, 0.15, len(diff))
        ax.scatter(diff, y + jitter, s=12, color="0.72", zorder=2, label="one test piece" if y == 0 else None)
        ax.errorbar(r["delta"], y, xerr=[[r["delta"] - r["low"]], [r["high"] - r["delta"]]], fmt="o",
                    color=style.DIFFERENCE, capsize=4, zorder=3, label="mean, 95 % interval" if y == 0 else None)
        floor = (test[label("floor", "none")] - test[r["comparator"]]).mean()
        ax.scatter([floor], [y], marker=floor_look.marker, s=200, color=floor_look.color, zorder=3,
                   label="floor − comparator" if y == 0 else None)
    ax.axvline(0.0, color=style.REFERENCE, lw=0.8)
    ax.set_yticks(range(len(table)))
    ax.set_yticklabels([f"{d}\n{rep}" for d, rep in zip(table["dataset"], table["representation"])])
    ax.set_ylim(len(table) - 0.5, -0.5)
    ax.set_xlabel("SDR of iN-NMF − SDR of the grid comparator (dB)")
    style.legend(ax, "lower center", bbox_to_anchor=(0.5, 1.0), ncols=3)
    return ax.figure


def _short(system: str) -> str:
    """``NMF | stft-2048`` → ``STFT 2048``, ``NMF-raster-16ms | cqt`` → ``raster 16 ms``: labels that fit a panel."""
    method, rep = system.split(" | ")
    if method.startswith("NMF-raster-"):
        return f"raster {method.removeprefix('NMF-raster-').removesuffix('ms')} ms"
    if rep.startswith("stft-"):
        return f"STFT {rep.removeprefix('stft-')}"
    return rep.replace("cqt-matrix", "CQT matrix") if method == "NMF" else system


def plot_sensitivity(table: pd.DataFrame) -> Any:
    """One panel per data set: iN-NMF minus each grid candidate (95 % interval), one colour per representation.

    Candidates are ordered by their test-piece SDR (best at the top) and labelled with their
    validation rank in brackets; the pre-registered comparator is drawn filled, the others hollow.

    Args:
        table: :func:`comparator_sensitivity`.

    Chapter "Music and environmental sound". Each representation in its look
    (:data:`innmf.report.style.LOOKS`: both are iN-NMF, so shades of its colour with their own markers).

    Returns:
        The matplotlib figure.
    """
    from innmf.report import style

    datasets = list(dict.fromkeys(table["dataset"]))
    ncols = min(2, len(datasets))
    nrows = -(-len(datasets) // ncols)
    fig = style.figure(height=0.6 + 2.9 * nrows, pyplot=True)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    for ax in axes.flat[len(datasets):]:
        ax.set_visible(False)
    reps = list(dict.fromkeys(table["representation"]))
    for ax, dataset in zip(axes.flat, datasets):
        part = table[table["dataset"] == dataset]
        order = part.drop_duplicates("candidate").sort_values("test_rank")
        ys = {c: i for i, c in enumerate(order["candidate"])}
        for j, rep in enumerate(reps):
            for r in part[part["representation"] == rep].to_dict("records"):
                y = ys[r["candidate"]] + (j - (len(reps) - 1) / 2) * 0.22
                look = style.look(rep, j)
                ax.errorbar(r["delta"], y, xerr=[[r["delta"] - r["low"]], [r["high"] - r["delta"]]],
                            marker=look.marker, linestyle="none", color=look.color,
                            mfc=look.color if r["chosen"] else "white", capsize=3,
                            label=rep if r["candidate"] == order["candidate"].iloc[0] else None)
        ax.axvline(0.0, color=style.REFERENCE, lw=0.8)
        ax.set_yticks(range(len(ys)))
        ax.set_yticklabels([f"{_short(c)} ({int(v)})" if np.isfinite(v) else _short(c)
                            for c, v in zip(order["candidate"], order["validation_rank"])])
        ax.set_ylim(len(ys) - 0.5, -0.5)
        ax.set_title(dataset)
    fig.supxlabel("iN-NMF − grid system (SDR, dB)", fontsize=style.FONT_PT)
    style.legend(axes[0][0], "lower left", title="iN-NMF on")
    return fig


def plot_representations(x: np.ndarray, sr: float, cqt_params: dict[str, Any], seconds: float = 3.0) -> Any:
    """A mixture as the STFT grid (N = 1024) and as the ragged constant-Q points, side by side.

    Chapter "Music and environmental sound".

    Returns:
        The matplotlib figure.
    """
    from innmf.experiments.music_reps import analyse
    from innmf.report import style

    fig = style.figure(aspect=0.45, pyplot=True)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, rep in zip(axes, ("stft-1024", "cqt")):
        an = analyse(rep, x, sr, cqt_params)
        keep = (an.t >= 0) & (an.t <= seconds) & (an.f >= 40)
        level = 20 * np.log10(np.maximum(an.magnitudes[keep], 1e-6))
        ax.scatter(an.t[keep], an.f[keep], c=level, s=2 if rep == "cqt" else 1, cmap="magma",
                   vmin=level.max() - 70, vmax=level.max(), rasterized=True)
        ax.set(yscale="log", xlabel="time (s)", xlim=(0, seconds),
               title="STFT, N = 1024: one grid" if rep != "cqt" else "constant-Q: a hop per band")
    axes[0].set_ylabel("frequency (Hz)")
    return fig
