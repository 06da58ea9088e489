"""The coverage innmf.report.pooled_model states, checked by a simulation that could fail it.

The claims (module docstring and the chapters' note): on the recorded design (40 trials,
6 speakers, four window sizes), the 95 % interval at N0, t with speakers − 1 df around the
pooled standard error, covers the true mean at least 90 % of the time, with or without
speaker effects and whether trial effects or residual noise dominate; without speaker
effects it is conservative; the trial-level t-interval falls far short once speakers
differ; Satterthwaite's df would cover too, with intervals more than twice as wide where
the speaker variance is estimated at 0.

Band: 400 independent datasets per setting (one interval each). An interval whose true
coverage were 87 % would reach the 90 % floor with probability below 5 %
(:func:`test_the_band_could_fail_the_claim`), while the 93 % that 1000 datasets per
setting gave in the hardest setting passes it with probability above 95 %.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from innmf.report.pooled_coverage import coverage_study

N_DATA = 400
FLOOR = 0.90
RECORDED = Path(__file__).resolve().parents[1] / "results" / "paper-embedded" / "per_trial.csv"


def _recorded_design() -> list[str]:
    rows = pd.read_csv(RECORDED, usecols=["trial", "speakers"]).drop_duplicates("trial").sort_values("trial")
    return list(rows["speakers"])


def test_the_band_could_fail_the_claim() -> None:
    need = int(np.ceil(FLOOR * N_DATA))
    assert sps.binom.sf(need - 1, N_DATA, 0.87) < 0.05  # a wrong claim is caught
    assert sps.binom.sf(need - 1, N_DATA, 0.93) > 0.95  # the measured coverage is not a coin flip


def test_pooled_interval_coverage_matches_the_docstring() -> None:
    labels = _recorded_design()
    assert len(labels) == 40 and len({s for pair in labels for s in pair.split("+")}) == 6
    # (trial sd, speaker sd) in units of the residual noise: no speakers with dominant trial
    # effects (the recorded SDR's case), speakers as large as the noise, and both large.
    study = coverage_study(labels, settings=((2.0, 0.0), (0.7, 1.0), (2.0, 1.0)), n_data=N_DATA,
                           seed=2026).set_index(["trial_sd", "speaker_sd"])
    assert (study["coverage"] >= FLOOR).all()
    assert study.loc[(2.0, 0.0), "coverage"] >= 0.97  # conservative without speaker effects
    assert (study["coverage"] <= 0.999).all()  # but not an interval that covers everything
    assert study.loc[(0.7, 1.0), "trial_coverage"] < 0.80
    none = study.loc[(2.0, 0.0)]
    assert none["satterthwaite_coverage"] >= 0.97 and none["satterthwaite_half_width"] > 2 * none["half_width"]
