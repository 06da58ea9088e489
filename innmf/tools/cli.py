"""The ``innmf`` command line (also ``python -m innmf``).

Subcommands live next to the code they drive; each of those modules exposes
``register(subparsers)`` which adds its parser and sets ``func`` (called with the
parsed arguments, returns an exit status).

Start-up is kept short: ``innmf --help`` lists the subcommands from :data:`COMMANDS`
without importing any of their modules, and ``innmf CMD ...`` imports only ``CMD``'s
module, whose ``register`` imports nothing heavy (torch, pandas, SciPy's signal and
stats): those come in when the command runs. ``tests/test_cli_startup.py`` checks both.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from innmf import __version__

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module with register(subparsers), the line `innmf --help` shows for it)
    "book": ("innmf.tools.book", "execute every chapter (papermill) and build the HTML book under _build/html"),
    "bench": ("innmf.tools.bench.command", "time NMF and iN-NMF against every alternative at hand"),
    "corpus": ("innmf.tools.corpus_cli", "speech corpora: check, draw trials, rebuild the embedded one"),
    "reproduce": ("innmf.tools.reproduce_cli", "run the paper's reconstruction and separation experiments"),
    "study": ("innmf.tools.study_cli",
              "iN-NMF at its best: training budget, optimiser and network design, scored on separation"),
    "doctor": ("innmf.tools.doctor", "versions, threads, CPU, BLAS and which fast path each operation takes"),
}
"""Every subcommand, in the order ``innmf --help`` lists them (a module absent from this build is left out)."""


def check_count(name: str, value: int | None) -> None:
    """Refuse a count or size below 1 by the option's name, before any work.

    Args:
        name: the option as the user typed it, e.g. ``--repeats``.
        value: its parsed value (None: not given, accepted).

    Raises:
        ValueError: ``value`` is below 1 (the message names the option and the fix).
    """
    if value is not None and value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}; give a positive count or leave {name} out.")


def _available(module: str) -> bool:
    # a wheel built without a subcommand's module (e.g. the book) simply lacks it
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line, or None (``innmf --help``, ``innmf --version``, a typo).

    Args:
        argv: the arguments after the program name.

    Returns:
        A key of :data:`COMMANDS` or None.
    """
    for token in argv:
        if token == "--":
            return None
        if not token.startswith("-"):  # the top-level parser has options only before the command
            return token if token in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``innmf`` parser; only ``command``'s module is imported and registers its full parser.

    Args:
        command: the subcommand about to run (None: every subcommand as a one-line entry,
            enough for ``innmf --help`` and for argparse to name the choices).

    Returns:
        The parser.
    """
    parser = argparse.ArgumentParser(
        prog="innmf",
        description="iN-NMF: NMF with implicit neural representations (arXiv:2404.04439).",
    )
    parser.add_argument("--version", action="version", version=f"innmf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_line) in COMMANDS.items():
        if not _available(module):
            continue
        if name == command:
            importlib.import_module(module).register(sub)
        else:
            sub.add_parser(name, help=help_line, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``innmf`` command line; return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(chosen_command(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as err:
        print(f"innmf {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
