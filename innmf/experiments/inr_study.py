"""iN-NMF at its best: training budget, optimiser and network design, scored on separation.

The paper trains every implicit dictionary with one recipe (book/paper_setup.md §2:
Rprop, 1000 epochs, the Fourier ladder B_j = 2^j with random phases, PyTorch's
default initialisation) and never varies it. This study asks whether iN-NMF's gap to
NMF is the idea's or the recipe's. Each *variant* changes one thing from the paper's
settings (:data:`VARIANTS`); the iN-NMF side of every trial is recomputed under it
(``methods=("iN-NMF",)``, one resumable results store per variant), and paired, trial
by trial, with NMF and NMF-interp from a *reference* run of the paper's settings on
the same trials (a recorded ``innmf reproduce`` store), whose own iN-NMF rows are the
``paper`` variant. Two further draws of the paper's networks (``inr_seed`` 1 and 2)
measure how much a trial's score moves by the optimiser's luck alone.

Adam's learning rate is chosen before any variant runs, by the training objective
(final KL of the dictionary fit) on a trial outside the study, never by a separation
score (:func:`tune_adam_rate`).

Used by ``innmf study`` and the chapter "Separating two speakers"
(``notebooks/04_separation.py``); the tables are :mod:`innmf.report.inr_study`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from innmf.experiments.runner import draw_trials, run_experiments
from innmf.experiments.settings import Settings
from innmf.experiments.store import atomic_write_text, load_results, read_manifest, result_settings, trial_seconds
from innmf.experiments.trial import EXPERIMENTS, cached_corpus, implicit_dictionary, inr_seed

PAPER_VARIANT = "paper"
ADAM_RATE = "tuned"
"""Placeholder of :data:`VARIANTS`' Adam entry: replaced by :func:`tune_adam_rate`'s choice."""

VARIANTS: dict[str, dict[str, Any]] = {
    PAPER_VARIANT: {},
    "draw 2": {"inr_seed": 1},
    "draw 3": {"inr_seed": 2},
    "3000 epochs": {"inr_epochs": 3000},
    "Adam": {"optimizer": "adam", "lr": ADAM_RATE},
    "SIREN init": {"inr_init": "siren"},
    "Gaussian features": {"inr_encoding": "gaussian"},
}
"""Label -> changes from the paper's settings. ``paper`` is the reference run's own
iN-NMF; ``draw 2``/``draw 3`` are other draws of the same networks (optimiser noise);
the rest are the candidates for a better recipe."""

DRAWS: tuple[str, ...] = (PAPER_VARIANT, "draw 2", "draw 3")
CANDIDATES: tuple[str, ...] = tuple(v for v in VARIANTS if v not in DRAWS)
ADAM_RATES: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
TUNING_FILE = "adam_rate.json"


def slug(label: str) -> str:
    """The store folder of a variant: ``"3000 epochs"`` -> ``3000-epochs``."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def check_variants(variants: Sequence[str] | None) -> tuple[str, ...]:
    """Known variant labels in :data:`VARIANTS` order (default: all); ``paper`` always included."""
    chosen = list(VARIANTS) if variants is None else list(variants)
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown:
        raise ValueError(f"Unknown study variant(s) {unknown}; choose from {list(VARIANTS)}.")
    return tuple(v for v in VARIANTS if v in chosen or v == PAPER_VARIANT)


def reference_settings(reference: str | os.PathLike, n_trials: int) -> Settings:
    """The reference run's settings (from its manifest), limited to the study's first ``n_trials``.

    Raises:
        ValueError: the reference lacks NMF, NMF-interp or iN-NMF, or holds fewer trials.
    """
    manifest = read_manifest(reference)
    settings = Settings.from_mapping(manifest["settings"])
    methods = manifest["result_settings"].get("methods", [])
    missing = [m for m in ("NMF", "iN-NMF", "NMF-interp") if m not in methods]
    if missing:
        raise ValueError(f"The reference run {reference} lacks {missing}: the study pairs every variant with "
                         "NMF and NMF-interp of the same trials; record it with this innmf version "
                         "(`innmf reproduce --profile paper --out ...`).")
    if int(n_trials) < 3:
        raise ValueError(f"n_trials must be at least 3 (speaker-level intervals need 3 speakers), got {n_trials}.")
    return settings.replace(n_trials=int(n_trials))


