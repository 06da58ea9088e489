"""Chapters executed side by side (innmf book --jobs): order, failures, CPU accounting."""

from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path

import pytest

from innmf.tools.book_schedule import children_cpu_seconds, run_side_by_side, store_dependencies

CHAPTER = '''# %% [markdown]
# # {title}

# %% tags=["parameters"]
profile = "quick"
overrides = {{}}
{extra}

# %%
{body}
'''


def chapter(folder: Path, name: str, extra: str = "", body: str = "print(1)") -> Path:
    path = folder / f"{name}.py"
    path.write_text(CHAPTER.format(title=name, extra=extra, body=body))
    return path


def stamp(folder: Path, seconds: dict[str, float], source: Path) -> str:
    """Work for the pool: note when the chapter started and ended (or fail when asked to)."""
    start = time.time()
    if seconds[source.stem] < 0:
        raise ValueError(f"{source.stem} failed on purpose")
    time.sleep(seconds[source.stem])
    (folder / f"{source.stem}.json").write_text(json.dumps([start, time.time()]))
    return source.stem


def test_chapters_sharing_the_store_wait_for_the_first(tmp_path: Path):
    a = chapter(tmp_path, "00_a", 'results_dir = None')
    b = chapter(tmp_path, "01_b", 'workers = 2')
    c = chapter(tmp_path, "02_c", 'results_dir = None  # the store')
    assert store_dependencies([a, b, c]) == {a: None, b: None, c: a}
    assert store_dependencies([b, c]) == {b: None, c: None}  # the first sharing chapter computes the store


def test_independent_chapters_run_beside_each_other_and_dependents_after(tmp_path: Path):
    a, b, c = (chapter(tmp_path, n) for n in ("00_a", "01_b", "02_c"))
    done = []
    work = partial(stamp, tmp_path, {"00_a": 3.0, "01_b": 0.5, "02_c": 0.5})
    results = run_side_by_side([a, b, c], {a: None, b: None, c: a}, 2, work,
                               on_done=lambda s, r: done.append(r))
    assert results == {a: "00_a", b: "01_b", c: "02_c"}
    spans = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}
    assert spans["01_b"][0] < spans["00_a"][1]  # b ran while a was running
    assert spans["02_c"][0] >= spans["00_a"][1]  # c waited for a
    assert sorted(done) == ["00_a", "01_b", "02_c"]


def test_a_failure_stops_new_chapters_and_lets_running_ones_finish(tmp_path: Path):
    a, b, c = (chapter(tmp_path, n) for n in ("00_a", "01_b", "02_c"))
    work = partial(stamp, tmp_path, {"00_a": 2.0, "01_b": -1, "02_c": 0.1})
    with pytest.raises(ValueError, match="01_b failed on purpose"):
        run_side_by_side([a, b, c], {a: None, b: None, c: a}, 2, work)
    assert (tmp_path / "00_a.json").exists()  # a finished (its result kept)
    assert not (tmp_path / "02_c.json").exists()  # c, waiting for a, never started


def test_children_cpu_seconds_counts_a_finished_child():
    import subprocess
    import sys

    before = children_cpu_seconds()
    subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)
    assert children_cpu_seconds() - before > 0.05


def test_execute_chapters_side_by_side_equals_one_at_a_time(tmp_path: Path):
    from innmf.tools.book_execute import BookError, execute_chapters

    import nbformat

    sources = [chapter(tmp_path, "00_sum", body="print(sum(range(10)))"),
               chapter(tmp_path, "01_words", body="print('side by side')")]
    serial = execute_chapters(tmp_path, sources, "smoke", {}, tmp_path / "serial", jobs=1)
    beside = execute_chapters(tmp_path, sources, "smoke", {}, tmp_path / "beside", jobs=2)
    for one, two in zip(serial, beside):
        assert not two.cached and two.cpu_seconds > 0
        outputs = [[c.get("outputs") for c in nbformat.read(x.executed, as_version=4).cells if c.cell_type == "code"]
                   for x in (one, two)]
        assert [o[-1][0]["text"] for o in outputs] in (["45\n"] * 2, ["side by side\n"] * 2)
    assert all(c.cached for c in execute_chapters(tmp_path, sources, "smoke", {}, tmp_path / "beside", jobs=2))

    failing = chapter(tmp_path, "02_fails", body='raise RuntimeError("deliberately")')
    with pytest.raises(BookError, match=r"02_fails.py: code cell \d+ .*RuntimeError: deliberately"):
        execute_chapters(tmp_path, [sources[0], failing], "smoke", {}, tmp_path / "failed", jobs=2)
    assert not list((tmp_path / "failed").glob("02_*.ipynb"))  # no half-executed notebook cached
    assert len(list((tmp_path / "failed").glob("00_*.ipynb"))) == 1  # the chapter beside it was kept


def test_book_refuses_zero_jobs(capsys: pytest.CaptureFixture[str]):
    from innmf.tools.cli import main

    assert main(["book", "--jobs", "0"]) == 1
    assert "--jobs 0" in capsys.readouterr().err
