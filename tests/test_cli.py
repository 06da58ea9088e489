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
    assert {"book", "bench", "corpus", "reproduce"} <= set(sub.choices)


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_book_rejects_unknown_setting(capsys):
    assert main(["book", "--profile", "smoke", "--set", "n_trial=2"]) == 1
    assert "Unknown setting 'n_trial'" in capsys.readouterr().err
