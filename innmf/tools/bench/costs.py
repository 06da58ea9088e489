"""``python -m innmf.tools.bench.costs``: the records of "What not retraining costs" (``results/bench/``).

Two measurements (:mod:`innmf.experiments.costs`), each written as one JSON object
with the machine it ran on (CPU model with family/model/stepping, cores, BLAS, torch),
the threads, the date, the commit (``+dirty`` when ``innmf/`` differed from it), the
load average before and after, and whether the machine was shared with other jobs:

* ``time``: each method's steps timed at every N and K of a profile's plan, and the
  parameter counts (``rows``: the tidy table of :func:`~innmf.experiments.costs.measure_costs`);
* ``refits``: iN-NMF's scores with H fitted by the paper's Rprop and by MU on the
  first trials of a recorded run (``rows``: :func:`~innmf.experiments.costs.compare_refits` rows).

Every record has a ``command`` key, so ``innmf.report.speed`` (the ``innmf bench``
records) leaves it to :mod:`innmf.report.costs`. The commands that made the recorded
files are in ``results/bench/README.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path


def _machine(shared: bool, note: str) -> dict:
    import torch

    from innmf.tools.bench.machine import blas_kernels, commit, cpu_model, usable_cores

    return {"cpu_model": cpu_model(), "cores": usable_cores(), "blas": blas_kernels(), "torch_version": torch.__version__,
            "commit": commit(), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine_shared": bool(shared), "note": note, "load_average_before": list(os.getloadavg())}


def _write(record: dict, out: str | None) -> None:
    text = json.dumps(record, indent=1, allow_nan=True)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + "\n")
    else:
        print(text)


def _time(args: argparse.Namespace, record: dict) -> dict:
    from innmf.experiments.costs import PLANS, cost_settings, measure_costs
    from innmf.models.refit import MU_REFIT_ITER

    s = cost_settings(args.profile)
    plan = PLANS[args.profile]
    table = measure_costs(args.profile, rounds=args.rounds, progress=args.progress)
    record.update(profile=args.profile, threads=1, plan={k: list(v) if isinstance(v, tuple) else v
                                                          for k, v in vars(plan).items()},
                  recipe={"nmf_iter": s.nmf_iter, "inr_epochs": s.inr_epochs, "refit_epochs": s.refit_epochs,
                          "mu_refit_iter": MU_REFIT_ITER, "train_n_fft": s.train_n_fft, "hidden": s.hidden,
                          "n_freqs": s.n_freqs, "train_seconds": s.train_seconds},
                  rows=json.loads(table.to_json(orient="records")))
    if args.rounds is not None:
        record["plan"]["rounds"] = args.rounds
    return record


def _refits(args: argparse.Namespace, record: dict) -> dict:
    from innmf.experiments.costs import compare_refits_on_trials, recorded_trials
    from innmf.models.refit import MU_REFIT_ITER

    settings, trials = recorded_trials(args.store, args.trials)
    mu_iter = MU_REFIT_ITER if args.mu_iter is None else args.mu_iter
    rows = compare_refits_on_trials(settings, trials, mu_iter, workers=args.workers, progress=args.progress)
    record.update(store=args.store, settings=settings.to_dict(), threads=int(settings.threads), workers=args.workers,
                  trial_keys=[t["key"] for t in trials], mu_iter=mu_iter, rows=json.loads(rows.to_json(orient="records")))
    return record


def main(argv: list[str] | None = None) -> int:
    from innmf.experiments.costs import PLANS

    p = argparse.ArgumentParser(prog="python -m innmf.tools.bench.costs", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    t = sub.add_parser("time", help="time each method's steps and count its parameters")
    t.add_argument("--profile", choices=sorted(PLANS), default="quick")
    t.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default: the plan's)")
    r = sub.add_parser("refits", help="iN-NMF's scores with H fitted by Rprop and by MU on a recorded run's trials")
    r.add_argument("--store", default="results/paper-embedded", help="the recorded run (its settings and trials)")
    r.add_argument("--trials", type=int, default=4, help="its first this many trials")
    r.add_argument("--mu-iter", type=int, default=None, help="MU iterations (default: innmf.models.refit.MU_REFIT_ITER)")
    r.add_argument("--workers", type=int, default=1, help="processes, one thread each")
    for q in (t, r):
        q.add_argument("--out", default=None, help="write the JSON record here (default: print it)")
        q.add_argument("--shared", action="store_true", help="record that other jobs shared the machine")
        q.add_argument("--note", default="", help="a note kept in the record (e.g. what else ran)")
        q.add_argument("--progress", action="store_true")
    args = p.parse_args(argv)
    start = time.perf_counter()
    record = {"command": "python -m innmf.tools.bench.costs " + " ".join(sys.argv[1:] if argv is None else argv)}
    record.update(_machine(args.shared, args.note))
    record = _time(args, record) if args.what == "time" else _refits(args, record)
    record["load_average_after"] = list(os.getloadavg())
    record["bench_seconds"] = time.perf_counter() - start
    _write(record, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
