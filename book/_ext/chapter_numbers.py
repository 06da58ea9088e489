"""Number exercises (and any other enumerable type listed) by chapter: "Exercise 2.3".

Sphinx numbers enumerable nodes through the whole book (Exercise 19), so a number
changes with the pages built (``innmf book --only`` builds one chapter and numbers its
exercises from 1). Here the number is taken from the chapter's file name
(``notebooks/02_implicit_factors`` is chapter 2) and the node's order in that page, so
"Exercise 2.3" is the same in the full book, a partial build and the student edition,
and in the solution-free notebooks (``innmf.tools.student``).

The Sphinx setting ``chapter_numbered_types`` lists the types renumbered (default
``["exercise"]``; ``_config.yml`` adds ``"figure"`` and ``"table"`` for Figure 3.2 and
Table 4.1). A figure or table inside an exercise's solution keeps its caption but gets
no number: the student edition has no solutions, and numbering them would shift every
number after them between the two editions. A page outside the chapters (``book/...``)
that numbers any of these types takes a letter in book order instead of a chapter
("Table A.2"), so its numbers do not depend on how many tables the chapters built.
"""

from __future__ import annotations

import re
import string

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

CHAPTER = re.compile(r"(?:^|/)(\d+)_[^/]*$")


def chapter_number(docname: str) -> int | None:
    """The chapter of a page named like ``notebooks/02_implicit_factors`` (None for other pages)."""
    match = CHAPTER.search(docname)
    return int(match.group(1)) if match else None


def _in_solutions(doctree: nodes.document) -> set[str]:
    """The ids of the figures and tables inside a solution (sphinx-exercise's ``solution_node``)."""
    found: set[str] = set()
    for solution in doctree.findall(lambda n: type(n).__name__ == "solution_node"):
        for node in solution.findall(lambda n: isinstance(n, (nodes.figure, nodes.table))):
            found.update(node["ids"])
    return found


def _note_solutions(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    if not hasattr(env, "chapter_unnumbered"):
        env.chapter_unnumbered = {}
    env.chapter_unnumbered[env.docname] = _in_solutions(doctree)


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    getattr(env, "chapter_unnumbered", {}).pop(docname, None)


def _merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    if not hasattr(env, "chapter_unnumbered"):
        env.chapter_unnumbered = {}
    for docname in docnames:
        env.chapter_unnumbered[docname] = getattr(other, "chapter_unnumbered", {}).get(docname, set())


def _renumber(app: Sphinx, env: BuildEnvironment) -> list[str]:
    types = set(app.config.chapter_numbered_types)
    unnumbered = getattr(env, "chapter_unnumbered", {})
    letters = iter(string.ascii_uppercase)
    changed = []
    for docname, by_type in env.toc_fignumbers.items():  # in book order
        chapter: int | str | None = chapter_number(docname)
        if chapter is None:
            if not types & set(by_type):
                continue
            chapter = next(letters, "Z")
        for figtype in types & set(by_type):
            # the dict keeps the nodes in page order (Sphinx walks each doctree in order)
            ids = [node_id for node_id in by_type[figtype] if node_id not in unnumbered.get(docname, ())]
            numbers = {node_id: (chapter, i) for i, node_id in enumerate(ids, start=1)}
            if numbers != by_type[figtype]:
                by_type[figtype] = numbers
                changed.append(docname)
    return list(dict.fromkeys(changed))


def setup(app: Sphinx) -> dict:
    app.add_config_value("chapter_numbered_types", ["exercise"], "env", [list])
    # after Sphinx's own numbering (TocTreeCollector, priority 500)
    app.connect("env-get-updated", _renumber, priority=900)
    app.connect("doctree-read", _note_solutions)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
