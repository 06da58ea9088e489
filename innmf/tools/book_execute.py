"""Executing the book's chapters: papermill runs, their cache and their provenance.

Sources are py:percent notebooks in ``notebooks/`` of the book's checkout. Each is
converted in memory with jupytext and executed with papermill on a named profile (see
:mod:`innmf.experiments.settings`). An executed notebook is cached under a key made of
its source, the profile with overrides and parameters, and the package's code, so an
unchanged chapter is not executed again; it carries the profile, corpus, date and
commit of its execution (:mod:`innmf.tools.provenance`) in its metadata. A chapter
executed again because its text changed reads its costly fits from ``_build/.memo``
(:mod:`innmf.memo`, keyed by their arguments and the same code fingerprint), and the
separation chapter plays the signals its listen trial kept in the results store
(:mod:`innmf.experiments.store_signals`). Rendering is :mod:`innmf.tools.book`'s.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from innmf.memo import package_fingerprint

NOTEBOOK_PARAMETERS = ("workers", "results_dir", "results_from", "listen_trial")
"""Chapter parameters that are not settings; ``--set`` passes them to the chapters that have them."""

PROVENANCE_KEY = "innmf_provenance"
"""Metadata key of an executed notebook's provenance record."""


class BookError(RuntimeError):
    """A chapter failed to execute, the book did not build cleanly, or the command was misused."""


@dataclass
class ExecutedChapter:
    """One chapter of this build: its source, its executed notebook in the cache, and how it got there."""

    source: Path
    executed: Path
    seconds: float
    cached: bool
    cpu_seconds: float = 0.0
    """CPU seconds of its kernel and the kernel's worker processes (0 when cached)."""


def chapter_sources(root: Path) -> list[Path]:
    """The chapters of the checkout at ``root``, in book order (file names start with their number)."""
    return sorted((Path(root) / "notebooks").glob("[0-9][0-9]_*.py"))


def results_fingerprint(folder: Path) -> str:
    """Hash of the recorded results a chapter may read (every file under ``folder``; "" when absent).

    Chapters read the checkout's ``results/`` (recorded runs, benches): a new recording must
    execute them again, as a change of their text or of the package does.
    """
    digest = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(source: Path, profile: str, overrides: dict[str, Any],
              parameters: dict[str, Any] | None = None) -> str:
    """Key of an executed chapter: its text, its settings and parameters, the package's code and the
    checkout's recorded results (``results/`` beside ``notebooks/``)."""
    from innmf.experiments.settings import get_profile

    digest = hashlib.sha256(source.read_bytes())
    digest.update(json.dumps(get_profile(profile, **overrides).to_dict(), sort_keys=True).encode())
    digest.update(json.dumps(parameters or {}, sort_keys=True, default=str).encode())
    digest.update(package_fingerprint().encode())
    digest.update(results_fingerprint(source.resolve().parent.parent / "results").encode())
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


def parameter_names(source: Path) -> set[str]:
    """The names the chapter's ``parameters`` cell assigns (none without such a cell)."""
    import jupytext

    cell = next((c for c in jupytext.read(source).cells if "parameters" in c.metadata.get("tags", [])), None)
    return {line.split("=")[0].strip() for line in (cell.source.splitlines() if cell else []) if "=" in line}


def chapter_parameters(source: Path, parameters: dict[str, Any], names: set[str] | None = None) -> dict[str, Any]:
    """The subset of ``parameters`` that the chapter's ``parameters`` cell defines (``names``, when already read)."""
    names = parameter_names(source) if names is None else names
    return {k: v for k, v in parameters.items() if k in names}