def variant_settings(base: Settings, label: str, adam_rate: float | None = None) -> Settings:
    """The settings of one variant: ``base`` with :data:`VARIANTS`' changes, iN-NMF only."""
    changes = dict(VARIANTS[label])
    if changes.get("lr") == ADAM_RATE:
        if adam_rate is None:
            raise ValueError("the Adam variant needs its tuned rate: run tune_adam_rate first.")
        changes["lr"] = float(adam_rate)
    return base.replace(**changes, methods=("iN-NMF",))


def tune_adam_rate(
    base: Settings, out: str | os.PathLike, rates: Sequence[float] = ADAM_RATES, progress: bool = True
) -> dict[str, Any]:
    """Choose Adam's learning rate by the dictionary fit's final training KL, on a trial outside the study.

    The tuning trial is trial ``n_trials`` of the base settings' draw (the first one the
    study does not score). Each rate trains both of its speakers' networks at the
    training window size for ``inr_epochs``, from the paper's draw; the rate with the
    lowest mean final KL wins. The result is saved to ``out/adam_rate.json`` and reused
    while the settings agree.

    Returns:
        ``{"rate", "rates", "kl" (one mean KL per rate), "trial", "settings_hash"}``.
    """
    from innmf.data import trial_audio
    from innmf.experiments.settings import settings_hash
    from innmf.paper.metrics import kl_divergence
    from innmf.tf.stft import frequency_coordinate, magnitude

    rates = [float(r) for r in rates]
    key = settings_hash({**result_settings(base.replace(optimizer="adam")), "rates": rates,
                         "tuning_trial": base.n_trials})
    path = Path(out) / TUNING_FILE
    if path.exists():
        saved = json.loads(path.read_text())
        if saved.get("settings_hash") == key:
            return saved
    corpus = cached_corpus(base.corpus)
    trial = draw_trials(base.replace(n_trials=base.n_trials + 1), corpus)[-1]
    audio = trial_audio(corpus, trial)
    n = int(base.train_n_fft)
    coords = frequency_coordinate(n)
    spectra = [magnitude(x, n, power=base.power) for x in audio.train]
    kl = []
    for rate in tqdm(rates, desc="Adam rate", unit="rate", disable=not progress):
        fits = []
        for slot, V in enumerate(spectra):
            model = implicit_dictionary(base, inr_seed(base, base.seed, int(trial.index), slot))
            model.fit(V, coords, epochs=base.inr_epochs, loss_every=base.inr_epochs, optimizer="adam", lr=rate)
            fits.append(kl_divergence(V, model.sample_W(coords) @ model.H_))
        kl.append(float(np.mean(fits)))
    result = {"rate": rates[int(np.argmin(kl))], "rates": rates, "kl": kl, "trial": int(trial.index),
              "speakers": list(trial.speakers), "settings_hash": key}
    Path(out).mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")
    return result


def run_study(
    reference: str | os.PathLike,
    out: str | os.PathLike,
    n_trials: int,
    variants: Sequence[str] | None = None,
    workers: int = 1,
    progress: bool = True,
) -> pd.DataFrame:
    """Run (or resume) the study and return its rows, paired with the reference's NMF and NMF-interp.

    Args:
        reference: results store of the paper's settings with all three methods
            (e.g. ``results/paper-embedded``); its first ``n_trials`` trials are the study's.
        out: the study's folder: one results store per variant (``out/<slug>``) and
            ``adam_rate.json``; a re-run skips what is done.
        n_trials: trials to score (the reference must hold them all).
        variants: labels of :data:`VARIANTS` (default: all).
        workers: local processes running trials at once.
        progress: progress bars.

    Returns:
        Tidy rows (the store's columns) whose ``method`` is ``NMF``, ``NMF-interp`` or
        a variant's label (the reference's iN-NMF under ``paper``).

    Raises:
        ValueError: unknown variant, a reference without the three methods or with
            fewer trials, or a variant's store of other settings.
    """
    base = reference_settings(reference, n_trials)
    labels = check_variants(variants)
    parts = [_reference_rows(reference, base)]
    for label in labels:
        if label == PAPER_VARIANT:
            continue
        adam = tune_adam_rate(base, out, progress=progress)["rate"] if label == "Adam" else None
        settings = variant_settings(base, label, adam)
        rows = run_experiments(settings, EXPERIMENTS, out=Path(out) / slug(label), workers=workers,
                               progress=progress)
        parts.append(rows.assign(method=label))
    return _check_pairing(pd.concat(parts, ignore_index=True))


