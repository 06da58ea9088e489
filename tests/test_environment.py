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
    return {_normalise(r) for r in pip if not r.startswith("-")}  # not -e . or -c constraints.txt


def test_environment_yml_matches_pyproject():
    assert _environment_requirements() == _pyproject_requirements()


def test_pins_required_by_the_machine():
    reqs = _pyproject_requirements()
    assert "mir-eval<0.9" in reqs
    assert "jupyter-book==1.0.4.post1" in reqs
    # torch: a range users with their own (CUDA) build satisfy; this machine's CPU build is
    # pinned in constraints.txt, which the Makefile and environment.yml install with
    assert "torch>=2.4" in reqs and not any(r.startswith("torch==") for r in reqs)
    pins = [line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines()]
    assert "torch==2.13.0" in pins
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "-c constraints.txt" in next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))


def test_compilers_are_an_optional_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_normalise(r).split("[")[0].rstrip("<>=!~.0123456789") for r in project["dependencies"]}
    assert not names & {"numba", "llvmlite"}
    assert {_normalise(r) for r in project["optional-dependencies"]["fast"]} == {"numba", "llvmlite"}


def test_python_version_agrees():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
