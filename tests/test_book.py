"""The book pipeline: cache keys, failure messages, chapter result stores."""

from pathlib import Path

import pytest

from innmf.chapters import results_dir_for
from innmf.tools.book import BookError, cache_key, chapter_sources, execute_chapter
from innmf.experiments.settings import get_profile

FAILING = '''# %% [markdown]
# # A chapter that fails

# %% tags=["parameters"]
profile = "quick"
overrides = {}

# %%
x = 1

# %%
raise RuntimeError("deliberate failure for the test")
'''


def test_cache_key_depends_on_source_and_settings(tmp_path: Path):
    source = chapter_sources()[0]
    key = cache_key(source, "smoke", {})
    assert key == cache_key(source, "smoke", {})
    assert key != cache_key(source, "quick", {})
    assert key != cache_key(source, "smoke", {"seed": 1})
    copy = tmp_path / source.name
    copy.write_text(source.read_text() + "\n# %%\nprint('changed')\n")
    assert cache_key(copy, "smoke", {}) != key


def test_cache_key_changes_with_the_recorded_results(tmp_path: Path):
    """A new recording in results/ executes the chapters that read it again."""
    (tmp_path / "notebooks").mkdir()
    source = tmp_path / "notebooks" / "03_x.py"
    source.write_text("# %%\nprint(1)\n")
    without = cache_key(source, "smoke", {})
    (tmp_path / "results" / "run").mkdir(parents=True)
    (tmp_path / "results" / "run" / "rows.csv").write_text("a\n1\n")
    first = cache_key(source, "smoke", {})
    (tmp_path / "results" / "run" / "rows.csv").write_text("a\n2\n")
    assert len({without, first, cache_key(source, "smoke", {})}) == 3


def test_failing_chapter_names_notebook_and_cell(tmp_path: Path):
    source = tmp_path / "99_failing.py"
    source.write_text(FAILING)
    with pytest.raises(BookError) as err:
        execute_chapter(source, tmp_path / "out.ipynb", profile="smoke")
    message = str(err.value)
    assert "99_failing.py" in message
    assert "code cell 3" in message and "RuntimeError" in message and "deliberate failure" in message


def test_bad_setting_fails_before_execution(tmp_path: Path):
    with pytest.raises(ValueError, match="n_trial"):
        execute_chapter(chapter_sources()[0], tmp_path / "x.ipynb", "smoke", {"n_trial": 1})


def test_results_dir_shared_by_settings_not_trial_count():
    a = results_dir_for(get_profile("quick"))
    assert a == results_dir_for(get_profile("quick", n_trials=40))
    assert a != results_dir_for(get_profile("quick", seed=3))


def test_set_splits_settings_from_chapter_parameters():
    from innmf.tools.book import split_settings

    settings, params = split_settings(["rank=10", "workers=4", "results_from=../results/paper-embedded",
                                       "results_dir=null"])
    assert settings == ["rank=10"]
    assert params == {"workers": 4, "results_from": "../results/paper-embedded", "results_dir": None}


def test_only_the_parameters_a_chapter_has_are_passed():
    from innmf.tools.book import chapter_parameters

    sources = {s.stem: s for s in chapter_sources()}
    params = {"workers": 3, "listen_trial": 1}
    assert chapter_parameters(sources["04_separation"], params) == params
    assert chapter_parameters(sources["01_nmf_recap"], params) == {}


def test_only_rejects_an_unknown_chapter_and_stubs_the_others(tmp_path: Path):
    from innmf.tools.book import placeholder_page, selected

    with pytest.raises(BookError, match="matches no chapter"):
        selected(["no_such_chapter"])
    assert [s.stem for s in selected(["03"])] == ["03_reconstruction"]
    stub = placeholder_page(chapter_sources()[1])
    assert stub.startswith("# ") and "Not built in this run" in stub


def test_student_edition_hides_solutions(tmp_path: Path):
    import yaml

    from innmf.tools.book import stage_book

    stage_book(tmp_path, student=True)
    config = yaml.safe_load((tmp_path / "_config.yml").read_text())
    assert config["sphinx"]["config"]["hide_solutions"] is True
    stage_book(tmp_path, student=False)
    assert yaml.safe_load((tmp_path / "_config.yml").read_text())["sphinx"]["config"]["hide_solutions"] is False
    assert (tmp_path / "book" / "paper_setup.md").exists()


def test_cache_key_depends_on_parameters():
    source = chapter_sources()[0]
    assert cache_key(source, "smoke", {}, {"workers": 1}) != cache_key(source, "smoke", {}, {"workers": 2})


