"""``innmf reproduce``: run the paper's speech experiments (and the music experiment) from the command line.

Runs the same runners as the chapters "Reconstruction across window sizes" and
"Separating two speakers", writes the results store, ``per_trial.csv`` and
``summary.csv`` under ``--out`` and prints the summary (``--json``: one JSON object
``{"profile", "corpus", "rows": [{experiment, method, n_fft, metric, mean, std,
trials}, ...], ...}``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:  # pandas comes in when the command runs, not for `innmf reproduce --help`
    import pandas as pd

EPILOG = """\
examples:
  innmf reproduce --profile smoke --out results/smoke --json
  innmf reproduce --experiment separation --profile quick --workers 2 --out results/quick
  innmf reproduce --profile paper --corpus timit:/data/TIMIT --scheduler tcp://10.0.0.1:8786 \\
      --device cuda --out results/paper
  innmf reproduce --out results/paper --from-store     # tables from the store only
  innmf reproduce --profile paper --device cuda --batched --out results/paper-cuda
  innmf reproduce --experiment music --corpus stems:PATH --profile quick --out runs/music --json

Re-running a command resumes it: finished trials in --out are kept and skipped.
A store refuses a run whose settings differ (use another --out). n_trials may grow.
"""


def register(subparsers: Any) -> None:
    """Add the ``reproduce`` subcommand to the ``innmf`` parser."""
    p = subparsers.add_parser(
        "reproduce",
        help="run the paper's reconstruction and separation experiments",
        description=(
            "Run the speech experiments of arXiv:2404.04439 (NMF vs iN-NMF at several "
            "window sizes), resumably, serially, in local processes or on a Dask cluster."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--experiment", choices=["reconstruction", "separation", "all", "music"], default="all",
                   help="which experiment to run (default: all, the speech experiments); music: stems of a "
                   "--corpus default-music, chorales:PATH or stems:PATH (PATH/<piece>/<source>.wav)")
    p.add_argument("--profile", default="quick", help="settings profile: smoke, quick or paper "
                   "(default: quick)")
    p.add_argument("--corpus", default=None, help="corpus spec, e.g. default or timit:/path/TIMIT "
                   "(default: the profile's)")
    p.add_argument("--out", default=None, help="results folder (default: results/<profile>)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one setting, e.g. --set n_trials=10 (repeatable)")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default: 1)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch/BLAS threads per trial (default: the profile's `threads`; "
                   "1 is often fastest on a small shared machine)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a running Dask scheduler to send the trials to")
    p.add_argument("--device", default=None,
                   help="where the models run: cpu, cuda or cuda:N (default: the profile's)")
    p.add_argument("--batched", action="store_true",
                   help="train the iN-NMF networks of all trials as one grouped model, in this process (for "
                   "a GPU: --device cuda); the same store and numbers up to float rounding; not with "
                   "--workers or --scheduler")
    p.add_argument("--batch-trials", type=int, default=None, metavar="N",
                   help="with --batched: trials whose networks train together (default: all; fewer use less memory)")
    p.add_argument("--json", action="store_true", help="print one JSON object with the summary rows")
    p.add_argument("--from-store", action="store_true",
                   help="compute nothing: rebuild the tables from the store in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def settings_from_args(args: argparse.Namespace) -> Any:
    """The run settings (checked): profile, then ``--set`` overrides, then ``--corpus``/``--device``/``--threads``."""
    from innmf.experiments.settings import get_profile, parse_overrides

    overrides = parse_overrides(args.overrides, args.profile)
    if args.corpus is not None:
        overrides["corpus"] = args.corpus
    if args.device is not None:
        overrides["device"] = args.device
    if args.threads is not None:
        overrides["threads"] = args.threads
    return get_profile(args.profile, **overrides)


def check_device(device: str) -> None:
    """Refuse ``cuda`` on a machine without a usable GPU, before any work starts."""
    if str(device).startswith("cuda"):
        from innmf.data.validation import check_device as check_present

        check_present(device, option="--device")


def main(args: argparse.Namespace) -> int:
    """Run ``innmf reproduce``; return the exit status."""
    if getattr(args, "batched", False) and (args.experiment == "music" or args.from_store):
        raise ValueError("--batched trains the speech experiments' networks: not with --experiment music or "
                         "--from-store.")
    if args.experiment == "music":
        from innmf.tools.music_cli import run_music_command

        with _terminate_as_interrupt():
            return run_music_command(args)
    from innmf.experiments.runner import run_experiments
    from innmf.experiments.store import load_results, read_manifest, rewrite_tables

    experiments = ["reconstruction", "separation"] if args.experiment == "all" else [args.experiment]
    if args.from_store:
        if args.out is None:
            raise ValueError("--from-store needs --out: the folder of the results store to read.")
        manifest = read_manifest(args.out)
        settings = manifest["settings"]
        df = load_results(args.out, experiments=experiments)
        if df.empty:
            raise ValueError(f"The store {args.out} holds no {' or '.join(experiments)} trials.")
        if not rewrite_tables(args.out, df):
            print(f"innmf reproduce: {args.out} is read-only; its per_trial.csv and summary.csv are "
                  "left as they are.", file=sys.stderr)
    else:
        settings = settings_from_args(args)
        if args.batch_trials is not None and not args.batched:
            raise ValueError("--batch-trials needs --batched.")
        if args.scheduler is None:
            check_device(settings["device"])
        if args.out is None:
            args.out = f"results/{settings['profile']}"
        try:
            with _terminate_as_interrupt():
                df = run_experiments(settings, experiments, out=args.out, workers=args.workers,
                                     scheduler=args.scheduler, progress=not args.quiet, batched=args.batched,
                                     batch_trials=args.batch_trials)
        except KeyboardInterrupt as stop:
            signum = getattr(stop, "signum", signal.SIGINT)
            print(f"innmf reproduce: stopped by {signal.Signals(signum).name}; the finished trials are "
                  f"stored in {args.out}: re-run the same command to resume.", file=sys.stderr)
            return 128 + int(signum)
    try:
        _print_summary(args, settings, experiments, df)
    except BrokenPipeError:  # e.g. `innmf reproduce --json | head`: the reader left, the store is written
        sys.stdout = open(os.devnull, "w")  # Python's advice for a closed pipe: no error at exit
    return 0


def _print_summary(args: argparse.Namespace, settings: Any, experiments: list[str], df: pd.DataFrame) -> None:
    import pandas as pd

    from innmf.report.stats import summary_rows

    rows = summary_rows(df)
    if args.json:
        payload = {
            "profile": settings.get("profile"),
            "corpus": settings["corpus"],
            "experiments": experiments,
            "n_trials": int(df["trial"].nunique()),
            "out": str(args.out),
            "rows": [{k: _finite_or_none(v) for k, v in r.items()} for r in rows],
        }
        json.dump(payload, sys.stdout, default=_json_default, allow_nan=False)
        sys.stdout.write("\n")
        sys.stdout.flush()
    else:
        table = pd.DataFrame(rows)
        with pd.option_context("display.max_rows", None, "display.width", 120):
            print(table.to_string(index=False))
        print(f"\nper-trial rows and summary written to {args.out}/per_trial.csv, "
              f"{args.out}/summary.csv")
        sys.stdout.flush()


class Stopped(KeyboardInterrupt):
    """A run stopped by a signal (SIGTERM from ``kill`` or a batch scheduler's time limit)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Handle SIGTERM (``kill``, a batch scheduler's time limit) like Ctrl-C: finished
    trials are already stored, and the worker processes are stopped, not orphaned."""

    def interrupt(signum: int, frame: Any) -> None:
        raise Stopped(signum)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _finite_or_none(value: Any) -> Any:
    # a one-trial std is NaN, which is not JSON: write null
    if isinstance(value, float) and value != value:
        return None
    return value


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"Cannot write {type(obj).__name__} as JSON.")
