"""The chapters' first cells import only what the chapter needs (issue 25): torch waits until it is used.

``use_threads`` no longer imports torch; torch gets the chosen thread count whenever it
is imported, which keeps every chapter's numbers as before (one thread) while the
chapters that compute nothing with torch themselves (they read the results store) skip
its import. Each case runs in a fresh interpreter; the property is checked, not the time.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _run(body: str) -> dict:
    out = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_use_threads_limits_torch_when_it_is_imported():
    found = _run(
        "import json, sys\n"
        "from innmf.accel.runtime import use_threads\n"
        "use_threads(1)\n"
        "before = 'torch' in sys.modules\n"
        "import torch\n"
        "from threadpoolctl import threadpool_info\n"
        "print(json.dumps({'before': before, 'torch': torch.get_num_threads(),\n"
        "                  'pools': sorted({p['num_threads'] for p in threadpool_info()}),\n"
        "                  'loader': type(torch.__spec__.loader).__name__}))"
    )
    assert found == {"before": False, "torch": 1, "pools": [1], "loader": "SourceFileLoader"}


def test_use_threads_after_torch_limits_it_at_once():
    found = _run(
        "import json, torch\n"
        "from innmf.accel.runtime import use_threads\n"
        "use_threads(1)\n"
        "print(json.dumps({'torch': torch.get_num_threads()}))"
    )
    assert found == {"torch": 1}


def _imports(source: Path, first_only: bool) -> str:
    """The import statements of a chapter's first code cell after its parameters (or of all its cells), then ``use_threads(1)``."""
    import jupytext

    cells = [c for c in jupytext.read(source).cells
             if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])]
    imports = []
    for cell in cells[:1] if first_only else cells:
        code = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
        imports += [ast.unparse(node) for node in ast.walk(ast.parse(code)) if isinstance(node, (ast.Import, ast.ImportFrom))]
    return "\n".join(imports + ["from innmf.accel.runtime import use_threads", "use_threads(1)"])


@pytest.mark.parametrize("first_only", [True, False], ids=["first cell", "all cells"])
@pytest.mark.parametrize("chapter", ["00_findings", "03_reconstruction", "04_separation"])
def test_chapters_reading_the_store_do_not_import_torch(chapter, first_only):
    body = _imports(NOTEBOOKS / f"{chapter}.py", first_only)
    found = _run(f"import json, sys\n{body}\nprint(json.dumps({{'torch': 'torch' in sys.modules}}))")
    assert found == {"torch": False}


def test_the_tables_metric_names_are_the_metrics():
    from innmf.paper.metrics import SEPARATION_METRICS
    from innmf.report import tables

    assert tables.SEPARATION_METRICS == SEPARATION_METRICS
