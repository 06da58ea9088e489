"""Assemble results/music from the recorded runs: rows files, run.json and README.md (every number computed).

Usage: ``python results/music/write_readme.py RUNS ADDENDUM_RUNS ADDENDUM_2_RUNS [ADDENDUM_3_RUNS]``: RUNS holds
``<timbre>-rows.csv`` and ``<timbre>-timing.json`` from ``record.py`` (the chorale run,
PREREGISTRATION.md), ADDENDUM_RUNS those of ``record_addendum.py`` (ADDENDUM-1.md) and ADDENDUM_2_RUNS
those of ``record_addendum_2.py`` (ADDENDUM-2.md) and ADDENDUM_3_RUNS ``score-<timbre>-rows.csv`` and
``score-<timbre>-timing.json`` of ``record_addendum_3.py`` (ADDENDUM-3.md; a timbre absent from it is reported as
pre-registered and not recorded). Each run is one family: its comparators, its Holm adjustment and its tables;
addendum 2 reads its grid candidates from the earlier runs' rows (``innmf.report.music.recorded_runs``, after its
floor check); addendum 3 is another task (score-informed, no training pieces), its data sets named with it
(``innmf.report.music.task_named``) and judged on its own rows alone.
"""
import json
import platform
import subprocess
import sys
from pathlib import Path

import pandas as pd

from innmf.report.music import BORROWS, holm_bound, REGISTERED, TASKS, claim_verdict, comparator_sensitivity, endpoint
from innmf.report.music import recorded_runs, select_comparator, summary, task_contrast, task_named, unrecorded

OUT = Path(__file__).resolve().parent
RUNS = {"chorales": (Path(sys.argv[1]), ("ensemble", "piano"), "rows.csv", "1b23dc4", "PREREGISTRATION.md"),
        "addendum-1": (Path(sys.argv[2]), ("muldjord", "ambience"), "addendum-rows.csv", "00bac23", "ADDENDUM-1.md"),
        "addendum-2": (Path(sys.argv[3]), ("ensemble", "piano", "muldjord", "ambience"), "addendum-2-rows.csv",
                       "b5de978", "ADDENDUM-2.md"),
        "addendum-3": (Path(sys.argv[4]) if len(sys.argv) > 4 else None, ("score-ensemble", "score-piano"),
                       "addendum-3-rows.csv", "adcd4bf", "ADDENDUM-3.md")}
CLAIMS = {"addendum-3": "with a score and no training data, the irregular points factorise better with iN-NMF than "
                        "on a grid"}
"""A family's claim where it is not the supervised runs' ("irregular points separate better with iN-NMF than a grid")."""
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
    rows = recorded_runs()[family] if family in BORROWS else task_named(pd.read_csv(OUT / rows_file))
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
    claim = CLAIMS.get(family, "irregular points separate better with iN-NMF than a grid")
    missing = unrecorded(family, rows)
    task = task_text(family, rows, ep, missing)
    text = f"""## Run `{family}`: {registration} (committed in {commit} before the run)

Run at {commit} from a clean worktree of it ({sizes}), files `{rows_file}` (every piece x system x
source x metric; the book reads it). Wall times (other work ran on the machine at the same time):

{times}

### Primary endpoint (`innmf.report.music.endpoint`, Holm within this run)

SDR of iN-NMF on each irregular representation minus the grid comparator chosen on the data set's
validation pieces, mean over its test pieces with its 95 % t interval; floor and oracle (ceiling of
the representation) for scale; `twin_delta` is iN-NMF − NMF-grid (secondary).

{ep_md}
The claim "{claim}" per data set (`claim_verdict`):

{chr(10).join(f"- **{d}**: {v}" for d, v in claims.items())}
{task}
### Secondary: how much the verdict leans on the validation choice (`comparator_sensitivity`)

Not judged. iN-NMF on each irregular representation minus every grid candidate on the test
pieces (unadjusted 95 % t intervals), with each candidate's rank on the validation and the test
pieces; `chosen` marks the pre-registered comparator. {ranks}

{sens_md}
### Every system on the test pieces (`innmf.report.music.summary`)

Means over the test pieces of the per-piece mean over the sources (dB); `over_floor` is the
paired gain over the floor.

{s_md}"""
    return text, {"timing": timing, "comparators": comp, "claims": claims, "commit": commit, "rows": rows_file,
                  "registered": list(REGISTERED[family]), "not_recorded": missing} | (
        {"task": TASKS[family]} if family in TASKS else {})


