"""pyproject.toml and environment.yml describe the same environment."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _normalise(req: str) -> str:
    name, _, rest = re.match(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?(.*)", req.strip()).groups()
    return name.lower().replace("_", "-") + (_ or "") + rest.replace(" ", "")


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return {_normalise(r) for r in reqs}


def _environment_requirements() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return {_normalise(r) for r in pip if not r.startswith("-e")}


def test_environment_yml_matches_pyproject():
    assert _environment_requirements() == _pyproject_requirements()


def test_pins_required_by_the_machine():
    reqs = _pyproject_requirements()
    assert "torch==2.13.0" in reqs
    assert "mir-eval<0.9" in reqs
    assert "jupyter-book==1.0.4.post1" in reqs


def test_python_version_agrees():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
