import subprocess
import sys

from innmf import __version__
from innmf.tools.cli import build_parser, main


def test_version_via_module():
    out = subprocess.run([sys.executable, "-m", "innmf", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.strip() == f"innmf {__version__}"


def test_subcommands_registered():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"book", "bench", "corpus", "reproduce", "doctor"} <= set(sub.choices)


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_book_rejects_unknown_setting(capsys):
    assert main(["book", "--profile", "smoke", "--set", "n_trial=2"]) == 1
    assert "Unknown setting 'n_trial'" in capsys.readouterr().err


def test_doctor_reports_versions_threads_cpu_and_fast_paths(capsys):
    import json

    assert main(["doctor", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["innmf"] == __version__ and info["versions"]["torch"] != "not installed"
    assert info["torch_threads"] >= 1 and info["cpu_model"] and info["blas"]
    paths = {p["name"]: p for p in info["fast_paths"]}
    assert {"sincos", "kl_ratio", "fused_kl"} <= set(paths)
    assert all(p["fast"] or p["reason"] for p in paths.values())  # a refused path says why
    assert main(["doctor"]) == 0
    text = capsys.readouterr().out
    assert "fast paths" in text and "sincos" in text and "torch threads" in text
