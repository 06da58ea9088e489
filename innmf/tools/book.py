"""``innmf book``: execute every chapter with papermill, then build the Jupyter Book.

Sources are py:percent notebooks in ``notebooks/``. Each is converted in memory
with jupytext, executed with papermill on a named profile (see
:mod:`innmf.experiments.settings`) and written into the book's build tree, then Jupyter Book 1
renders HTML with ``-W -n --keep-going`` and :mod:`innmf.tools.book_check` inspects
the pages for rendering defects. An executed notebook is cached under a key made of
its source, the profile with overrides and parameters, and the package's code, so an
unchanged chapter is not executed again.

``--only NAME`` executes and renders only the matching chapters; the others are staged
as one-line placeholder pages so that the table of contents and the links between
chapters still resolve. ``--student`` builds the student edition: sphinx-exercise's
``hide_solutions``, checked to leave no solution in the HTML.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from innmf.data.paths import build_dir, repository_root
from innmf.experiments.settings import get_profile, parse_overrides

REPO = repository_root() or Path.cwd()
BUILD = build_dir()

NOTEBOOK_PARAMETERS = ("workers", "results_dir", "results_from", "listen_trial")
"""Chapter parameters that are not settings; ``--set`` passes them to the chapters that have them."""


class BookError(RuntimeError):
    """A chapter failed to execute or the book did not build cleanly."""


@dataclass
class ExecutedChapter:
    source: Path
    output: Path
    seconds: float
    cached: bool


def chapter_sources(root: Path = REPO) -> list[Path]:
    """The chapters, in book order (file names start with their number)."""
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.py"))


def _package_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted((REPO / "innmf").rglob("*.py")):
        digest.update(path.relative_to(REPO).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(source: Path, profile: str, overrides: dict[str, Any],
              parameters: dict[str, Any] | None = None) -> str:
    """Key of an executed chapter: its text, its settings and parameters, and the package's code."""
    digest = hashlib.sha256(source.read_bytes())
    digest.update(json.dumps(get_profile(profile, **overrides).to_dict(), sort_keys=True).encode())
    digest.update(json.dumps(parameters or {}, sort_keys=True, default=str).encode())
    digest.update(_package_fingerprint().encode())
    return digest.hexdigest()[:20]


