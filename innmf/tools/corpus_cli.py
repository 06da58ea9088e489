"""``innmf corpus``: check a corpus, draw trials, rebuild the embedded corpus.

- ``innmf corpus check --corpus SPEC [--json]``: speakers, durations, sample rates, problems;
  exits 1 when the corpus cannot serve the trial protocol (files at different rates: a warning).
- ``innmf corpus trials --corpus SPEC -n N --seed S``: the trial records as JSON lines.
- ``innmf corpus build [--download]``: regenerate ``data/speech`` from the Debian packages.
- ``innmf corpus build-stems {chorales,muldjord,ambience} --out PATH``: a separation corpus with
  exact stems for ``innmf reproduce --experiment music``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from innmf.data.paths import data_dir
from innmf.data.trials import PAIRINGS
from innmf.tools.cli import check_count


def _corpus_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", default="default", metavar="SPEC",
                   help="default | timit:PATH | timit (uses $INNMF_TIMIT) | folder:PATH | librispeech:PATH "
                   "(default: %(default)s)")
    p.add_argument("--split", choices=("all", "train", "test"), help="TIMIT: which part (default all)")
    p.add_argument("--no-sa", action="store_true", help="TIMIT: leave out the shared SA1/SA2 sentences")
    p.add_argument("--train-seconds", type=float, default=20.0, help="training audio per speaker (%(default)s)")
    p.add_argument("--test-seconds", type=float, default=5.0, help="test audio per speaker (%(default)s)")
    p.add_argument("--pairing", choices=PAIRINGS, default="any", help="sex of the two speakers (%(default)s)")
    p.add_argument("--skip-short", action="store_true",
                   help="leave out speakers with too little audio instead of failing")


def _load(args: argparse.Namespace):
    from innmf.data.sources import load_corpus
    from innmf.experiments.settings import RULES

    # the same checks as `innmf reproduce` applies to its settings
    for name, value in (("corpus", args.corpus), ("train_seconds", args.train_seconds),
                        ("test_seconds", args.test_seconds), ("sex_pairing", args.pairing)):
        RULES[name](name, value)
    options: dict[str, Any] = {}
    if args.split:
        options["split"] = args.split
    if args.no_sa:
        options["sa"] = False
    return load_corpus(args.corpus, **options)


def _check(args: argparse.Namespace) -> int:
    from innmf.data.check import check_corpus

    corpus = _load(args)
    report = check_corpus(corpus, args.train_seconds, args.test_seconds, args.pairing, args.skip_short,
                          decode=not args.headers_only, progress=not args.json and sys.stderr.isatty())
    if args.json:
        print(json.dumps([s.to_dict() for s in report.speakers], indent=1))
    else:
        print(f"corpus {report.spec}: {len(report.speakers)} speakers, {len(report.usable)} usable")
        print(f"{'speaker':<16} {'sex':<4} {'seconds':>8} {'files':>6}  status")
        for s in report.speakers:
            print(f"{s.speaker:<16} {s.sex or '?':<4} {s.seconds:8.2f} {s.files:6d}  {s.problem or 'ok'}")
    for line in report.warnings:
        print(f"warning: {line}", file=sys.stderr)
    for line in report.problems:
        print(f"problem: {line}", file=sys.stderr)
    if not report.ok:
        print(f"innmf corpus check: {report.spec} cannot serve the protocol "
              f"({args.train_seconds:g} s + {args.test_seconds:g} s, pairing {args.pairing}).", file=sys.stderr)
    return 0 if report.ok else 1


def _trials(args: argparse.Namespace) -> int:
    from innmf.data.trials import make_trials

    check_count("--n-trials", args.n_trials)
    corpus = _load(args)
    for t in make_trials(corpus, args.n_trials, args.seed, args.train_seconds, args.test_seconds,
                         args.pairing, args.snr_db, skip_short=args.skip_short):
        print(json.dumps(t.to_dict()))
    return 0


def _build(args: argparse.Namespace) -> int:
    from innmf.data import build_embedded as embedded
    from innmf.data.sources import embedded as manifest

    debs = Path(args.debs)
    packages = sorted({s.package for s in embedded.SOURCES})
    if args.download:
        if shutil.which("apt-get") is None:
            raise FileNotFoundError("apt-get is not available; download the .deb files on a Debian/Ubuntu "
                                    f"machine (apt-get download {' '.join(packages)}) and pass --debs.")
        debs.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", *packages], cwd=debs, check=True)
    for pkg in packages:
        embedded.deb_path(debs, pkg)  # clear error before any work
    out = Path(args.out)
    old = {}
    if (out / manifest.MANIFEST).is_file():
        old = {e["id"]: e["sha256"] for e in manifest.read_manifest(out)["speakers"]}
    built = embedded.build_corpus(debs, out, progress=not args.no_progress)
    total = sum((out / f"{e['id']}.flac").stat().st_size for e in built["speakers"])
    for e in built["speakers"]:
        same = "" if not old else (" (identical)" if old.get(e["id"]) == e["sha256"] else " (CHANGED)")
        print(f"{e['id']:<6} {e['sex']} {e['seconds']:7.2f} s  {len(e['files']):3d} files  {e['sha256'][:16]}{same}")
    print(f"{len(built['speakers'])} speakers, {total / 1e6:.2f} MB in {out}")
    readme = Path(args.readme)
    if embedded.update_readme(readme, built):
        print(f"updated the speaker section of {readme}")
    return 0


STEMS_BUILDERS = {
    "chorales": ("innmf.data.build_chorales", "build_chorales", "rendered Bach chorales, both timbres (fluidsynth, "
                 "fluid-soundfont-gm, music21)"),
    "muldjord": ("innmf.data.build_muldjord", "build_muldjord", "recorded guitar and backing stems "
                 "(fretsonfire-songs-muldjord)"),
    "ambience": ("innmf.data.build_ambience", "build_ambience", "speech over recorded ambience (ufoai-sound)"),
}
"""``innmf corpus build-stems NAME``: the separation corpora with exact stems (chapter "Music")."""


def _build_stems(args: argparse.Namespace) -> int:
    import importlib

    module, function, _ = STEMS_BUILDERS[args.name]
    out = Path(args.out).expanduser()
    built = getattr(importlib.import_module(module), function)(out, subset=args.subset)
    spec = f"chorales:{built}?timbre=ensemble" if args.name == "chorales" else f"stems:{built}"
    print(f"{args.name}: built in {built}; run it with innmf reproduce --experiment music --corpus '{spec}'")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``innmf corpus`` with its ``check``, ``trials`` and ``build`` subcommands."""
    corpus = subparsers.add_parser("corpus", help="speech corpora: check, draw trials, rebuild the embedded one",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = corpus.add_subparsers(dest="corpus_command", metavar="SUBCOMMAND")
    corpus.set_defaults(func=lambda args: (corpus.print_help(), 2)[1])

    check = sub.add_parser("check", help="list speakers and durations; fail if trials cannot be drawn")
    _corpus_args(check)
    check.add_argument("--json", action="store_true",
                       help="print a JSON list of {speaker, sex, seconds, files, ok, problem}")
    check.add_argument("--headers-only", action="store_true", help="read file headers only (fast, finds less)")
    check.set_defaults(func=_check)

    trials = sub.add_parser("trials", help="print trial records (JSON lines)")
    _corpus_args(trials)
    trials.add_argument("-n", "--n-trials", type=int, default=5, help="number of trials (%(default)s)")
    trials.add_argument("--seed", type=int, default=0, help="seed (%(default)s)")
    trials.add_argument("--snr-db", type=float, default=0.0, help="level of speaker a over b (%(default)s)")
    trials.set_defaults(func=_trials)

    root = data_dir()
    build = sub.add_parser("build", help="regenerate data/speech from the Debian packages")
    build.add_argument("--debs", default=str(root.parent / ".innmf-cache" / "debs"),
                       help="folder with the .deb files (%(default)s)")
    build.add_argument("--download", action="store_true", help="fetch the .deb files with apt-get download first")
    build.add_argument("--out", default=str(root / "speech"), help="output folder (%(default)s)")
    build.add_argument("--readme", default=str(root / "README.md"), help="README whose speaker section to update")
    build.add_argument("--no-progress", action="store_true", help="no progress bar")
    build.set_defaults(func=_build)

    stems = sub.add_parser("build-stems", help="render or cut a separation corpus with exact stems (music chapter)")
    stems.add_argument("name", choices=sorted(STEMS_BUILDERS),
                       help="; ".join(f"{k}: {v[2]}" for k, v in sorted(STEMS_BUILDERS.items())))
    stems.add_argument("--out", required=True, help="output folder")
    stems.add_argument("--subset", action="store_true", help="only the small subset the repository commits")
    stems.set_defaults(func=_build_stems)
