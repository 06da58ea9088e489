"""Inspect the built HTML book for the rendering defects that readers once saw.

``innmf book`` runs :func:`check_book` after Sphinx, so a defect fails the build:
markdown tables printed as a paragraph of pipes, directives shown as text, visible nbval markers, absolute or
temporary paths and commit hashes in the text, progress bars, figures without a
caption, audio players without a label, papermill's injected parameters cell,
links to files that do not exist, a chapter page without its provenance footer
(profile, corpus, date and commit of its build: the one place a commit hash may be
shown), results-store folders named by their settings hash, and in the student edition
any solution, in the pages and in every other file of the build (``_sources``,
downloads, notebooks). Captions and numbers (:mod:`innmf.tools.book_captions`): fewer
than 95 % of the book's tables and figures captioned, a chapter's figure, table or
exercise numbered other than by its chapter ("Table 3.1" on chapter 3's page), a
heading that reads like a number ("Figure 1: ...").
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

from innmf.tools.book_captions import caption_coverage, numbering_defects
from innmf.tools.provenance import FOOTER_CLASS

_PATHS = re.compile(r"(?<![\w.])(/(?:work|home|tmp|root|Users|private|var/folders)/[\w.+-]+)")
_HASH = re.compile(r"\b(?:commit|at)\s+`?[0-9a-f]{7,40}\b")
_BAR = re.compile(r"\d+%\|[█▏▎▍▌▋▊▉ #]*\||\d+(?:\.\d+)?it/s\]|s/it\]")
_STORE = re.compile(r"(?:_build/)?results/[\w.]+-[0-9a-f]{8,}\b")
"""A results store named by its settings hash (``_build/results/quick-813b6e39...``): noise to a reader."""
_PIPES = re.compile(r"\|\s*-{3,}\s*\|")
_FOOTER_FIELDS = {
    "profile": re.compile(r"\bprofile \w+"),
    "corpus": re.compile(r"\bcorpus \S+"),
    "date": re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    "commit": re.compile(r"\bcommit (?:[0-9a-f]{7,40}(?:\+changes)?|unknown)\b"),
}
_SOLUTION_MARKUP = re.compile(r"\{solution(?:-start|-end)?\}")
_TEXT_FILES = (".html", ".ipynb", ".py", ".md", ".txt", ".js", ".json")
"""Files of a build that may carry a chapter's text (searched for solutions in the student edition)."""


