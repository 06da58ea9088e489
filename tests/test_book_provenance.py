"""Each page's provenance footer, the check that requires it, and numbering by chapter."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from innmf.tools.book import REPO
from innmf.tools.book_check import footer_defects, page_defects, solution_leaks
from innmf.tools.provenance import footer_text, git_commit, provenance, shown_corpus

FOOTER = '<p class="innmf-provenance"><small>{}</small></p>'
FULL = "Executed with profile quick, corpus default, 2026-05-02 14:03 UTC, commit 1c935c9."


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_commit_says_when_files_differ(tmp_path: Path):
    assert git_commit(tmp_path) == "unknown"
    (tmp_path / "a.txt").write_text("one")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "commit", "-qm", "one")
    head = _git(tmp_path, "rev-parse", "--short=7", "HEAD")
    assert re.fullmatch(r"[0-9a-f]{7}", head) and git_commit(tmp_path) == head
    (tmp_path / "new.txt").write_text("untracked files are not the build's")
    assert git_commit(tmp_path) == head
    (tmp_path / "a.txt").write_text("two")
    assert git_commit(tmp_path) == f"{head}+changes"


def test_a_corpus_is_shown_without_its_path():
    assert shown_corpus("default") == "default"
    assert shown_corpus("timit:/data/TIMIT?split=test&sa=no") == "timit:TIMIT?split=test&sa=no"
    assert shown_corpus("folder:/home/me/my speakers/") == "folder:my speakers"


def test_provenance_names_profile_overrides_corpus_date_commit(tmp_path: Path):
    record = provenance(tmp_path, "smoke", {"rank": 10, "corpus": "folder:/data/x"}, when="2026-01-02 03:04 UTC")
    assert record == {"profile": "smoke (rank=10)", "corpus": "folder:x", "date": "2026-01-02 03:04 UTC",
                      "commit": "unknown"}
    assert provenance(tmp_path, "quick")["corpus"] == "default"


def test_footer_sentences():
    build = {"profile": "smoke", "corpus": "default", "date": "2026-01-03 00:00 UTC", "commit": "abcdef1"}
    chapter = dict(build, date="2026-01-02 00:00 UTC", commit="1234567")
    assert footer_text(chapter, build, "chapter") == ("Executed with profile smoke, corpus default, 2026-01-02 00:00 UTC, "
                                                      "commit 1234567; page built 2026-01-03 00:00 UTC.")
    assert footer_text(None, build) == "Built with profile smoke, corpus default, 2026-01-03 00:00 UTC, commit abcdef1."
    placeholder = footer_text(None, build, "placeholder")
    assert placeholder.startswith("Placeholder of a partial build") and "commit abcdef1" in placeholder
    for text in (footer_text(chapter, build, "chapter"), footer_text(None, build), placeholder):
        assert footer_defects("notebooks/01_x.html", [text]) == []


def _page(tmp_path: Path, body: str, name: str = "notebooks/01_x.html") -> Path:
    page = tmp_path / name
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(f"<html><body><main><p>Text.</p>{body}</main></body></html>")
    return page


def test_chapter_pages_need_a_footer_where_a_commit_may_be_shown(tmp_path: Path):
    assert page_defects(_page(tmp_path, FOOTER.format(FULL)), tmp_path) == []
    assert "no provenance footer" in page_defects(_page(tmp_path, ""), tmp_path)[0]
    assert page_defects(_page(tmp_path, "", "book/intro.html"), tmp_path) == []  # prose: optional
    hash_outside = page_defects(_page(tmp_path, "<p>made at commit 41f52f3</p>" + FOOTER.format(FULL)), tmp_path)
    assert len(hash_outside) == 1 and "commit hash is shown" in hash_outside[0]


@pytest.mark.parametrize("footer, problem", [
    (FULL.replace("commit 1c935c9", "at 1c935c9"), "lacks the commit"),
    (FULL.replace("profile quick, ", ""), "lacks the profile"),
    (FULL.replace(", 2026-05-02 14:03 UTC", ""), "lacks the date"),
    (FULL.replace("corpus default", "corpus timit:/home/me/TIMIT"), "path is shown in the footer"),
])
def test_a_footer_missing_a_field_is_a_defect(tmp_path: Path, footer: str, problem: str):
    found = page_defects(_page(tmp_path, FOOTER.format(footer)), tmp_path)
    assert len(found) == 1 and problem in found[0], found


def test_one_footer_per_page(tmp_path: Path):
    found = page_defects(_page(tmp_path, FOOTER.format(FULL) * 2), tmp_path)
    assert found == ["notebooks/01_x.html: 2 provenance footers (one per page)"]


def test_solution_markup_anywhere_in_a_student_build_is_found(tmp_path: Path):
    (tmp_path / "_sources" / "notebooks").mkdir(parents=True)
    (tmp_path / "_sources" / "notebooks" / "01_x.ipynb").write_text('{"source": ["```{solution-start} ex-a\\n"]}')
    (tmp_path / "_downloads" / "d").mkdir(parents=True)
    (tmp_path / "_downloads" / "d" / "01_x.py").write_text("# Solutions live between `solution-start` markers.\n")
    assert solution_leaks(tmp_path) == ["_sources/notebooks/01_x.ipynb: the student edition holds a solution "
                                        "(solution markup in this file)"]


def _extension():
    spec = importlib.util.spec_from_file_location("chapter_numbers", REPO / "book" / "_ext" / "chapter_numbers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_exercises_are_renumbered_by_chapter_and_order():
    ext = _extension()
    env = SimpleNamespace(toc_fignumbers={
        "notebooks/02_implicit_factors": {"exercise": {"ex-a": (5,), "ex-b": (6,), "ex-c": (7,)},
                                          "figure": {"fig-x": (9,)}},
        "notebooks/12_late": {"exercise": {"ex-z": (1,)}},
        "book/intro": {"exercise": {"ex-i": (1,)}},
    })
    app = SimpleNamespace(config=SimpleNamespace(chapter_numbered_types=["exercise"]))
    assert ext._renumber(app, env) == ["notebooks/02_implicit_factors", "notebooks/12_late", "book/intro"]
    assert env.toc_fignumbers["notebooks/02_implicit_factors"] == {
        "exercise": {"ex-a": (2, 1), "ex-b": (2, 2), "ex-c": (2, 3)}, "figure": {"fig-x": (9,)}}
    assert env.toc_fignumbers["notebooks/12_late"]["exercise"] == {"ex-z": (12, 1)}
    # a page outside the chapters takes a letter in book order: the same whatever chapters were built
    assert env.toc_fignumbers["book/intro"]["exercise"] == {"ex-i": ("A", 1)}
    assert ext._renumber(app, env) == []  # stable: nothing to rewrite the second time
    assert ext.chapter_number("notebooks/00_findings") == 0 and ext.chapter_number("book/glossary") is None


def test_figures_and_tables_are_numbered_by_chapter_except_in_solutions():
    """Table 4.2 stays Table 4.2 in the student edition: a solution's tables take no number."""
    from docutils import nodes
    from docutils.utils import new_document

    ext = _extension()

    class solution_node(nodes.Admonition, nodes.Element):  # sphinx-exercise's node, by name
        pass

    doctree = new_document("04_separation")
    inside = nodes.table(ids=["tbl-power"])
    doctree += [nodes.table(ids=["tbl-a"]), solution_node("", inside), nodes.figure(ids=["fig-b"])]
    assert ext._in_solutions(doctree) == {"tbl-power"}
    env = SimpleNamespace(
        toc_fignumbers={"notebooks/04_separation": {"table": {"tbl-a": (7,), "tbl-power": (8,), "tbl-c": (9,)},
                                                    "figure": {"fig-b": (3,)}}},
        chapter_unnumbered={"notebooks/04_separation": {"tbl-power"}})
    app = SimpleNamespace(config=SimpleNamespace(chapter_numbered_types=["exercise", "figure", "table"]))
    assert ext._renumber(app, env) == ["notebooks/04_separation"]
    assert env.toc_fignumbers["notebooks/04_separation"] == {"table": {"tbl-a": (4, 1), "tbl-c": (4, 2)},
                                                             "figure": {"fig-b": (4, 1)}}


def test_the_table_style_ships_its_stylesheet():
    """book/_ext/table_style.py serves its CSS from its own folder, whatever folder the build is staged in."""
    spec = importlib.util.spec_from_file_location("table_style", REPO / "book" / "_ext" / "table_style.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    calls: list[tuple] = []
    app = SimpleNamespace(connect=lambda *a, **k: calls.append(("connect", *a)),
                          add_css_file=lambda name: calls.append(("css", name)),
                          config=SimpleNamespace(html_static_path=[]))
    ext.setup(app)
    ext._add_static(app)
    assert ("css", "innmf-tables.css") in calls
    assert (Path(app.config.html_static_path[0]) / "innmf-tables.css").is_file()
