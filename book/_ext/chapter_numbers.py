"""Number exercises (and any other enumerable type listed) by chapter: "Exercise 2.3".

Sphinx numbers enumerable nodes through the whole book (Exercise 19), so a number
changes with the pages built (``innmf book --only`` builds one chapter and numbers its
exercises from 1). Here the number is taken from the chapter's file name
(``notebooks/02_implicit_factors`` is chapter 2) and the node's order in that page, so
"Exercise 2.3" is the same in the full book, a partial build and the student edition,
and in the solution-free notebooks (``innmf.tools.student``).

The Sphinx setting ``chapter_numbered_types`` lists the types renumbered (default
``["exercise"]``; add ``"figure"``, ``"table"`` for Figure 3.2 and Table 4.1).
"""

from __future__ import annotations

import re

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

CHAPTER = re.compile(r"(?:^|/)(\d+)_[^/]*$")


def chapter_number(docname: str) -> int | None:
    """The chapter of a page named like ``notebooks/02_implicit_factors`` (None for other pages)."""
    match = CHAPTER.search(docname)
    return int(match.group(1)) if match else None


def _renumber(app: Sphinx, env: BuildEnvironment) -> list[str]:
    types = set(app.config.chapter_numbered_types)
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        chapter = chapter_number(docname)
        if chapter is None:
            continue
        for figtype in types & set(by_type):
            # the dict keeps the nodes in page order (Sphinx walks each doctree in order)
            numbers = {node_id: (chapter, i) for i, node_id in enumerate(by_type[figtype], start=1)}
            if numbers != by_type[figtype]:
                by_type[figtype] = numbers
                changed.append(docname)
    return changed


def setup(app: Sphinx) -> dict:
    app.add_config_value("chapter_numbered_types", ["exercise"], "env", [list])
    # after Sphinx's own numbering (TocTreeCollector, priority 500)
    app.connect("env-get-updated", _renumber, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