def test_strip_solutions_removes_gated_solutions_only(tmp_path: Path):
    import nbformat

    from innmf.tools.book import strip_solutions

    cells = [
        nbformat.v4.new_markdown_cell("# Title\n\n```{exercise} One\n:label: ex-one\nDo it.\n```\n\n"
                                      "```{solution-start} ex-one\n:class: dropdown\n```"),
        nbformat.v4.new_code_cell("answer = 42"),
        nbformat.v4.new_markdown_cell("Because.\n\n```{solution-end}\n```\n\n```{exercise} Two\n:label: ex-two\n"
                                      "Again.\n```\n\n```{solution-start} ex-two\n```"),
        nbformat.v4.new_code_cell("answer = 43"),
        nbformat.v4.new_markdown_cell("```{solution-end}\n```\n\nThe end."),
    ]
    path = tmp_path / "x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    assert strip_solutions(path) == 2
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    assert "answer" not in text and "Because" not in text and "solution" not in text
    assert "Do it." in text and "Again." in text and "The end." in text


def test_only_refuses_an_empty_name():
    from innmf.tools.book import selected

    for name in ("", " "):
        with pytest.raises(BookError, match="is empty: name a chapter"):
            selected([name])
    assert selected(None) == chapter_sources()


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_partial_publish_replaces_only_the_chosen_page_and_what_it_uses(tmp_path: Path):
    from innmf.tools.book import publish

    page = ('<a href="../index.html">home</a><img src="../_images/new.png"><link href="../_static/theme.css">'
            '<a href="../_downloads/d1/02_b.py">src</a><script src="../searchindex.js"></script>')
    staged = _tree(tmp_path / "staged", {
        "index.html": "new index", "notebooks/01_a.html": "a rebuilt from an old notebook",
        "notebooks/02_b.html": page, "_images/new.png": "new figure", "_static/theme.css": "new theme",
        "_downloads/d1/02_b.py": "new source", "_sources/notebooks/02_b.ipynb": "new nb",
        "searchindex.js": "new index of words"})
    live = _tree(tmp_path / "live", {
        "index.html": "old index", "notebooks/01_a.html": "a", "notebooks/02_b.html": "old b",
        "_static/theme.css": "old theme", "_downloads/d1/02_b.py": "old source",
        "_sources/notebooks/02_b.ipynb": "old nb", "searchindex.js": "old index of words", "_images/old.png": "x"})
    publish(staged, live, ["02_b"])
    expect = {"index.html": "old index", "notebooks/01_a.html": "a", "notebooks/02_b.html": page,
              "_static/theme.css": "old theme", "_downloads/d1/02_b.py": "new source",
              "_sources/notebooks/02_b.ipynb": "new nb", "searchindex.js": "old index of words",
              "_images/old.png": "x", "_images/new.png": "new figure"}
    assert {p.relative_to(live).as_posix(): p.read_text() for p in live.rglob("*") if p.is_file()} == expect


def test_full_publish_replaces_the_whole_tree(tmp_path: Path):
    from innmf.tools.book import publish

    staged = _tree(tmp_path / "staged", {"index.html": "new", "notebooks/01_a.html": "a"})
    live = _tree(tmp_path / "live", {"index.html": "old", "notebooks/09_gone.html": "stale"})
    publish(staged, live, None)
    assert sorted(p.relative_to(live).as_posix() for p in live.rglob("*.html")) == ["index.html", "notebooks/01_a.html"]
    assert not staged.exists() and not (tmp_path / "live.old").exists()


def test_an_interrupted_execution_leaves_no_cache_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from innmf.tools import book_execute

    def interrupted(source: Path, output: Path, *args, **kwargs) -> float:
        output.write_text("half a notebook")
        raise KeyboardInterrupt

    monkeypatch.setattr(book_execute, "execute_chapter", interrupted)
    source = chapter_sources()[1]
    with pytest.raises(KeyboardInterrupt):
        book_execute.execute_chapters(tmp_path, [source], "smoke", {}, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_stage_book_writes_the_footers_for_the_extension(tmp_path: Path):
    import yaml

    from innmf.tools.book import stage_book

    stage_book(tmp_path, footers={"": "Built with profile smoke.", "notebooks/01_nmf_recap": "Executed with ..."})
    config = yaml.safe_load((tmp_path / "_config.yml").read_text())
    assert config["sphinx"]["config"]["innmf_footers"]["notebooks/01_nmf_recap"] == "Executed with ..."
    assert {"chapter_numbers", "provenance"} <= set(config["sphinx"]["local_extensions"])
    assert config["sphinx"]["config"]["chapter_numbered_types"] == ["exercise", "figure", "table"]


def test_a_dead_kernel_is_named_with_its_log(tmp_path: Path):
    source = tmp_path / "98_dying.py"
    source.write_text(FAILING.replace('raise RuntimeError("deliberate failure for the test")',
                                      'import os, sys\nprint("last words", file=sys.stderr, flush=True)\nos._exit(3)'))
    with pytest.raises(BookError, match=r"98_dying.py: the kernel died while executing it") as err:
        execute_chapter(source, tmp_path / "out.ipynb", profile="smoke")
    assert str(tmp_path / "98_dying.kernel.log") in str(err.value)
