"""Add the NMF-resample baseline's rows to this recorded run without retraining the networks.

NMF is deterministic given its seed, and NMF-resample only carries NMF's dictionary at the
training size N0 to the other window sizes (``innmf.experiments.baselines.resample_dictionary``)
and refits H there as NMF-interp does. So a trial's NMF-resample rows need NMF at N0 only:
``innmf.experiments.trial.transfer_rows`` computes them with the same seeds and code as a
full trial (``run_trial``) would, bit for bit (tests/test_baselines.py).

Run from the repository root, with one thread (it refuses an environment whose settings
hash differs from the run's, e.g. another NMF backend):

    .venv/bin/python results/paper-embedded/add_nmf_resample.py check 0      # trust first (~4 min)
    .venv/bin/python results/paper-embedded/add_nmf_resample.py compute      # resumable, logs progress
    .venv/bin/python results/paper-embedded/add_nmf_resample.py finish       # rewrite the store

- ``check I``: recompute trial I's NMF rows at every N (``run_trial`` with NMF only) and its
  NMF-interp rows (from NMF at N0), and compare them with the stored ones bit for bit.
- ``compute``: for each stored trial, NMF-resample's rows into ``--work`` (one JSON file per
  trial, written whole; a re-run skips finished trials). Before a trial's rows are kept, its
  speakers' audio hashes and NMF's KL at N0 (the dictionary every transfer starts from) must
  equal the stored ones bit for bit.
- ``finish``: only once every stored trial has its rows: adds them to the trial files,
  records NMF-resample among the run's methods (manifest, settings hash of every trial file),
  and rewrites per_trial.csv, summary.csv and reproduce.json from the trial files
  (``innmf reproduce --from-store --json``). The other methods' rows are not touched
  (tests/test_recorded_resample.py compares per_trial.csv with git HEAD's).
"""

from __future__ import annotations

import os

RECORDING_CPU = {
    "OPENBLAS_CORETYPE": "Zen",  # numpy's OpenBLAS: W H in the KL (else KL differs at 1e-10 relative)
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",  # numpy's log10 etc. in BSS-eval (1e-14 dB)
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's kernels in the refits (else 1e-11 on the scores)
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "OMP_NUM_THREADS": "1",
}
"""The recorded run's machine (AMD EPYC family 25 model 1: AVX2, no AVX-512) as the libraries
saw it. On a CPU with AVX-512 they pick other kernels, which round differently; these make
them pick the recording's (set before numpy and torch are imported; the environment wins)."""
for _name, _value in RECORDING_CPU.items():
    os.environ.setdefault(_name, _value)

import argparse  # noqa: E402  (after the environment above)
import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pandas as pd  # noqa: E402

import innmf  # noqa: E402
from innmf.data.identity import audit_trials  # noqa: E402
from innmf.experiments.parallel import limited_threads  # noqa: E402
from innmf.experiments.runner import draw_trials  # noqa: E402
from innmf.experiments.settings import METHODS, Settings, settings_hash  # noqa: E402
from innmf.experiments.store import read_manifest, result_settings  # noqa: E402
from innmf.experiments.store_files import atomic_write_text, read_record, trial_files  # noqa: E402
from innmf.experiments.trial import cached_corpus, run_trial, transfer_rows  # noqa: E402

STORE = Path(__file__).resolve().parent
METHOD = "NMF-resample"
KEYS = ["experiment", "method", "n_fft", "metric"]


