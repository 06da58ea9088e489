"""Assemble results/music from the recorded runs: rows files, run.json and README.md (every number computed).

Usage: ``python results/music/write_readme.py RUNS ADDENDUM_RUNS ADDENDUM_2_RUNS``: RUNS holds
``<timbre>-rows.csv`` and ``<timbre>-timing.json`` from ``record.py`` (the chorale run,
PREREGISTRATION.md), ADDENDUM_RUNS those of ``record_addendum.py`` (ADDENDUM-1.md) and ADDENDUM_2_RUNS
those of ``record_addendum_2.py`` (ADDENDUM-2.md). Each run is one family: its comparators, its Holm
adjustment and its tables; addendum 2 reads its grid candidates from the earlier runs' rows
(``innmf.report.music.recorded_runs``, after its floor check).
"""
import json
import platform
import subprocess
import sys
from pathlib import Path

import pandas as pd

from innmf.report.music import BORROWS, claim_verdict, comparator_sensitivity, endpoint, recorded_runs
from innmf.report.music import select_comparator, summary

OUT = Path(__file__).resolve().parent
RUNS = {"chorales": (Path(sys.argv[1]), ("ensemble", "piano"), "rows.csv", "1b23dc4", "PREREGISTRATION.md"),
        "addendum-1": (Path(sys.argv[2]), ("muldjord", "ambience"), "addendum-rows.csv", "00bac23", "ADDENDUM-1.md"),
        "addendum-2": (Path(sys.argv[3]), ("ensemble", "piano", "muldjord", "ambience"), "addendum-2-rows.csv",
                       "b5de978", "ADDENDUM-2.md")}
F2, SIGNED = "{:.2f}", "{:+.2f}"


def md(df: pd.DataFrame, fmt: dict) -> str:
    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    body = ""
    for r in df.to_dict("records"):
        body += "| " + " | ".join(fmt.get(k, "{}").format(v).replace("|", "\\|") for k, v in r.items()) + " |\n"
    return head + body


def section(family: str, folder: Path, names: tuple, rows_file: str, commit: str, registration: str) -> tuple[str, dict]:
    frames, timing = [], {}
    for name in names:
        if (folder / f"{name}-rows.csv").exists():
            frames.append(pd.read_csv(folder / f"{name}-rows.csv"))
            timing[name] = json.loads((folder / f"{name}-timing.json").read_text())
    pd.concat(frames, ignore_index=True).to_csv(OUT / rows_file, index=False, float_format="%.6g")
    # what the book reads; a borrowing run with its lenders' grid rows (after the floor check)
    rows = recorded_runs()[family] if family in BORROWS else pd.read_csv(OUT / rows_file)
    comp = select_comparator(rows)
    ep = endpoint(rows, comp)
    claims = claim_verdict(ep)
    e = ep[["dataset", "representation", "comparator", "pieces", "judged", "comparator_sdr", "delta", "low", "high",
            "p_holm", "floor", "oracle", "twin_delta", "verdict"]]
    ep_md = md(e, {k: F2 for k in ("judged", "comparator_sdr", "floor", "oracle")}
               | {k: SIGNED for k in ("delta", "low", "high", "twin_delta")} | {"p_holm": "{:.2g}"})
    sens = comparator_sensitivity(rows, comp)
    ranks = " ".join(f"On {d}, the chosen comparator ranks {int(g[g.chosen].test_rank.iloc[0])} of "
                     f"{g.candidate.nunique()} on the test pieces." for d, g in sens.groupby("dataset", sort=False))
    sens_md = md(sens, {k: SIGNED for k in ("delta", "low", "high")})
    s = summary(rows)[["dataset", "system", "pieces", "sdr", "si_sdr", "sir", "sar", "over_floor"]]
    s_md = md(s, {k: F2 for k in ("sdr", "si_sdr", "sir", "sar")} | {"over_floor": SIGNED})
    times = "\n".join(f"- `{t}`: {v['seconds'] / 60:.1f} min on {v['workers']} worker processes ({v['rows']} rows)"
                      for t, v in timing.items())
    pieces = {d: (int(g[g.split == "validation"].piece.nunique()), int(g[g.split == "test"].piece.nunique()))
              for d, g in rows.groupby("dataset", sort=False)}
    sizes = "; ".join(f"{d}: {v} validation and {t} test pieces" for d, (v, t) in pieces.items())
    text = f"""## Run `{family}`: {registration} (committed in {commit} before the run)

Run at {commit} from a clean worktree of it ({sizes}), files `{rows_file}` (every piece x system x
source x metric; the book reads it). Wall times (other work ran on the machine at the same time):

{times}

### Primary endpoint (`innmf.report.music.endpoint`, Holm within this run)

SDR of iN-NMF on each irregular representation minus the grid comparator chosen on the data set's
validation pieces, mean over its test pieces with its 95 % t interval; floor and oracle (ceiling of
the representation) for scale; `twin_delta` is iN-NMF − NMF-grid (secondary).

{ep_md}
The claim "irregular points separate better with iN-NMF than a grid" per data set (`claim_verdict`):

{chr(10).join(f"- **{d}**: {v}" for d, v in claims.items())}

### Secondary: how much the verdict leans on the validation choice (`comparator_sensitivity`)

Not judged. iN-NMF on each irregular representation minus every grid candidate on the test
pieces (unadjusted 95 % t intervals), with each candidate's rank on the validation and the test
pieces; `chosen` marks the pre-registered comparator. {ranks}

{sens_md}
### Every system on the test pieces (`innmf.report.music.summary`)

Means over the test pieces of the per-piece mean over the sources (dB); `over_floor` is the
paired gain over the floor.

{s_md}"""
    return text, {"timing": timing, "comparators": comp, "claims": claims, "commit": commit, "rows": rows_file}


cpu = subprocess.run(["bash", "-c", "lscpu | grep 'Model name' | sed 's/.*: *//'"], capture_output=True,
                     text=True).stdout.strip()
parts, record = [], {"cpu": cpu, "python": platform.python_version(), "runs": {}}
for family, spec in RUNS.items():
    if any((spec[0] / f"{n}-rows.csv").exists() for n in spec[1]):
        text, record["runs"][family] = section(family, *spec)
        parts.append(text)
(OUT / "run.json").write_text(json.dumps(record, indent=1) + "\n")
(OUT / "README.md").write_text(f"""# Recorded runs: music and sound scenes with exact stems (pre-registered)

Three recorded runs, each judged on an endpoint committed before it: the rendered chorales of
`PREREGISTRATION.md` (`record.py BUILD RUNS TIMBRE` per timbre on `innmf corpus build-stems chorales
--out BUILD`); addendum 1, `ADDENDUM-1.md`, the recorded guitar and backing stems and speech over
recorded ambience (`record_addendum.py NAME BUILD RUNS` on `innmf corpus build-stems NAME --out BUILD`);
and addendum 2, `ADDENDUM-2.md`, the sinusoidal points on the same four data sets
(`record_addendum_2.py NAME BUILD RUNS`), judged against the grid rows of the first two.
This README, the rows files and `run.json` (timings, comparators, claims) are written by
`write_readme.py RUNS ADDENDUM_RUNS ADDENDUM_2_RUNS`. Any of them equivalently: `innmf reproduce --experiment music
--corpus SPEC --profile paper --workers 2 --out DIR` (with `--set train_seconds=...` for the addendum).
Machine: {cpu}, 2 cores, Python {platform.python_version()}.

""" + "\n".join(parts))
print((OUT / "README.md").read_text()[:1500])
