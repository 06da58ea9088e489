"""``innmf book``: execute the chapters of a checkout and build its Jupyter Book.

The book built is the checkout the command runs in (the folder holding ``_config.yml``
and ``notebooks/``, found upward from the working directory) or the one ``--root``
names, never the installed package's. Chapters are executed (or taken from the cache)
by :mod:`innmf.tools.book_execute`, staged with this build's provenance footers
(:mod:`innmf.tools.provenance`), rendered by Jupyter Book 1 with ``-W -n --keep-going``
into a staging folder, inspected by :mod:`innmf.tools.book_check`, and only then
published:

- a full build replaces ``_build/html`` as a whole;
- ``--only NAME`` replaces the chosen chapters' pages (and adds the files they use) and
  leaves every other page of the last build as it is; on a fresh tree the other
  chapters are one-line placeholder pages, so that links resolve;
- ``--student`` builds the student edition into ``_build/student/html``, from
  notebooks without solutions (:mod:`innmf.tools.student`), and writes the
  solution-free ``.py``/``.ipynb`` handouts to ``_build/student/notebooks``.

A failure or Ctrl-C before publishing leaves the previous book as it was.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from innmf.data.paths import repository_root
from innmf.tools.book_execute import (  # noqa: F401  (re-exported: tests import them from here)
    NOTEBOOK_PARAMETERS, PROVENANCE_KEY, BookError, ExecutedChapter, cache_key, chapter_parameters,
    execute_chapter, split_settings,
)
from innmf.tools.book_execute import chapter_sources as _sources
from innmf.tools.book_publish import publish
from innmf.tools.student import strip_solutions  # noqa: F401  (re-exported)

REPO = repository_root() or Path.cwd()
"""The checkout holding this package (the test suite's chapters); builds use :func:`find_root`."""

EDITIONS = {False: Path("html"), True: Path("student") / "html"}
"""Where each edition is published, under the checkout's ``_build`` (student edition: True)."""


def chapter_sources(root: Path = REPO) -> list[Path]:
    """The chapters of the checkout at ``root``, in book order."""
    return _sources(root)


def is_book_root(path: Path) -> bool:
    """Whether ``path`` is a checkout of the book: it holds ``_config.yml`` and ``notebooks/``."""
    return (path / "_config.yml").is_file() and (path / "notebooks").is_dir()


def find_root(root: str | Path | None = None, start: Path | None = None) -> Path:
    """The checkout to build: ``root`` when given, else the first book root at or above ``start``.

    Args:
        root: the ``--root`` option (None: search).
        start: where the search begins (default: the working directory).

    Raises:
        BookError: ``root`` is not a checkout of the book, or none is found (the message names ``--root``).
    """
    if root is not None:
        path = Path(root).expanduser().resolve()
        if not is_book_root(path):
            raise BookError(f"--root {root}: not a checkout of the book (it needs _config.yml and notebooks/).")
        return path
    start = (start or Path.cwd()).resolve()
    for path in (start, *start.parents):
        if is_book_root(path):
            return path
    raise BookError(f"no checkout of the book at or above {start} (a folder with _config.yml and notebooks/); "
                    "run innmf book inside a clone of the repository or pass --root PATH.")


def selected(only: list[str] | None, root: Path = REPO) -> list[Path]:
    """The chapters ``--only`` selects (all without it).

    Raises:
        BookError: an empty name, or a name that matches no chapter (the chapters are listed).
    """
    sources = chapter_sources(root)
    if only is None:
        return sources
    names = ", ".join(s.stem for s in sources)
    for name in only:
        if not name.strip():
            raise BookError(f"--only {name!r} is empty: name a chapter, e.g. --only 02 (the chapters are {names}).")
    unmatched = [o for o in only if not any(o in s.stem for s in sources)]
    if unmatched:
        raise BookError(f"--only {unmatched[0]!r} matches no chapter; the chapters are {names}.")
    return [s for s in sources if any(o in s.stem for o in only)]


def placeholder_page(source: Path) -> str:
    """A one-line page standing for a chapter that a partial build on a fresh tree did not build."""
    heading = next((line.lstrip("# ").strip() for line in source.read_text().splitlines()
                    if line.startswith("# # ")), source.stem)
    return (f"# {heading}\n\nNot built in this run: `innmf book --only` built other pages. "
            f"Run `innmf book` to build this chapter.\n")


def _downloads(stem: str, student: bool) -> str:
    free = (f"{{download}}`the notebook (.ipynb) <handouts/{stem}.ipynb>` · "
            f"{{download}}`the source (.py) <handouts/{stem}.py>`")
    if student:
        return f"Download this chapter to work on (without solutions): {free}"
    return (f"Download this chapter: {{download}}`the notebook (.ipynb) <{stem}.ipynb>` · "
            f"{{download}}`the source (.py) <{stem}.py>`; for students, without solutions: {free}")


def stage_chapter(chapter: ExecutedChapter, pages: Path, student: bool) -> dict[str, str]:
    """Stage one executed chapter as a page (solutions removed in the student edition); return its provenance."""
    import nbformat

    from innmf.tools.student import remove_solutions, write_handouts

    stem = chapter.source.stem
    nb = nbformat.read(chapter.executed, as_version=4)
    if student:
        remove_solutions(nb, chapter.source.name)
    nb.cells = [c for c in nb.cells if "downloads" not in c.metadata.get("tags", [])]
    title = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), None)
    if title is not None:
        links = nbformat.v4.new_markdown_cell(_downloads(stem, student))
        links.metadata["tags"] = ["downloads"]
        nb.cells.insert(title + 1, links)
    (pages / f"{stem}.md").unlink(missing_ok=True)
    nbformat.write(nb, pages / f"{stem}.ipynb")
    write_handouts([chapter.source], pages / "handouts")
    if not student:  # the source with its solutions is the instructors' download only
        shutil.copyfile(chapter.source, pages / chapter.source.name)
    return dict(nb.metadata.get(PROVENANCE_KEY, {}))


