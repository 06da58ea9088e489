"""The built book's captions and numbers: how many tables and figures have a caption,
whether a chapter numbers its own ("Table 3.1" on chapter 3's page), and no heading
that reads like one of those numbers.

:mod:`innmf.tools.book_check` collects each page's tables, figures, caption numbers and
headings and calls these; ``innmf book`` fails on what they find.
"""

from __future__ import annotations

import re

MIN_CAPTIONED = 0.95
"""The share of the book's tables and figures that must carry a caption."""

_CHAPTER = re.compile(r"^notebooks/(\d+)_[^/]*\.html$")
_NUMBERED = re.compile(r"^\s*(Figure|Table|Exercise)\s+(\d+(?:\.\d+)*)\b")
_NUMBER_LIKE = re.compile(r"^\s*(?:Fig(?:ure)?\.?|Table|Exercise|Eq(?:uation)?\.?)\s*\d")


def chapter_of(name: str) -> int | None:
    """The chapter of a built page named like ``notebooks/03_reconstruction.html`` (None for other pages)."""
    match = _CHAPTER.match(name)
    return int(match.group(1)) if match else None


def numbering_defects(name: str, numbers: list[str], headings: list[str]) -> list[str]:
    """What is wrong with one page's numbers (the checks of ``innmf book``, every chapter).

    Args:
        name: the page, relative to the book's root.
        numbers: the text of its caption numbers and admonition titles ("Table 3.1 ",
            "Exercise 2.3 (Spectral bias)", "Note"); those that do not start with
            Figure, Table or Exercise and a number are ignored.
        headings: the text of its headings.

    Returns:
        One sentence per defect: on a chapter page a number that is not "chapter.n",
        on any page a heading that starts like a figure, table or exercise number.
    """
    found = []
    chapter = chapter_of(name)
    if chapter is not None:
        wrong = sorted({f"{kind} {number}" for kind, number in
                        (m.groups() for m in map(_NUMBERED.match, numbers) if m)
                        if not re.fullmatch(rf"0*{chapter}\.\d+", number)})
        if wrong:
            found.append(f"{name}: numbered through the book, not by chapter {chapter}: {', '.join(wrong)} "
                         "(list the type in chapter_numbered_types, book/_ext/chapter_numbers.py)")
    for heading in headings:
        text = heading.replace("#", "").strip()
        if _NUMBER_LIKE.match(text):
            found.append(f"{name}: a heading reads like a figure or table number: {text!r} (the book numbers "
                         "those itself; name the content instead)")
    return found


def caption_coverage(counts: dict[str, tuple[int, int]], minimum: float = MIN_CAPTIONED) -> list[str]:
    """One defect when fewer than ``minimum`` of the book's tables and figures have a caption.

    Args:
        counts: page -> (captioned, uncaptioned) tables and figures (audio player lists
            are not counted: each player is labelled instead).
        minimum: the share required.

    Returns:
        ``[]``, or one sentence naming the share and the pages with uncaptioned ones.
    """
    captioned = sum(c for c, _ in counts.values())
    total = captioned + sum(u for _, u in counts.values())
    if total == 0 or captioned >= minimum * total:
        return []
    pages = ", ".join(f"{page} ({u})" for page, (_, u) in sorted(counts.items()) if u)
    return [f"book: {captioned} of {total} tables and figures have a caption ({100 * captioned / total:.0f} %, "
            f"below {100 * minimum:.0f} %); uncaptioned ones on {pages} (use innmf.report.captioned.table)"]
