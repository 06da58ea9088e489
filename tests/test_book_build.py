"""``innmf book`` end to end on a tiny book: what a build publishes, keeps and never shows.

A three-chapter book is made in a temporary folder with the repository's own
``_config.yml`` and Sphinx extensions; its chapters are "executed" by a stand-in for
papermill (:func:`fake_execute`, the seam between executing and rendering), and
Jupyter Book renders them for real. One module-scoped sequence builds the full book,
then ``--only`` one changed chapter, then the student edition; the tests read what
each step left. Ctrl-C is tested on a real papermill kernel.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import nbformat
import pytest

from innmf.tools import book, book_execute
from innmf.tools.book_check import check_book
from innmf.tools.cli import main

from signals_helper import terminal_sigint

REPO = book.REPO
CHAPTER = '''# %% [markdown]
# # {n}. Chapter {name}
#
# Prose of chapter {n}.

# %% tags=["parameters"]
profile = "quick"
overrides = {{}}

# %%
value_{n} = {n} * 10

# %% [markdown]
# ## Exercises
#
# ```{{exercise}} First of chapter {n}
# :label: ex-{name}-one
# Compute something.
# ```
#
# ```{{solution-start}} ex-{name}-one
# :class: dropdown
# ```

# %%
secret_{n}_one = value_{n} + 4242

# %% [markdown]
# Hidden reasoning of chapter {n}.
#
# ```{{solution-end}}
# ```
#
# ```{{exercise}} Second of chapter {n}
# :label: ex-{name}-two
# Compute more.
# ```
#
# ```{{solution-start}} ex-{name}-two
# :class: dropdown
# ```

# %%
secret_{n}_two = value_{n} * 4343

# %% [markdown]
# ```{{solution-end}}
# ```
'''
NAMES = ("alpha", "beta", "gamma")


def solution_text(n: int) -> list[str]:
    """Everything of chapter ``n``'s solutions: code, prose, and the outputs fake_execute gives them."""
    return [f"secret_{n}_one = value_{n} + 4242", f"secret_{n}_two = value_{n} * 4343",
            f"Hidden reasoning of chapter {n}", f"output of secret_{n}_one"]


def make_book(root: Path, names: tuple[str, ...] = NAMES, first_cell: str = "") -> Path:
    """A checkout with the repository's configuration and extensions and one chapter per name."""
    (root / "notebooks").mkdir(parents=True)
    (root / "book").mkdir()
    shutil.copyfile(REPO / "_config.yml", root / "_config.yml")
    shutil.copytree(REPO / "book" / "_ext", root / "book" / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(REPO / "book" / "references.bib", root / "book" / "references.bib")
    (root / "book" / "intro.md").write_text("# A tiny book\n\nIts introduction.\n")
    toc = "format: jb-book\nroot: book/intro\nchapters:\n"
    for n, name in enumerate(names, start=1):
        text = CHAPTER.format(n=n, name=name).replace("# %%\nvalue_", f"# %%\n{first_cell}value_")
        (root / "notebooks" / f"{n:02d}_{name}.py").write_text(text)
        toc += f"  - file: notebooks/{n:02d}_{name}\n"
    (root / "_toc.yml").write_text(toc)
    return root


CALLS: list[str] = []


def fake_execute(source: Path, output: Path, profile: str = "quick", overrides: dict | None = None,
                 timeout: int = 1800, parameters: dict | None = None, root: Path | None = None) -> float:
    """Stand-in for papermill: every code cell gets an output naming what it computed."""
    CALLS.append(source.stem)
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        if cell.cell_type == "code":
            name = cell.source.split("=")[0].strip().splitlines()[-1]
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"output of {name}\n")]
    output.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, output)
    return 0.0


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


def snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Full build, then ``--only beta`` after changing chapter 2, then the student edition."""
    root = make_book(tmp_path_factory.mktemp("book"))
    if shutil.which("git"):
        git(root, "init", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "tiny book")
    out: dict = {"root": root, "html": root / "_build" / "html", "student": root / "_build" / "student"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(book_execute, "execute_chapter", fake_execute)
        CALLS.clear()
        book.build_book("smoke", root=root)
        out["full"], out["full_calls"] = snapshot(out["html"]), list(CALLS)
        out["full_pages"] = {p.name: p.read_text() for p in (out["html"] / "notebooks").glob("*.html")}
        beta = root / "notebooks" / "02_beta.py"
        beta.write_text(beta.read_text().replace("Prose of chapter 2.", "Changed prose of chapter 2."))
        CALLS.clear()
        book.build_book("smoke", only=["beta"], root=root)
        out["only"], out["only_calls"] = snapshot(out["html"]), list(CALLS)
        book.build_book("smoke", student=True, root=root)
        out["after_student"] = snapshot(out["html"])
    return out


def test_only_keeps_every_other_page(builds: dict):
    """The acceptance test: after a full build, ``--only`` one chapter leaves every other file as it was."""
    assert builds["full_calls"] == ["01_alpha", "02_beta", "03_gamma"]
    assert builds["only_calls"] == ["02_beta"]
    full, only = builds["full"], builds["only"]
    assert set(full) <= set(only), "a partial build deleted files"
    mine = [rel for rel in full if full[rel] != only[rel]]
    assert "notebooks/02_beta.html" in mine
    # only chapter 2's page, its _sources and its downloads changed
    assert all(rel == "notebooks/02_beta.html" or rel.startswith(("_sources/notebooks/02_beta.", "_downloads/"))
               for rel in mine), mine
    assert all("02_beta" in rel for rel in mine)
    for name in ("01_alpha.html", "03_gamma.html"):
        assert (builds["html"] / "notebooks" / name).read_text() == builds["full_pages"][name]
    page = (builds["html"] / "notebooks" / "02_beta.html").read_text()
    assert "Changed prose of chapter 2." in page and "Not built in this run" not in page


def test_each_build_records_its_chapter_times(builds: dict):
    times = json.loads((builds["root"] / "_build" / "book-times.json").read_text())
    assert times["jobs"] == 1 and times["total_seconds"] >= times["executing_seconds"] >= 0
    assert times["command"] == "innmf book --jobs 1" and times["profile"] == "smoke" and times["cpu_model"]
    # the last build (the student edition) took every chapter from the cache
    assert times["chapters"] == {name: {"cached": True, "seconds": 0.0, "cpu_seconds": 0.0}
                                 for name in ("01_alpha", "02_beta", "03_gamma")}


def test_every_chapter_page_carries_its_provenance(builds: dict):
    commit = git(builds["root"], "rev-parse", "--short=7", "HEAD") if shutil.which("git") else "unknown"
    html_root = builds["html"]
    assert check_book(html_root) == []  # which requires the footer on every chapter page
    for page in sorted((html_root / "notebooks").glob("*.html")):
        footer = re.search(r'<p class="innmf-provenance"><small>(.*?)</small></p>', page.read_text()).group(1)
        assert "profile smoke" in footer and "corpus default" in footer and re.search(r"\d{4}-\d{2}-\d{2}", footer)
        changed = page.name == "02_beta.html"  # rebuilt after its source changed: the commit says so
        assert f"commit {commit}{'+changes' if changed and commit != 'unknown' else ''}" in footer, footer


def test_exercises_are_numbered_by_chapter_in_every_edition(builds: dict):
    pages = {"full": builds["full_pages"]["02_beta.html"],
             "only": (builds["html"] / "notebooks" / "02_beta.html").read_text(),
             "student": (builds["student"] / "html" / "notebooks" / "02_beta.html").read_text()}
    for edition, page in pages.items():
        numbers = sorted(set(re.findall(r"Exercise (\d+(?:\.\d+)?)", page)))
        assert numbers == ["2.1", "2.2"], (edition, numbers)


def _texts(path: Path) -> list[str]:
    """A file's text as a reader or a program may see it: raw, as HTML text, and a notebook's strings."""
    raw = path.read_bytes().decode("utf-8", errors="ignore")
    texts = [raw, html.unescape(re.sub(r"<[^>]+>", "", raw))]
    if path.suffix in (".ipynb", ".json"):
        try:
            nb = json.loads(raw)
        except json.JSONDecodeError:
            return texts
        texts.append("\n".join("".join(c.get("source", "")) + "".join(
            "".join(o.get("text", "")) for o in c.get("outputs", [])) for c in nb.get("cells", [])))
    return texts


def found(folder: Path, needles: list[str]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            texts = _texts(path)
            for needle in needles:
                if any(needle in text for text in texts):
                    hits.setdefault(needle, []).append(path.relative_to(folder).as_posix())
    return hits


def test_student_edition_holds_no_solution_anywhere(builds: dict):
    """The acceptance test: no file under the student edition's folder has a solution's code, prose or output."""
    needles = [text for n in (1, 2, 3) for text in solution_text(n)]
    assert set(found(builds["html"], needles)) == set(needles)  # the teachers' edition has them all
    assert found(builds["student"], needles) == {}
    html_root = builds["student"] / "html"
    assert check_book(html_root, student=True) == []
    assert builds["after_student"] == builds["only"], "the student edition changed the teachers' book"
    page = _texts(html_root / "notebooks" / "02_beta.html")[1]
    assert "Compute something." in page and "value_2 = 2 * 10" in page and "output of value_2" in page


def test_student_notebooks_are_handed_out(builds: dict):
    folder = builds["student"] / "notebooks"
    assert sorted(p.name for p in folder.iterdir()) == [f"{n:02d}_{name}.{ext}" for n, name in
                                                         enumerate(NAMES, start=1) for ext in ("ipynb", "py")]
    handout = nbformat.read(folder / "02_beta.ipynb", as_version=4)
    text = "\n".join(c.source for c in handout.cells)
    assert "**Exercise 2.1 (First of chapter 2).** Compute something." in text
    assert "# Exercise 2.2 (Second of chapter 2): your answer here" in text
    assert not any(c.get("outputs") for c in handout.cells if c.cell_type == "code")
    assert "Changed prose of chapter 2." in (folder / "02_beta.py").read_text()
    # the student pages link these files, not the teachers' copies
    page = (builds["student"] / "html" / "notebooks" / "02_beta.html").read_text()
    links = re.findall(r'href="(\.\./_downloads/[^"]+)"', page)
    assert sorted(Path(link).name for link in links) == ["02_beta.ipynb", "02_beta.py"]
    for link in links:
        served = (builds["student"] / "html" / "notebooks" / link).resolve()
        assert served.read_bytes() == (folder / Path(link).name).read_bytes()


def _book(*argv: str, cwd: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.chdir(cwd)
    status = main(["book", "--profile", "smoke", *argv])
    return status, capsys.readouterr().err


def test_outside_a_checkout_says_so_and_leaves_nothing(tmp_path: Path, capsys, monkeypatch):
    status, err = _book(cwd=tmp_path, capsys=capsys, monkeypatch=monkeypatch)
    assert status == 1 and len(err.strip().splitlines()) == 1
    assert "no checkout of the book" in err and "--root" in err
    assert list(tmp_path.iterdir()) == []
    status, err = _book("--root", str(tmp_path), cwd=tmp_path, capsys=capsys, monkeypatch=monkeypatch)
    assert status == 1 and "not a checkout of the book" in err and list(tmp_path.iterdir()) == []


def test_builds_the_checkout_it_runs_in(tmp_path: Path):
    root = make_book(tmp_path / "clone")
    assert book.find_root(start=root / "notebooks") == root
    assert book.find_root(root) == root.resolve()
    assert book.chapter_sources(book.find_root(start=root)) == sorted((root / "notebooks").glob("*.py"))


@pytest.mark.parametrize("only, message", [("", "--only '' is empty"), ("  ", "is empty"),
                                           ("delta", "--only 'delta' matches no chapter")])
def test_bad_only_is_refused_before_any_work(tmp_path: Path, capsys, monkeypatch, only: str, message: str):
    root = make_book(tmp_path / "clone")
    monkeypatch.setattr(book_execute, "execute_chapter", fake_execute)
    status, err = _book("--only", only, cwd=root, capsys=capsys, monkeypatch=monkeypatch)
    assert status == 1 and message in err and "01_alpha, 02_beta, 03_gamma" in err
    assert not (root / "_build").exists()


@pytest.mark.parametrize("names", [("slow",), ("slow", "slower")], ids=["one chapter", "two side by side"])
def test_ctrl_c_prints_one_line_and_keeps_the_previous_book(tmp_path: Path, names: tuple[str, ...]):
    """SIGINT while real kernels run chapters (one, or two at once on --jobs 2): exit 130, one line,
    the published book untouched."""
    started = f"{str(tmp_path / 'started')!r} + str(__import__('os').getpid())"
    root = make_book(tmp_path / "clone", names=names,
                     first_cell=f"open({started}, 'w').close()\nimport time\ntime.sleep(120)\n")
    previous = root / "_build" / "html" / "index.html"
    previous.parent.mkdir(parents=True)
    previous.write_text("<html>the previous book</html>")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    proc = subprocess.Popen([sys.executable, "-m", "innmf", "book", "--profile", "smoke", "--jobs", str(len(names))],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=terminal_sigint)
    try:
        deadline = time.monotonic() + 120
        while (len(list(tmp_path.glob("started*"))) < len(names) and proc.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.1)
        assert len(list(tmp_path.glob("started*"))) == len(names), proc.communicate(timeout=5)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        # the kernel's graceful shutdown can take long on a loaded machine; a hang still fails,
        # with what the build had printed
        try:
            out, err = proc.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise AssertionError(f"innmf book did not exit within 180 s of Ctrl-C; it printed: {err!r}") from None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [f"innmf book: interrupted; the previous book in "
                                        f"{root.resolve() / '_build' / 'html'} is unchanged."]
    assert previous.read_text() == "<html>the previous book</html>"
    assert not list((root / "_build" / ".executed").glob("*.ipynb"))  # no half-executed chapter cached


def test_executed_notebook_keeps_no_copy_of_its_input(tmp_path: Path):
    """papermill stores a notebook given in memory as its input_path; the page's source must not carry it."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["injected-parameters"]})])
    nb.metadata["papermill"] = {"input_path": {"cells": [{"source": "```{solution-start} ex\n```"}]}, "output_path": "x"}
    path = tmp_path / "page.ipynb"
    nbformat.write(nb, path)
    book_execute.tidy_executed(path, {"profile": "smoke"})
    text = path.read_text()
    assert "solution-start" not in text and json.loads(text)["metadata"]["papermill"]["input_path"] is None
    assert "remove-cell" in json.loads(text)["cells"][0]["metadata"]["tags"]
