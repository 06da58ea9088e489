"""Package discovery that pyproject.toml cannot express: ship the top-level ``data/`` as ``innmf._data``.

Everything else is declared in pyproject.toml. ``data/`` stays the one source of the
embedded recordings in the repository; :func:`innmf.data.paths.data_dir` finds them in a
checkout there and in an installed wheel under ``innmf/_data``.
"""

from setuptools import find_packages, setup

DATA = {"innmf._data": "data", "innmf._data.speech": "data/speech", "innmf._data.piano": "data/piano",
        "innmf._data.music": "data/music"}

setup(
    packages=[*find_packages(include=["innmf", "innmf.*"]), *DATA],
    package_dir=DATA,
    package_data={"innmf._data": ["*.md"], "innmf._data.speech": ["*.flac", "*.json"],
                  "innmf._data.piano": ["*.flac", "*.json", "*.md"],
                  "innmf._data.music": ["*.json", "*.md", "chorales/*.json", "chorales/*/split.json",
                                        "chorales/*/*/*.flac", "chorales/*/*/notes.json",
                                        *(f"{c}/{g}" for c in ("muldjord", "ambience")
                                          for g in ("*.json", "*.md", "*.txt", "*/*.flac"))]},
)
