"""The built wheel works as a library outside the repository (slow: marked ``packaging``).

Builds the wheel from a clean copy of the tracked files, installs it with ``--no-deps``
into a fresh venv in a temporary folder (no ``--system-site-packages``), and runs
``innmf reproduce --experiment all --profile smoke --corpus default`` there, from a
folder outside the repository, then loads the piano notes.

Why the dependencies are reused rather than downloaded: this machine reaches only the
package registries, and torch's CPU build (hundreds of MB) lies on disk. The fresh venv
(made without pip) sees the project venv's site-packages through a ``.pth`` line, after its own, so the
wheel (not the checkout) is what imports as ``innmf``. That alone could hide an
undeclared dependency, so the run then checks two things: ``pip check`` (every declared
requirement is satisfied) and that every third-party module that innmf's own import
statements name and the run imported belongs to a distribution in the closure of the
wheel's declared requirements (its ``fast`` extra included); one from outside that
closure fails the test by name. (Optional imports of the dependencies themselves, e.g.
numba trying ``coverage``, are theirs to declare.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.packaging

CHECK = textwrap.dedent(
    """
    import ast, importlib.metadata as md, json, re, sys
    from pathlib import Path

    import innmf
    from innmf.data.paths import data_dir
    from innmf.data.piano import load_piano_stems
    from innmf.tools.cli import main

    status = main(["reproduce", "--experiment", "all", "--profile", "smoke", "--corpus", "default",
                   "--out", sys.argv[1]])
    mix, stems, sr = load_piano_stems()

    def norm(name):
        return re.sub(r"[-_.]+", "-", name).lower()

    def requirements(dist, extras):
        out = []
        for req in md.distribution(dist).requires or []:
            name, _, marker = req.partition(";")
            extra = re.search(r"extra\\s*==\\s*['\\"]([^'\\"]+)", marker)
            if extra and extra.group(1) not in extras:
                continue
            out.append(norm(re.match(r"[A-Za-z0-9_.\\-]+", name.strip()).group(0)))
        return out

    closure, todo = set(), [("innmf", {"fast"})]
    while todo:
        dist, extras = todo.pop()
        if norm(dist) in closure:
            continue
        closure.add(norm(dist))
        try:
            todo.extend((r, set()) for r in requirements(dist, extras))
        except md.PackageNotFoundError:
            pass
    named = set()  # top-level names in innmf's own import statements (not its dependencies' optional ones)
    for path in Path(innmf.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                named.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                named.add(node.module.split(".")[0])
    owners = md.packages_distributions()
    outside = sorted(
        top for top in {m.split(".")[0] for m in list(sys.modules)} & named
        if top in owners and not any(norm(d) in closure for d in owners[top])
    )
    print(json.dumps({"status": status, "innmf_file": innmf.__file__, "data_dir": str(data_dir()),
                      "piano_sr": sr, "piano_seconds": len(mix) / sr, "stems": sorted(stems),
                      "undeclared": {t: owners[t] for t in outside}}))
    """
)


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def test_wheel_runs_reproduce_outside_the_repository(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to copy the tracked files from")
    src = tmp_path / "src"
    files = _run(["git", "-C", str(ROOT), "ls-files", "-z"]).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(src)])
    (wheel,) = wheels.glob("innmf-*.whl")

    venv = tmp_path / "venv"
    # without pip: its bundled setuptools would shadow the project venv's (pip check would
    # then flag torch's setuptools>=77); pip itself comes through the .pth line below
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)])
    _run([str(python), "-m", "pip", "check"])

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("INNMF_DATA", "PYTHONPATH")}
    out = _run([str(python), "-c", CHECK, str(work / "run")], cwd=work, env=env, timeout=1800)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == 0
    assert Path(result["innmf_file"]).is_relative_to(venv), "the checkout, not the wheel, was imported"
    assert Path(result["data_dir"]) == Path(result["innmf_file"]).parent / "_data"
    assert result["undeclared"] == {}, "imported but not declared in the wheel's requirements"
    assert result["piano_sr"] > 0 and result["piano_seconds"] > 1 and result["stems"]
    assert "summary" in out.stdout and (work / "run" / "summary.csv").is_file()
