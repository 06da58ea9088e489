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