def stage_book(dest: Path, root: Path = REPO, student: bool = False,
               footers: dict[str, str] | None = None) -> None:
    """Copy the book's configuration and prose pages next to the staged chapters.

    Args:
        dest: the staged source tree.
        root: the book's checkout.
        student: build the student edition (sphinx-exercise's ``hide_solutions``).
        footers: each page's provenance sentence (``book/_ext/provenance.py``).
    """
    import yaml

    shutil.copyfile(root / "_toc.yml", dest / "_toc.yml")
    config = yaml.safe_load((root / "_config.yml").read_text())
    sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["hide_solutions"] = bool(student)
    sphinx["innmf_footers"] = dict(footers or {})
    if student:
        config["title"] = config.get("title", "") + " (student edition)"
    (dest / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    if (dest / "book").exists():
        shutil.rmtree(dest / "book")
    shutil.copytree(root / "book", dest / "book")


def build_html(src: Path, out: Path, log: Path) -> Path:
    """Run Jupyter Book 1 on the staged tree into ``out/_build/html``; fail on any warning."""
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(src), "--path-output", str(out),
           "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    text = proc.stdout + proc.stderr
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(text)
    problems = [line for line in text.splitlines() if "WARNING" in line or "ERROR" in line]
    if proc.returncode != 0 or problems:
        shown = "\n".join(problems[:20]) or text[-3000:]
        raise BookError(f"Jupyter Book build failed (log: {log}):\n{shown}")
    index = out / "_build" / "html" / "index.html"
    if not index.exists():
        raise BookError(f"Jupyter Book finished but {index} is missing.")
    return index.parent


def _stage_chapters(root: Path, pages: Path, chosen: list[ExecutedChapter], student: bool,
                    partial: bool) -> dict[str, Any]:
    """Stage the chosen chapters and stand-ins for the others; return each page's provenance and kind."""
    if not partial and pages.exists():
        shutil.rmtree(pages)  # a full build stages exactly this build's chapters
    pages.mkdir(parents=True, exist_ok=True)
    records: dict[str, Any] = {}
    built = {c.source.stem: c for c in chosen}
    for source in chapter_sources(root):
        name = f"notebooks/{source.stem}"
        if source.stem in built:
            records[name] = ("chapter", stage_chapter(built[source.stem], pages, student))
        elif (pages / f"{source.stem}.ipynb").exists():
            # an earlier build's page: rendered so that links into it resolve, never published
            import nbformat

            nb = nbformat.read(pages / f"{source.stem}.ipynb", as_version=4)
            records[name] = ("chapter", dict(nb.metadata.get(PROVENANCE_KEY, {})))
        else:
            (pages / f"{source.stem}.md").write_text(placeholder_page(source))
            records[name] = ("placeholder", None)
    return records


def build_book(profile: str = "quick", overrides: dict[str, Any] | None = None,
               only: list[str] | None = None, student: bool = False,
               parameters: dict[str, Any] | None = None, root: str | Path | None = None,
               jobs: int = 1) -> Path:
    """Execute the chapters and build the HTML book of a checkout; return the path of its index.html.

    Args:
        profile: ``smoke``, ``quick`` or ``paper``.
        overrides: settings replacing the profile's.
        only: build only the chapters whose file name contains one of these.
        student: the student edition, without solutions, in ``_build/student``.
        parameters: chapter parameters that are not settings (:data:`NOTEBOOK_PARAMETERS`).
        root: the checkout (default: found upward from the working directory).
        jobs: chapters executed at once (:mod:`innmf.tools.book_schedule`); the wall and CPU
            seconds of each are written to ``_build/book-times.json``.

    Raises:
        BookError: no checkout, a bad ``--only``, a chapter failed, Sphinx warned, or a page has a defect.
    """
    from innmf.tools.book_check import check_book
    from innmf.tools.book_execute import execute_chapters
    from innmf.tools.provenance import footer_text, provenance
    from innmf.tools.student import write_handouts

    root = find_root(root)
    chosen = selected(only, root)  # before anything is written
    overrides = overrides or {}
    build = root / "_build"
    edition = "student" if student else "html"
    staging = build / ".staging" / edition
    start = time.perf_counter()
    chapters = execute_chapters(root, chosen, profile, overrides, build / ".executed", parameters, jobs)
    executed_at = time.perf_counter()
    this_build = provenance(root, profile, overrides)
    records = _stage_chapters(root, staging / "src" / "notebooks", chapters, student, partial=only is not None)
    footers = {"": footer_text(None, this_build)}
    for name, (kind, record) in records.items():
        footers[name] = footer_text(record, this_build, kind)
    stage_book(staging / "src", root, student, footers)
    shutil.rmtree(staging / "_build", ignore_errors=True)
    html = build_html(staging / "src", staging, build / EDITIONS[student].parent / "book-build.log")
    for chapter in chapters:
        page = html / "notebooks" / f"{chapter.source.stem}.html"
        if not page.exists():
            raise BookError(f"No page was rendered for {chapter.source.name} (expected {page}).")
    defects = check_book(html, student=student)
    if defects:
        raise BookError("rendering defects in the built book:\n" + "\n".join(defects[:30]))
    live = build / EDITIONS[student]
    publish(html, live, [c.source.stem for c in chapters] if only is not None else None)
    if student:
        write_handouts([c.source for c in chapters], live.parent / "notebooks")
    write_times(build / "book-times.json", chapters, jobs, executed_at - start, time.perf_counter() - start,
                this_build)
    print(f"Book built in {time.perf_counter() - start:.0f} s: {live / 'index.html'}", file=sys.stderr)
    return live / "index.html"


def write_times(path: Path, chapters: list[ExecutedChapter], jobs: int, executing: float, total: float,
                build: dict[str, str] | None = None) -> None:
    """Record this build's timings: each chapter's wall and CPU seconds, the execution phase and the whole.

    Args:
        path: the record (``_build/book-times.json``).
        chapters: this build's chapters.
        jobs: chapters executed at once.
        executing: seconds until every chapter had executed; total: seconds of the whole build.
        build: this build's provenance (profile, corpus, date, commit).
    """
    import json
    import os

    from innmf.tools.bench.machine import cpu_model

    record = {"command": f"innmf book --jobs {jobs}", **(build or {}), "cpu_count": os.cpu_count(),
              "cpu_model": cpu_model(), "jobs": jobs,
              "executing_seconds": round(executing, 1),
              "total_seconds": round(total, 1),
              "chapters": {c.source.stem: {"cached": c.cached, "seconds": round(c.seconds, 1),
                                           "cpu_seconds": round(c.cpu_seconds, 1)} for c in chapters}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")


def default_jobs() -> int:
    """Chapters executed at once by ``innmf book``: one per core, at most 4."""
    import os

    return max(1, min(4, os.cpu_count() or 1))


def _run(args: argparse.Namespace) -> int:
    """``innmf book``: the exit status (0 built, 1 refused or failed, 130 interrupted)."""
    from innmf.experiments.settings import parse_overrides

    live = Path("_build") / EDITIONS[bool(args.student)]
    try:
        root = find_root(args.root)
        live = root / "_build" / EDITIONS[bool(args.student)]
        selected(args.only, root)
        if args.jobs is not None and args.jobs < 1:
            raise BookError(f"--jobs {args.jobs}: at least one chapter must run at a time; pass --jobs 1 or more.")
        settings, parameters = split_settings(args.set)
        overrides = parse_overrides(settings, args.profile)
        build_book(args.profile, overrides, args.only, student=args.student, parameters=parameters, root=root,
                   jobs=args.jobs if args.jobs is not None else default_jobs())
    except (BookError, ValueError) as err:
        print(f"innmf book: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        kept = f"the previous book in {live} is unchanged" if (live / "index.html").exists() else "nothing was published"
        print(f"innmf book: interrupted; {kept}.", file=sys.stderr)
        return 130
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``innmf book`` to the command line (imports nothing heavy)."""
    parser = subparsers.add_parser(
        "book", help="execute every chapter (papermill) and build the HTML book under _build/html"
    )
    parser.add_argument("--profile", default="quick", choices=["smoke", "quick", "paper"])
    parser.add_argument("--root", metavar="PATH",
                        help="the checkout to build (default: the one holding the working directory)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override one setting, e.g. --set corpus=timit:/data/TIMIT, or a chapter "
                             f"parameter ({', '.join(NOTEBOOK_PARAMETERS)}), e.g. --set workers=4 (repeatable)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="build only the chapters whose file name contains NAME, e.g. --only 03 "
                             "(repeatable; the other pages of the last build are kept as they are)")
    parser.add_argument("--jobs", type=int, metavar="N",
                        help="chapters executed at once, each in its own process (default: one per core, "
                             "at most 4); the chapters sharing the speech results store wait for the first")
    parser.add_argument("--student", action="store_true",
                        help="build the student edition (no solutions) into _build/student, with "
                             "solution-free notebooks in _build/student/notebooks")
    parser.set_defaults(func=_run)
