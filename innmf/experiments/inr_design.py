"""The INR's design judged on what the paper claims for it: transfer across window sizes and separation.

The paper fixes one network design (book/paper_setup.md §2: the Fourier ladder B_j = 2^j
with J = 10, a linear first layer, sine layers, PyTorch's default initialisation, the
frequency of STFT bin k at window size N encoded as k/(N/2+1) - 0.5) and never asks which
of its choices matter. The study "iN-NMF at its best" (:mod:`innmf.experiments.inr_study`)
varied the training recipe on four trials; this one varies the **design**, one change at
a time (:data:`DESIGNS`), and scores each on the two estimands of the window-size
question (:mod:`innmf.report.transfer`): the **fit** at the training size N0 and the
**transfer** away from it, for training-audio KL and separation SDR, against the paper's
design on the same trials.

The trials are a fixed subset of a recorded reference run of the paper's settings
(:func:`covering_trials`): taken in the draw's order, distinct speaker pairs, until every
speaker of the corpus appears twice, so the six speakers of the embedded corpus all enter
and no pair repeats. Each design's iN-NMF is recomputed on them (``methods=("iN-NMF",)``,
one resumable results store per design under ``out``), and so is the paper's design, the
comparator (``out/paper-rerun``: the reference's recorded iN-NMF differs from this
package's by float rounding carried through Rprop, :func:`rerun_drift`); NMF, NMF-interp
and NMF-resample are the reference run's rows of the same trials. The designs, the trial
rule and the decision rule (:mod:`innmf.report.inr_design`) were committed before the
recorded run (``results/inr-design/README.md``).

Used by ``innmf study --design`` and the chapter "Window-size generalisation".
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from innmf.experiments.inr_study import reference_settings, slug
from innmf.experiments.runner import run_experiments
from innmf.experiments.settings import Settings
from innmf.experiments.store import load_results, read_manifest
from innmf.experiments.trial import EXPERIMENTS

PAPER_DESIGN = "iN-NMF"
"""The reference run's own iN-NMF: the paper's design, the comparator of every other."""

DESIGNS: dict[str, dict[str, Any]] = {
    "J = 8": {"n_freqs": 8},
    "J = 12": {"n_freqs": 12},
    "SIREN": {"inr_encoding": "siren", "inr_init": "siren", "n_freqs": 32},
    "Hz coordinate": {"inr_coordinate": "hz"},
}
"""Label -> the one change from the paper's design.

- ``J = 8``, ``J = 12``: the encoding's size J either side of the paper's 10. With the
  ladder B_j = 2^j the top feature's period is 2^(2-J) in the coordinate, 4 bins at the
  training size N0 = 2000 for J = 10; J = 12's top features are finer than N0's bins
  (aliased there) and resolved only at N = 4096, J = 8's are 16 bins long.
- ``SIREN``: a true SIREN (Sitzmann et al. 2020) in place of the fixed Fourier ladder: a
  trained sine first layer at omega_0 = 30 (2J = 64 = h sine units,
  :class:`innmf.paper.encoding.FourierEncoding` ``kind="siren"``) and SIREN's
  initialisation of the layers after it. The paper's linear layer after the encoding
  is kept.
- ``Hz coordinate``: bin k at window size N encoded as k/(N/2) - 0.5 = 2f/sr - 0.5, so a
  frequency in Hz has the same coordinate at every N (``inr_coordinate="hz"``).
"""

PER_SPEAKER = 2
"""Trials per speaker in the covering subset (:func:`covering_trials`)."""


def covering_trials(pairs: Sequence[tuple[str, str]], per_speaker: int = PER_SPEAKER) -> list[int]:
    """Indices of a subset of trials in which every speaker appears ``per_speaker`` times.

    Trials are taken in the draw's order; a trial is taken when its pair is new and
    neither of its speakers has been taken ``per_speaker`` times yet, until every
    speaker has. A rule fixed before any result, so the subset is not chosen by score.

    Args:
        pairs: the draw's speaker pairs, trial 0 first.
        per_speaker: how often each speaker should appear.

    Returns:
        The chosen trial indices, ascending.

    Raises:
        ValueError: the draw holds too few distinct pairs to reach every speaker that often.
    """
    speakers = {s for pair in pairs for s in pair}
    count: Counter[str] = Counter()
    chosen, seen = [], set()
    for index, pair in enumerate(pairs):
        key = frozenset(pair)
        if key in seen or any(count[s] >= per_speaker for s in pair):
            continue
        chosen.append(index)
        seen.add(key)
        count.update(pair)
        if all(count[s] >= per_speaker for s in speakers):
            return chosen
    short = sorted(s for s in speakers if count[s] < per_speaker)
    raise ValueError(f"The draw's {len(pairs)} trials reach speakers {short} fewer than {per_speaker} times "
                     "with distinct pairs; record a reference run with more trials.")


def reference_pairs(reference: str | os.PathLike, rows: pd.DataFrame | None = None) -> list[tuple[str, str]]:
    """The reference run's speaker pairs, trial 0 first (from its stored rows, or ``rows`` already read)."""
    rows = (load_results(reference) if rows is None else rows).drop_duplicates("trial").sort_values("trial")
    if list(rows["trial"]) != list(range(len(rows))):
        raise ValueError(f"The reference run {reference} lacks trials {sorted(set(range(rows['trial'].max() + 1)) - set(rows['trial']))}; "
                         "resume it first (`innmf reproduce ... --out` with the same settings).")
    return [tuple(str(s).split("+")) for s in rows["speakers"]]


