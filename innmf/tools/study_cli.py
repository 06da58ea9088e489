"""``innmf study``: the study "iN-NMF at its best" from the command line.

Runs (or resumes) :func:`innmf.experiments.inr_study.run_study` against a recorded
reference run of the paper's settings, then prints the study's table (``--json``:
one JSON object with the table, the draw noise and the decision on a profile ``best``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EPILOG = """\
examples:
  innmf study --reference results/paper-embedded --out results/inr-study --trials 12 --workers 2
  innmf study --reference results/paper-embedded --out results/inr-study --from-store --json
  innmf study --reference results/smoke --out /tmp/study --trials 3 --variants "draw 2" "3000 epochs"

Re-running a command resumes it: each variant's finished trials are kept and skipped.
"""


def register(subparsers: Any) -> None:
    """Add the ``study`` subcommand to the ``innmf`` parser."""
    from innmf.experiments.inr_study import VARIANTS

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
                   help=f"variants to run (default: all of {', '.join(VARIANTS)})")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default: 1)")
    p.add_argument("--from-store", action="store_true", help="compute nothing: tables from what is stored")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run ``innmf study``; return the exit status."""
    from innmf.experiments.inr_study import load_study, run_study
    from innmf.experiments.settings import Settings
    from innmf.experiments.store import read_manifest
    from innmf.report.inr_study import best_setting, draw_noise, study_summary, study_table

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


def _speakers(df: Any) -> int:
    return len({s for pair in df["speakers"].unique() for s in str(pair).split("+")})
