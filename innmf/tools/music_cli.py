"""``innmf reproduce --experiment music``: the music experiment on any stems corpus.

Runs :func:`innmf.experiments.music.run_music` (chapter "Music and sound scenes: irregular
representations with ground truth") with the profile and ``--set`` overrides,
resumably in ``--out``, and prints every row (``--json``: one object
``{"experiment": "music", "profile", "corpus", "out", "rows": [{experiment, dataset,
split, piece, method, representation, source, metric, value}, ...]}``), the floor's
and the oracle ceiling's rows included. The irregular representations are the setting
``irregular`` (``--set 'irregular=["cqt", "multires", "sinusoidal"]'``; the sinusoidal
peaks enter a run only when named there).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any


def _overrides(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set takes KEY=VALUE, got {pair!r}.")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def run_music_command(args: argparse.Namespace) -> int:
    """Run the music experiment for ``innmf reproduce``; return the exit status."""
    from innmf.data.paths import build_dir
    from innmf.experiments.music import music_settings, run_music, store_key

    if args.from_store:
        raise ValueError("--from-store reads the speech store; re-run the music command with the same --out "
                         "instead (finished pieces are read, not recomputed).")
    if args.scheduler is not None or args.device not in (None, "cpu"):
        raise ValueError("The music experiment runs on local CPU processes: drop --scheduler and --device.")
    overrides = _overrides(args.overrides)
    music_settings(args.profile, **overrides)  # refuse a bad profile or setting before any work
    corpus = args.corpus or "default-music"
    # The chapter's own store for the same corpus and settings, so each corpus gets its own.
    out = args.out or str(build_dir() / "results" / f"music-{args.profile}-{store_key(corpus, overrides)}")
    try:
        df = run_music(corpus, profile=args.profile, out=out, workers=args.workers, progress=not args.quiet,
                       **overrides)
    except KeyboardInterrupt as stop:
        signum = getattr(stop, "signum", signal.SIGINT)
        print(f"innmf reproduce: stopped by {signal.Signals(signum).name}; the finished pieces are stored in "
              f"{out}: re-run the same command to resume.", file=sys.stderr)
        return 128 + int(signum)
    rows = df.assign(experiment="music")
    if args.json:
        payload = {"experiment": "music", "profile": args.profile, "corpus": corpus, "out": str(out),
                   "rows": rows.to_dict("records")}
        json.dump(payload, sys.stdout)
        sys.stdout.write("\n")
    else:
        from innmf.report.music import summary

        print(summary(df).to_string(index=False))
        rows.to_csv(f"{out}/rows.csv", index=False)
        print(f"\nper-source rows written to {out}/rows.csv")
    return 0
