"""A trial's separated signals kept beside its rows in a results store, written once.

Chapter "Separating two speakers" plays one trial's estimates. The trial computed them
when it scored them (:func:`innmf.experiments.trial.trial_outputs`), so the runner keeps
them for the trials it is asked to (``run_experiments(keep_signals=...)``) and the
chapter reads them instead of training the trial's models again::

    OUT/trials/00000.json           the trial's rows (innmf.experiments.store)
    OUT/trials/00000.signals.npz    its signals: {n: {method: [estimate a, estimate b]}}

The file is written whole or not at all (a temporary file renamed; leftovers are
removed when the store is next opened for writing), never replaced once written, and
checked whenever it is read: it names the store's settings hash and the trial's record,
and a damaged, foreign or misplaced file is refused by name with the fix
(:class:`~innmf.experiments.store_files.StoreError`).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from innmf.experiments.store_files import (
    MANIFEST, TRIALS_DIR, StoreError, atomic_write_bytes, json_default, plain_json, read_manifest, read_record,
)

SIGNALS_SUFFIX = ".signals.npz"
_META = "meta"
_FIX = "delete it: the chapter replays the trial and writes it again"


def signals_path(trials_dir: Path, index: int) -> Path:
    """Where trial ``index``'s signals are kept in the store's trial folder ``trials_dir``."""
    return Path(trials_dir) / f"{int(index):05d}{SIGNALS_SUFFIX}"


def write_signals(path: Path, signals: dict[int, dict[str, list[np.ndarray]]], settings_hash: str,
                  trial: dict[str, Any]) -> bool:
    """Write one trial's signals to ``path`` once; return False (and write nothing) when it exists.

    Args:
        path: :func:`signals_path` of the trial.
        signals: ``{n: {method: [estimate of speaker a, estimate of speaker b]}}``.
        settings_hash: the store's settings hash, checked on reading.
        trial: the trial's record (``Trial.to_dict()``), checked on reading.
    """
    path = Path(path)
    if path.exists():  # write-once: the first copy is the one the trial computed
        return False
    arrays: dict[str, Any] = {}
    entries = []
    for n, methods in signals.items():
        for method, estimates in methods.items():
            for slot, estimate in enumerate(estimates):
                name = f"s{len(entries)}"
                arrays[name] = np.asarray(estimate)
                entries.append([int(n), str(method), slot, name])
    meta = {"settings_hash": settings_hash, "trial": plain_json(trial), "entries": entries}
    arrays[_META] = np.array(json.dumps(meta, default=json_default))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
    return True


def read_signals(path: Path, settings_hash: str, trial: dict[str, Any]) -> dict[int, dict[str, list[np.ndarray]]]:
    """The signals in ``path``, checked against the store's hash and the trial's record.

    Raises:
        StoreError: the file is damaged, was made with other settings, or holds another trial's signals.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz[_META][()]))
            if not isinstance(meta, dict) or not {"settings_hash", "trial", "entries"} <= set(meta):
                raise ValueError("its description lacks settings_hash, trial or entries")
            signals: dict[int, dict[str, list[np.ndarray]]] = {}
            for n, method, slot, name in meta["entries"]:
                estimates = signals.setdefault(int(n), {}).setdefault(str(method), [])
                if int(slot) != len(estimates):
                    raise ValueError(f"its estimates of {method} at N = {n} are out of order")
                estimates.append(npz[name])
    except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
        raise StoreError(f"{path} is damaged ({type(err).__name__}: {err}); {_FIX}.") from None
    if meta["settings_hash"] != settings_hash:
        raise StoreError(f"{path} was made with other settings (hash {meta['settings_hash']}, this store's is "
                         f"{settings_hash}): it does not belong to this store; {_FIX}.")
    if meta["trial"] != plain_json(trial):
        raise StoreError(f"{path} holds the signals of trial {meta['trial']}, not of {trial}; {_FIX}.")
    return signals


def load_signals(root: str | os.PathLike, index: int) -> dict[int, dict[str, list[np.ndarray]]] | None:
    """Trial ``index``'s signals in the store at ``root``, or None when it keeps none (nothing is written).

    Chapter "Separating two speakers". The file is checked against the store's manifest
    and the trial's own file.

    Raises:
        StoreError: a damaged or foreign manifest, trial file or signals file (named).
    """
    root = Path(root)
    path = signals_path(root / TRIALS_DIR, index)
    if not (root / MANIFEST).exists() or not path.exists():
        return None
    settings_hash = read_manifest(root)["settings_hash"]
    trial_file = root / TRIALS_DIR / f"{int(index):05d}.json"
    if not trial_file.exists():
        raise StoreError(f"{path} has no trial file {trial_file.name} beside it to be checked against; {_FIX}.")
    record = read_record(trial_file, settings_hash)
    return read_signals(path, settings_hash, record["trial"])
