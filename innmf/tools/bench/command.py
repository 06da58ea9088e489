"""``innmf bench`` on the command line: its options, their checks, and the printed record.

The measurements are :func:`innmf.tools.bench.units.run_benchmarks` (``innmf bench``)
and :func:`innmf.tools.bench.trial.run_trial_benchmark` (``innmf bench --trial``); this
module imports neither, nor torch, until the command runs, so that ``innmf bench --help``
answers at once. Every count is checked by name before any measurement starts.
"""

from __future__ import annotations

import argparse
import json

from innmf.tools.cli import check_count

TRIAL_ROUNDS = 5
"""Timing rounds of the published structure's unit costs in ``--trial`` when ``--repeats`` is not given."""


def format_table(results: dict) -> str:
    """A two-column text table of a benchmark record (what ``innmf bench`` prints without ``--json``).

    Args:
        results: the record, key -> value.

    Returns:
        One line per key, values of floats to 4 significant digits.
    """
    width = max(len(k) for k in results)
    lines = []
    for key, value in results.items():
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        lines.append(f"{key:<{width}}  {text}")
    return "\n".join(lines)


def check_args(args: argparse.Namespace) -> None:
    """Refuse bad options before any work (``--trial`` runs for minutes; nothing may start for a typo).

    Raises:
        ValueError: a count below 1, or ``--trial`` with an option it does not take.
    """
    check_count("--repeats", args.repeats)
    check_count("--threads", args.threads)
    if args.trial and (args.device != "cpu" or args.quick or args.synthetic):
        raise ValueError("--trial compares CPU timings on the embedded corpus: drop --device/--quick/--synthetic.")


def _measure(args: argparse.Namespace) -> dict:
    import torch

    from innmf.tools.bench.machine import blas_kernels, commit, cpu_model, cpu_name

    if not args.trial:
        from innmf.tools.bench.units import run_benchmarks

        return run_benchmarks(args.device, args.repeats, args.quick, args.synthetic)
    from innmf.tools.bench.trial import run_trial_benchmark

    out = {"threads": torch.get_num_threads(), "torch_version": torch.__version__, "cpu": cpu_name(),
           "cpu_model": cpu_model(), "blas": blas_kernels(), "commit": commit()}
    out.update(run_trial_benchmark(args.repeats if args.repeats is not None else TRIAL_ROUNDS))
    return out


def _run(args: argparse.Namespace) -> int:
    check_args(args)
    threads = args.threads if args.threads is not None else (1 if args.trial else None)
    if threads is None:
        results = _measure(args)
    else:
        import torch
        from threadpoolctl import threadpool_limits  # installed with scikit-learn

        torch.set_num_threads(threads)  # asked for on the command line only
        with threadpool_limits(limits=threads):  # numpy's BLAS too, for scikit-learn
            results = _measure(args)
    print(json.dumps(results) if args.json else format_table(results))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``innmf bench`` to the command line."""
    p = subparsers.add_parser(
        "bench",
        help="time NMF and iN-NMF against every alternative at hand",
        description=(
            "Time one iN-NMF training epoch against the published code's structure and a plain "
            "batched PyTorch model (eager and compiled), KL multiplicative updates against "
            "scikit-learn (float32 and float64), plain numpy and torch loops and torchnmf if "
            "installed, and distinct-coordinate evaluation on the hybrid cloud against point-wise "
            "evaluation (interleaved medians after warm-up; headline: against the fastest), and "
            "the command line's own start-up (startup_s)."
        ),
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--repeats", type=int, default=None,
                   help=f"timing rounds, at least 1 (default 15; 2 with --quick; {TRIAL_ROUNDS} with --trial)")
    p.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds (for tests)")
    p.add_argument("--synthetic", action="store_true", help="use the synthetic signal, not the corpus")
    p.add_argument(
        "--threads", type=int, default=None, help="threads for torch and numpy's BLAS (default: the libraries' choice)"
    )
    p.add_argument(
        "--trial", action="store_true",
        help="time one whole trial of the paper protocol (4 window sizes, both experiments) against the "
        "published structure's unit costs measured in the same run (about 3 minutes; 1 thread unless --threads)",
    )
    p.set_defaults(func=_run)
