"""The answer first: what the findings page "What holds up" opens with.

``notebooks/00_findings.py`` shows, before any detail, the four outputs of this module,
each computed from the results every time the book is built:

- :func:`summary_figure`: one panel per speech claim with the endpoint that decides its
  verdict (:func:`deciding_endpoints`: the one whose speaker-level 95 % interval lies
  least clear of its margin) drawn against that margin, and one panel for the music
  claim with one row per data set and irregular representation, against 0;
- :func:`claim_lines`: one line per claim, its verdict and the reason, built from the
  endpoint tables of :mod:`innmf.report.endpoints` and :mod:`innmf.report.music`;
- :func:`innmf.chapters.recorded_cost` and :func:`cost_text`: what a trial of the paper's protocol
  costs with and without the NMF-based methods (per-trial seconds from two results
  stores, medians) and what one dictionary fit costs iN-NMF against NMF (the recorded
  speed measurements);
- :func:`reproduced_text`: which claims reproduced (the verdict ``holds``) and which not.

For the detail below the answer, :func:`compact_decisions` and :func:`decision_table`
narrow the endpoint tables to the page's column, and :func:`system_names` writes the
music systems' table labels as words in prose.

The levels are those of :mod:`innmf.report.verdicts` (:func:`claim_lines` uses the same
rules, so the line and the findings table never disagree).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from innmf.report.endpoints import FAILS, HOLDS, INFERIOR, NONINFERIOR, NOT_TESTED, PARTLY, UNDECIDED, claim_summary
from innmf.report import style
from innmf.report.captioned import table
from innmf.report.format import fixed, p_value, signed, typeset_minus
from innmf.report.music import ALPHA as MUSIC_ALPHA
from innmf.report.wording import LABELS, number, unit

CLAIM_NAMES = {"kl": "Quality", "window": "Window-size generalisation", "separation": "Separation",
               "irregular": "Irregular representations"}
"""The claims' short names, in the order of the landing page (book/intro.md)."""
SPEECH_CLAIMS = {"kl": "quality", "window": "window-size", "separation": "separation"}
"""Findings-page keys of the speech claims and the endpoints' claims that judge them."""
LEVEL_COLORS = {HOLDS: "#1a7f37", PARTLY: "#b35900", FAILS: "#c0392b", UNDECIDED: "#555555", NOT_TESTED: "#555555"}
"""One colour per verdict level (the figure's intervals and labels)."""
REFERENCE = "NMF"
"""The comparator every speech verdict is taken against (the first of each endpoint)."""
ROW_WORDS = {NONINFERIOR: "clears the margin", UNDECIDED: "crosses the margin", INFERIOR: "past the margin"}
"""A speech row's decision (:func:`innmf.report.endpoints.decide`) as the figure prints it."""
MUSIC_COLORS = {"better": LEVEL_COLORS[HOLDS], "worse": LEVEL_COLORS[FAILS]}
"""A music row's colour by its own outcome (grey: no difference, too few pieces)."""


@dataclass(frozen=True)
class ClaimLine:
    """One claim's verdict and the reason for it, in words computed from an endpoint table."""

    key: str
    level: str
    reason: str
    jackknife: str = ""
    rows: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)

    @property
    def name(self) -> str:
        return CLAIM_NAMES.get(self.key, self.key)

    def text(self) -> str:
        """``"**Quality** — holds: <reason>."`` (markdown)."""
        return f"**{self.name}** — {self.level}: {self.reason}."


# --- the endpoints in words ---------------------------------------------------------------------

def _phrase(row: Mapping[str, Any]) -> str:
    """``"KL ratio"``, ``"KL factor"`` (a transfer), ``"SDR"`` or ``"STOI"``."""
    label = LABELS.get(row["metric"], row["metric"])
    if row["scale"] == "log":
        return f"{label} {'factor' if row['estimand'] == 'transfer' else 'ratio'}"
    return label


