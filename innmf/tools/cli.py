"""The ``innmf`` command line (also ``python -m innmf``).

Subcommands live next to the code they drive; each of those modules exposes
``register(subparsers)`` which adds its parser and sets ``func`` (called with the
parsed arguments, returns an exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from innmf import __version__

COMMAND_MODULES = [
    "innmf.tools.book",  # innmf book
    "innmf.tools.bench.units",  # innmf bench
    "innmf.tools.corpus_cli",  # innmf corpus
    "innmf.tools.reproduce_cli",  # innmf reproduce
    "innmf.tools.study_cli",  # innmf study
    "innmf.tools.doctor",  # innmf doctor
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="innmf",
        description="iN-NMF: NMF with implicit neural representations (arXiv:2404.04439).",
    )
    parser.add_argument("--version", action="version", version=f"innmf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:  # the subcommand is not part of this build
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
