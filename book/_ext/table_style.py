"""The book's table style (``static/innmf-tables.css``): tables a size below the text, with
tighter cells and tabular digits, so the chapters' captioned tables
(``innmf.report.captioned``) fit the text column instead of scrolling sideways.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx

STATIC = Path(__file__).parent / "static"


def _add_static(app: Sphinx) -> None:
    # an absolute path: the staged build's confdir is not this folder
    app.config.html_static_path.append(str(STATIC))


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _add_static)
    app.add_css_file("innmf-tables.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
