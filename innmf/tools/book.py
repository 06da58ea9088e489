"""``innmf book``: execute every chapter with papermill, then build the Jupyter Book.

Sources are py:percent notebooks in ``notebooks/``. Each is converted in memory
with jupytext, executed with papermill on a named profile (see
:mod:`innmf.experiments.settings`) and written into the book's build tree, then Jupyter Book 1
renders HTML with ``-W -n --keep-going``. An executed notebook is cached under a
key made of its source, the profile with overrides, and the package's code, so an
unchanged chapter is not executed again.
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


def cache_key(source: Path, profile: str, overrides: dict[str, Any]) -> str:
    """Key of an executed chapter: its text, its settings and the package's code."""
    digest = hashlib.sha256(source.read_bytes())
    digest.update(json.dumps(get_profile(profile, **overrides).to_dict(), sort_keys=True).encode())
    digest.update(_package_fingerprint().encode())
    return digest.hexdigest()[:20]


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


def execute_all(
    profile: str,
    overrides: dict[str, Any],
    dest: Path,
    only: list[str] | None = None,
    cache_dir: Path = BUILD / ".executed",
) -> list[ExecutedChapter]:
    """Execute (or take from the cache) every chapter into ``dest/notebooks``."""
    from tqdm.auto import tqdm

    done = []
    sources = [s for s in chapter_sources() if not only or any(o in s.stem for o in only)]
    for source in tqdm(sources, desc=f"chapters ({profile})", unit="nb"):
        key = cache_key(source, profile, overrides)
        cached = cache_dir / f"{source.stem}-{key}.ipynb"
        target = dest / "notebooks" / f"{source.stem}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        hit = cached.exists()
        seconds = 0.0
        if not hit:
            partial = cache_dir / f"{source.stem}-{key}.partial.ipynb"
            seconds = execute_chapter(source, partial, profile, overrides)
            partial.replace(cached)
        shutil.copyfile(cached, target)
        done.append(ExecutedChapter(source, target, seconds, hit))
        print(f"  {source.stem}: {'cached' if hit else f'{seconds:.1f} s'}", file=sys.stderr)
    return done


def stage_book(dest: Path) -> None:
    """Copy the book's configuration and prose pages next to the executed notebooks."""
    for name in ("_config.yml", "_toc.yml"):
        shutil.copyfile(REPO / name, dest / name)
    if (dest / "book").exists():
        shutil.rmtree(dest / "book")
    shutil.copytree(REPO / "book", dest / "book")


def build_html(src: Path) -> Path:
    """Run Jupyter Book 1 on the staged tree; fail on any warning."""
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(src), "--path-output", str(REPO),
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
               only: list[str] | None = None) -> Path:
    """Execute the chapters and build the HTML book; return the path of index.html."""
    overrides = overrides or {}
    src = BUILD / "book-src"
    src.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    chapters = execute_all(profile, overrides, src, only)
    stage_book(src)
    index = build_html(src)
    for chapter in chapters:
        page = BUILD / "html" / "notebooks" / f"{chapter.source.stem}.html"
        if not page.exists():
            raise BookError(f"No page was rendered for {chapter.source.name} (expected {page}).")
    print(f"Book built in {time.perf_counter() - start:.0f} s: {index}", file=sys.stderr)
    return index


def _run(args: argparse.Namespace) -> int:
    overrides = parse_overrides(args.set, args.profile)
    try:
        build_book(args.profile, overrides, args.only)
    except BookError as err:
        print(f"innmf book: {err}", file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "book", help="execute every chapter (papermill) and build the HTML book under _build/html"
    )
    parser.add_argument("--profile", default="quick", choices=["smoke", "quick", "paper"])
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override one setting, e.g. --set corpus=timit:/data/TIMIT (repeatable)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="execute only chapters whose file name contains NAME (repeatable)")
    parser.set_defaults(func=_run)
