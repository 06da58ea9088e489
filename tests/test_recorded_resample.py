"""NMF-resample added to the recorded run (results/paper-embedded/add_nmf_resample.py).

The rows of NMF, iN-NMF and NMF-interp must be the recording's bit for bit: the text of
per_trial.csv and summary.csv, and the rows of every trial file, are compared with the
commit before the addition. The store must read as one of four methods, every trial with
NMF-resample rows at every window size and metric that NMF-interp has.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from innmf.experiments.settings import METHODS, settings_hash
from innmf.experiments.store import load_results, read_manifest

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "results" / "paper-embedded"
BEFORE = "037152db6c75eead52201e9de6f086f6be375b9a"
"""The last commit whose recorded run holds three methods (before NMF-resample's rows)."""
ADDED = "NMF-resample"


def _before(path: str) -> str:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git history of the checkout")
    shown = subprocess.run(["git", "show", f"{BEFORE}:{path}"], cwd=ROOT, capture_output=True, text=True)
    if shown.returncode != 0:
        pytest.skip(f"commit {BEFORE[:7]} is not in this clone ({shown.stderr.strip()[:80]})")
    return shown.stdout


def _other_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if f",{ADDED}," not in line]


@pytest.mark.parametrize("name", ["per_trial.csv", "summary.csv"])
def test_the_other_methods_rows_are_unchanged_bit_for_bit(name):
    before = _before(f"results/paper-embedded/{name}").splitlines()
    now = (STORE / name).read_text().splitlines()
    assert _other_lines("\n".join(now)) == before  # the same lines, in the same order, byte for byte
    assert len(now) > len(before)


def test_every_trial_file_keeps_its_rows_and_gains_the_baseline():
    for path in sorted((STORE / "trials").glob("*.json")):
        before = json.loads(_before(f"results/paper-embedded/trials/{path.name}"))
        now = json.loads(path.read_text())
        assert [r for r in now["rows"] if r["method"] != ADDED] == before["rows"], path.name
        assert {k: v for k, v in now.items() if k not in ("rows", "settings_hash", "added")} == \
            {k: v for k, v in before.items() if k not in ("rows", "settings_hash")}, path.name
        interp = {(r["experiment"], r["n_fft"], r["metric"]) for r in now["rows"] if r["method"] == "NMF-interp"}
        added = [(r["experiment"], r["n_fft"], r["metric"]) for r in now["rows"] if r["method"] == ADDED]
        assert sorted(added) == sorted(interp), path.name
        assert now["added"][-1]["methods"] == [ADDED]


def test_the_store_reads_as_a_run_of_all_four_methods():
    manifest = read_manifest(STORE)
    assert manifest["result_settings"]["methods"] == list(METHODS)
    assert settings_hash(manifest["result_settings"]) == manifest["settings_hash"]
    df = load_results(STORE)  # every trial file checked against the manifest's hash
    counts = df.groupby(["experiment", "n_fft", "metric"])["method"].value_counts().unstack()
    assert set(counts.columns) == set(METHODS)
    assert (counts == df["trial"].nunique()).all().all()
    per_trial = pd.read_csv(STORE / "per_trial.csv")
    pd.testing.assert_frame_equal(per_trial, df, check_dtype=False, check_exact=True)
