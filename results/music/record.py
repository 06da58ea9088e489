"""Record the pre-registered music run on a full chorale build, one timbre at a time (resumable).

Usage: ``python results/music/record.py BUILD RUNS TIMBRE`` with BUILD a full chorale build
(``innmf corpus build-stems chorales --out BUILD``), RUNS the folder for the stores, rows and
timings, TIMBRE ``ensemble`` or ``piano``. Then ``python results/music/write_readme.py RUNS``.
"""
import json
import os
import platform
import sys
import time

from innmf.experiments.music import run_music


def main(build: str, runs: str, timbre: str) -> None:
    start = time.time()
    df = run_music(f"chorales:{build}?timbre={timbre}", profile="paper", out=f"{runs}/{timbre}", workers=2,
                   dataset=f"chorales-{timbre}")
    df.to_csv(f"{runs}/{timbre}-rows.csv", index=False)
    json.dump({"timbre": timbre, "seconds": time.time() - start, "rows": len(df), "workers": 2,
               "cpu": platform.processor(), "nproc": os.cpu_count()}, open(f"{runs}/{timbre}-timing.json", "w"))
    print("done", timbre, time.time() - start)


if __name__ == "__main__":
    main(*sys.argv[1:4])
