"""Publishing a staged HTML build of the book: the whole tree, or some chapters' pages into the last one.

:func:`innmf.tools.book.build_book` renders into a staging folder and calls
:func:`publish` only once the build is clean, so a failed or interrupted build never
changes the published book, and a partial build (``innmf book --only``) never deletes
or replaces a page it did not build.
"""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse


class _Uses(HTMLParser):
    """The local files a page links or embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            url = urlparse(value or "")
            if name in ("src", "href") and value and not (url.scheme or url.netloc) and url.path:
                self.refs.add(unquote(url.path))


def publish(staged: Path, live: Path, stems: list[str] | None) -> None:
    """Put a staged HTML build in place: the whole tree, or only the pages of ``stems``.

    A partial build (``stems``) on a tree with a published book copies each chosen
    chapter's page, its ``_sources`` and downloads (named by their source) and the
    files the page uses that the tree lacks (figures are named by their content), and
    touches no other file: other pages and the search index stay as the last build made them.

    Args:
        staged: the staged build's HTML folder (moved away by a full publish).
        live: the published book's HTML folder.
        stems: the chapters a partial build built (None: a full build). On a tree
            without a published book, a partial build is published whole.
    """
    if stems is None or not (live / "index.html").exists():
        old = live.with_name(live.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        live.parent.mkdir(parents=True, exist_ok=True)
        if live.exists():
            live.rename(old)
        try:
            staged.rename(live)
        except BaseException:  # Ctrl-C between the two renames: the previous book goes back
            if old.exists() and not live.exists():
                old.rename(live)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return
    for stem in stems:
        page = staged / "notebooks" / f"{stem}.html"
        uses = _Uses()
        uses.feed(page.read_text(encoding="utf-8"))
        files = {(page.parent / ref).resolve() for ref in uses.refs}
        files |= {p.resolve() for p in (staged / "_sources" / "notebooks").glob(f"{stem}.*")}
        for file in sorted(files):
            if not file.is_file() or not file.is_relative_to(staged.resolve()):
                continue
            rel = file.relative_to(staged.resolve())
            target = live / rel
            if rel.parts[0] not in ("_downloads", "_sources") and target.exists():
                continue  # pages, figures, theme files and the search index of the last build stay
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
        shutil.copyfile(page, live / "notebooks" / f"{stem}.html")
