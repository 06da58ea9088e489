"""Record addendum 2 (ADDENDUM-2.md): the sinusoidal points on the four recorded data sets (resumable).

Usage: ``python results/music/record_addendum_2.py NAME BUILD RUNS`` with NAME ``ensemble``,
``piano`` (BUILD: ``innmf corpus build-stems chorales --out BUILD``), ``muldjord`` or ``ambience``
(their own builds), and RUNS the folder for the store, rows and timing. Only the new systems are
computed; the grid candidates are the recorded runs' rows of the same pieces.
"""
import json
import os
import platform
import sys
import time

from innmf.experiments.music import run_music

ONLY_PEAKS = {"irregular": ["sinusoidal"], "stft_windows": [], "matrix_cqt": False, "raster_steps_ms": []}
DATASETS = {"ensemble": ("chorales:{build}?timbre=ensemble", "chorales-ensemble", {}),
            "piano": ("chorales:{build}?timbre=piano", "chorales-piano", {}),
            "muldjord": ("stems:{build}", "muldjord-stems", {"train_seconds": 1.5}),
            "ambience": ("stems:{build}", "ambience-speech", {"train_seconds": 2.5})}
"""Per data set: the corpus spec, the data set's name in the rows and its registered override."""


def main(name: str, build: str, runs: str) -> None:
    spec, dataset, overrides = DATASETS[name]
    start = time.time()
    df = run_music(spec.format(build=build), profile="paper", out=f"{runs}/{name}", workers=2, dataset=dataset,
                   **ONLY_PEAKS, **overrides)
    df.to_csv(f"{runs}/{name}-rows.csv", index=False)
    json.dump({"dataset": dataset, "seconds": time.time() - start, "rows": len(df), "workers": 2,
               "cpu": platform.processor(), "nproc": os.cpu_count()}, open(f"{runs}/{name}-timing.json", "w"))
    print("done", name, time.time() - start)


if __name__ == "__main__":
    main(*sys.argv[1:4])
