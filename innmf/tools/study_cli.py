"""``innmf study``: the study "iN-NMF at its best" from the command line.

Runs (or resumes) :func:`innmf.experiments.inr_study.run_study` against a recorded
reference run of the paper's settings, then prints the study's table (``--json``:
one JSON object with the table, the draw noise and the decision on a profile ``best``).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from innmf.tools.cli import check_count

STUDY_MODULE = "innmf.experiments.inr_study"

EPILOG = """\
examples:
  innmf study --reference results/paper-embedded --out results/inr-study --trials 12 --workers 2
  innmf study --reference results/paper-embedded --out results/inr-study --from-store --json
  innmf study --reference results/smoke --out /tmp/study --trials 3 --variants "draw 2" "3000 epochs"
  innmf study --design --reference results/paper-embedded --out results/inr-design --workers 2

--design runs the INR design study instead (encoding size J, a true SIREN, the Hz
coordinate; innmf.experiments.inr_design) on the reference's trials that cover every
speaker twice, judged on fit at N0 and transfer across window sizes.

Re-running a command resumes it: each variant's finished trials are kept and skipped.
"""


def register(subparsers: Any) -> None:
    """Add the ``study`` subcommand to the ``innmf`` parser."""
    labels = variant_labels()
    listed = f"all of {', '.join(labels)}" if labels else "all the study's variants"
    p = subparsers.add_parser(
        "study",
        help="iN-NMF at its best: training budget, optimiser and network design, scored on separation",
        description=("Recompute iN-NMF under each variant of the paper's training recipe on the first "
                     "trials of a recorded run, paired with that run's NMF and NMF-interp."),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--reference", required=True,
                   help="results store of the paper's settings with NMF, iN-NMF and NMF-interp")
    p.add_argument("--out", required=True, help="the study's folder (one results store per variant)")
    p.add_argument("--trials", type=int, default=None,
                   help="trials to score, the reference's first ones (required unless --from-store)")
    p.add_argument("--variants", nargs="+", default=None, metavar="LABEL",
                   help=f"variants to run (default: {listed})")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default: 1)")
    p.add_argument("--design", action="store_true",
                   help="the INR design study (J, SIREN, Hz coordinate) on fit and transfer, not the recipe study")
    p.add_argument("--designs", nargs="+", default=None, metavar="LABEL",
                   help="with --design: designs to run (default: all)")
    p.add_argument("--from-store", action="store_true", help="compute nothing: tables from what is stored")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=main)


def check_args(args: argparse.Namespace) -> None:
    """Refuse bad counts and a study folder that would write into the reference run, before any work.

    The study writes one results store per variant under ``--out`` (and ``adam_rate.json``):
    inside ``--reference`` they would mix with the reference's own trials, and a reference
    that is one of those variant folders would be overwritten by a variant.

    Raises:
        ValueError: ``--trials`` or ``--workers`` below 1, ``--out`` equal to or inside
            ``--reference``, or ``--reference`` one of the study's variant folders.
    """
    from innmf.experiments.inr_study import VARIANTS, slug

    check_count("--trials", args.trials)
    check_count("--workers", args.workers)
    out, reference = Path(args.out).resolve(), Path(args.reference).resolve()
    if out == reference or reference in out.parents:
        raise ValueError(f"--out {args.out} is {'the' if out == reference else 'inside the'} reference run "
                         f"--reference {args.reference}; the study's stores would mix with the reference's: "
                         "give --out a folder of its own (e.g. results/inr-study).")
    if reference.parent == out and reference.name in {slug(label) for label in VARIANTS}:
        raise ValueError(f"--reference {args.reference} is the folder of the study's variant "
                         f"{reference.name!r} under --out {args.out}, which the study would overwrite: "
                         "give --out another folder.")


def main(args: argparse.Namespace) -> int:
    """Run ``innmf study``; return the exit status."""
    from innmf.experiments.inr_study import load_study, run_study
    from innmf.experiments.settings import Settings
    from innmf.experiments.store import read_manifest
    from innmf.report.inr_study import best_setting, draw_noise, study_summary, study_table

    check_args(args)
    if args.design:
        return design_main(args)
    if args.from_store:
        df = load_study(args.reference, args.out, args.trials)
    else:
        if args.trials is None:
            raise ValueError("--trials is needed to run the study (e.g. --trials 12), or pass --from-store.")
        df = run_study(args.reference, args.out, args.trials, args.variants, workers=args.workers,
                       progress=not args.quiet)
    n_ffts = Settings.from_mapping(read_manifest(args.reference)["settings"]).n_ffts
    summary = study_summary(df, n_ffts)
    table = study_table(summary)
    decision = best_setting(summary)
    noise = draw_noise(df, n_ffts) if df["method"].isin(["draw 2", "draw 3"]).any() else None
    if args.json:
        print(json.dumps({"trials": int(df["trial"].nunique()), "speakers": _speakers(df),
                          "table": table.to_dict(orient="records"),
                          "noise": None if noise is None else noise.to_dict(orient="records"),
                          "decision": decision}, indent=2))
    else:
        print(f"{df['trial'].nunique()} trials, {_speakers(df)} speakers; mean over N = {list(n_ffts)}, "
              "speaker-level 95 % intervals")
        print(table.to_string(index=False))
        if noise is not None:
            print(noise.to_string(index=False))
        print(decision["reason"], file=sys.stdout)
    return 0


def design_main(args: argparse.Namespace) -> int:
    """``innmf study --design``: run or read the design study, print its tables and verdicts."""
    from innmf.experiments.inr_design import DESIGNS, load_design, run_design
    from innmf.report.inr_design import design_summary, design_table, verdicts

    if args.from_store:
        df = load_design(args.reference, args.out)
    else:
        df = run_design(args.reference, args.out, args.designs, workers=args.workers, progress=not args.quiet)
    designs = [d for d in DESIGNS if d in set(df["method"])]
    summary = design_summary(df, designs)
    tables = {metric: design_table(summary, metric) for metric in ("kl", "sdr")}
    decided = verdicts(summary)
    if args.json:
        print(json.dumps({"trials": df.attrs["trials"], "speakers": _speakers(df),
                          "incomplete": df.attrs["incomplete"],
                          "rerun_drift": df.attrs["drift"].to_dict(orient="records"),
                          "tables": {m: t.to_dict(orient="records") for m, t in tables.items()},
                          "verdicts": decided.to_dict(orient="records")}, indent=2))
    else:
        print(f"trials {df.attrs['trials']}, {_speakers(df)} speakers; against the paper's design, "
              "speaker-level 95 % intervals, * Holm-significant")
        for metric, table in tables.items():
            print(f"\n{'KL ratio' if metric == 'kl' else 'SDR difference (dB)'}")
            print(table.to_string(index=False))
        print()
        print(decided.to_string(index=False))
        print("\nthe paper's design re-computed (the comparator) against the reference's recorded iN-NMF:")
        print(df.attrs["drift"].to_string(index=False))
    return 0


def _speakers(df: Any) -> int:
    return len({s for pair in df["speakers"].unique() for s in str(pair).split("+")})


def variant_labels() -> list[str] | None:
    """The labels of :data:`innmf.experiments.inr_study.VARIANTS`, read from its source without importing it.

    Importing the study module imports torch and pandas, seconds that ``innmf study --help``
    should not cost; its table's keys are string constants or names of module-level ones.

    Returns:
        The labels in order, or None where the source is not in that form (the help then
        does not list them; an unknown label still gets the list in its error).
    """
    # the package's spec, not the module's: finding a submodule would import the package first
    package, _, name = STUDY_MODULE.rpartition(".")
    spec = importlib.util.find_spec(package)
    folders = list(spec.submodule_search_locations or []) if spec else []
    sources = [Path(folder) / f"{name}.py" for folder in folders if (Path(folder) / f"{name}.py").is_file()]
    if not sources:
        return None
    try:
        tree = ast.parse(sources[0].read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    constants: dict[str, str] = {}  # module-level NAME = "text", e.g. PAPER_VARIANT
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name):
            continue
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            constants[target.id] = value.value
        elif target.id == "VARIANTS" and isinstance(value, ast.Dict):
            labels = [_text(key, constants) for key in value.keys]
            return [label for label in labels if label is not None] if None not in labels else None
    return None


def _text(node: ast.expr | None, constants: dict[str, str]) -> str | None:
    """A string constant, or the value of a name bound to one earlier in the module."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None
