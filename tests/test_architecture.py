"""The package's layers (import-linter contract in pyproject.toml), its linter, and its light public face."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed (pip install -e '.[dev]')")
    return str(path)


def _lint_imports(root: Path, config: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)}  # this tree's innmf, not the installed one
    return subprocess.run([_tool("lint-imports"), "--config", str(config), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_import_contract_is_kept():
    out = _lint_imports(ROOT, ROOT / "pyproject.toml")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


@pytest.mark.parametrize(
    "module,bad_import,contract",
    [
        ("data/paths.py", "import innmf.tools.cli", "Layers follow the data flow"),  # data -> tools
        ("paper/divergences.py", "import innmf.accel.kl", "Layers follow the data flow"),  # math -> speed
        ("paper/encoding.py", "import numba", "never imports the compiled kernels' toolchain"),
    ],
)
def test_import_contract_fails_on_a_wrong_import(tmp_path, module, bad_import, contract):
    """The same contract on a copy of the package with one deliberately wrong import."""
    shutil.copytree(ROOT / "innmf", tmp_path / "innmf", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "innmf" / module
    target.write_text(target.read_text() + f"\n{bad_import}  # deliberately wrong (test_architecture)\n")
    out = _lint_imports(tmp_path, tmp_path / "pyproject.toml")
    assert out.returncode != 0
    broken = [line for line in out.stdout.splitlines() if line.endswith("BROKEN")]
    assert broken and contract in " ".join(out.stdout.split()), out.stdout[-3000:]
    assert "innmf." + module[:-3].replace("/", ".") in out.stdout


def test_ruff_finds_nothing():
    out = subprocess.run([_tool("ruff"), "check", "innmf", "tests"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:]


def test_import_innmf_is_light_and_names_its_public_api():
    code = (
        "import sys, innmf\n"
        "heavy = sorted(m for m in ('torch', 'numpy', 'numba', 'innmf.models', 'innmf.data') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
        "missing = [n for n in innmf.__all__ if getattr(innmf, n, None) is None]\n"
        "assert not missing, missing\n"
        "assert innmf.SAMPLE_RATE == 16000 and callable(innmf.nmf) and innmf.ImplicitWNMF.fit\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]
    import innmf

    assert {"load_corpus", "stft", "istft", "magnitude", "PointCloud", "nmf", "ImplicitWNMF", "ImplicitWH",
            "fit_activations", "separate", "run_experiments", "get_profile", "SAMPLE_RATE"} <= set(innmf.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        innmf.nope  # noqa: B018
