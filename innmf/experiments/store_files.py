"""The files of a results store, checked as they are read and written whole.

What :mod:`innmf.experiments.store` builds on: the store's file names (``MANIFEST``,
``TRIALS_DIR``, ...), the columns of its tidy rows (``ROW_COLUMNS``), :class:`StoreError`,
atomic writes (:func:`atomic_write_text`), the output-folder check (:func:`check_out_folder`),
and the reading of the manifest and the trial files with the detection of damaged, foreign,
misnamed or orphaned files (:func:`read_manifest`, :func:`read_record`, :func:`rows_from_files`).
Nothing here knows the settings; a trial file is checked against the settings hash it is
given. Used by the chapters "Reconstruction" and "Separation" and ``innmf reproduce``
(through :mod:`innmf.experiments.store` and :mod:`innmf.experiments.runner`).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

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
LOCK_FILE = ".innmf.lock"
TRIAL_FILE = re.compile(r"^\d{5}\.json$")
_RECORD_KEYS = ("trial", "experiments", "settings_hash", "rows")
_DELETE_AND_RERUN = "delete it and re-run: the trial is recomputed"


class StoreError(ValueError):
    """A results store cannot be used as asked; the message names the file or folder and the fix."""


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600: a store must stay readable by its readers
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def check_out_folder(root: str | os.PathLike) -> Path:
    """Refuse an output folder that cannot hold a store, before any work: a file, or read-only.

    Returns:
        ``root`` as a path (not created).

    Raises:
        StoreError: ``root`` is a file, or it (or the folder it would be made in) is not writable.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise StoreError(f"--out {root} is a file; give a folder for the results store (it is created if missing).")
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise StoreError(f"--out {root}: {existing} is a file, so the folder cannot be made; choose another --out.")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "the store" if existing == root else f"{existing}, where it would be made,"
        raise StoreError(
            f"--out {root}: {what} is not writable. Choose another --out, or, to only read a finished "
            "store, use --from-store (innmf reproduce) or load_results / results_from."
        )
    return root


def check_layout(root: Path) -> None:
    """Refuse a store whose ``trials`` is a file, or whose trial files have no manifest to be checked against."""
    trials = root / TRIALS_DIR
    if trials.exists() and not trials.is_dir():
        raise StoreError(f"{trials} is a file, not the folder of trial files; remove it and re-run.")
    if not (root / MANIFEST).exists() and trials.is_dir():
        files = [p for p in trials.iterdir() if p.suffix == ".json"]
        if files:
            raise StoreError(
                f"{root} holds {len(files)} trial file(s) but no {MANIFEST}, so they cannot be checked "
                f"against any settings. Restore {root / MANIFEST}, or delete {trials} and re-run "
                "(the trials are recomputed)."
            )


def trial_files(trials_dir: Path) -> list[Path]:
    """The trial files in ``trials_dir``, sorted; a ``.json`` file not named like one is refused."""
    files = []
    for path in sorted(trials_dir.glob("*.json")):
        if not TRIAL_FILE.match(path.name):
            raise StoreError(
                f"{path} is not a trial file of this store (they are named 00000.json, 00001.json, ...); "
                "remove it and re-run."
            )
        files.append(path)
    return files


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise StoreError(f"{path} cannot be read ({err}).") from None
    if not text.strip():
        raise ValueError("the file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"not valid JSON, truncated or garbled: {err}") from None


def read_record(path: Path, expected_hash: str) -> dict[str, Any]:
    """A trial file's record, checked: structure, name, rows and the settings hash."""
    try:
        record = _read_json(path)
        if not isinstance(record, dict):
            raise ValueError(f"it holds a {type(record).__name__}, not a trial record")
        missing = [k for k in _RECORD_KEYS if k not in record]
        if missing:
            raise ValueError(f"it lacks {missing}")
        trial, rows = record["trial"], record["rows"]
        if not isinstance(trial, dict) or trial.get("index") != int(path.stem):
            raise ValueError(f"its trial record is not trial {int(path.stem)}")
        if not isinstance(record["experiments"], list) or not isinstance(rows, list):
            raise ValueError("its experiments or rows are not lists")
        for row in rows:
            if not isinstance(row, dict) or set(ROW_COLUMNS) - set(row) or row["trial"] != trial["index"] \
                    or row["experiment"] not in record["experiments"]:
                raise ValueError(f"a row is not a row of this trial: {str(row)[:120]}")
    except ValueError as err:
        raise StoreError(f"{path} is damaged ({err}); {_DELETE_AND_RERUN}.") from None
    if record["settings_hash"] != expected_hash:
        raise StoreError(
            f"{path} was made with other settings (hash {record['settings_hash']}, this store's is "
            f"{expected_hash}): it does not belong to this store; {_DELETE_AND_RERUN}."
        )
    return record


def plain_json(obj: Any) -> Any:
    """``obj`` as it reads back from JSON (tuples become lists, numpy scalars numbers)."""
    return json.loads(json.dumps(obj, default=json_default))


def json_default(obj: Any) -> Any:
    """``default=`` of ``json.dumps`` for trial records: numbers, lists, else text."""
    # numpy scalars in the rows (np.float64 from metrics, np.int64 from n_fft lists)
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (tuple, set)):
        return list(obj)
    return str(obj)


def read_manifest(root: str | os.PathLike) -> dict[str, Any]:
    """The manifest of the store at ``root`` (read only; nothing is written).

    Raises:
        FileNotFoundError: ``root`` holds no results store.
        StoreError: the manifest is damaged, or trial files lie there without one.
    """
    root = Path(root)
    path = root / MANIFEST
    if root.is_dir():
        check_layout(root)
    if not path.exists():
        raise FileNotFoundError(
            f"No results store at {root} (missing {MANIFEST}); run `innmf reproduce --out {root}` first."
        )
    try:
        manifest = _read_json(path)
        if not isinstance(manifest, dict):
            raise ValueError(f"it holds a {type(manifest).__name__}, not a manifest")
        if not isinstance(manifest.get("settings_hash"), str) or not isinstance(manifest.get("result_settings"), dict) \
                or not isinstance(manifest.get("settings"), dict):
            raise ValueError("it lacks settings_hash, result_settings or settings")
    except ValueError as err:
        raise StoreError(
            f"{path} is damaged ({err}). Restore it, or delete the store {root} and re-run "
            "(its trials cannot be checked without it)."
        ) from None
    return manifest


def rows_from_files(
    trials_dir: Path, expected_hash: str, indices: Iterable[int] | None, experiments: Iterable[str] | None
) -> pd.DataFrame:
    """Tidy rows (``ROW_COLUMNS``) of the trial files in ``trials_dir``, each checked against ``expected_hash``.

    Args:
        trials_dir: the store's trial folder (missing: no rows).
        expected_hash: the settings hash every file must carry.
        indices: keep only these trials (None: all).
        experiments: keep only these experiments (None: all).
    """
    wanted = None if indices is None else {int(i) for i in indices}
    exps = None if experiments is None else set(experiments)
    rows: list[dict[str, Any]] = []
    for path in trial_files(Path(trials_dir)) if Path(trials_dir).is_dir() else []:
        if wanted is not None and int(path.stem) not in wanted:
            continue
        record = read_record(path, expected_hash)
        rows.extend(r for r in record["rows"] if exps is None or r["experiment"] in exps)
    df = pd.DataFrame(rows, columns=list(ROW_COLUMNS))
    if not df.empty:
        df = df.sort_values(["experiment", "trial", "method", "n_fft", "metric"], kind="stable")
    return df.reset_index(drop=True)
