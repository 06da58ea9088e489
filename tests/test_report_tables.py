"""against_interp's interval is the speaker-level one where the rows name speakers, and says which it is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from innmf.report.speaker_model import speaker_interval
from innmf.report.tables import against_interp, interp_sentence

SPEAKERS = ("a", "b", "c", "d", "e")


def _rows(with_speakers: bool) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for t in range(15):
        pair = f"{SPEAKERS[t % 5]}+{SPEAKERS[(t + 2) % 5]}"
        base = 4.0 + rng.standard_normal()
        for n in (1000, 2000):
            values = {"NMF": base, "NMF-interp": base + 0.1, "iN-NMF": base + 0.3 * rng.standard_normal()}
            for method, value in values.items():
                row = {"trial": t, "method": method, "n_fft": n, "metric": "sdr", "value": value}
                rows.append({**row, "speakers": pair} if with_speakers else row)
    return pd.DataFrame(rows)


def _differences(df: pd.DataFrame, n_fft: int) -> np.ndarray:
    wide = df[df["n_fft"] == n_fft].pivot(index="trial", columns="method", values="value")
    return (wide["iN-NMF"] - wide["NMF-interp"]).to_numpy()


def test_speaker_level_interval_when_the_rows_name_speakers() -> None:
    df = _rows(with_speakers=True)
    table = against_interp(df, "sdr")
    labels = df[(df["n_fft"] == 1000) & (df["method"] == "NMF")].sort_values("trial")["speakers"].tolist()
    fit = speaker_interval(_differences(df, 1000), labels)
    assert (table.loc[1000, "ci_low"], table.loc[1000, "ci_high"]) == pytest.approx((fit.low, fit.high))
    assert (table["level"] == "speaker").all()
    assert "speaker-level 95 % interval at each N, unadjusted" in interp_sentence(table, "sdr", 2000)


def test_trial_level_interval_otherwise_and_labelled_so() -> None:
    df = _rows(with_speakers=False)
    table = against_interp(df, "sdr")
    d = _differences(df, 1000)
    ci = sps.ttest_1samp(d, 0.0).confidence_interval(0.95)
    assert (table.loc[1000, "ci_low"], table.loc[1000, "ci_high"]) == pytest.approx((ci.low, ci.high))
    assert (table["level"] == "trial").all()
    assert "trial-level 95 % interval" in interp_sentence(table, "sdr", 2000)


def test_minus_signs_are_typeset_in_sentences_and_nothing_else():
    from innmf.report.format import typeset_minus

    text = "SDR -0.25 [-0.58, +0.08] dB (margin -0.50), N = 1000-2500, stft-512, 1e-05"
    assert typeset_minus(text) == "SDR \u22120.25 [\u22120.58, +0.08] dB (margin \u22120.50), N = 1000-2500, stft-512, 1e-05"
