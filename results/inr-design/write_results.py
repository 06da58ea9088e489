"""Append the recorded design study's results to README.md (every number computed from the stores).

Usage, from the repository root: ``python results/inr-design/write_results.py``. Reads the stores under
results/inr-design (``innmf study --design``) and the reference run results/paper-embedded; replaces
everything after the ``## Results`` heading of README.md, so it can be run again.
"""
import json
import platform
from pathlib import Path

import numpy as np

from innmf.experiments.inr_design import DESIGNS, RERUN, load_design
from innmf.experiments.inr_study import slug
from innmf.experiments.store import trial_seconds
from innmf.report.inr_design import design_summary, design_table, verdict_sentences, verdicts
from innmf.tools.bench.machine import cpu_name

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent / "paper-embedded"
HEADING = "## Results"


def md(df) -> str:
    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join("| " + " | ".join(str(v) for v in row) + " |\n" for row in df.itertuples(index=False))


def main() -> None:
    df = load_design(REFERENCE, HERE)
    designs = [d for d in DESIGNS if d in set(df["method"])]
    summary = design_summary(df, designs)
    seconds = {label: trial_seconds(HERE / slug(label)) for label in designs}
    seconds["paper (re-run)"] = trial_seconds(HERE / RERUN)
    drift = df.attrs["drift"].set_index("metric")
    manifest = json.loads((HERE / RERUN / "manifest.json").read_text())
    run = json.loads((HERE / "run.json").read_text())
    lines = [
        HEADING, "",
        f"Trials {df.attrs['trials']} ({len({s for p in df['speakers'].unique() for s in str(p).split('+')})} speakers); "
        f"designs recorded: {', '.join(designs)}"
        + (f"; left out as incomplete: {', '.join(df.attrs['incomplete'])}" if df.attrs["incomplete"] else "") + ".",
        f"Package {manifest.get('version', '?')}, settings hash of the comparator {manifest.get('settings_hash', '?')}; "
        f"machine {platform.machine()}, {cpu_name()}, 2 cores shared with other jobs (another recording ran beside it).",
        f"Command `{run['command']}` at commit {run['commit']}: {run['wall_seconds'] / 60:.1f} min wall ({run['machine']}).",
        "", "Median seconds per trial (2 workers, one thread each): "
        + ", ".join(f"{k} {np.median(v):.0f}" for k, v in seconds.items() if len(v)) + ".", "",
        "### KL: ratio against the paper's design (under 1 favours the design)", "", md(design_table(summary, "kl")),
        "### SDR: difference from the paper's design (dB; over 0 favours the design)", "",
        md(design_table(summary, "sdr")),
        "Intervals unadjusted; `Holm p < 0.05` names where the Holm-adjusted p (one family per (metric, estimand) "
        "over all designs and window sizes) is below 0.05.", "",
        "### Verdicts (the pre-registered rule)", "", *(f"- {line}" for line in verdict_sentences(verdicts(summary))), "",
        "### The comparator against the recorded run's own iN-NMF (same trials)", "",
        md(drift.reset_index().round(6)),
        "KL and STOI relative, the others in dB; `mean_error` is re-run minus recorded.", "",
    ]
    readme = (HERE / "README.md").read_text()
    kept = readme.split(HEADING)[0].rstrip() + "\n\n"
    (HERE / "README.md").write_text(kept + "\n".join(lines))


if __name__ == "__main__":
    main()
