"""The built HTML has none of the rendering defects readers once saw.

The checker (:mod:`innmf.tools.book_check`) runs at the end of every ``innmf book``;
here it is tested on small pages with one defect each, and (marked ``notebooks``) on
a real one-chapter smoke build, in its normal and its student edition.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from innmf.tools import book
from innmf.tools.book_check import check_book, page_defects

GOOD = """<html><body><main>
<p>A paragraph with a | pipe.</p>
<figure><img src="../_images/a.png"><figcaption>Figure 1: a caption</figcaption></figure>
<table class="audio-table"><tr><td>mixture</td><td><audio aria-label="mixture" controls></audio></td></tr></table>
<a href="other.html#x">other</a> <a href="https://arxiv.org/abs/2404.04439">paper</a>
</main></body></html>"""

DEFECTS = {
    "pipes": ("<p>| N | KL |\n|---|---|\n| 1000 | 5e-4 |</p>", "markdown table rendered as text"),
    "directive": ("<pre>```{list-table} A title {cite:p}`x`\n* - a</pre>", "directive is shown as text"),
    "nbval": ("<pre># NBVAL_CHECK_OUTPUT\nprint(1)</pre>", "nbval marker"),
    "path": ("<p>stored in /work/main/_build/results/quick-abc</p>", "absolute or temporary path"),
    "tmp": ("<pre>/tmp/innmf-demo-x1/trials</pre>", "absolute or temporary path"),
    "hash": ("<p>made at commit 41f52f3 on a CPU</p>", "commit hash"),
    "bar": ("<pre>chapters: 100%|██████████| 6/6 [00:12&lt;00:00,  2.00s/it]</pre>", "progress bar"),
    "figure": ('<img src="../_images/b.png">', "without a caption"),
    "audio": ("<audio controls></audio>", "without a label"),
    "link": ('<a href="missing.html">x</a>', "broken link"),
    "injected": ('<div class="cell tag_injected-parameters">x</div>', "injected parameters"),
    "store": ("<p>computed in the results store <code>_build/results/quick-813b6e397f3737f7</code>.</p>",
              "settings-hash folder"),
    "heading": ('<h2>Figure 1: a frequency-modulated tone<a class="headerlink" href="#x">#</a></h2>',
                "heading reads like a figure"),
}


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "other.html").write_text("<html></html>")
    page = tmp_path / "page.html"
    page.write_text(GOOD.replace("</main>", body + "</main>"))
    return page


def test_clean_page_has_no_defects(tmp_path: Path):
    assert page_defects(write(tmp_path, ""), tmp_path) == []


@pytest.mark.parametrize("name", list(DEFECTS))
def test_each_defect_is_found(tmp_path: Path, name: str):
    body, message = DEFECTS[name]
    found = page_defects(write(tmp_path, body), tmp_path)
    assert len(found) == 1 and message in found[0], found


def test_student_edition_must_not_show_solutions(tmp_path: Path):
    page = write(tmp_path, '<div class="solution admonition"><p class="admonition-title">Solution to Exercise 1</p></div>')
    assert page_defects(page, tmp_path) == []
    assert "shows a solution" in page_defects(page, tmp_path, student=True)[0]


def _caption(kind: str, number: str) -> str:
    if kind == "Exercise":
        return f'<div class="exercise admonition"><p class="admonition-title">{kind} {number} (a title)</p></div>'
    return f'<table><caption><span class="caption-number">{kind} {number} </span>a caption</caption></table>'


def test_a_chapter_numbers_its_figures_tables_and_exercises_by_chapter(tmp_path: Path):
    (tmp_path / "notebooks").mkdir()
    page = tmp_path / "notebooks" / "03_reconstruction.html"

    def numbering(body: str) -> list[str]:  # this bare page lacks a footer: only the numbers are looked at
        page.write_text(f"<html><body><main>{body}</main></body></html>")
        return [d for d in page_defects(page, tmp_path) if "number" in d]

    assert numbering(_caption("Table", "3.1") + _caption("Exercise", "3.2")) == []
    (found,) = numbering(_caption("Table", "5") + _caption("Exercise", "4.1"))
    assert "not by chapter 3" in found and "Table 5" in found and "Exercise 4.1" in found
    # a page outside the chapters keeps Sphinx's numbers
    assert page_defects(write(tmp_path, _caption("Table", "5")), tmp_path) == []


@pytest.mark.parametrize("uncaptioned, fails", [(1, False), (2, True)])
def test_the_book_fails_below_95_percent_captioned(tmp_path: Path, uncaptioned: int, fails: bool):
    """19 of 20 captioned passes, 18 of 20 fails; audio player lists are not counted."""
    (tmp_path / "index.html").write_text("<html></html>")
    tables = _caption("Table", "9") * (19 - uncaptioned) + "<table><tr><td>1</td></tr></table>" * uncaptioned
    write(tmp_path, tables)  # GOOD has one captioned figure and one audio table
    found = check_book(tmp_path)
    assert bool(found) is fails, found
    if fails:
        assert "18 of 20 tables and figures have a caption" in found[0] and "page.html (2)" in found[0]


def test_check_book_needs_an_index(tmp_path: Path):
    assert "no index.html" in check_book(tmp_path)[0]


@pytest.mark.notebooks
@pytest.mark.parametrize("student", [False, True], ids=["teacher", "student"])
def test_one_chapter_builds_clean_on_a_fresh_tree(tmp_path: Path, student: bool):
    """``innmf book --only 01`` on a fresh copy of the checkout: strict Sphinx, no defects, solutions as asked."""
    import shutil

    for name in ("_config.yml", "_toc.yml"):
        shutil.copyfile(book.REPO / name, tmp_path / name)
    for name in ("book", "notebooks"):
        shutil.copytree(book.REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
    index = book.build_book("smoke", only=["01_nmf"], student=student, root=tmp_path)
    html = index.parent
    assert html == tmp_path / "_build" / ("student/html" if student else "html")
    assert check_book(html, student=student) == []
    page = (html / "notebooks" / "01_nmf_recap.html").read_text()
    assert ("Solution to" in page) is not student
    assert "Exercise 1.4" in page
    assert "Not built in this run" in (html / "notebooks" / "03_reconstruction.html").read_text()
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists()
