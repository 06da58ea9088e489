"""The student edition's material: chapters without their solutions.

A chapter marks each exercise's solution as a sphinx-exercise *gated* solution: a
markdown line ```` ```{solution-start} LABEL ```` opens it, ```` ```{solution-end} ````
closes it, and every cell in between (code and prose) is the solution. Here those
cells go, in two places:

- :func:`strip_solutions` on an executed notebook: the student edition's pages, their
  ``_sources`` and their downloads hold no solution (sphinx-exercise's own
  ``hide_solutions`` fails on gated solutions and would leave the code in ``_sources``);
- :func:`write_handouts`: solution-free ``.py`` and ``.ipynb`` files made from the
  chapters' sources, to hand out (no outputs; each exercise titled "Exercise 2.3" as
  in the book, followed by an empty cell for the answer).

Otter-Grader was considered and not used: see ``book/instructors.md``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

START = "```{solution-start}"
END = "```{solution-end}\n```"
_EXERCISE = re.compile(r"```\{exercise\}[ \t]*(?P<title>[^\n]*)\n(?P<options>(?::[\w-]+:[^\n]*\n)*)(?P<body>.*?)```",
                       re.S)
_CHAPTER = re.compile(r"^(\d+)_")


class SolutionMarkupError(ValueError):
    """A chapter's solution markers do not pair up (a start without its end, or the reverse)."""


def remove_solutions(nb: Any, name: str = "notebook") -> int:
    """Remove every gated solution from a notebook, in place.

    Args:
        nb: an ``nbformat`` notebook (executed or not).
        name: the notebook's name for error messages.

    Returns:
        The number of solutions removed.

    Raises:
        SolutionMarkupError: a ``solution-start`` without its ``solution-end``, or an end without a start.
    """
    kept, inside, removed = [], False, 0
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            if not inside:
                kept.append(cell)
            continue
        rest, shown = cell.source, []
        while rest:
            if inside:
                if END not in rest:
                    break
                rest, inside = rest.partition(END)[2], False
            elif START in rest:
                head, _, rest = rest.partition(START)
                shown.append(head)
                inside, removed = True, removed + 1
            else:
                if END in rest:
                    raise SolutionMarkupError(f"{name}: a solution-end without its solution-start.")
                shown.append(rest)
                break
        text = "".join(shown).strip()
        if text:
            cell.source = text
            kept.append(cell)
    if inside:
        raise SolutionMarkupError(f"{name}: a solution-start without its solution-end.")
    nb.cells = kept
    return removed


def strip_solutions(path: Path) -> int:
    """Remove every gated solution from the notebook file at ``path`` (used on executed chapters).

    Returns:
        The number of solutions removed.
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    removed = remove_solutions(nb, Path(path).name)
    nbformat.write(nb, path)
    return removed


def chapter_number(stem: str) -> int | None:
    """The chapter number of a source named like ``02_implicit_factors`` (None for other names)."""
    match = _CHAPTER.match(stem)
    return int(match.group(1)) if match else None


def number_exercises(nb: Any, chapter: int) -> list[str]:
    """Turn each MyST exercise into plain markdown titled "Exercise C.I" and add an answer cell after it.

    Jupyter shows a MyST directive as a code block; the handouts show the exercise as
    the book does, with the book's number (book/_ext/chapter_numbers.py numbers the
    same way: chapter from the file name, then order in the chapter).

    Args:
        nb: a notebook without solutions (changed in place).
        chapter: its chapter number.

    Returns:
        The exercises' titles as numbered, e.g. ``["Exercise 2.1 (Counting parameters)"]``.
    """
    import nbformat

    titles: list[str] = []
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type != "markdown" or "{exercise}" not in cell.source:
            continue
        added = []

        def plain(match: re.Match) -> str:
            title = f"Exercise {chapter}.{len(titles) + 1}"
            if match.group("title").strip():
                title += f" ({match.group('title').strip()})"
            titles.append(title)
            added.append(title)
            return f"**{title}.** {match.group('body').strip()}\n"

        cell.source = _EXERCISE.sub(plain, cell.source).strip()
        for title in added:
            cells.append(nbformat.v4.new_code_cell(f"# {title}: your answer here\n"))
    nb.cells = cells
    return titles


def handout(source: Path) -> Any:
    """The solution-free notebook of one chapter, made from its py:percent source (no outputs).

    Args:
        source: the chapter's ``.py`` source (``notebooks/NN_name.py``).

    Returns:
        An ``nbformat`` notebook.

    Raises:
        SolutionMarkupError: the chapter's solution markers do not pair up.
    """
    import jupytext

    nb = jupytext.read(source)
    remove_solutions(nb, source.name)
    chapter = chapter_number(source.stem)
    if chapter is not None:
        number_exercises(nb, chapter)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{source.stem[:40]}-{i}"  # the same file from the same source (nbformat's ids are random)
    return nb


def write_handouts(sources: list[Path], dest: Path) -> list[Path]:
    """Write each chapter's solution-free ``.ipynb`` and ``.py`` (py:percent) into ``dest``.

    Args:
        sources: the chapters' ``.py`` sources.
        dest: the output folder (created).

    Returns:
        The files written, two per chapter.
    """
    import jupytext
    import nbformat

    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sources:
        nb = handout(source)
        ipynb, py = dest / f"{source.stem}.ipynb", dest / f"{source.stem}.py"
        nbformat.write(nb, ipynb)
        jupytext.write(nb, py, fmt="py:percent")
        written += [ipynb, py]
    return written
