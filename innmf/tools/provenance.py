"""Where a built page comes from: profile, corpus, date and commit, shown in its footer.

``innmf book`` records a :func:`provenance` in every executed chapter (in the cached
notebook's metadata, so a chapter taken from the cache keeps the date and commit of
its execution) and passes the records to the book's Sphinx extension
``book/_ext/provenance.py``, which prints :func:`footer_text` at the foot of each page.
:mod:`innmf.tools.book_check` requires that footer on every chapter page and allows a
commit hash there only.
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FOOTER_CLASS = "innmf-provenance"
"""HTML class of the footer element (shared with the Sphinx extension and the book check)."""


def git_commit(root: Path) -> str:
    """The short commit of the checkout at ``root``, with ``+changes`` when files differ from it.

    Args:
        root: the book's checkout.

    Returns:
        e.g. ``"1c935c9"`` or ``"1c935c9+changes"``; ``"unknown"`` outside a git
        checkout or without git.
    """
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=30, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "--short=7", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}+changes" if dirty else commit


def shown_corpus(spec: str) -> str:
    """A corpus spec as a page may show it: the kind and the folder's name, never an absolute path.

    ``timit:/data/TIMIT?split=test`` becomes ``timit:TIMIT?split=test``.
    """
    kind, sep, rest = str(spec).partition(":")
    if not sep:
        return kind
    path, qsep, query = rest.partition("?")
    return f"{kind}:{Path(path).name or path}{qsep}{query}"


def now() -> str:
    """The current time as pages show it (UTC, to the minute)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def provenance(root: Path, profile: str, overrides: dict[str, Any] | None = None,
               corpus: str | None = None, when: str | None = None) -> dict[str, str]:
    """One build's (or one chapter execution's) record: profile, overrides, corpus, date, commit.

    Args:
        root: the book's checkout (for the commit).
        profile: ``smoke``, ``quick`` or ``paper``.
        overrides: settings replacing the profile's (shown after the profile's name).
        corpus: the corpus spec in effect (default: the profile's).
        when: the date (default: now).

    Returns:
        A JSON-ready dict with the keys ``profile``, ``corpus``, ``date`` and ``commit``.
    """
    from innmf.experiments.settings import get_profile

    overrides = dict(overrides or {})
    if corpus is None:
        corpus = get_profile(profile, **overrides)["corpus"]
    shown = ", ".join(f"{k}={v}" for k, v in sorted(overrides.items()) if k != "corpus")
    return {
        "profile": profile + (f" ({shown})" if shown else ""),
        "corpus": shown_corpus(corpus),
        "date": when or now(),
        "commit": git_commit(root),
    }


def footer_text(page: dict[str, str] | None, build: dict[str, str], kind: str = "page") -> str:
    """The footer sentence of one page.

    Args:
        page: the chapter's execution record (None for a page that executes nothing).
        build: this build's record.
        kind: ``"chapter"`` (an executed chapter), ``"placeholder"`` (a stand-in page of a
            partial build on a fresh tree) or ``"page"`` (prose).

    Returns:
        Plain text naming profile, corpus, date and commit.
    """
    def settings(rec: dict[str, str]) -> str:
        return f"profile {rec['profile']}, corpus {rec['corpus']}, {rec['date']}, commit {rec['commit']}"

    if kind == "chapter" and page:
        text = f"Executed with {settings(page)}"
        if page.get("date") != build["date"]:
            text += f"; page built {build['date']}"
        return text + "."
    if kind == "placeholder":
        return (f"Placeholder of a partial build (innmf book --only) with {settings(build)}; "
                "run innmf book to build this chapter.")
    return f"Built with {settings(build)}."
