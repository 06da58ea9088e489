"""Record addendum 3 (ADDENDUM-3.md): score-informed separation of the chorales, one timbre at a time (resumable).

Usage: ``python results/music/record_addendum_3.py TIMBRE BUILD RUNS [WORKERS]`` (default 2) with TIMBRE ``ensemble`` or ``piano``,
BUILD the recorded run's chorale build (``innmf corpus build-stems chorales --out BUILD``) with its note
lists (``python -m innmf.data.build_chorales --notes --out BUILD`` adds them to an older build), and RUNS
the folder for the store, rows and timing. The rows are written only when the run's floor equals the
recorded chorale run's (results/music/rows.csv) on every shared piece, source and metric: the same audio.

Expected compute (measured on a shared 2-core machine, one thread, the committed fit piece r001_bwv269, 12 s,
26 components, about 95,000 points per representation): about 16 s for each NMF system, 15 s for NMF-grid
on cqt and 157 s for iN-NMF on cqt (300 + 1000 Rprop steps); the whole piece with its oracles, inversions
and scores about 3.5 min. 24 pieces a timbre on 2 workers: about 45 min a timbre, 1.5 h for both.
"""
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from innmf.experiments.music import run_music

RECORDED = Path(__file__).with_name("rows.csv")
KEY = ["dataset", "split", "piece", "source", "metric"]


def check_floor(df: pd.DataFrame) -> int:
    """How many floor rows match the recorded run's; raises when one differs or none is shared."""
    recorded = pd.read_csv(RECORDED)
    both = df[df["method"] == "floor"].merge(recorded[recorded["method"] == "floor"], on=KEY)
    if both.empty or len(both) != int((df["method"] == "floor").sum()):
        raise SystemExit(f"only {len(both)} of this run's floor rows are in {RECORDED}: not the recorded pieces.")
    # rows.csv keeps 6 significant digits: equal to that rounding, the same audio
    if not np.allclose(both["value_x"], both["value_y"], rtol=1e-5, atol=1e-6):
        raise SystemExit(f"the floor differs from {RECORDED}: not the recorded mixtures; the run is void.")
    return len(both)


def main(timbre: str, build: str, runs: str, workers: str = "2") -> None:
    start = time.time()
    dataset = f"chorales-{timbre}"
    # the worker count changes the wall time only: every piece's fit is seeded and runs on one thread
    df = run_music(f"chorales:{build}?timbre={timbre}", profile="paper", out=f"{runs}/score-{timbre}",
                   workers=int(workers), dataset=dataset, task="score-informed")
    matched = check_floor(df)
    df.to_csv(f"{runs}/score-{timbre}-rows.csv", index=False)
    json.dump({"dataset": dataset, "task": "score-informed", "seconds": time.time() - start, "rows": len(df),
               "floor_rows_matched": matched, "workers": int(workers), "cpu": platform.processor(), "nproc": os.cpu_count()},
              open(f"{runs}/score-{timbre}-timing.json", "w"))
    print("done", timbre, time.time() - start)


if __name__ == "__main__":
    main(*sys.argv[1:5])