def _endpoint(row: Mapping[str, Any], with_margin: bool = True) -> str:
    """One endpoint: ``"KL ratio at N = 2000 1.053 [1.041, 1.065] (margin 1.100)"``."""
    metric, scale = row["metric"], row["scale"]
    text = f"{_phrase(row)} at N = {int(row['n_fft'])} {number(metric, scale, row['estimate'])}{unit(metric)}"
    if _has_interval(row):
        text += f" [{number(metric, scale, row['low'])}, {number(metric, scale, row['high'])}]"
    if with_margin:
        text += f" (margin {number(metric, scale, row['margin'])}{unit(metric)})"
    return text


def _has_interval(row: Mapping[str, Any]) -> bool:
    return bool(math.isfinite(row["low"]) and math.isfinite(row["high"]))


def _groups(rows: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Rows not clear of their margin, by what keeps them from it: past it, crossing it, or no interval."""
    interval = rows.apply(_has_interval, axis=1).astype(bool) if len(rows) else pd.Series(dtype=bool)
    return [(text, part) for text, part in (
        ("past the margin", rows[rows["decision"] == INFERIOR]),
        ("the interval crosses the margin", rows[(rows["decision"] == UNDECIDED) & interval]),
        ("no interval (too few trials or speakers)", rows[(rows["decision"] == UNDECIDED) & ~interval]),
    ) if len(part)]


def _slack(row: Mapping[str, Any]) -> float:
    """How far the interval's bad end lies on the good side of the margin, in margins (negative: past it)."""
    bad = row["high"] if row["side"] == "upper" else row["low"]
    if not math.isfinite(bad):
        bad = row["estimate"]
    gap = (row["margin"] - bad) if row["side"] == "upper" else (bad - row["margin"])
    return float(gap / abs(row["margin"]))


def _tested(table: pd.DataFrame, claim: str, comparator: str = REFERENCE) -> pd.DataFrame:
    part = table[(table["claim"] == claim) & (table["comparator"] == comparator) & (table["status"] == "tested")]
    return part.assign(paper_range=part["paper_range"].astype(bool))


def deciding_endpoints(table: pd.DataFrame) -> pd.DataFrame:
    """Per speech claim, the endpoint against NMF that decides its verdict.

    The endpoint whose interval lies least clear of its margin (:func:`_slack`, in units of
    the margin so that KL, SDR and STOI compare) among those at the paper's window sizes;
    when all of these clear it, among those beyond the paper's sizes that do not (they are
    what keeps the verdict at "holds partly").

    Args:
        table: :func:`innmf.report.endpoints.endpoint_table` output.

    Returns:
        One endpoint row per speech claim present, with a ``key`` column (``kl``, ``window``,
        ``separation``), in :data:`CLAIM_NAMES` order.
    """
    out = []
    for key, claim in SPEECH_CLAIMS.items():
        rows = _tested(table, claim)
        if rows.empty:
            continue
        inside, beyond = rows[rows["paper_range"]], rows[~rows["paper_range"]]
        pool = inside
        if (inside["decision"] == NONINFERIOR).all() and (beyond["decision"] != NONINFERIOR).any():
            pool = beyond[beyond["decision"] != NONINFERIOR]
        slack = pool.apply(_slack, axis=1).fillna(math.inf)
        out.append(pool.loc[slack.idxmin()].to_dict() | {"key": key})
    return pd.DataFrame(out)


def _list(rows: pd.DataFrame, seen: set[str]) -> str:
    """Endpoints in words, each metric's margin given once per line (``seen`` holds those given)."""
    out = []
    for r in rows.to_dict("records"):
        out.append(_endpoint(r, with_margin=_phrase(r) not in seen))
        seen.add(_phrase(r))
    return ", ".join(out)


def _speech_reason(rows: pd.DataFrame) -> str:
    """Why a speech claim has its level: which endpoints clear their margin, which cross it, which lie past it."""
    inside, beyond = rows[rows["paper_range"]], rows[~rows["paper_range"]]
    good = inside[inside["decision"] == NONINFERIOR]
    seen: set[str] = set()
    parts = []
    if len(good) and len(inside) > 2:
        parts.append(f"{len(good)} of {len(inside)} endpoints at the paper's sizes clear their margins")
    elif len(good):
        parts.append(f"within the margin: {_list(good, seen)}")
    for text, part in _groups(inside):
        parts.append(f"{text}: {_list(part, seen)}")
    if len(beyond):
        sizes = ", ".join(str(int(n)) for n in sorted(set(beyond["n_fft"])))
        off = [f"{text}: {_list(part, seen)}" for text, part in _groups(beyond)]
        parts.append(f"beyond the paper's sizes (N = {sizes}), " + (", ".join(off) if off else
                                                                  "every endpoint clears its margin"))
    return "; ".join(parts)


def _music_word(row: Mapping[str, Any]) -> str:
    if not math.isfinite(row["p_holm"]):
        return "too few pieces"
    if row["p_holm"] < MUSIC_ALPHA:
        return "better" if row["delta"] > 0 else "worse"
    return "no difference"


def _music_reason(endpoint: pd.DataFrame) -> str:
    """Per data set and run, whether it supports the claim (:func:`innmf.report.music.family_claims`) and why."""
    from innmf.report.music import claim_groups, family_claims

    per_set = family_claims(endpoint)
    parts = []
    for name, group in claim_groups(endpoint):
        d2 = signed(2)
        rows = ", ".join(f"{r['representation']} {_music_word(r)} {d2(r['delta'])} dB [{d2(r['low'])}, "
                         f"{d2(r['high'])}]" for r in group.to_dict("records"))
        parts.append(f"{per_set[name]} on {group['dataset'].iloc[0]} ({rows})")
    return ("; ".join(parts) + " — SDR of iN-NMF on irregular points minus the grid system chosen on validation "
            "pieces; a data set supports the claim where iN-NMF is better on some representation and worse on "
            f"none, a difference counting where its Holm-adjusted p is below {MUSIC_ALPHA:g}")


def claim_lines(table: pd.DataFrame, irregular: pd.DataFrame | None = None) -> list[ClaimLine]:
    """One line per claim: its verdict (against NMF; the music run's for the fourth) and the reason.

    Args:
        table: :func:`innmf.report.endpoints.endpoint_table` of the results that judge.
        irregular: the music runs' endpoint (:func:`innmf.report.music.recorded_endpoint`), or None.

    Returns:
        :class:`ClaimLine` per claim present, in :data:`CLAIM_NAMES` order; the levels are
        those of :func:`innmf.report.verdicts.claim_verdicts` on the same table.
    """
    from innmf.report.verdicts import irregular_verdict

    summary = claim_summary(table)
    lines = []
    for key, claim in SPEECH_CLAIMS.items():
        rows = _tested(table, claim)
        if rows.empty:
            continue
        head = summary[(summary["claim"] == claim) & (summary["comparator"] == REFERENCE)].iloc[0]
        level = head["verdict"] if head["verdict"] != NOT_TESTED else UNDECIDED
        lines.append(ClaimLine(key, level, _speech_reason(rows), head["jack_verdict"], rows))
    if irregular is not None:
        if irregular.empty:
            lines.append(ClaimLine("irregular", UNDECIDED, "no music run with exact stems in these results"))
        else:
            lines.append(ClaimLine("irregular", irregular_verdict(irregular).level, _music_reason(irregular),
                                   rows=irregular))
    return lines


def lines_markdown(lines: Sequence[ClaimLine]) -> str:
    """The lines as a markdown list, the jackknife's level added where it differs from the verdict,
    every minus sign typeset (:func:`innmf.report.format.typeset_minus`)."""
    out = []
    for line in lines:
        text = line.text()
        if line.jackknife and line.jackknife != line.level:
            text += f" On the delete-one-speaker jackknife intervals: {line.jackknife}."
        out.append(f"- {typeset_minus(text)}")
    return "\n".join(out)


def reproduced_text(lines: Sequence[ClaimLine]) -> str:
    """What reproduced (the verdict holds) and what did not (any other level): one markdown paragraph, two lines."""
    done = [line.name for line in lines if line.level == HOLDS]
    not_done = [f"{line.name} ({line.level})" for line in lines if line.level != HOLDS]
    return (f"**What reproduced** (the verdict is \"{HOLDS}\"): {', '.join(done) or 'none of the claims'}.\\\n"
            f"**What did not, or only in part**: {', '.join(not_done) or 'none'}.")


# --- the figure ------------------------------------------------------------------------------------

def _shown(metric: str, scale: str, value: float) -> float:
    return math.exp(value) if scale == "log" else value


def summary_figure(table: pd.DataFrame, irregular: pd.DataFrame | None = None,
                   lines: Sequence[ClaimLine] | None = None, width: float = style.COLUMN_IN) -> Figure:
    """Each claim's deciding effect with its 95 % interval against its margin, coloured by the claim's verdict.

    One panel per speech claim (its axis in the endpoint's own units: KL as a ratio or a
    factor, SDR in dB, STOI), the margin dashed and the side past it shaded; one panel for
    the music claim with one row per data set and representation, against 0. The claim's
    verdict is printed on its panel, each row's own decision at its right. A speech panel's
    row is coloured by the claim's verdict (that row decides it), a music row by its own
    outcome (better, worse, no difference at Holm p < 0.05).

    Args:
        table: :func:`innmf.report.endpoints.endpoint_table` of the results that judge.
        irregular: the music runs' endpoint, or None.
        lines: :func:`claim_lines` of the same inputs (computed when not given).
        width: inches; the default is the book's column (:mod:`innmf.report.style`: 6.52 in
            at 100 dpi, at most 672 px with the tight box's padding, so the 9-10.5 pt text is
            shown unscaled).

    Returns:
        The figure: one axes per panel (speech claims first), each with one y tick per row drawn.
    """
    lines = list(lines) if lines is not None else claim_lines(table, irregular)
    levels = {line.key: line.level for line in lines}
    deciding = deciding_endpoints(table)
    music = irregular if irregular is not None and not irregular.empty else None
    panels = [(r["key"], 1) for r in deciding.to_dict("records")] + ([("irregular", len(music))] if music is not None else [])
    if not panels:
        raise ValueError("nothing to draw: no tested endpoint and no music endpoint.")
    row_h, title_h, tick_h, label_h, gap = 0.42, 0.3, 0.3, 0.3, 0.14
    heights = [title_h + n * row_h + tick_h + (label_h if key == "irregular" else 0.0) for key, n in panels]
    total = sum(heights) + gap * (len(panels) - 1) + 0.05
    fig = Figure(figsize=(width, total), dpi=style.DPI)
    left, right = 2.45 / width, 1.0 - 1.42 / width  # room for the longest row label at 9 pt
    top = total - 0.02
    for (key, n), height in zip(panels, heights):
        box_top = top - title_h
        bottom = box_top - n * row_h
        ax = fig.add_axes((left, bottom / total, right - left, n * row_h / total))
        top -= height + gap
        color = LEVEL_COLORS.get(levels.get(key, UNDECIDED), "#555555")
        ax.text(-left / (right - left), 1.0 + 0.06 / (n * row_h), CLAIM_NAMES[key], transform=ax.transAxes,
                fontsize=10.5, fontweight="bold", va="bottom", ha="left")
        ax.text(1.0 + (1.0 - right - 0.02) / (right - left), 1.0 + 0.06 / (n * row_h), levels.get(key, UNDECIDED),
                transform=ax.transAxes, fontsize=10.5, fontweight="bold", color=color, va="bottom", ha="right")
        if key == "irregular":
            _music_panel(ax, music)
        else:
            _speech_panel(ax, deciding[deciding["key"] == key].iloc[0].to_dict(), color)
        ax.tick_params(axis="both", labelsize=9)
        for spine in ("top", "right", "left"):
            ax.spines[spine].set_visible(False)
    return fig


def _speech_panel(ax: Any, row: Mapping[str, Any], color: str) -> None:
    metric, scale = row["metric"], row["scale"]
    shown = {k: _shown(metric, scale, row[k]) for k in ("estimate", "low", "high", "margin")}
    none = 1.0 if scale == "log" else 0.0
    has_interval = math.isfinite(shown["low"]) and math.isfinite(shown["high"])
    ends = [shown["low"], shown["high"]] if has_interval else [shown["estimate"]]
    lo, hi = min(ends + [none, shown["margin"]]), max(ends + [none, shown["margin"]])
    pad = 0.15 * (hi - lo or 1.0)
    ax.set_xlim(lo - pad, hi + pad)
    past = (shown["margin"], hi + pad) if row["side"] == "upper" else (lo - pad, shown["margin"])
    ax.axvspan(*past, color="#c0392b", alpha=0.08, lw=0)
    ax.axvline(shown["margin"], color="#c0392b", ls="--", lw=1.2)
    ax.axvline(none, color="0.4", lw=0.9)
    if has_interval:
        ax.plot([shown["low"], shown["high"]], [0, 0], color=color, lw=3, solid_capstyle="butt")
    ax.plot([shown["estimate"]], [0], "o", color=color, ms=7)
    kind = ("factor" if row["estimand"] == "transfer" else "ratio") if scale == "log" else "difference"
    what = "transfer" if row["estimand"] == "transfer" else "fit"
    interval = (f" [{number(metric, scale, row['low'])}, {number(metric, scale, row['high'])}]"
                if has_interval else "")
    ax.set_yticks([0], [typeset_minus(f"{LABELS.get(metric, metric)} {kind} ({what}), N = {int(row['n_fft'])}\n"
                                      f"{number(metric, scale, row['estimate'])}{interval}{unit(metric)}")],
                  fontsize=style.SMALL_PT)
    ax.set_ylim(-0.6, 0.6)
    upper = row["side"] == "upper"
    margin = typeset_minus(f"margin {number(metric, scale, row['margin'])} ")
    ax.text(shown["margin"], 0.86, margin, color="#c0392b", fontsize=style.SMALL_PT,
            ha="right" if upper else "left", va="center", transform=ax.get_xaxis_transform())
    word = ROW_WORDS.get(row["decision"], row["decision"]) if has_interval else "no interval"
    ax.text(1.02, 0.5, word, transform=ax.transAxes, fontsize=style.SMALL_PT, color=color, va="center")


def _music_panel(ax: Any, endpoint: pd.DataFrame) -> None:
    rows = endpoint.to_dict("records")
    for y, r in enumerate(rows):
        word = _music_word(r)
        shade = MUSIC_COLORS.get(word, LEVEL_COLORS[UNDECIDED])
        if math.isfinite(r["low"]) and math.isfinite(r["high"]):
            ax.plot([r["low"], r["high"]], [y, y], color=shade, lw=3, solid_capstyle="butt")
        ax.plot([r["delta"]], [y], "o", color=shade, ms=7)
        ax.text(1.02, y, word, transform=ax.get_yaxis_transform(), fontsize=style.SMALL_PT, color=shade, va="center")
    ax.axvline(0.0, color="0.4", lw=0.9)
    ends = np.array([[r["low"], r["high"], r["delta"]] for r in rows], dtype=float)
    lo, hi = min(np.nanmin(ends), 0.0), max(np.nanmax(ends), 0.0)
    pad = 0.15 * (hi - lo or 1.0)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_yticks(range(len(rows)), [typeset_minus(f"{r['dataset']}, {r['representation']}\n{r['delta']:+.2f} "
                                                   f"[{r['low']:+.2f}, {r['high']:+.2f}] dB") for r in rows],
                  fontsize=style.SMALL_PT)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel("SDR of iN-NMF − the grid system chosen on validation pieces (dB)", fontsize=style.SMALL_PT)


# --- the cost -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cost:
    """Per-trial seconds of two results stores of the same settings: every method, and iN-NMF alone."""

    methods: tuple[str, ...]
    trial_median: float
    trials: int
    alone_median: float
    alone_trials: int
    differs: tuple[str, ...] = ()
    """Result settings that differ between the two stores, besides the methods and the networks' draw."""
    threads: int | None = None
    n_sizes: int = 0
    fit: dict[str, float] | None = None
    """Per-unit medians of the speed record: ``inr_epoch_ms``, ``nmf_iter_ms``, ``inr_epochs``, ``nmf_iter``."""


def store_cost(run: str | Path, alone: str | Path, bench: Mapping[str, Any] | None = None) -> Cost:
    """The cost of a trial with every method (``run``) and with iN-NMF only (``alone``), medians per trial.

    Args:
        run: a results store of every method (e.g. the recorded paper-profile run).
        alone: a store of the same settings holding iN-NMF only (e.g. the recorded study's
            second draw of the paper's networks).
        bench: an ``innmf bench --json`` record (one thread) for the per-fit comparison, or None.

    Raises:
        ValueError: a store without timed trials.
    """
    from innmf.experiments.store import read_manifest, trial_seconds

    seconds = {name: trial_seconds(path) for name, path in (("run", run), ("alone", alone))}
    for name, values in seconds.items():
        if not values:
            raise ValueError(f"the {name} store {Path(run if name == 'run' else alone).name} has no timed trials.")
    settings = read_manifest(run)["result_settings"]
    other = read_manifest(alone)["result_settings"]
    ignored = {"methods", "inr_seed"}
    differs = tuple(sorted(k for k in set(settings) | set(other) if k not in ignored and settings.get(k) != other.get(k)))
    fit = None
    if bench and "innmf_epoch_ms" in bench and "nmf_iter_ms" in bench:
        fit = {"inr_epoch_ms": float(bench["innmf_epoch_ms"]), "nmf_iter_ms": float(bench["nmf_iter_ms"]),
               "inr_epochs": float(settings["inr_epochs"]), "nmf_iter": float(settings["nmf_iter"])}
    sizes = set(settings.get("n_ffts", [])) | set(settings.get("extra_n_ffts", []))
    return Cost(tuple(settings.get("methods", ())), float(np.median(seconds["run"])), len(seconds["run"]),
                float(np.median(seconds["alone"])), len(seconds["alone"]), differs, settings.get("threads"),
                len(sizes), fit)


def cost_text(cost: Cost | None) -> str:
    """The cost in words: what each number measures, then the numbers (markdown)."""
    if cost is None:
        return "**Cost.** This checkout holds no recorded run and study to time a trial with."
    rest = cost.trial_median - cost.alone_median
    every = "both methods" if len(cost.methods) == 2 else f"all {len(cost.methods)} methods"
    threads = "one thread" if cost.threads == 1 else f"{cost.threads} threads" if cost.threads else "threads as recorded"
    text = (f"**Cost.** One trial of the paper's protocol (two speakers' dictionaries, reconstruction and separation at "
            f"{cost.n_sizes} window sizes, {threads}) took a median {cost.trial_median:.0f} s of compute with "
            f"{every} ({', '.join(cost.methods)}; {cost.trials} trials of the recorded run) and "
            f"{cost.alone_median:.0f} s with iN-NMF alone ({cost.alone_trials} trials of the recorded study, another "
            f"draw of the same networks): iN-NMF is about {100 * cost.alone_median / cost.trial_median:.0f} % of a "
            f"trial, the other methods and their scoring the remaining {rest:.0f} s.")
    if cost.differs:
        text += f" The two stores' settings differ in {', '.join(cost.differs)}, so this split is approximate."
    if cost.fit:
        f = cost.fit
        inr, nmf = f["inr_epochs"] * f["inr_epoch_ms"] / 1e3, f["nmf_iter"] * f["nmf_iter_ms"] / 1e3
        text += (f" Learning one speaker's dictionary with the paper's budgets ({f['inr_epochs']:.0f} Rprop epochs "
                 f"against {f['nmf_iter']:.0f} multiplicative updates on the same spectrogram) costs iN-NMF about "
                 f"{inr / nmf:.0f} times what it costs NMF (the recorded speed measurements, one thread: a ratio of "
                 "medians taken on a shared machine, not absolute times).")
    return text


# --- the detail's endpoint tables, narrow enough for the page -----------------------------------------

DECISION_COLUMNS = {"metric": "metric", "n_fft": "N", "estimate": "estimate", "interval": "speaker 95 %",
                    "margin": "margin", "decision": "decision", "p_zero_holm": "p = 0 (Holm)"}
"""The findings page's endpoint tables (one per estimand and comparator): columns and headers."""


def decision_table(part: pd.DataFrame, caption: str, name: str) -> Any:
    """One of the findings page's endpoint tables (chapter 0): :func:`compact_decisions` rows as a
    captioned, numbered table (:func:`innmf.report.captioned.table`).

    Args:
        part: the rows of one estimand and comparator.
        caption: what the rows are and which results judge them.
        name: the table's label (``tbl-...``).

    Returns:
        A :class:`innmf.report.captioned.Table`.
    """
    return table(part, caption, name, DECISION_COLUMNS, formats={"p_zero_holm": p_value})


def _reader(metric: str, value: float) -> str:
    """A value of :func:`innmf.report.endpoints.readable` (KL already a ratio) as the page prints it."""
    if not math.isfinite(value):
        return "–"
    return fixed(3)(value) if metric == "kl" else signed(2)(value) if metric == "sdr" else signed(3)(value)


def compact_decisions(decisions: pd.DataFrame) -> pd.DataFrame:
    """:func:`innmf.report.endpoints.readable` rows narrowed for a 752 px column (the findings page).

    The interval's ends become one ``[low, high]`` column; estimates and margins are
    strings in the metric's precision (KL ratio 3 decimals, SDR 2, STOI 3); the
    jackknife's decision is added to the decision only where it differs; the comparator
    is a column of its own (``comparator``), for one table per comparator.

    Returns:
        ``estimand``, ``comparator`` and the columns of :data:`DECISION_COLUMNS`.
    """
    rows = decisions.to_dict("records")
    return pd.DataFrame({
        "estimand": [r["estimand"] for r in rows],
        "comparator": [r["comparison"].split(" vs ", 1)[-1] for r in rows],
        "metric": [r["metric"].upper() for r in rows],
        "n_fft": [int(r["n_fft"]) for r in rows],
        "estimate": [_reader(r["metric"], r["estimate"]) for r in rows],
        "interval": [f"[{_reader(r['metric'], r['low'])}, {_reader(r['metric'], r['high'])}]" for r in rows],
        "margin": [_reader(r["metric"], r["margin"]) for r in rows],
        "decision": [r["decision"] if r["jack_decision"] == r["decision"] else
                     f"{r['decision']} (jackknife: {r['jack_decision']})" for r in rows],
        "p_zero_holm": [r["p_zero_holm"] for r in rows],
    }, columns=["estimand", "comparator", *DECISION_COLUMNS])


def system_names(text: str) -> str:
    """Music systems' table labels (``"NMF | stft-512"``) as words (``"NMF on stft-512"``) for prose.

    A paragraph with many ``|`` reads as a markdown table gone wrong, and the book's
    checker (:mod:`innmf.tools.book_check`) refuses it; the findings page's per-claim
    evidence passes through this.
    """
    return re.sub(r"(\S+) \| (\S+)", r"\1 on \2", text)
