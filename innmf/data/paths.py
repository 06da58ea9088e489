"""Where the project's files are: the repository, its data and its build folder.

One place for these, so that every module finds the embedded data the same way (in a
source checkout: the repository's ``data/``; in an installed wheel: the copy shipped
inside the package; ``$INNMF_DATA`` overrides both).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
"""The installed ``innmf`` package folder."""


def repository_root() -> Path | None:
    """The source checkout holding this package (its ``pyproject.toml``), or None when installed.

    ``$INNMF_ROOT`` (set by ``innmf book`` for the chapters it executes) names the checkout
    being built, which may not be the one the package was installed from.
    """
    env = os.environ.get("INNMF_ROOT")
    if env and (Path(env) / "notebooks").is_dir():
        return Path(env)
    root = PACKAGE.parent
    return root if (root / "pyproject.toml").exists() and (root / "notebooks").is_dir() else None


def data_dir() -> Path:
    """The embedded data: ``$INNMF_DATA``, else the checkout's ``data/``, else the packaged copy.

    A checkout named by ``$INNMF_ROOT`` without a ``data/`` folder (a book source tree
    copied alone) reads the data of the checkout the package runs from.
    """
    env = os.environ.get("INNMF_DATA")
    if env:
        return Path(env)
    own = PACKAGE.parent
    for root in (repository_root(), own if (own / "pyproject.toml").exists() else None):
        if root is not None and (root / "data").is_dir():
            return root / "data"
    return PACKAGE / "_data"


def build_dir() -> Path:
    """Where the book and its results are built: ``_build`` of the checkout, else ``./_build``."""
    root = repository_root()
    return (root if root is not None else Path.cwd()) / "_build"