def split_settings(items: list[str] | None) -> tuple[list[str], dict[str, Any]]:
    """Split ``--set KEY=VALUE`` items into settings and chapter parameters.

    Values of chapter parameters are read as JSON where they parse (``workers=4``,
    ``results_from=null``), else kept as strings (``results_from=../results/x``).
    """
    settings, parameters = [], {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if sep and key.strip() in NOTEBOOK_PARAMETERS:
            try:
                parameters[key.strip()] = json.loads(value)
            except json.JSONDecodeError:
                parameters[key.strip()] = value
        else:
            settings.append(item)
    return settings, parameters


def chapter_parameters(source: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``parameters`` that the chapter's ``parameters`` cell defines."""
    import jupytext

    cell = next((c for c in jupytext.read(source).cells if "parameters" in c.metadata.get("tags", [])), None)
    names = {line.split("=")[0].strip() for line in (cell.source.splitlines() if cell else []) if "=" in line}
    return {k: v for k, v in parameters.items() if k in names}


def tidy_executed(path: Path, source: Path) -> None:
    """Hide papermill's injected parameters cell and offer the chapter's downloads.

    The injected cell repeats the parameters cell with this build's values; readers
    see the parameters cell, and the settings used are printed by each chapter.
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    title = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), None)
    if title is not None:
        links = nbformat.v4.new_markdown_cell(
            f"Download this chapter: {{download}}`the notebook (.ipynb) <{source.stem}.ipynb>` · "
            f"{{download}}`the source (.py) <{source.name}>`"
        )
        links.metadata["tags"] = ["downloads"]
        nb.cells = [c for c in nb.cells if "downloads" not in c.metadata.get("tags", [])]
        nb.cells.insert(title + 1, links)
    nbformat.write(nb, path)


def strip_solutions(path: Path) -> int:
    """Remove every gated solution (``solution-start`` .. ``solution-end``) from an executed notebook.

    The student edition's pages then hold no solution at all, code or prose.
    (sphinx-exercise's own ``hide_solutions`` fails on gated solutions.)

    Returns:
        The number of solutions removed.
    """
    import nbformat

    start, end = "```{solution-start}", "```{solution-end}\n```"
    nb = nbformat.read(path, as_version=4)
    kept, inside, removed = [], False, 0
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            if not inside:
                kept.append(cell)
            continue
        rest, shown = cell.source, []
        while rest:
            if inside:
                if end not in rest:
                    break
                rest, inside = rest.partition(end)[2], False
            elif start in rest:
                head, _, rest = rest.partition(start)
                shown.append(head)
                inside, removed = True, removed + 1
            else:
                shown.append(rest)
                break
        text = "".join(shown).strip()
        if text:
            cell.source = text
            kept.append(cell)
    if inside:
        raise BookError(f"{path.name}: a solution-start without its solution-end.")
    nb.cells = kept
    nbformat.write(nb, path)
    return removed


def placeholder_page(source: Path) -> str:
    """A one-line page standing for a chapter that ``--only`` did not build."""
    heading = next((line.lstrip("# ").strip() for line in source.read_text().splitlines()
                    if line.startswith("# # ")), source.stem)
    return (f"# {heading}\n\nNot built in this run: `innmf book --only` built other pages. "
            f"Run `innmf book` to build this chapter.\n")


def execute_chapter(
    source: Path,
    output: Path,
    profile: str = "quick",
    overrides: dict[str, Any] | None = None,
    timeout: int = 1800,
    parameters: dict[str, Any] | None = None,
) -> float:
    """Execute one py:percent chapter with papermill; return the seconds it took.

    Args:
        source: the chapter's ``.py`` source.
        output: where to write the executed ``.ipynb``.
        profile: ``smoke``, ``quick`` or ``paper``.
        overrides: settings that replace the profile's (injected as ``overrides``).
        timeout: seconds allowed per cell.
        parameters: further values for the chapter's ``parameters`` cell.

    Raises:
        BookError: naming the notebook, the cell and the error.
    """
    import jupytext
    import papermill

    get_profile(profile, **(overrides or {}))  # fail early on a bad setting
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    # A non-interactive MPLBACKEND (e.g. Agg in a test run) would reach the kernel and
    # silently drop every figure from the book.
    backend = os.environ.pop("MPLBACKEND", None)
    try:
        papermill.execute_notebook(
            notebook,
            str(output),
            parameters={"profile": profile, "overrides": dict(overrides or {}), **(parameters or {})},
            kernel_name="python3",
            cwd=str(source.parent),
            progress_bar=False,
            execution_timeout=timeout,
        )
    except papermill.PapermillExecutionError as err:
        first_line = err.source.strip().splitlines()[0] if err.source.strip() else ""
        code = [c.source for c in notebook.cells if c.cell_type == "code"]
        where = f"code cell {code.index(err.source) + 1}" if err.source in code else "a cell"
        raise BookError(
            f"{source.relative_to(REPO) if source.is_relative_to(REPO) else source}: "
            f"{where} (`{first_line}`) failed with {err.ename}: {err.evalue}. "
            f"The executed notebook with the traceback is {output}."
        ) from None
    finally:
        if backend is not None:
            os.environ["MPLBACKEND"] = backend
    return time.perf_counter() - start


def selected(only: list[str] | None) -> list[Path]:
    """The chapters ``--only`` selects (all without it); an unmatched name is an error."""
    sources = chapter_sources()
    if not only:
        return sources
    chosen = [s for s in sources if any(o in s.stem for o in only)]
    unmatched = [o for o in only if not any(o in s.stem for s in sources)]
    if unmatched:
        raise BookError(f"--only {unmatched[0]!r} matches no chapter; the chapters are "
                        f"{[s.stem for s in sources]}.")
    return chosen


def execute_all(
    profile: str,
    overrides: dict[str, Any],
    dest: Path,
    only: list[str] | None = None,
    cache_dir: Path = BUILD / ".executed",
    parameters: dict[str, Any] | None = None,
) -> list[ExecutedChapter]:
    """Execute (or take from the cache) the selected chapters into ``dest/notebooks``.

    Chapters not selected by ``only`` are staged as placeholder pages, and any stale
    page of an earlier build is removed, so the staged tree is exactly this build's.
    """
    done = []
    chosen = selected(only)
    pages = dest / "notebooks"
    if pages.exists():
        shutil.rmtree(pages)
    pages.mkdir(parents=True)
    for source in chapter_sources():
        if source not in chosen:
            (pages / f"{source.stem}.md").write_text(placeholder_page(source))
            continue
        params = chapter_parameters(source, parameters or {})
        key = cache_key(source, profile, overrides, params)
        cached = cache_dir / f"{source.stem}-{key}.ipynb"
        target = pages / f"{source.stem}.ipynb"
        hit = cached.exists()
        seconds = 0.0
        if not hit:
            partial = cache_dir / f"{source.stem}-{key}.partial.ipynb"
            seconds = execute_chapter(source, partial, profile, overrides, parameters=params)
            tidy_executed(partial, source)
            partial.replace(cached)
        shutil.copyfile(cached, target)
        shutil.copyfile(source, pages / source.name)  # offered for download beside the .ipynb
        done.append(ExecutedChapter(source, target, seconds, hit))
        print(f"  {source.stem}: {'cached' if hit else f'{seconds:.1f} s'}", file=sys.stderr)
    return done


def stage_book(dest: Path, student: bool = False) -> None:
    """Copy the book's configuration and prose pages next to the executed notebooks.

    Args:
        dest: the staged source tree.
        student: build the student edition (sphinx-exercise's ``hide_solutions``).
    """
    import yaml

    shutil.copyfile(REPO / "_toc.yml", dest / "_toc.yml")
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = bool(student)
    if student:
        config["title"] = config.get("title", "") + " (student edition)"
    (dest / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    if (dest / "book").exists():
        shutil.rmtree(dest / "book")
    shutil.copytree(REPO / "book", dest / "book")


def build_html(src: Path) -> Path:
    """Run Jupyter Book 1 on the staged tree; fail on any warning."""
    # Jupyter Book writes to <path-output>/_build/html, i.e. BUILD / "html".
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(src), "--path-output", str(BUILD.parent),
           "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    (BUILD / "book-build.log").write_text(log)
    problems = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    if proc.returncode != 0 or problems:
        shown = "\n".join(problems[:20]) or log[-3000:]
        raise BookError(f"Jupyter Book build failed (log: {BUILD / 'book-build.log'}):\n{shown}")
    index = BUILD / "html" / "index.html"
    if not index.exists():
        raise BookError(f"Jupyter Book finished but {index} is missing.")
    return index


def build_book(profile: str = "quick", overrides: dict[str, Any] | None = None,
               only: list[str] | None = None, student: bool = False,
               parameters: dict[str, Any] | None = None) -> Path:
    """Execute the chapters and build the HTML book; return the path of index.html.

    Args:
        profile: ``smoke``, ``quick`` or ``paper``.
        overrides: settings replacing the profile's.
        only: build only the chapters whose file name contains one of these.
        student: the student edition, without solutions.
        parameters: chapter parameters that are not settings (:data:`NOTEBOOK_PARAMETERS`).

    Raises:
        BookError: a chapter failed, Sphinx warned, or a page has a rendering defect.
    """
    from innmf.tools.book_check import check_book

    overrides = overrides or {}
    src = BUILD / "book-src"
    src.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    chapters = execute_all(profile, overrides, src, only, parameters=parameters)
    if student:
        for chapter in chapters:
            strip_solutions(chapter.output)
    stage_book(src, student)
    html = BUILD / "html"
    if html.exists():
        shutil.rmtree(html)  # no page of an earlier build may survive into this one
    index = build_html(src)
    for chapter in chapters:
        page = html / "notebooks" / f"{chapter.source.stem}.html"
        if not page.exists():
            raise BookError(f"No page was rendered for {chapter.source.name} (expected {page}).")
    defects = check_book(html, student=student)
    if defects:
        raise BookError("rendering defects in the built book:\n" + "\n".join(defects[:30]))
    print(f"Book built in {time.perf_counter() - start:.0f} s: {index}", file=sys.stderr)
    return index


def _run(args: argparse.Namespace) -> int:
    settings, parameters = split_settings(args.set)
    try:
        overrides = parse_overrides(settings, args.profile)
        build_book(args.profile, overrides, args.only, student=args.student, parameters=parameters)
    except (BookError, ValueError) as err:
        print(f"innmf book: {err}", file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "book", help="execute every chapter (papermill) and build the HTML book under _build/html"
    )
    parser.add_argument("--profile", default="quick", choices=["smoke", "quick", "paper"])
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override one setting, e.g. --set corpus=timit:/data/TIMIT, or a chapter "
                             f"parameter ({', '.join(NOTEBOOK_PARAMETERS)}), e.g. --set workers=4 (repeatable)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="build only the chapters whose file name contains NAME, e.g. --only 03 "
                             "(repeatable; the other chapters become placeholder pages)")
    parser.add_argument("--student", action="store_true",
                        help="build the student edition: exercises without their solutions")
    parser.set_defaults(func=_run)
