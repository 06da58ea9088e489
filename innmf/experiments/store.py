"""A resumable results store that cannot lie: one checked file per finished trial.

Layout under the output folder ``OUT`` (chapters "Reconstruction" and "Separation",
``innmf reproduce``)::

    OUT/manifest.json        settings, their hash, profile, corpus, package version
    OUT/trials/00000.json    one finished trial: record, experiments, settings hash,
                             hashes of its speakers' audio, tidy rows
    OUT/trials/00000.signals.npz  its separated signals, kept for the trials a run
                             is asked to keep them for (innmf.experiments.store_signals)
    OUT/per_trial.csv        regenerated from the trial files at the end of a run
    OUT/summary.csv          mean / std / trials per experiment, method, n_fft, metric
    OUT/.innmf.lock          held by the one run writing the store

What it guarantees:

* Only the settings that change a trial's numbers enter the hash (``RESULT_KEYS``,
  plus the methods a trial computes, so adding a method invalidates older stores),
  all of them: ``threads`` (torch's sums round differently with more threads),
  ``backend`` (``auto`` as what it runs here: compiled kernels or not) and ``device``
  included. ``n_trials`` is left out on purpose, so a
  store made with 40 trials can be extended to 500; the profile name is left out
  because only the values matter. The corpus enters as its canonical spec (resolved
  path), so a relative, absolute or trailing-slash path is the same corpus.
* Every trial file is checked against the manifest's hash whenever it is read; a
  foreign, damaged or misnamed file is refused by name with the fix, and trial
  files without a manifest are refused.
* The audio is part of a trial's identity: each trial file holds the hashes of its
  speakers' decoded audio, and a resumed run whose audio differs is refused.
* One writer at a time (a ``filelock`` lock); a second concurrent run fails clearly.
* Files are written to a temporary file in the same folder and ``os.replace``d, so a
  run killed at any moment leaves the whole file or none of it; leftover temporary
  files are removed when the store is next opened for writing.
* A finished store is read without writing anything (read-only folders work).

The checked reading and atomic writing of the files themselves is in
:mod:`innmf.experiments.store_files` (``ROW_COLUMNS``, ``StoreError``, ``read_manifest``,
``check_out_folder`` and ``atomic_write_text`` are re-exported here).
"""

from __future__ import annotations

import importlib.util
import json
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

from innmf import __version__
from innmf.experiments.settings import Settings, settings_hash
from innmf.experiments.store_files import (
    LOCK_FILE, MANIFEST, PER_TRIAL_CSV, ROW_COLUMNS, SUMMARY_CSV, TRIALS_DIR, StoreError, atomic_write_text, check_layout,
    check_out_folder, json_default, plain_json, read_manifest, read_record, rows_from_files, trial_files,
)
from innmf.experiments.summary import summary_rows
from innmf.experiments.trial import METHODS

__all__ = [
    "RESULT_KEYS", "ROW_COLUMNS", "ResultsStore", "StoreError", "atomic_write_text", "auto_backend",
    "check_out_folder", "load_results", "read_manifest", "result_settings", "rewrite_tables", "trial_seconds",
    "write_tables",
]

RESULT_KEYS: tuple[str, ...] = (
    "corpus",
    "seed",
    "device",
    "backend",
    "threads",
    "train_seconds",
    "test_seconds",
    "sex_pairing",
    "n_ffts",
    "train_n_fft",
    "extra_n_ffts",
    "power",
    "rank",
    "nmf_iter",
    "hidden",
    "n_freqs",
    "lr",
    "optimizer",
    "inr_epochs",
    "refit_epochs",
    "sep_epochs",
)
"""Settings that change a trial's numbers; a store refuses a run whose values differ."""

DESIGN_KEYS: dict[str, Any] = {"inr_init": "default", "inr_encoding": "paper", "inr_coordinate": "paper",
                               "inr_seed": 0, "refit_solver": "optimizer"}
"""Settings of the networks' design and draw, added after the first recordings: they
enter the hash only away from the paper's values (the scale with a Gaussian encoding),
so a store of the paper's settings keeps its hash."""