def load_study(reference: str | os.PathLike, out: str | os.PathLike, n_trials: int | None = None) -> pd.DataFrame:
    """The rows of a finished (or partial) study, computing nothing.

    Args:
        reference: the reference run (as for :func:`run_study`).
        out: the study's folder.
        n_trials: trials the reference must hold (default: all of its trials).

    Returns:
        As :func:`run_study`, over the trials every complete variant holds; variants with
        fewer trials than the others are left out and named in ``df.attrs["incomplete"]``.
    """
    manifest = read_manifest(reference)
    count = int(n_trials or manifest["settings"]["n_trials"])
    base = reference_settings(reference, count)
    parts: dict[str, pd.DataFrame] = {}
    for label in VARIANTS:
        folder = Path(out) / slug(label)
        if label == PAPER_VARIANT or not (folder / "manifest.json").exists():
            continue
        parts[label] = load_results(folder).assign(method=label)
    if not parts:
        raise ValueError(f"{out} holds no study variant; run `innmf study --reference {reference} --out {out}`.")
    # a variant stopped part-way is left out rather than shrinking every comparison to its trials
    most = max(p["trial"].nunique() for p in parts.values())
    incomplete = [label for label, p in parts.items() if p["trial"].nunique() < most]
    parts = {label: p for label, p in parts.items() if label not in incomplete}
    trials = sorted(set.intersection(*(set(p["trial"]) for p in parts.values())))
    reference_rows = _reference_rows(reference, base)
    df = pd.concat([reference_rows, *parts.values()], ignore_index=True)
    df = _check_pairing(df[df["trial"].isin(trials)].reset_index(drop=True))
    df.attrs["incomplete"] = incomplete
    return df


def _reference_rows(reference: str | os.PathLike, base: Settings) -> pd.DataFrame:
    rows = load_results(reference)
    rows = rows[rows["trial"] < base.n_trials]
    if rows["trial"].nunique() < base.n_trials:
        raise ValueError(f"The reference run {reference} holds {rows['trial'].nunique()} of the study's "
                         f"{base.n_trials} trials; extend it (`innmf reproduce ... --set n_trials={base.n_trials}`) "
                         "or study fewer trials.")
    return rows.assign(method=rows["method"].replace({"iN-NMF": PAPER_VARIANT}))


def _check_pairing(df: pd.DataFrame) -> pd.DataFrame:
    """Every variant's trial must be the reference's trial (same speakers, same excerpts)."""
    keys = df.groupby("trial")["trial_key"].nunique()
    if (keys > 1).any():
        bad = keys[keys > 1].index.tolist()
        raise ValueError(f"Trials {bad} differ between the reference and a variant (other audio or corpus); "
                         "the study pairs only identical trials.")
    return df.reset_index(drop=True)


def study_settings_table(reference: str | os.PathLike, out: str | os.PathLike) -> pd.DataFrame:
    """What each variant changed and what it cost: one row per variant with its changes and median trial seconds."""
    rows = []
    tuning = Path(out) / TUNING_FILE
    adam = json.loads(tuning.read_text())["rate"] if tuning.exists() else None
    for label, changes in VARIANTS.items():
        folder = Path(reference) if label == PAPER_VARIANT else Path(out) / slug(label)
        seconds = trial_seconds(folder) if (folder / "trials").is_dir() else []
        shown = {k: (adam if v == ADAM_RATE else v) for k, v in changes.items()}
        rows.append({"setting": label, "changes": ", ".join(f"{k}={v}" for k, v in shown.items()) or "(the paper's)",
                     "trial_seconds": float(np.median(seconds)) if len(seconds) else float("nan")})
    return pd.DataFrame(rows)
