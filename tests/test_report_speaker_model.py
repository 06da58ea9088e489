"""The coverage stated in innmf.report.speaker_model's docstring, checked by a simulation that could fail it.

The docstring claims: on the recorded design, the speaker-level 95 % interval covers the
true mean at least 90 % of the time for speaker/noise ratios 0 to 1, near 99 % without
speaker effects, while the trial-level interval covers less than 85 % once the ratio
reaches 0.5. With 800 datasets per setting, an interval whose true coverage were 88 %
would pass the 90 % bound less than one time in twenty (checked below with the binomial law).
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from innmf.report.speaker_model import coverage_study

N_DATA = 800
FLOOR = 0.90


def _recorded_like_design(seed: int = 0) -> list[str]:
    """40 trials of ordered pairs of 6 distinct speakers, like the recorded run."""
    rng = np.random.default_rng(seed)
    pairs = [rng.choice(6, size=2, replace=False) for _ in range(40)]
    return [f"s{a}+s{b}" for a, b in pairs]


def test_the_band_could_fail_the_claim() -> None:
    # P(estimate >= 0.90 | true coverage 0.88) with N_DATA datasets: the test has power.
    passes_if_wrong = sps.binom.sf(int(np.ceil(FLOOR * N_DATA)) - 1, N_DATA, 0.88)
    assert passes_if_wrong < 0.05


def test_speaker_interval_coverage_matches_the_docstring() -> None:
    study = coverage_study(_recorded_like_design(), speaker_sd=(0.0, 0.5, 1.0), n_data=N_DATA,
                           seed=2024).set_index("speaker_sd")
    assert (study.loc[[0.5, 1.0], "speaker_coverage"] >= FLOOR).all()
    assert 0.97 <= study.loc[0.0, "speaker_coverage"]  # conservative without speaker effects
    assert (study["speaker_coverage"] <= 0.999).all()  # but not an interval that covers everything
    assert study.loc[0.5, "trial_coverage"] < 0.85
