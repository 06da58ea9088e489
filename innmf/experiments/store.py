"""A resumable results store: one file per finished trial, written atomically.

Layout under the output folder ``OUT`` (chapters "Reconstruction" and "Separation",
``innmf reproduce``)::

    OUT/manifest.json        settings, their hash, profile, corpus, package version
    OUT/trials/00000.json    one finished trial: its record, experiments and tidy rows
    OUT/per_trial.csv        regenerated from the trial files at the end of a run
    OUT/summary.csv          mean / std / trials per experiment, method, n_fft, metric

Only the settings that change a trial's numbers enter the hash (``RESULT_KEYS``).
``n_trials`` is left out on purpose, so a store made with 40 trials can be extended
to 500 by re-running with more trials; the profile name is left out because only
the values matter. ``device`` is kept in: a GPU does not give bit-identical numbers.
A trial file is written with a temporary file in the same folder and ``os.replace``,
so a run killed at any moment leaves either the whole file or none of it.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from innmf import __version__
from innmf.experiments.settings import settings_hash
from innmf.experiments.summary import summary_rows

RESULT_KEYS: tuple[str, ...] = (
    "corpus",
    "seed",
    "device",
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

ROW_COLUMNS: tuple[str, ...] = (
    "trial",
    "trial_key",
    "speakers",
    "experiment",
    "method",
    "n_fft",
    "metric",
    "value",
)
"""Columns of the tidy per-trial table (one row per trial, method, n_fft and metric)."""

MANIFEST = "manifest.json"
TRIALS_DIR = "trials"
PER_TRIAL_CSV = "per_trial.csv"
SUMMARY_CSV = "summary.csv"


def result_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``settings`` that determines the numbers (``RESULT_KEYS``).

    Raises:
        ValueError: a result setting is missing.
    """
    missing = [k for k in RESULT_KEYS if k not in settings]
    if missing:
        raise ValueError(
            f"Settings lack {missing}; build them with innmf.experiments.settings.get_profile(name, ...)."
        )
    return {k: settings[k] for k in RESULT_KEYS}


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ResultsStore:
    """Finished trials of one set of settings, kept under one folder.

    Args:
        root: the output folder (``--out``); created if missing.
        settings: a full settings dictionary (``innmf.experiments.settings.get_profile``).

    Raises:
        ValueError: the folder already holds results made with other settings.
    """

    def __init__(self, root: str | os.PathLike, settings: dict[str, Any]) -> None:
        self.root = Path(root)
        self.settings = dict(settings)
        self.result_settings = result_settings(settings)
        self.hash = settings_hash(self.result_settings)
        self.trials_dir = self.root / TRIALS_DIR
        self.trials_dir.mkdir(parents=True, exist_ok=True)
        manifest_path = self.root / MANIFEST
        if manifest_path.exists():
            self._check_manifest(read_manifest(self.root))
        else:
            manifest = {
                "settings_hash": self.hash,
                "result_settings": self.result_settings,
                "settings": self.settings,
                "profile": self.settings.get("profile"),
                "corpus": self.settings["corpus"],
                "version": __version__,
            }
            atomic_write_text(manifest_path, json.dumps(manifest, indent=2, default=str) + "\n")

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
        )
        raise ValueError(
            f"The results store {self.root} was made with other settings ({details}). "
            "Mixing them would corrupt the results: use another --out folder, or re-run "
            "with the store's settings."
        )

    def trial_path(self, index: int) -> Path:
        """Path of the file holding trial ``index``."""
        return self.trials_dir / f"{index:05d}.json"

    def load_trial(self, index: int) -> dict[str, Any] | None:
        """The stored record of trial ``index``, or None if it has not finished."""
        path = self.trial_path(index)
        if not path.exists():
            return None
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)

    def is_done(self, trial: dict[str, Any], experiments: Iterable[str]) -> bool:
        """Whether ``trial`` (a ``Trial.to_dict()``) is stored with all ``experiments``.

        Raises:
            ValueError: the stored trial with this index is a different trial (other
                speakers or segments), which means the trials were drawn differently.
        """
        record = self.load_trial(int(trial["index"]))
        if record is None:
            return False
        if record["trial"] != _plain(trial):
            raise ValueError(
                f"Trial {trial['index']} in {self.trial_path(int(trial['index']))} is "
                f"{record['trial']}, but this run drew {trial}. The trials are drawn "
                "differently (corpus files or innmf version changed): use another --out folder."
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
    ) -> Path:
        """Store one finished trial atomically and return its path."""
        record = {
            "trial": trial,
            "experiments": sorted(set(experiments)),
            "settings_hash": self.hash,
            "version": __version__,
            "seconds": seconds,
            "rows": rows,
        }
        path = self.trial_path(int(trial["index"]))
        atomic_write_text(path, json.dumps(record, indent=1, default=_json_default) + "\n")
        return path

    def rows(
        self, indices: Iterable[int] | None = None, experiments: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """Tidy rows of the stored trials (all, or the given indices and experiments)."""
        return _rows_from_files(self.trials_dir, indices, experiments)

    def write_tables(self, df: pd.DataFrame) -> tuple[Path, Path]:
        """Write ``per_trial.csv`` and ``summary.csv`` for the rows ``df``."""

        per_trial = self.root / PER_TRIAL_CSV
        summary = self.root / SUMMARY_CSV
        atomic_write_text(per_trial, df.to_csv(index=False))
        atomic_write_text(summary, pd.DataFrame(summary_rows(df)).to_csv(index=False))
        return per_trial, summary


def _plain(obj: Any) -> Any:
    """``obj`` as it reads back from JSON (tuples become lists, numpy scalars numbers)."""
    return json.loads(json.dumps(obj, default=_json_default))


def _json_default(obj: Any) -> Any:
    # numpy scalars in the rows (np.float64 from metrics, np.int64 from n_fft lists)
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (tuple, set)):
        return list(obj)
    return str(obj)