def result_settings(settings: Mapping[str, Any], corpus_spec: str | None = None) -> dict[str, Any]:
    """The subset of ``settings`` that determines the numbers (``RESULT_KEYS``).

    Args:
        settings: the run's settings.
        corpus_spec: the loaded corpus's canonical spec, which replaces the spec text
            (so equal folders written differently compare equal).

    Raises:
        ValueError: a result setting is missing.
    """
    missing = [k for k in RESULT_KEYS if k not in settings]
    if missing:
        raise ValueError(
            f"Settings lack {missing}; build them with innmf.experiments.settings.get_profile(name, ...)."
        )
    chosen = {k: plain_json(settings[k]) for k in RESULT_KEYS}
    for key, default in DESIGN_KEYS.items():
        if settings.get(key, default) != default:
            chosen[key] = plain_json(settings[key])
    if chosen.get("inr_encoding") == "gaussian":  # the scale of the Gaussian frequencies matters only with them
        chosen["encoding_scale"] = float(settings["encoding_scale"])
    if corpus_spec is not None:
        chosen["corpus"] = corpus_spec
    if chosen["backend"] == "auto":
        chosen["backend"] = f"auto/{auto_backend()}"
    # the methods a trial computes are part of what it holds: a store made before a method
    # was added would otherwise resume without that method's rows
    chosen["methods"] = list(settings.get("methods") or METHODS)
    return chosen


def auto_backend() -> str:
    """What ``backend="auto"`` runs here: ``compiled`` with numba and llvmlite (``innmf[fast]``), else ``plain``;
    ``compiled-chunked`` where the networks' chunked kernels (:mod:`innmf.accel.grouped_compiled`) run too.

    These round differently, so a store records which one made its numbers. The chunked
    kernels need AVX-512 (and pass their check); stores made before them (``auto/compiled``)
    are read as before, and extended only where the batched products still run.
    """
    have = all(importlib.util.find_spec(name) is not None for name in ("numba", "llvmlite"))
    if not have:
        return "plain"
    from innmf.accel.grouped_compiled import compiled_kernels

    return "compiled-chunked" if compiled_kernels() is not None else "compiled"


