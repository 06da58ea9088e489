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
