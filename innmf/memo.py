"""Costly calls of the chapters, computed once and kept in the build's cache folder.

A chapter whose text changed is executed again (the notebook cache of
:mod:`innmf.tools.book_execute` is keyed by it), and chapters may call the same fit;
neither needs to repeat a fit whose arguments and code are unchanged. :func:`memoised`
keeps a call's result under ``_build/.memo``, keyed like the notebook cache: by the
function, its arguments bound to its signature (defaults included, so positional and
keyword spellings are one call) and the fingerprint of the package's code, so any code
change recomputes; and, as the results store's hash, by what changes the rounding here:
torch's thread count and whether numba's compiled kernels run. Chapters "Implicit
neural factors" (the ablation) and "Irregular and hybrid representations" (the hybrid
fits), through :mod:`innmf.chapters`.

An entry is written whole or not at all; one that cannot be read (a killed write, an
older Python) is computed again and replaced.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import io
import os
import pickle
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

MEMO_DIR = ".memo"
"""The memo's folder under the build folder (``innmf.data.paths.build_dir``)."""


def memo_dir() -> Path:
    """Where results are kept: ``$INNMF_MEMO`` if set, else ``_build/.memo`` of the checkout."""
    from innmf.data.paths import build_dir

    return Path(os.environ.get("INNMF_MEMO") or build_dir() / MEMO_DIR)


def package_fingerprint() -> str:
    """Hash of the code the kernels import: the installed package, wherever the book's checkout is.

    Part of every cache key of the book: executed chapters' (:mod:`innmf.tools.book_execute`)
    and this memo's.
    """
    from innmf.data.paths import PACKAGE

    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _code() -> str:
    # computed once per process: the code a kernel imported does not change under it
    return package_fingerprint()


def memo_key(fn: Callable[..., Any], args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None) -> str:
    """The key of ``fn(*args, **kwargs)``: the function, its bound arguments, the package's code and the rounding here."""
    import torch

    from innmf.experiments.store import auto_backend

    bound = inspect.signature(fn).bind(*args, **(kwargs or {}))
    bound.apply_defaults()
    digest = hashlib.sha256(f"{fn.__module__}.{fn.__qualname__}".encode())
    digest.update(pickle.dumps(sorted(bound.arguments.items()), protocol=4))
    digest.update(_code().encode())
    digest.update(f"threads={torch.get_num_threads()} backend=auto/{auto_backend()}".encode())
    return f"{fn.__qualname__}-{digest.hexdigest()[:24]}"


def _read(path: Path) -> tuple[bool, Any]:
    try:
        with open(path, "rb") as fh:
            return True, pickle.load(fh)
    except FileNotFoundError:
        return False, None
    except Exception:  # noqa: BLE001 (a damaged entry is only a miss: it is computed again and replaced)
        return False, None


def _write(path: Path, value: Any) -> None:
    from innmf.experiments.store_files import atomic_write_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    pickle.dump(value, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    atomic_write_bytes(path, buffer.getvalue())


def memoised(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, read from the memo when it holds the call, else computed and kept.

    ``fn`` must be a top-level function whose result depends only on its arguments (and
    the package's code and the rounding here) and pickles.
    """
    path = memo_dir() / f"{memo_key(fn, args, kwargs)}.pkl"
    found, value = _read(path)
    if not found:
        value = fn(*args, **kwargs)
        _write(path, value)
    return value
