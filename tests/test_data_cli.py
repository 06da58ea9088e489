"""``innmf corpus check|trials|build`` through ``innmf.tools.cli.main`` and ``python -m innmf``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from innmf.tools.cli import main
from innmf.data import Trial, load_corpus, trial_audio

REPO = Path(__file__).resolve().parents[1]


def _speakers(root: Path, seconds: dict[str, float]) -> Path:
    rng = np.random.default_rng(0)
    for name, s in seconds.items():
        (root / name).mkdir(parents=True)
        sf.write(str(root / name / "x.wav"), rng.uniform(-0.5, 0.5, int(s * 16000)), 16000)
    return root


def test_check_json_default(capsys):
    assert main(["corpus", "check", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["speaker"] for r in rows] == ["cs-f", "cs-m", "en-f", "fr-f", "it-m", "ru-f"]
    assert all(60.0 <= r["seconds"] <= 66.0 and r["sex"] in ("F", "M") and r["ok"] for r in rows)


def test_check_json_subprocess():
    out = subprocess.run([sys.executable, "-m", "innmf", "corpus", "check", "--json", "--headers-only"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert {r["speaker"] for r in json.loads(out.stdout)} == {"cs-f", "cs-m", "en-f", "fr-f", "it-m", "ru-f"}


def test_check_short_speakers_exit_codes(tmp_path, capsys):
    root = _speakers(tmp_path / "c", {"a": 4.0, "b": 4.0, "c": 1.0})
    assert main(["corpus", "check", "--corpus", f"folder:{root}", "--train-seconds", "2", "--test-seconds", "1"]) == 1
    err = capsys.readouterr().err
    assert "speaker c is too short" in err and "--skip-short" in err
    assert main(["corpus", "check", "--corpus", f"folder:{root}", "--train-seconds", "2",
                 "--test-seconds", "1", "--skip-short"]) == 0
    out, err = capsys.readouterr()
    assert "2 usable" in out and "speaker c skipped" in err
    assert main(["corpus", "check", "--corpus", f"folder:{root}", "--train-seconds", "3.5",
                 "--test-seconds", "1", "--skip-short", "--json"]) == 1
    out, err = capsys.readouterr()
    assert [r["ok"] for r in json.loads(out)] == [False, False, False]
    assert "needs at least two" in err


def test_check_reports_broken_file_and_bad_spec(tmp_path, capsys):
    root = _speakers(tmp_path / "c", {"a": 4.0, "b": 4.0, "d": 4.0})
    sf.write(str(root / "d" / "y.wav"), np.zeros(1000), 16000)
    assert main(["corpus", "check", "--corpus", f"folder:{root}", "--train-seconds", "2", "--test-seconds", "1"]) == 1
    assert "y.wav: the recording is silent" in capsys.readouterr().err
    assert main(["corpus", "check", "--corpus", f"folder:{tmp_path / 'nope'}"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["corpus", "check", "--corpus", "mp3:x"]) == 1
    assert "unknown corpus spec" in capsys.readouterr().err


def test_trials_command_replays(capsys):
    assert main(["corpus", "trials", "-n", "3", "--seed", "2", "--train-seconds", "4", "--test-seconds", "1",
                 "--pairing", "mixed"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 3
    corpus = load_corpus("default")
    for r in records:
        t = Trial.from_dict(r)
        assert t.key == r["key"] and t.seed == 2
        assert len(trial_audio(corpus, t).mixture) == 16000


def test_build_without_packages_says_how(tmp_path, capsys):
    assert main(["corpus", "build", "--debs", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "apt-get download" in err and "fillets-ng-data-cs" in err
    assert not (tmp_path / "out").exists()


def test_build_stems_calls_the_named_builder(tmp_path, monkeypatch, capsys):
    """``innmf corpus build-stems NAME --out P --subset`` runs that corpus's builder with those arguments."""
    import importlib

    import pytest

    from innmf.tools import corpus_cli

    calls = []
    for name, (module, function, _) in corpus_cli.STEMS_BUILDERS.items():
        mod = importlib.import_module(module)
        assert callable(getattr(mod, function))
        monkeypatch.setattr(mod, function, lambda out, subset=False, _n=name: calls.append((_n, out, subset)) or out)
    assert main(["corpus", "build-stems", "muldjord", "--out", str(tmp_path / "m"), "--subset"]) == 0
    assert main(["corpus", "build-stems", "ambience", "--out", str(tmp_path / "a")]) == 0
    assert calls == [("muldjord", tmp_path / "m", True), ("ambience", tmp_path / "a", False)]
    assert f"stems:{tmp_path / 'm'}" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["corpus", "build-stems", "timit", "--out", str(tmp_path)])
