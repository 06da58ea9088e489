"""Serve MathJax 3 from the built book instead of a CDN, so math renders offline.

The MathJax files come from the PyPI package ``sphinx-mathjax-offline`` (in the
``book`` extra), whose folder name is not importable, so it is found through its
distribution's file list. Copied to ``_static/mathjax`` when the build finishes.
"""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

from sphinx.application import Sphinx

RELATIVE = "mathjax/tex-chtml.js"


def mathjax_source() -> Path:
    """The folder holding ``tex-chtml.js`` in the installed ``sphinx-mathjax-offline``."""
    try:
        dist = metadata.distribution("sphinx-mathjax-offline")
    except metadata.PackageNotFoundError:
        raise RuntimeError(
            "MathJax for the offline book is missing: install the book extra "
            "(pip install -e '.[book]'), which brings sphinx-mathjax-offline."
        ) from None
    for file in dist.files or ():
        if file.name == "tex-chtml.js" and file.parent.name == "mathjax":
            return Path(dist.locate_file(file)).parent
    raise RuntimeError("sphinx-mathjax-offline is installed but has no mathjax/tex-chtml.js.")


def _config_inited(app: Sphinx, config) -> None:
    mathjax_source()  # fail before building, with a clear message
    config.mathjax_path = RELATIVE


def _copy(app: Sphinx, exc: Exception | None) -> None:
    if exc is None and app.builder.format == "html":
        shutil.copytree(mathjax_source(), Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _config_inited)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