def check_cpu() -> None:
    """Refuse libraries that did not take :data:`RECORDING_CPU` (their kernels would round otherwise)."""
    import torch
    from numpy._core._multiarray_umath import __cpu_features__ as features
    from threadpoolctl import threadpool_info

    found = []
    blas = [i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"]
    if torch.backends.cpu.get_cpu_capability() != "AVX2":
        found.append(f"torch runs {torch.backends.cpu.get_cpu_capability()} kernels, not AVX2")
    if any(arch not in ("Zen", "Haswell") for arch in blas):  # OpenBLAS's Zen runs its Haswell kernels
        found.append(f"OpenBLAS runs {blas} kernels, not Zen's (Haswell)")
    if os.environ.get("NPY_DISABLE_CPU_FEATURES") != RECORDING_CPU["NPY_DISABLE_CPU_FEATURES"] and \
            features.get("AVX512F"):
        found.append("numpy may run AVX-512 loops (NPY_DISABLE_CPU_FEATURES was changed)")
    if found:
        raise SystemExit("this environment would round differently from the recorded run: " + "; ".join(found)
                         + f". Run without overriding {sorted(RECORDING_CPU)}.")


def store_settings(root: Path) -> tuple[dict[str, Any], Settings]:
    """The manifest and the run's settings; refused unless this environment gives the run's hash."""
    check_cpu()
    manifest = read_manifest(root)
    stored = manifest["result_settings"]
    # the run's methods are those it recorded (its settings predate the ``methods`` setting)
    settings = Settings.from_mapping({**manifest["settings"],
                                      "methods": [m for m in stored["methods"] if m != METHOD]})
    here = result_settings(settings, cached_corpus(settings.corpus).spec)
    before = {**stored, "methods": [m for m in stored["methods"] if m != METHOD]}
    if here != before:
        differing = sorted(k for k in set(here) | set(before) if here.get(k) != before.get(k))
        raise SystemExit(f"this environment would not reproduce the run: {differing} differ "
                         f"(run {[before.get(k) for k in differing]}, here {[here.get(k) for k in differing]}).")
    return manifest, settings


def stored_record(root: Path, manifest: dict[str, Any], index: int) -> dict[str, Any]:
    return read_record(root / "trials" / f"{index:05d}.json", manifest["settings_hash"])


def same_rows(ours: list[dict[str, Any]], stored: list[dict[str, Any]], what: str) -> None:
    """Refuse unless ``ours`` equals the stored rows of the same keys bit for bit (saying by how much not)."""
    mine = pd.DataFrame(ours).sort_values(KEYS).reset_index(drop=True)
    keys = set(map(tuple, mine[KEYS].to_numpy()))
    theirs = pd.DataFrame([r for r in stored if tuple(r[k] for k in KEYS) in keys])
    theirs = theirs.sort_values(KEYS).reset_index(drop=True)
    if len(theirs) != len(mine) or not (mine[KEYS] == theirs[KEYS]).all().all():
        raise SystemExit(f"{what}: the stored trial lacks some of these rows.")
    gap = (mine["value"] - theirs["value"]).abs()
    if (gap > 0).any():
        by_metric = gap.groupby(mine["metric"]).agg(["max", lambda g: int((g > 0).sum())])
        by_metric.columns = ["largest difference", "rows differing"]
        raise SystemExit(f"{what}: not reproduced bit for bit ({int((gap > 0).sum())} of {len(mine)} rows differ):\n"
                         f"{by_metric.to_string()}")
    print(f"{what}: {len(mine)} rows reproduced bit for bit", flush=True)


def check_audio(settings: Settings, records: list[dict[str, Any]]) -> None:
    """The drawn trials and their audio are the stored ones (as a resumed run checks)."""
    corpus = cached_corpus(settings.corpus)
    drawn = draw_trials(settings.replace(n_trials=len(records)), corpus)
    hashes = audit_trials(corpus, drawn)
    for trial, record in zip(drawn, records):
        if json.loads(json.dumps(trial.to_dict())) != record["trial"]:
            raise SystemExit(f"trial {trial.index} is drawn differently now: {trial.to_dict()} vs {record['trial']}")
        for speaker in trial.speakers:
            if record["audio"].get(speaker) != hashes[speaker]:
                raise SystemExit(f"the audio of speaker {speaker} (trial {trial.index}) changed since the run")


def check(root: Path, index: int) -> None:
    manifest, settings = store_settings(root)
    record = stored_record(root, manifest, index)
    check_audio(settings, [stored_record(root, manifest, i) for i in range(index + 1)])
    with limited_threads(settings.threads):
        start = time.perf_counter()
        nmf = run_trial(settings.replace(methods=("NMF",)), record["trial"], ["all"])
        print(f"trial {index}: NMF at every N in {time.perf_counter() - start:.0f} s", flush=True)
        same_rows(nmf, record["rows"], f"trial {index} NMF")
        start = time.perf_counter()
        interp = transfer_rows(settings, record["trial"], ["NMF-interp"])
        print(f"trial {index}: NMF-interp from NMF at N0 in {time.perf_counter() - start:.0f} s", flush=True)
        same_rows(interp, record["rows"], f"trial {index} NMF-interp (and NMF's KL at N0)")


def compute(root: Path, work: Path, indices: list[int] | None) -> None:
    manifest, settings = store_settings(root)
    records = [read_record(p, manifest["settings_hash"]) for p in trial_files(root / "trials")]
    check_audio(settings, records)
    work.mkdir(parents=True, exist_ok=True)
    todo = [r for r in records if (indices is None or r["trial"]["index"] in indices)
            and not (work / f"{r['trial']['index']:05d}.json").exists()]
    print(f"{len(todo)} trial(s) to compute into {work}", flush=True)
    began = time.perf_counter()
    for done, record in enumerate(todo, 1):
        index = int(record["trial"]["index"])
        start = time.perf_counter()
        with limited_threads(settings.threads):
            rows = transfer_rows(settings, record["trial"], [METHOD])
        seconds = time.perf_counter() - start
        nmf = [r for r in rows if r["method"] == "NMF"]
        same_rows(nmf, record["rows"], f"trial {index} NMF's KL at N0")
        result = {"trial": index, "seconds": seconds, "version": innmf.__version__, "commit": _commit(),
                  "rows": [r for r in rows if r["method"] == METHOD]}
        atomic_write_text(work / f"{index:05d}.json", json.dumps(result, indent=1) + "\n")
        elapsed = time.perf_counter() - began
        print(f"trial {index}: {seconds:.0f} s; {done}/{len(todo)} done, {elapsed / 60:.1f} min, "
              f"about {elapsed / done * (len(todo) - done) / 60:.1f} min left", flush=True)


def finish(root: Path, work: Path) -> None:
    manifest, settings = store_settings(root)
    paths = trial_files(root / "trials")
    missing = [p.name for p in paths if not (work / p.name).exists()]
    if missing:
        raise SystemExit(f"{len(missing)} trial(s) lack NMF-resample rows in {work}: {missing[:5]} ...; "
                         "run `compute` first (the store is left as it is).")
    methods = tuple(m for m in METHODS if m in (*settings.methods, METHOD))
    new_settings = settings.replace(methods=methods)
    new_result = result_settings(new_settings, cached_corpus(settings.corpus).spec)
    new_hash = settings_hash(new_result)
    texts = {}
    for path in paths:
        record = read_record(path, manifest["settings_hash"])
        added = json.loads((work / path.name).read_text())
        if any(r["method"] == METHOD for r in record["rows"]) or added["trial"] != record["trial"]["index"]:
            raise SystemExit(f"{path}: already holds {METHOD} rows, or {work / path.name} is another trial's.")
        record["rows"] = record["rows"] + added["rows"]
        record["settings_hash"] = new_hash
        record.setdefault("added", []).append({"methods": [METHOD], "seconds": added["seconds"],
                                               "version": added["version"], "commit": added["commit"]})
        texts[path] = json.dumps(record, indent=1) + "\n"
    manifest = {**manifest, "settings_hash": new_hash, "result_settings": new_result,
                "settings": {**manifest["settings"], "methods": list(methods)}}
    # trial files first, the manifest last: until it is written, nothing reads as the new store
    for path, text in texts.items():
        atomic_write_text(path, text)
    atomic_write_text(root / "manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")
    # the tables and reproduce.json as the README says they were made: innmf reproduce --from-store --json
    from innmf.tools.cli import main as innmf_main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = innmf_main(["reproduce", "--out", os.path.relpath(root), "--from-store", "--json"])
    if status != 0:
        raise SystemExit(f"innmf reproduce --from-store failed ({status}); the trial files and manifest are written.")
    atomic_write_text(root / "reproduce.json", out.getvalue())
    print(f"{len(paths)} trial files, manifest.json (hash {new_hash}), per_trial.csv, summary.csv and "
          "reproduce.json rewritten", flush=True)


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True).stdout.strip()
        return head.stdout.strip() + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=("check", "compute", "finish"))
    parser.add_argument("trials", nargs="*", type=int, help="check: the trial (default 0); compute: these only")
    parser.add_argument("--work", type=Path, default=Path("/tmp/nmf-resample-rows"),
                        help="folder of the computed rows (default /tmp/nmf-resample-rows)")
    args = parser.parse_args(argv)
    if Path.cwd().resolve() != STORE.parent.parent:
        raise SystemExit(f"run it from the repository root, {STORE.parent.parent}.")
    if args.step == "check":
        check(STORE, args.trials[0] if args.trials else 0)
    elif args.step == "compute":
        compute(STORE, args.work, args.trials or None)
    else:
        finish(STORE, args.work)


if __name__ == "__main__":
    sys.exit(main())
