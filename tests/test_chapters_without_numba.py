"""Without numba and llvmlite, every chapter still executes on the smoke profile with the
reference backend (the plain math of ``innmf.paper``): speed is optional, the book is not.

numba and llvmlite are made unimportable by stand-in packages first on ``PYTHONPATH``,
which the papermill kernels inherit; the chapters run with ``backend="reference"``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from innmf.tools.book import REPO, chapter_sources

RUN = """
import sys
from pathlib import Path
from innmf.tools.book import chapter_sources, execute_chapter
out = Path(sys.argv[1])
for source in chapter_sources():
    seconds = execute_chapter(source, out / f"{source.stem}.ipynb", profile="smoke",
                              overrides={"backend": "reference"})
    print(f"{source.stem}: {seconds:.0f} s", flush=True)
import importlib.util
assert importlib.util.find_spec("numba") is not None  # the stand-in, which refuses to import
print("all chapters ran without numba")
"""

@pytest.mark.notebooks
def test_every_chapter_runs_without_numba_on_the_reference_backend(tmp_path: Path):
    blockers = tmp_path / "blockers"
    for name in ("numba", "llvmlite"):
        (blockers / name).mkdir(parents=True)
        (blockers / name / "__init__.py").write_text(f"raise ImportError('{name} is unavailable in this test')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blockers), str(REPO)])}
    out = tmp_path / "executed"
    done = subprocess.run([sys.executable, "-c", RUN, str(out)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=3600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert "all chapters ran without numba" in done.stdout
    assert sorted(p.stem for p in out.glob("*.ipynb")) == [s.stem for s in chapter_sources()]
    # the kernels really lacked numba: innmf.accel.checked said so in the chapters' output
    said = [p.stem for p in out.glob("*.ipynb") if "compiled fast paths are off" in p.read_text()]
    assert said, "no chapter's kernel reported the missing numba: were the stand-ins on its path?"