def tidy_executed(path: Path, record: dict[str, str] | None = None) -> None:
    """Hide papermill's injected parameters cell, record the execution's provenance, drop the input's copy.

    The injected cell repeats the parameters cell with this build's values; readers
    see the parameters cell and, at the page's foot, the provenance ``record``.
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    if record is not None:
        nb.metadata[PROVENANCE_KEY] = dict(record)
    papermill = nb.metadata.get("papermill", {})
    if not isinstance(papermill.get("input_path"), (str, type(None))):
        # papermill records a notebook passed in memory as the whole notebook: every cell
        # again (the student edition's solutions too) in the page's downloadable source.
        papermill["input_path"] = None
    nbformat.write(nb, path)


def _logged_kernel_manager(log: Path) -> type:
    """A kernel manager whose kernel writes its own stdout and stderr to ``log``.

    The kernel's messages (ipykernel's start-up warnings, its traceback when Ctrl-C
    closes its sockets) are not the chapter's output and would bury ``innmf book``'s
    one-line report.
    """
    from jupyter_client.manager import AsyncKernelManager

    class LoggedKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            with open(log, "ab") as stream:  # the kernel keeps its own copy of the descriptor
                kw.setdefault("stdout", stream)
                kw.setdefault("stderr", stream)
                await super()._async_launch_kernel(kernel_cmd, **kw)

    return LoggedKernelManager


def execute_chapter(
    source: Path,
    output: Path,
    profile: str = "quick",
    overrides: dict[str, Any] | None = None,
    timeout: int = 1800,
    parameters: dict[str, Any] | None = None,
    root: Path | None = None,
) -> float:
    """Execute one py:percent chapter with papermill; return the seconds it took.

    Args:
        source: the chapter's ``.py`` source.
        output: where to write the executed ``.ipynb``.
        profile: ``smoke``, ``quick`` or ``paper``.
        overrides: settings that replace the profile's (injected as ``overrides``).
        timeout: seconds allowed per cell.
        parameters: further values for the chapter's ``parameters`` cell.
        root: the book's checkout, passed to the kernel as ``$INNMF_ROOT``.

    The kernel's own messages go to ``<stem>.kernel.log`` beside ``output``.

    Raises:
        BookError: naming the notebook, the cell and the error (or the kernel's log when it died).
    """
    import jupytext
    import papermill
    from nbclient.exceptions import DeadKernelError

    from innmf.experiments.settings import get_profile

    get_profile(profile, **(overrides or {}))  # fail early on a bad setting
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    output.parent.mkdir(parents=True, exist_ok=True)
    kernel_log = output.parent / f"{source.stem}.kernel.log"
    kernel_log.write_bytes(b"")
    start = time.perf_counter()
    # A non-interactive MPLBACKEND (e.g. Agg in a test run) would reach the kernel and
    # silently drop every figure from the book.
    saved = {name: os.environ.pop(name, None) for name in ("MPLBACKEND", "INNMF_ROOT")}
    if root is not None:
        os.environ["INNMF_ROOT"] = str(root)
    try:
        papermill.execute_notebook(
            notebook,
            str(output),
            parameters={"profile": profile, "overrides": dict(overrides or {}), **(parameters or {})},
            kernel_name="python3",
            cwd=str(source.parent),
            progress_bar=False,
            execution_timeout=timeout,
            kernel_manager_class=_logged_kernel_manager(kernel_log),
        )
    except DeadKernelError:
        raise BookError(f"{source.name}: the kernel died while executing it (out of memory?); "
                        f"its messages are in {kernel_log}.") from None
    except papermill.PapermillExecutionError as err:
        first_line = err.source.strip().splitlines()[0] if err.source.strip() else ""
        code = [c.source for c in notebook.cells if c.cell_type == "code"]
        where = f"code cell {code.index(err.source) + 1}" if err.source in code else "a cell"
        shown = source.relative_to(root) if root is not None and source.is_relative_to(root) else source.name
        raise BookError(
            f"{shown}: {where} (`{first_line}`) failed with {err.ename}: {err.evalue}. "
            f"The executed notebook with the traceback is {output}."
        ) from None
    finally:
        os.environ.pop("INNMF_ROOT", None)
        for name, value in saved.items():
            if value is not None:
                os.environ[name] = value
    return time.perf_counter() - start


def _execute_into_cache(source: Path, cached: Path, profile: str, overrides: dict[str, Any],
                        params: dict[str, Any], root: Path) -> tuple[float, float]:
    """Execute one chapter into ``cached`` (through a ``.partial`` file); return its wall and CPU seconds."""
    from innmf.tools.book_schedule import children_cpu_seconds
    from innmf.tools.provenance import provenance

    partial = cached.with_name(cached.stem + ".partial.ipynb")
    cpu = children_cpu_seconds()
    try:
        seconds = execute_chapter(source, partial, profile, overrides, parameters=params, root=root)
        tidy_executed(partial, provenance(root, profile, overrides))
        partial.replace(cached)
    finally:
        partial.unlink(missing_ok=True)
    return seconds, children_cpu_seconds() - cpu


def _report(chapter: ExecutedChapter) -> None:
    shown = "cached" if chapter.cached else f"{chapter.seconds:.1f} s, {chapter.cpu_seconds:.0f} CPU-s"
    print(f"  {chapter.source.stem}: {shown}", file=sys.stderr)


def execute_chapters(
    root: Path,
    chosen: list[Path],
    profile: str,
    overrides: dict[str, Any],
    cache_dir: Path,
    parameters: dict[str, Any] | None = None,
    jobs: int = 1,
) -> list[ExecutedChapter]:
    """Execute (or take from the cache) each chosen chapter; return where each executed notebook is.

    A chapter is written to ``<stem>-<key>.partial.ipynb`` and renamed when it has
    executed and been tidied, so an interrupted or failed run leaves no cache entry.

    Args:
        root: the book's checkout.
        chosen: the chapters' sources.
        profile: ``smoke``, ``quick`` or ``paper``.
        overrides: settings replacing the profile's.
        cache_dir: the cache of executed notebooks.
        parameters: chapter parameters (each chapter gets those its parameters cell has).
        jobs: chapters executed at once, each in its own process; the chapters sharing the
            speech results store wait for the first of them (:mod:`innmf.tools.book_schedule`).

    Returns:
        One :class:`ExecutedChapter` per chosen chapter, in order.
    """
    from functools import partial as bind

    cache_dir.mkdir(parents=True, exist_ok=True)
    names = {source: parameter_names(source) for source in chosen}
    params = {source: chapter_parameters(source, parameters or {}, names[source]) for source in chosen}
    cached = {source: cache_dir / f"{source.stem}-{cache_key(source, profile, overrides, params[source])}.ipynb"
              for source in chosen}
    missing = [source for source in chosen if not cached[source].exists()]
    times: dict[Path, tuple[float, float]] = {}
    if jobs > 1 and len(missing) > 1:
        from innmf.tools.book_schedule import run_side_by_side, store_dependencies

        work = bind(_execute_cached_by_name, {s: (cached[s], params[s]) for s in missing}, profile, overrides, root)
        times = run_side_by_side(missing, store_dependencies(missing, names), jobs, work,
                                 on_done=lambda s, t: _report(ExecutedChapter(s, cached[s], t[0], False, t[1])))
    done = []
    for source in chosen:
        hit, ran_beside = source not in missing, source in times
        if not hit and not ran_beside:
            times[source] = _execute_into_cache(source, cached[source], profile, overrides, params[source], root)
        seconds, cpu = times.get(source, (0.0, 0.0))
        done.append(ExecutedChapter(source, cached[source], seconds, hit, cpu))
        if not ran_beside:
            _report(done[-1])
    return done


def _execute_cached_by_name(plan: dict[Path, tuple[Path, dict[str, Any]]], profile: str,
                            overrides: dict[str, Any], root: Path, source: Path) -> tuple[float, float]:
    """:func:`_execute_into_cache` for a pool process: ``plan`` holds each chapter's cache path and parameters."""
    target, params = plan[source]
    return _execute_into_cache(source, target, profile, overrides, params, root)