def check_designs(designs: Sequence[str] | None) -> tuple[str, ...]:
    """Known design labels in :data:`DESIGNS` order (default: all)."""
    chosen = list(DESIGNS) if designs is None else list(designs)
    unknown = [d for d in chosen if d not in DESIGNS]
    if unknown:
        raise ValueError(f"Unknown design(s) {unknown}; choose from {list(DESIGNS)}.")
    return tuple(d for d in DESIGNS if d in chosen)


def design_settings(base: Settings, label: str) -> Settings:
    """The settings of one design: ``base`` with :data:`DESIGNS`' change, iN-NMF only."""
    return base.replace(**DESIGNS[label], methods=(PAPER_DESIGN,))


def run_design(
    reference: str | os.PathLike, out: str | os.PathLike, designs: Sequence[str] | None = None,
    workers: int = 1, progress: bool = True,
) -> pd.DataFrame:
    """Run (or resume) the design study and return its rows (:func:`load_design`'s).

    Args:
        reference: results store of the paper's settings with NMF, NMF-interp and iN-NMF
            (e.g. ``results/paper-embedded``).
        out: the study's folder: one results store per design (``out/<slug>``).
        designs: labels of :data:`DESIGNS` (default: all).
        workers: local processes running trials at once.
        progress: progress bars.
    """
    labels = check_designs(designs)
    trials = covering_trials(reference_pairs(reference))
    base = reference_settings(reference, max(trials) + 1)
    run_experiments(base.replace(methods=(PAPER_DESIGN,)), EXPERIMENTS, out=Path(out) / RERUN, workers=workers,
                    progress=progress, only=trials)
    for label in labels:
        run_experiments(design_settings(base, label), EXPERIMENTS, out=Path(out) / slug(label), workers=workers,
                        progress=progress, only=trials)
    return load_design(reference, out)


RERUN = "paper-rerun"
"""Folder of the paper's design re-computed by this package on the covering trials: the comparator."""


def rerun_drift(reference: str | os.PathLike, rerun: pd.DataFrame, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """How far this package's re-run of the paper's design lies from the reference run's recorded iN-NMF.

    The designs are computed by this package; the reference's iN-NMF by the package of
    its day. Rprop's sign steps carry float rounding into differences of ~1e-3 in KL (the
    first check on trial 0 found up to 8e-4, relative), so the comparator is the re-run
    and this table says how much the recorded rows would have moved a comparison.

    Returns:
        Per metric: ``n`` (rows compared), ``max_error`` (relative for KL and STOI, absolute
        dB otherwise) and ``mean_error`` (signed: re-run − reference, same units). ``rows``: the
        reference's rows when already read.
    """
    ref = load_results(reference) if rows is None else rows
    ref = ref[ref["method"] == PAPER_DESIGN]
    keys = ["trial", "experiment", "n_fft", "metric"]
    both = ref.merge(rerun[rerun["method"] == PAPER_DESIGN], on=keys, suffixes=("_ref", "_rerun"))
    relative = both["metric"].isin(["kl", "stoi"])
    signed = (both["value_rerun"] - both["value_ref"]) / both["value_ref"].abs().where(relative, 1.0)
    return (both.assign(error=signed.abs(), signed=signed).groupby("metric")
            .agg(n=("error", "size"), max_error=("error", "max"), mean_error=("signed", "mean")).reset_index())


def load_design(reference: str | os.PathLike, out: str | os.PathLike) -> pd.DataFrame:
    """The rows of the design study: the reference's methods and every complete design, on the covering trials.

    Returns:
        Tidy rows whose ``method`` is ``NMF``, ``NMF-interp``, ``NMF-resample`` (the
        reference's, where it has them), ``iN-NMF`` (the paper's design re-computed, see
        :func:`rerun_drift`) or a design's label; ``df.attrs["drift"]`` :func:`rerun_drift`;
        ``df.attrs["trials"]`` the covering trials, ``df.attrs["incomplete"]`` the designs
        left out because their store lacks some of them.

    Raises:
        ValueError: no design stored yet, or a design's trial is not the reference's.
    """
    recorded = load_results(reference)  # read once: the trials, the baselines and the drift all come from it
    trials = covering_trials(reference_pairs(reference, recorded))
    reference_rows = recorded[recorded["trial"].isin(trials)]
    if not (Path(out) / RERUN / "manifest.json").exists():
        raise ValueError(f"{out} holds no re-run of the paper's design, the comparator; "
                         f"run `innmf study --design --reference {reference} --out {out}`.")
    rerun = load_results(Path(out) / RERUN)
    rerun = rerun[rerun["trial"].isin(trials)]
    if set(rerun["trial"]) != set(trials):
        raise ValueError(f"The re-run of the paper's design in {out} lacks trials "
                         f"{sorted(set(trials) - set(rerun['trial']))}; resume the study.")
    parts = [reference_rows[reference_rows["method"] != PAPER_DESIGN], rerun]
    incomplete: list[str] = []
    for label in DESIGNS:
        folder = Path(out) / slug(label)
        if not (folder / "manifest.json").exists():
            continue
        read_manifest(folder)
        rows = load_results(folder)
        rows = rows[rows["trial"].isin(trials)]
        if set(rows["trial"]) != set(trials):
            incomplete.append(label)
            continue
        parts.append(rows.assign(method=label))
    if len(parts) == 2:
        raise ValueError(f"{out} holds no design; run `innmf study --design --reference {reference} --out {out}`.")
    df = pd.concat(parts, ignore_index=True)
    keys = df.groupby("trial")["trial_key"].nunique()
    if (keys > 1).any():
        raise ValueError(f"Trials {keys[keys > 1].index.tolist()} differ between the reference and a design "
                         "(other audio or corpus); the study pairs only identical trials.")
    df.attrs["trials"], df.attrs["incomplete"] = trials, incomplete
    df.attrs["drift"] = rerun_drift(reference, rerun, recorded)
    return df.reset_index(drop=True)
