"""Every chapter executes on the smoke profile, and its marked summaries reproduce.

Each chapter is run with papermill exactly as ``innmf book`` runs it, then nbval
re-executes the executed notebook in lax mode: only cells tagged ``nbval-check-output``
(deterministic, rounded summaries) must reproduce their outputs. Every exercise's
solution is a code cell of its chapter, so this runs every solution on the smoke profile.
"""
import re

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from innmf.tools.book import REPO, chapter_sources, execute_chapter

CHAPTERS = chapter_sources()


def test_toc_lists_every_chapter():
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    listed = [c["file"] for c in toc["chapters"] if c["file"].startswith("notebooks/")]
    assert listed == [f"notebooks/{s.stem}" for s in CHAPTERS]


FINDINGS = "00_findings"


def test_chapters_have_parameters_and_checked_summaries():
    for source in CHAPTERS:
        text = source.read_text()
        assert '# %% tags=["parameters"]' in text, source.name
        assert 'profile = "quick"' in text, source.name
        assert re.search(r'^# %% tags=\[[^]]*"nbval-check-output"', text, re.M), source.name
        assert "NBVAL_CHECK_OUTPUT" not in text, f"{source.name}: use the nbval-check-output cell tag"
        if source.stem != FINDINGS:
            assert "## Exercises" in text, source.name
            assert "{admonition} Learning objectives" in text, source.name


def test_exercises_are_labelled_and_solved():
    """3-4 labelled exercises per chapter, each with a dropdown solution holding code."""
    for source in CHAPTERS:
        if source.stem == FINDINGS:
            continue
        text = source.read_text()
        labels = re.findall(r"^# ```\{exercise\}.*\n# :label: (\S+)", text, re.M)
        assert 3 <= len(labels) <= 4, (source.name, labels)
        for label in labels:
            start = text.index(f"# ```{{solution-start}} {label}")
            end = text.index("# ```{solution-end}", start)
            assert "# :class: dropdown" in text[start:end], (source.name, label)
            assert re.search(r"^# %%\s*$", text[start:end], re.M), f"{source.name}: {label} has no code"


def test_every_figure_cell_has_a_caption():
    """Cells that draw (plt.show, a figures.* call as the value) carry mystnb figure metadata."""
    import jupytext

    for source in CHAPTERS:
        for cell in jupytext.read(source).cells:
            if cell.cell_type != "code":
                continue
            draws = "plt.show()" in cell.source or re.search(r"^\s*(display\()?figures\.(?!audio_table|outside)",
                                                             cell.source, re.M)
            if draws:
                caption = cell.metadata.get("mystnb", {}).get("figure", {}).get("caption")
                assert caption, f"{source.name}: a figure cell has no caption: {cell.source[:80]!r}"


@pytest.mark.notebooks
@pytest.mark.parametrize("source", CHAPTERS, ids=[s.stem for s in CHAPTERS])
def test_chapter_executes_and_reproduces(source: Path, tmp_path: Path):
    executed = tmp_path / f"{source.stem}.ipynb"
    execute_chapter(source, executed, profile="smoke")
    nb = json.loads(executed.read_text())
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "chapter shows no figure"
    assert not [o for o in outputs if o.get("name") == "stderr" and "Warning" in o.get("text", "")], \
        "warnings would show in the rendered book"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", str(executed), "-q", "-p", "no:cacheprovider",
         "--nbval-current-env", f"--rootdir={tmp_path}"],
        capture_output=True, text=True, cwd=source.parent,
        env={k: v for k, v in os.environ.items() if k != "MPLBACKEND"},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
