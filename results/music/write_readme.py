"""Assemble results/music from the recorded runs: rows.csv, run.json and README.md (every number computed).

Usage: ``python results/music/write_readme.py RUNS``, where RUNS holds ``<timbre>-rows.csv`` and
``<timbre>-timing.json`` written by ``results/music/record.py`` for each timbre of the chorale build.
"""
import json
import platform
import sys
import subprocess
from pathlib import Path

import pandas as pd

from innmf.report.music import claim_verdict, comparator_sensitivity, endpoint, select_comparator, summary

out = Path(__file__).resolve().parent
RUNS = Path(sys.argv[1])
frames, timing = [], {}
for timbre in ("ensemble", "piano"):
    f = RUNS / f"{timbre}-rows.csv"
    if f.exists():
        frames.append(pd.read_csv(f))
        timing[timbre] = json.load(open(RUNS / f"{timbre}-timing.json"))
rows = pd.concat(frames, ignore_index=True)
rows.to_csv(out / "rows.csv", index=False, float_format="%.6g")
rows = pd.read_csv(out / "rows.csv")  # what the book reads
comp = select_comparator(rows)
ep = endpoint(rows, comp)
claims = claim_verdict(ep)


def md(df: pd.DataFrame, fmt: dict) -> str:
    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    body = ""
    for r in df.to_dict("records"):
        body += "| " + " | ".join(fmt.get(k, "{}").format(v).replace("|", "\\|") for k, v in r.items()) + " |\n"
    return head + body


cpu = subprocess.run(["bash", "-c", "lscpu | grep 'Model name' | sed 's/.*: *//'"], capture_output=True, text=True).stdout.strip()
commit = "1b23dc4"
json.dump({"timing": timing, "comparators": comp, "claims": claims, "commit": commit, "cpu": cpu},
          open(out / "run.json", "w"), indent=1)
e = ep[["dataset", "representation", "comparator", "pieces", "judged", "comparator_sdr", "delta", "low", "high", "p_holm",
        "floor", "oracle", "twin_delta", "verdict"]]
sens = comparator_sensitivity(rows, comp)
ranks = " ".join(f"On {d}, the chosen comparator ranks {int(g[g.chosen].test_rank.iloc[0])} of "
                 f"{g.candidate.nunique()} on the test pieces." for d, g in sens.groupby("dataset"))
sens_md = md(sens, {k: "{:+.2f}" for k in ("delta", "low", "high")})
f2 = "{:.2f}"
ep_md = md(e, {k: f2 for k in ("judged", "comparator_sdr", "floor", "oracle")} | {k: "{:+.2f}" for k in ("delta", "low", "high", "twin_delta")} | {"p_holm": "{:.2g}"})
s = summary(rows)[["dataset", "system", "pieces", "sdr", "si_sdr", "sir", "sar", "over_floor"]]
s_md = md(s, {k: f2 for k in ("sdr", "si_sdr", "sir", "sar")} | {"over_floor": "{:+.2f}"})
times = "\n".join(f"- `{t}`: {v['seconds'] / 60:.1f} min on {v['workers']} worker processes ({v['rows']} rows)"
                  for t, v in timing.items())
claims_md = "\n".join(f"- **{d}**: {v}" for d, v in claims.items())
text = f"""# Recorded run: music with exact stems (pre-registered)

The pre-registered design of `PREREGISTRATION.md` (committed in {commit} before this run), run at
that commit from a clean worktree of it, on the full chorale build (`innmf corpus build-stems chorales
--out BUILD`, 30 pieces, both timbres), with `record.py BUILD RUNS TIMBRE` for each timbre and this
README, `rows.csv` and `run.json` written by `write_readme.py RUNS`:

```python
from innmf.experiments.music import run_music
run_music("chorales:PATH?timbre=ensemble", profile="paper", out=..., workers=2, dataset="chorales-ensemble")
run_music("chorales:PATH?timbre=piano", profile="paper", out=..., workers=2, dataset="chorales-piano")
```

Equivalently `innmf reproduce --experiment music --corpus "chorales:PATH?timbre=ensemble" --profile paper
--workers 2 --out DIR`. Machine: {cpu}, 2 cores (`{platform.python_version()}`), other work on the machine
at the same time (the timings are wall times, not benchmarks):

{times}

Files: `rows.csv` (every piece x system x voice x metric; the book reads it), `run.json` (timings,
the comparators chosen on the validation pieces, the claim per data set).

## Primary endpoint (computed by `innmf.report.music.endpoint`)

SDR of iN-NMF on each irregular representation minus the grid comparator chosen on the 4
validation pieces, mean over the 20 test pieces with its 95 % t interval, Holm over the table's
rows; floor and oracle (ceiling of the representation) for scale; `twin_delta` is iN-NMF − NMF-grid
(secondary).

{ep_md}
The claim "irregular points separate better with iN-NMF than a grid" per data set
(`claim_verdict`):

{claims_md}

## Secondary: how much the verdict leans on the validation choice (`comparator_sensitivity`)

Not judged. iN-NMF on each irregular representation minus every grid candidate on the test
pieces (unadjusted 95 % t intervals), with each candidate's rank on the 4 validation and the 20
test pieces; `chosen` marks the pre-registered comparator. {ranks}

{sens_md}
## Every system on the test pieces (`innmf.report.music.summary`)

Means over the 20 test pieces of the per-piece mean over the four voices (dB); `over_floor` is
the paired gain over the floor.

{s_md}"""
(out / "README.md").write_text(text)
print(text[:3000])