class _Page(HTMLParser):
    """Collects a page's visible text, figures, audio players and links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.paragraphs: list[str] = []
        self.images: list[bool] = []  # per output image: inside a <figure> that has a caption
        self.figures: list[dict[str, bool]] = []
        self.audio: list[str] = []  # per player: its label, "" when none
        self.links: list[str] = []
        self.classes: set[str] = set()
        self._paragraph: list[str] | None = None
        self._skip = 0
        self.footers: list[str] = []  # the text of each provenance footer
        self._footer_depth = 0  # > 0 inside a footer: its text is not the page's text
        self.tables: list[bool] = []  # per table (audio player lists aside): has a <caption>
        self._open_tables: list[int | None] = []  # index into tables, None for an audio list
        self.numbers: list[str] = []  # caption numbers and exercise titles: "Table 3.1 ", "Exercise 2.3 (...)"
        self.headings: list[str] = []
        self._collect: list[tuple[list[str], int]] = []  # (where the text goes, depth of its element)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.classes.update(a.get("class", "").split())
        if tag in ("script", "style"):
            self._skip += 1
        if FOOTER_CLASS in a.get("class", "").split() and not self._footer_depth:
            self.footers.append("")
            self._footer_depth = len(self.stack) + 1
        if tag == "figure":
            self.figures.append({"caption": False, "images": []})  # type: ignore[dict-item]
        if tag == "figcaption" and self.figures:
            self.figures[-1]["caption"] = True
        if tag == "table":
            counted = "audio-table" not in a.get("class", "").split()  # labelled per player instead
            self._open_tables.append(len(self.tables) if counted else None)
            if counted:
                self.tables.append(False)
        if tag == "caption" and self._open_tables and self._open_tables[-1] is not None:
            self.tables[self._open_tables[-1]] = True
        classes = a.get("class", "").split()
        for target, wanted in ((self.numbers, "caption-number" in classes or "admonition-title" in classes),
                               (self.headings, tag in ("h1", "h2", "h3", "h4", "h5", "h6"))):
            if wanted:
                target.append("")
                self._collect.append((target, len(self.stack) + 1))
        if tag == "img" and "_images/" in a.get("src", ""):
            if self.figures:
                self.figures[-1]["images"].append(len(self.images))  # type: ignore[attr-defined]
            self.images.append(False)
        if tag == "audio":
            self.audio.append(a.get("aria-label", "").strip())
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "p":
            self._paragraph = []
        if tag not in ("img", "br", "hr", "meta", "link", "input", "source"):
            self.stack.append((tag, a))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        if tag == "table" and self._open_tables:
            self._open_tables.pop()
        if tag == "figure" and self.figures:
            fig = self.figures.pop()
            for i in fig["images"]:  # type: ignore[union-attr]
                self.images[i] = bool(fig["caption"])
        if tag == "p" and self._paragraph is not None:
            self.paragraphs.append("".join(self._paragraph))
            self._paragraph = None
        while self.stack:
            if self.stack.pop()[0] == tag:
                break
        if self._footer_depth and len(self.stack) < self._footer_depth:
            self._footer_depth = 0
        self._collect = [(target, depth) for target, depth in self._collect if len(self.stack) >= depth]

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        for target, _ in self._collect:
            target[-1] += data
        if self._footer_depth:
            self.footers[-1] += data
            return
        self.text.append(data)
        if self._paragraph is not None:
            self._paragraph.append(data)


def page_defects(path: Path, root: Path, student: bool = False,
                 counts: dict[str, tuple[int, int]] | None = None) -> list[str]:
    """The defects of one HTML page, each as ``"page: what is wrong"``.

    Args:
        path: the page.
        root: the book's HTML folder (names pages, resolves links).
        student: the student edition (no solution may show).
        counts: when given, receives ``page -> (captioned, uncaptioned)`` tables and
            figures, for :func:`innmf.tools.book_captions.caption_coverage`.

    Returns:
        One sentence per defect.
    """
    parser = _Page()
    parser.feed(path.read_text(encoding="utf-8"))
    name = path.relative_to(root).as_posix()
    text = "\n".join(parser.text)
    found = []
    for para in parser.paragraphs:
        if _PIPES.search(para) or para.count("|") >= 6:
            found.append(f"{name}: a markdown table rendered as text: {para[:80]!r}")
    for directive in sorted(set(re.findall(r"(?:```|:::)\{[\w:-]+\}", text))):
        found.append(f"{name}: a MyST directive is shown as text: {directive} (a backtick in a ``` fence's "
                     "first line breaks it; use a ::: fence)")
    if "NBVAL" in text:
        found.append(f"{name}: an nbval marker is visible (use a cell tag, e.g. nbval-check-output)")
    for match in sorted(set(_PATHS.findall(text))):
        found.append(f"{name}: an absolute or temporary path is shown: {match}")
    for match in sorted(set(_HASH.findall(text))):
        found.append(f"{name}: a commit hash is shown: {match!r}")
    for match in sorted(set(_STORE.findall(text))):
        found.append(f"{name}: a results store is shown by its settings-hash folder: {match} (say what it holds)")
    if _BAR.search(text):
        found.append(f"{name}: a progress bar is shown: {_BAR.search(text).group(0)!r}")
    if "tag_injected-parameters" in parser.classes:
        found.append(f"{name}: papermill's injected parameters cell is shown")
    missing = sum(not ok for ok in parser.images)
    if missing:
        found.append(f"{name}: {missing} figure(s) without a caption (wrap them in a captioned figure)")
    unlabeled = sum(not label for label in parser.audio)
    if unlabeled:
        found.append(f"{name}: {unlabeled} audio player(s) without a label (use figures.audio_table)")
    for href in parser.links:
        url = urlparse(href)
        if url.scheme or url.netloc or href.startswith(("#", "mailto:")):
            continue
        target = (path.parent / unquote(url.path)).resolve()
        if url.path and not target.exists():
            found.append(f"{name}: broken link {href}")
    if student and ({"solution", "solution-title"} & parser.classes or "Solution to" in text):
        found.append(f"{name}: the student edition shows a solution")
    found.extend(footer_defects(name, parser.footers))
    found.extend(numbering_defects(name, parser.numbers, parser.headings))
    if counts is not None:
        captioned = sum(parser.tables) + sum(parser.images)
        counts[name] = (captioned, len(parser.tables) + len(parser.images) - captioned)
    return found


def footer_defects(name: str, footers: list[str]) -> list[str]:
    """What is wrong with a page's provenance footers (``innmf.tools.provenance``).

    A chapter page (under ``notebooks/``) has exactly one, naming profile, corpus, date
    and commit; any page may have at most one, and no footer shows a path.

    Args:
        name: the page, relative to the book's root.
        footers: the text of each footer found on it.

    Returns:
        One sentence per defect.
    """
    found = []
    if len(footers) > 1:
        found.append(f"{name}: {len(footers)} provenance footers (one per page)")
    if name.startswith("notebooks/") and not footers:
        found.append(f"{name}: no provenance footer (profile, corpus, date and commit of its build; "
                     "build with innmf book, which writes them for book/_ext/provenance.py)")
    for footer in footers[:1]:
        lacking = [field for field, pattern in _FOOTER_FIELDS.items() if not pattern.search(footer)]
        if lacking:
            found.append(f"{name}: the provenance footer lacks the {', '.join(lacking)}: {footer.strip()[:120]!r}")
        for match in sorted(set(_PATHS.findall(footer))):
            found.append(f"{name}: an absolute or temporary path is shown in the footer: {match}")
    return found


def solution_leaks(root: Path) -> list[str]:
    """Files of a built student edition that still carry solution markup (pages, ``_sources``, downloads).

    The chapters' solutions are gated blocks (``innmf.tools.student``); a file with
    their markup is a chapter with its solutions. The theme's ``_static`` is skipped.

    Args:
        root: the student edition's HTML folder (or any folder of it).

    Returns:
        One sentence per file.
    """
    found = []
    for path in sorted(Path(root).rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or path.suffix not in _TEXT_FILES or rel.startswith("_static/"):
            continue
        if _SOLUTION_MARKUP.search(path.read_text(encoding="utf-8", errors="replace")):
            found.append(f"{rel}: the student edition holds a solution (solution markup in this file)")
    return found


def check_book(html: Path, student: bool = False) -> list[str]:
    """Every defect of the built book under ``html`` (empty when there is none).

    Pages of the theme's own (search, genindex) are skipped; ``_static`` and
    ``_sources`` hold no pages. In the student edition every file is also searched
    for solutions (:func:`solution_leaks`).
    """
    root = Path(html)
    if not (root / "index.html").exists():
        return [f"{root}: no index.html; was the book built?"]
    defects: list[str] = []
    counts: dict[str, tuple[int, int]] = {}
    for page in sorted(root.rglob("*.html")):
        rel = page.relative_to(root).as_posix()
        if rel.startswith(("_static/", "_sources/", "_modules/")) or rel in ("search.html", "genindex.html",
                                                                              "py-modindex.html"):
            continue
        defects.extend(page_defects(page, root, student, counts))
    defects.extend(caption_coverage(counts))
    if student:
        defects.extend(solution_leaks(root))
    return defects