def read_manifest(root: str | os.PathLike) -> dict[str, Any]:
    """The manifest of the store at ``root``.

    Raises:
        FileNotFoundError: ``root`` holds no results store.
    """
    path = Path(root) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(
            f"No results store at {root} (missing {MANIFEST}); run `innmf reproduce --out {root}` first."
        )
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _rows_from_files(
    trials_dir: Path, indices: Iterable[int] | None, experiments: Iterable[str] | None
) -> pd.DataFrame:
    wanted = None if indices is None else {int(i) for i in indices}
    exps = None if experiments is None else set(experiments)
    rows: list[dict[str, Any]] = []
    for path in sorted(Path(trials_dir).glob("[0-9]*.json")):
        if wanted is not None and int(path.stem) not in wanted:
            continue
        with open(path, encoding="utf-8") as fh:
            record = json.load(fh)
        rows.extend(r for r in record["rows"] if exps is None or r["experiment"] in exps)
    df = pd.DataFrame(rows, columns=list(ROW_COLUMNS))
    if not df.empty:
        df = df.sort_values(["experiment", "trial", "method", "n_fft", "metric"], kind="stable")
    return df.reset_index(drop=True)


def load_results(
    out: str | os.PathLike,
    experiments: Iterable[str] | None = None,
    n_trials: int | None = None,
) -> pd.DataFrame:
    """Read a results store instead of recomputing (the notebooks' ``results_from`` parameter).

    Args:
        out: the store folder written by ``innmf reproduce --out`` or ``run_experiments``.
        experiments: keep only these experiments (default: all stored).
        n_trials: keep only trials ``0 .. n_trials-1`` (default: all stored).

    Returns:
        Tidy per-trial rows with columns ``ROW_COLUMNS``.

    Raises:
        FileNotFoundError: ``out`` is not a results store.
    """
    read_manifest(out)
    indices = None if n_trials is None else range(n_trials)
    return _rows_from_files(Path(out) / TRIALS_DIR, indices, experiments)
