"""Print each page's provenance (profile, corpus, date, commit) at its foot.

``innmf book`` writes the sentences into the staged ``_config.yml`` as the Sphinx
setting ``innmf_footers`` (page name -> text; the key ``""`` for every other page),
made by :func:`innmf.tools.provenance.footer_text`. A page built by hand with
``jupyter-book`` has no entry and gets no footer; ``innmf.tools.book_check`` requires
one on every chapter page.
"""

from __future__ import annotations

from html import escape

from sphinx.application import Sphinx

FOOTER_CLASS = "innmf-provenance"  # the same class as innmf.tools.provenance.FOOTER_CLASS


def _add_footer(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    footers = app.config.innmf_footers or {}
    text = footers.get(pagename, footers.get(""))
    if doctree is None or not text or "body" not in context:
        return  # the theme's own pages (search, index) and builds without provenance
    context["body"] += f'\n<p class="{FOOTER_CLASS}"><small>{escape(text)}</small></p>\n'


def setup(app: Sphinx) -> dict:
    app.add_config_value("innmf_footers", {}, "html", [dict])
    app.connect("html-page-context", _add_footer)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
