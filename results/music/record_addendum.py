"""Record addendum 1 (ADDENDUM-1.md): the music design on recorded stems and on speech in ambience (resumable).

Usage: ``python results/music/record_addendum.py NAME BUILD RUNS`` with NAME ``muldjord`` or
``ambience``, BUILD its full build (``innmf corpus build-stems NAME --out BUILD``) and RUNS the
folder for the store, rows and timing. Then ``python results/music/write_readme.py RUNS``.
"""
import json
import os
import platform
import sys
import time

from innmf.experiments.music import run_music

DATASETS = {"muldjord": ("muldjord-stems", {"train_seconds": 1.5}),
            "ambience": ("ambience-speech", {"train_seconds": 2.5})}
"""Per corpus: the data set's name in the rows and the one registered override (about 48 s of training audio per source)."""


def main(name: str, build: str, runs: str) -> None:
    dataset, overrides = DATASETS[name]
    start = time.time()
    df = run_music(f"stems:{build}", profile="paper", out=f"{runs}/{name}", workers=2, dataset=dataset, **overrides)
    df.to_csv(f"{runs}/{name}-rows.csv", index=False)
    json.dump({"dataset": dataset, "seconds": time.time() - start, "rows": len(df), "workers": 2,
               "cpu": platform.processor(), "nproc": os.cpu_count()}, open(f"{runs}/{name}-timing.json", "w"))
    print("done", name, time.time() - start)


if __name__ == "__main__":
    main(*sys.argv[1:4])