class ResultsStore:
    """Finished trials of one set of settings, kept under one folder, written by one run at a time.

    Args:
        root: the output folder (``--out``); created if missing.
        settings: the run's settings (:class:`Settings` or a full mapping; checked).
        corpus_spec: the loaded corpus's canonical spec (default: the settings' text).

    Raises:
        StoreError: the folder is a file or read-only, another run holds its lock, it
            holds results of other settings, trials without a manifest, or a damaged file.

    Use as a context manager (or call :meth:`close`) to release the lock.
    """

    def __init__(
        self, root: str | os.PathLike, settings: Mapping[str, Any], corpus_spec: str | None = None
    ) -> None:
        self.settings = Settings.from_mapping(settings)
        self.root = check_out_folder(root)
        self.result_settings = result_settings(self.settings, corpus_spec)
        self.hash = settings_hash(self.result_settings)
        self.trials_dir = self.root / TRIALS_DIR
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock: FileLock | None = FileLock(str(self.root / LOCK_FILE))
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            self._lock = None
            raise StoreError(
                f"another innmf run is writing the results store {self.root} (it holds "
                f"{self.root / LOCK_FILE}). Wait for it to finish, or use another --out."
            ) from None
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        check_layout(self.root)
        for folder in (self.root, self.trials_dir):
            for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
                tmp.unlink()  # a write killed before its rename; the lock says no one else writes
        manifest_path = self.root / MANIFEST
        if manifest_path.exists():
            self._check_manifest(read_manifest(self.root))
        else:
            self.trials_dir.mkdir(exist_ok=True)
            manifest = {
                "settings_hash": self.hash,
                "result_settings": self.result_settings,
                "settings": self.settings.to_dict(),
                "profile": self.settings.profile,
                "corpus": self.result_settings["corpus"],
                "version": __version__,
            }
            atomic_write_text(manifest_path, json.dumps(manifest, indent=2, default=str) + "\n")
        self.trials_dir.mkdir(exist_ok=True)
        for path in trial_files(self.trials_dir):
            read_record(path, self.hash)  # every file is checked now, not after hours of work

    def close(self) -> None:
        """Release the store's lock (a finished store stays readable by anyone)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _check_manifest(self, manifest: dict[str, Any]) -> None:
        if manifest.get("settings_hash") == self.hash:
            if manifest.get("version") != __version__:
                warnings.warn(
                    f"The store {self.root} was started by innmf {manifest.get('version')}; "
                    f"this is innmf {__version__}. Its finished trials are kept as they are.",
                    stacklevel=3,
                )
            return
        stored = manifest.get("result_settings", {})
        differing = sorted(
            k for k in set(stored) | set(self.result_settings)
            if stored.get(k, "<missing>") != self.result_settings.get(k, "<missing>")
        )
        details = "; ".join(
            f"{k}: store has {stored.get(k, '<missing>')!r}, "
            f"this run has {self.result_settings.get(k, '<missing>')!r}"
            for k in differing
        ) or "the same values, hashed by another innmf version"
        unrecorded = [k for k in differing if k not in stored]
        older = (f" It was made by an innmf that did not record {', '.join(unrecorded)}; it can still be "
                 "read (--from-store, load_results), not extended.") if unrecorded else ""
        raise StoreError(
            f"The results store {self.root} was made with other settings ({details}). "
            "Mixing them would corrupt the results: use another --out folder, or re-run "
            f"with the store's settings.{older}"
        )

    def trial_path(self, index: int) -> Path:
        """Path of the file holding trial ``index``."""
        return self.trials_dir / f"{index:05d}.json"

    def load_trial(self, index: int) -> dict[str, Any] | None:
        """The stored record of trial ``index`` (checked against the hash), or None if it has not finished."""
        path = self.trial_path(index)
        if not path.exists():
            return None
        return read_record(path, self.hash)

    def is_done(
        self, trial: dict[str, Any], experiments: Iterable[str], audio: Mapping[str, str] | None = None
    ) -> bool:
        """Whether ``trial`` (a ``Trial.to_dict()``) is stored with all ``experiments``.

        Args:
            trial: the trial record this run drew.
            experiments: the experiments wanted.
            audio: hashes of this run's audio by speaker id (``innmf.data.identity``).

        Raises:
            StoreError: the stored trial with this index is a different trial (other
                speakers or segments), or was computed from other audio.
        """
        record = self.load_trial(int(trial["index"]))
        if record is None:
            return False
        path = self.trial_path(int(trial["index"]))
        if record["trial"] != plain_json(trial):
            raise StoreError(
                f"Trial {trial['index']} in {path} is {record['trial']}, but this run drew {trial}. "
                "The trials are drawn differently (corpus files or innmf version changed): use another --out folder."
            )
        stored_audio = record.get("audio") or {}
        for speaker, digest in (audio or {}).items():
            if speaker in stored_audio and stored_audio[speaker] != digest:
                raise StoreError(
                    f"The audio of speaker {speaker} changed since trial {trial['index']} was stored in "
                    f"{path} (hash {stored_audio[speaker][:12]}, now {digest[:12]}): its numbers are of other "
                    "audio. Restore the corpus's files, or use another --out folder."
                )
        return set(experiments) <= set(record["experiments"])

    def stored_experiments(self, index: int) -> list[str]:
        """Experiments already stored for trial ``index`` (empty if none)."""
        record = self.load_trial(index)
        return list(record["experiments"]) if record else []

    def write_trial(
        self,
        trial: dict[str, Any],
        experiments: Iterable[str],
        rows: list[dict[str, Any]],
        seconds: float | None = None,
        audio: Mapping[str, str] | None = None,
    ) -> Path:
        """Store one finished trial atomically and return its path.

        Args:
            trial: the trial record.
            experiments: the experiments its rows cover.
            rows: its tidy rows.
            seconds: how long it took.
            audio: hashes of its speakers' decoded audio, checked on resume.
        """
        if self._lock is None:
            raise StoreError(f"the results store {self.root} was closed; open it again to write.")
        record = {
            "trial": trial,
            "experiments": sorted(set(experiments)),
            "settings_hash": self.hash,
            "version": __version__,
            "seconds": seconds,
            "audio": dict(audio or {}),
            "rows": rows,
        }
        path = self.trial_path(int(trial["index"]))
        atomic_write_text(path, json.dumps(record, indent=1, default=json_default) + "\n")
        return path

    def write_signals(self, trial: dict[str, Any], signals: Mapping[int, Any]) -> bool:
        """Keep a trial's separated signals beside its rows, once; False when they are already kept.

        Chapter "Separating two speakers" plays them (:mod:`innmf.experiments.store_signals`).
        """
        from innmf.experiments.store_signals import signals_path, write_signals

        if self._lock is None:
            raise StoreError(f"the results store {self.root} was closed; open it again to write.")
        return write_signals(signals_path(self.trials_dir, int(trial["index"])), dict(signals), self.hash, trial)

    def rows(
        self, indices: Iterable[int] | None = None, experiments: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """Tidy rows of the stored trials (all, or the given indices and experiments)."""
        return rows_from_files(self.trials_dir, self.hash, indices, experiments)

    def write_tables(self, df: pd.DataFrame) -> tuple[Path, Path]:
        """Write ``per_trial.csv`` and ``summary.csv`` for the rows ``df``."""
        return write_tables(self.root, df)


def write_tables(root: str | os.PathLike, df: pd.DataFrame) -> tuple[Path, Path]:
    """Write ``per_trial.csv`` and ``summary.csv`` of the rows ``df`` into the store at ``root``."""
    per_trial = Path(root) / PER_TRIAL_CSV
    summary = Path(root) / SUMMARY_CSV
    atomic_write_text(per_trial, df.to_csv(index=False))
    atomic_write_text(summary, pd.DataFrame(summary_rows(df)).to_csv(index=False))
    return per_trial, summary


def rewrite_tables(root: str | os.PathLike, df: pd.DataFrame) -> bool:
    """Rewrite the tables of a finished store if it is writable and no run is writing it.

    Returns:
        True if written; False for a read-only store (its files are left as they are).

    Raises:
        StoreError: another run holds the store's lock.
    """
    root = Path(root)
    if not os.access(root, os.W_OK | os.X_OK):
        return False
    lock = FileLock(str(root / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise StoreError(f"another innmf run is writing the results store {root}; wait for it to finish.") from None
    try:
        write_tables(root, df)
    finally:
        lock.release()
    return True


def load_results(
    out: str | os.PathLike,
    experiments: Iterable[str] | None = None,
    n_trials: int | None = None,
) -> pd.DataFrame:
    """Read a results store instead of recomputing (the notebooks' ``results_from`` parameter).

    Nothing is written, so a read-only archive works. Every trial file is checked
    against the manifest's settings hash.

    Args:
        out: the store folder written by ``innmf reproduce --out`` or ``run_experiments``.
        experiments: keep only these experiments (default: all stored).
        n_trials: keep only trials ``0 .. n_trials-1`` (default: all stored).

    Returns:
        Tidy per-trial rows with columns ``ROW_COLUMNS``.

    Raises:
        FileNotFoundError: ``out`` is not a results store.
        StoreError: a damaged or foreign file in the store (named).
    """
    manifest = read_manifest(out)
    indices = None if n_trials is None else range(n_trials)
    return rows_from_files(Path(out) / TRIALS_DIR, manifest["settings_hash"], indices, experiments)


def trial_seconds(root: str | os.PathLike) -> list[float]:
    """Seconds each finished trial of the store at ``root`` took, in trial order (chapters 4 and 6, ``innmf study``)."""
    found = []
    for path in trial_files(Path(root) / TRIALS_DIR):
        seconds = json.loads(path.read_text()).get("seconds")
        if isinstance(seconds, (int, float)):
            found.append(float(seconds))
    return found
