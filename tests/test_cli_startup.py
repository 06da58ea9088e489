"""Start-up of the command line (issue 25, item 4): ``innmf --help`` and ``innmf CMD --help``
import none of the heavy libraries, and ``import innmf.data`` leaves SciPy's signal and stats out.

Each case runs in a fresh interpreter (this one has imported everything already) and
prints which heavy modules ended up in ``sys.modules``; the property is checked, not the time.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from innmf.tools import cli

HEAVY = ("torch", "scipy.signal", "scipy.stats", "pandas", "matplotlib", "librosa", "numba")

PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _heavy_after(body: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(body=body, heavy=HEAVY)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _help_body(*argv: str) -> str:
    return ("import contextlib, io\nfrom innmf.tools.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    try:\n        main({list(argv)!r})\n    except SystemExit as e:\n        assert e.code == 0, e.code")


def test_top_level_help_imports_nothing_heavy():
    assert _heavy_after(_help_body("--help")) == []


def test_the_entry_point_help_imports_nothing_heavy():
    # `python -m innmf` runs innmf/__main__.py, the same path as the `innmf` script
    body = ("import contextlib, io, runpy\nwith contextlib.redirect_stdout(io.StringIO()):\n"
            "    sys.argv = ['innmf', '--help']\n    try:\n        runpy.run_module('innmf', run_name='__main__')\n"
            "    except SystemExit as e:\n        assert e.code == 0, e.code")
    assert _heavy_after(body) == []


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_each_command_help_imports_nothing_heavy(command):
    assert _heavy_after(_help_body(command, "--help")) == []


def test_import_innmf_data_leaves_scipy_signal_and_stats_out():
    heavy = _heavy_after("import innmf.data\nfrom innmf.data import load_corpus, check_corpus, read_audio")
    assert not {"scipy.signal", "scipy.stats", "torch"} & set(heavy)


def test_innmf_data_exports_every_name_and_refuses_unknown_ones():
    import innmf.data

    for name in innmf.data.__all__:
        assert getattr(innmf.data, name).__name__ == name
    assert set(innmf.data.__all__) <= set(dir(innmf.data))
    with pytest.raises(AttributeError, match="no_such_name"):
        innmf.data.no_such_name  # noqa: B018


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_the_listed_help_line_is_the_commands_own(command):
    # `innmf --help` shows COMMANDS' line without importing the module: it must not drift from it
    parser = cli.build_parser(command)
    sub = next(a for a in parser._actions if a.dest == "command")
    real = {a.dest: a.help for a in sub._choices_actions}
    assert real[command] == cli.COMMANDS[command][1]


def test_only_the_chosen_command_gets_its_full_parser():
    assert cli.chosen_command(["bench", "--quick"]) == "bench"
    assert cli.chosen_command(["--version"]) is None and cli.chosen_command(["benhc"]) is None
    parser = cli.build_parser("corpus")
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(cli.COMMANDS)
    assert sub.choices["corpus"].add_help and not sub.choices["bench"].add_help  # bench: a one-line stub


def test_a_mistyped_command_names_the_choices(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["benhc"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'benhc'" in err and "bench" in err


def test_startup_seconds_is_a_positive_median():
    from innmf.tools.bench.timing import startup_seconds

    seconds = startup_seconds(1)
    assert math.isfinite(seconds) and 0 < seconds < 60
    with pytest.raises(ValueError, match="runs must be at least 1"):
        startup_seconds(0)