def task_text(family: str, rows: pd.DataFrame, ep: pd.DataFrame, missing: list) -> str:
    """A task family's own paragraphs: what its Holm covered, what is not recorded, what the task changes (secondary)."""
    if family not in TASKS:
        return "\n".join(f"\nPre-registered and not recorded: {d}." for d in missing)
    text = (f"\nThis run is another task, `{TASKS[family]}` (no training pieces): its data sets are named with it and "
            f"judged in its own family, never pooled with the supervised runs. Holm's adjustment covered the "
            f"{len(ep)} endpoint(s) recorded of the {len(REGISTERED[family])} registered.\n")
    if missing:
        text += ("\n" + "; ".join(f"**{d}**" for d in missing) + ": pre-registered in the same family and not yet "
                 "recorded; once recorded, it enters this family and Holm's adjustment covers every endpoint of it.\n")
        bound = holm_bound(ep, len(REGISTERED[family]))
        text += (f"Whatever it gives, each recorded p is adjusted to at most {len(REGISTERED[family])} x p; at that "
                 "bound: " + "; ".join(f"{r['dataset']} {r['representation']}: {r['verdict']} (p at most "
                                       f"{r['p_holm']:.2g})" for r in bound.to_dict("records")) + ".\n")
    if (OUT / "rows.csv").exists():
        contrast = task_contrast(rows, pd.read_csv(OUT / "rows.csv"))
        text += f"""
### Secondary: the {TASKS[family]} systems against the same systems of the supervised run (`task_contrast`)

Not judged. Each system of this run minus the same system of `rows.csv` (trained on the fit pieces) on
the same test pieces, mean SDR difference with its unadjusted 95 % t interval: what a score buys in place
of training pieces.

{md(contrast, {k: F2 for k in ("task_sdr", "reference_sdr")} | {k: SIGNED for k in ("delta", "low", "high")})}"""
    return text


cpu = subprocess.run(["bash", "-c", "lscpu | grep 'Model name' | sed 's/.*: *//'"], capture_output=True,
                     text=True).stdout.strip()
parts, record = [], {"cpu": cpu, "python": platform.python_version(), "runs": {}}
for family, spec in RUNS.items():
    if spec[0] is not None and any((spec[0] / f"{n}-rows.csv").exists() for n in spec[1]):
        text, record["runs"][family] = section(family, *spec)
        parts.append(text)
    else:
        record["runs"][family] = {"commit": spec[3], "registered": list(REGISTERED[family]),
                                  "not_recorded": list(REGISTERED[family])}
        parts.append(f"## Run `{family}`: {spec[4]} (committed in {spec[3]}), pre-registered and not recorded\n\n"
                     + "; ".join(REGISTERED[family]) + ": no rows yet.\n")
recorded = [f for f, r in record["runs"].items() if "rows" in r]
(OUT / "run.json").write_text(json.dumps(record, indent=1) + "\n")
(OUT / "README.md").write_text(f"""# Recorded runs: music and sound scenes with exact stems (pre-registered)

{len(recorded)} recorded run{"s" if len(recorded) != 1 else ""} ({", ".join(f"`{f}`" for f in recorded)}), each judged on an
endpoint committed before it: the rendered chorales of `PREREGISTRATION.md` (`record.py BUILD RUNS TIMBRE`
per timbre on `innmf corpus build-stems chorales --out BUILD`); addendum 1, `ADDENDUM-1.md`, the recorded
guitar and backing stems and speech over recorded ambience (`record_addendum.py NAME BUILD RUNS` on
`innmf corpus build-stems NAME --out BUILD`); addendum 2, `ADDENDUM-2.md`, the sinusoidal points on the same four data sets
(`record_addendum_2.py NAME BUILD RUNS`), judged against the grid rows of the first two; and addendum 3,
`ADDENDUM-3.md`, another task on the chorales: each mixture factorised alone under its score, with no
training pieces (`record_addendum_3.py TIMBRE BUILD RUNS`), judged in its own family, never pooled with
the supervised runs; a run or data set pre-registered and not recorded is said so in its section.
This README, the rows files and `run.json` (timings, comparators, claims) are written by
`write_readme.py RUNS ADDENDUM_RUNS ADDENDUM_2_RUNS ADDENDUM_3_RUNS`. Any of them equivalently: `innmf reproduce
--experiment music --corpus SPEC --profile paper --workers 2 --out DIR` (with `--set train_seconds=...` for
addendum 1, `--set task=score-informed` for addendum 3).
Machine: {cpu}, 2 cores, Python {platform.python_version()}.

""" + "\n".join(parts))
print((OUT / "README.md").read_text()[:1500])
