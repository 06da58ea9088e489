"""Comparing two recordings of the same trials (innmf.report.recordings), on hand-built rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from innmf.report.recordings import method_changes, paired_mean_shift


def rows(shift=0.0, seed=0, n_trials=24, n_speakers=6):
    rng = np.random.default_rng(seed)
    out = []
    for t in range(n_trials):
        a, b = (t % n_speakers), (t * 5 + 1) % n_speakers
        b = b if b != a else (a + 1) % n_speakers
        for method in ("NMF", "iN-NMF"):
            for n in (1000, 2000):
                value = 5 + rng.normal(0, 1) + (shift if method == "iN-NMF" else 0.0)
                out.append({"trial": t, "trial_key": f"k{t}", "speakers": f"s{a}+s{b}", "experiment": "separation",
                            "method": method, "n_fft": n, "metric": "sdr", "value": value})
    return pd.DataFrame(out)


def test_a_constant_shift_of_one_method_is_measured_exactly():
    old = rows()
    new = rows(shift=0.25)
    moved = paired_mean_shift(old, new).set_index("n_fft")
    np.testing.assert_allclose(moved["shift"], 0.25, atol=1e-12)
    width = moved["old_high"] - moved["old_low"]
    np.testing.assert_allclose(moved["shift_in_widths"], 0.25 / width)
    assert (moved["shift_in_trial_widths"] > moved["shift_in_widths"]).all()  # trial-level intervals are narrower
    assert (moved["old_low"] < moved["old_diff"]).all() and (moved["old_diff"] < moved["old_high"]).all()
    changes = method_changes(old, new).set_index("method")
    assert changes.at["NMF", "identical"] == 1.0 and changes.at["NMF", "max_change"] == 0.0
    assert changes.at["iN-NMF", "identical"] == 0.0
    assert changes.at["iN-NMF", "median_change"] == pytest.approx(0.25)
    assert changes.at["iN-NMF", "pairs"] == 48


def test_only_shared_trials_are_compared_and_other_audio_is_refused():
    old, new = rows(), rows(shift=0.1)
    moved = paired_mean_shift(old, new[new["trial"] < 12])
    reference = paired_mean_shift(old[old["trial"] < 12], new[new["trial"] < 12])
    pd.testing.assert_frame_equal(moved, reference)
    other = new.assign(trial_key=new["trial_key"] + "x")
    with pytest.raises(ValueError, match="other audio"):
        method_changes(old, other)
    with pytest.raises(ValueError, match="share no trial"):
        method_changes(old, new.assign(trial=new["trial"] + 100))
