"""Tests of the hybrid-representation experiment (chapter "Irregular and hybrid representations")."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr

from innmf.experiments.hybrid import (
    HybridFit,
    activation_note_correlation,
    fit_hybrid,
    fm_frequency_error,
    note_assignment,
)
from innmf.experiments.hybrid import note_envelopes
from innmf.tf.hybrid import stft_points
from innmf.tf.pointcloud import CoordinateMap, PointCloud, concat_in_time
from innmf.tf.signals import harmonic_tone

SEGMENTS = ("a", "b", "c")


def bump(t, centre, width=0.3):
    return np.exp(-0.5 * ((t - centre) / width) ** 2)


def synthetic_envelopes(t):
    """Two 'notes': energy bumps early and late (energy, so H should follow E^0.25)."""
    return {"low": bump(t, 0.6) ** 4, "high": bump(t, 1.8) ** 4}


def fake_fit(H_of, names=SEGMENTS, times=None):
    """A HybridFit whose activations are given: H_of(name, t) -> (K, len(t))."""
    times = times or {n: np.linspace(0.0, 2.5, 40 + 7 * i) for i, n in enumerate(names)}
    H = {n: H_of(n, times[n]) for n in names}
    K = next(iter(H.values())).shape[0]
    return HybridFit(model=None, losses=np.zeros(1), mapping=CoordinateMap(7.5, 2205.0),
                     freqs=np.linspace(0, 2205, 5), W=np.ones((5, K)), segment_names=tuple(names),
                     times=times, H=H, scale=np.ones(K), seconds=0.0)


def separated(name, t):
    env = synthetic_envelopes(t)
    return np.stack([3.0 * env["high"] ** 0.25, 0.5 * env["low"] ** 0.25 + 0.1])


def test_correlation_of_known_activations_is_one_and_matches_scipy():
    fit = fake_fit(separated)
    corr = activation_note_correlation(fit, envelopes=synthetic_envelopes)
    assert list(corr.columns) == ["segment", "component", "low", "high", "follows"]
    assert len(corr) == len(SEGMENTS) * 2
    assert np.allclose(corr.loc[corr.component == 1, "high"], 1.0)
    assert np.allclose(corr.loc[corr.component == 2, "low"], 1.0)
    assert (corr.loc[corr.component == 1, "follows"] == "high").all()
    # every entry against scipy's Pearson correlation, on the raw (unraised) envelope too
    corr1 = activation_note_correlation(fit, envelopes=synthetic_envelopes, exponent=1.0)
    for _, row in corr1.iterrows():
        t = fit.times[row.segment]
        for note, e in synthetic_envelopes(t).items():
            assert row[note] == pytest.approx(pearsonr(fit.H[row.segment][row.component - 1], e)[0], abs=1e-12)
    summary = note_assignment(corr)
    assert list(summary.segment) == [*SEGMENTS, "all"]
    assert (summary.loc[:2, "H_1"] == "high").all() and (summary.loc[:2, "H_2"] == "low").all()
    assert summary["one-to-one"].all() and summary["consistent"].all()
    assert summary["min r"].iloc[-1] == pytest.approx(1.0)


def test_assignment_detects_swaps_and_shared_notes():
    def swapped_in_b(name, t):
        H = separated(name, t)
        return H[::-1] if name == "b" else H

    summary = note_assignment(activation_note_correlation(fake_fit(swapped_in_b), envelopes=synthetic_envelopes))
    assert summary["one-to-one"].all()  # each segment on its own is fine ...
    assert not summary["consistent"].any()  # ... but the components swap notes between segments

    def both_low(name, t):
        low = synthetic_envelopes(t)["low"] ** 0.25
        return np.stack([low, 2 * low + 0.01 * np.sin(9 * t)])

    summary = note_assignment(activation_note_correlation(fake_fit(both_low), envelopes=synthetic_envelopes))
    assert not summary["one-to-one"].any() and not summary["consistent"].any()
    assert (summary.loc[:2, ["H_1", "H_2"]] == "low").all().all()


def test_correlation_with_the_piano_envelopes():
    times = {"stft": np.linspace(0.0, 2.5, 300)}
    env = note_envelopes(times["stft"])
    fit = fake_fit(lambda n, t: np.stack([env["E3"] ** 0.25, env["C3"] ** 0.25]), names=("stft",), times=times)
    corr = activation_note_correlation(fit)
    assert set(corr.columns) >= {"C3", "E3"}
    assert corr.loc[0, "E3"] == pytest.approx(1.0) and corr.loc[1, "C3"] == pytest.approx(1.0)
    assert corr.loc[0, "C3"] < 0.5  # the notes overlap only briefly (onsets 0.1 s and 1.2 s)


def test_constant_activation_is_an_error():
    fit = fake_fit(lambda n, t: np.ones((2, len(t))))
    with pytest.raises(ValueError, match="constant"):
        activation_note_correlation(fit, envelopes=synthetic_envelopes)


@pytest.fixture(scope="module")
def tiny_cloud():
    """Two harmonic tones, one after the other, each seen by two small STFTs (~1.5k points)."""
    sr = 2000
    x = np.concatenate([harmonic_tone(sr, 0.4, 200.0, 3, decay=4.0), harmonic_tone(sr, 0.4, 300.0, 3, decay=4.0)])
    return concat_in_time([stft_points(x, sr, 32, 16, name="short"), stft_points(x, sr, 128, 32, name="long")]
                          ).power(0.5)


def test_fit_hybrid_shapes_and_scaling(tiny_cloud):
    fit = fit_hybrid(tiny_cloud, rank=2, hidden=8, epochs=8, fraction=0.5, seed=3, n_grid=64, progress=False)
    assert fit.losses.shape == (8,) and np.all(np.isfinite(fit.losses))
    assert fit.freqs.shape == (64,) and fit.freqs[0] == 0 and fit.freqs[-1] == pytest.approx(1000.0)
    assert fit.W.shape == (64, 2) and np.allclose(fit.W.max(axis=0), 1.0) and (fit.W >= 0).all()
    assert fit.segment_names == ("short", "long")
    for s, name in enumerate(fit.segment_names):
        expected = np.unique(tiny_cloud.select(s).t) - tiny_cloud.starts[s]
        assert np.allclose(fit.times[name], expected)
        assert fit.times[name].min() >= 0 and fit.times[name].max() <= 0.8
        assert fit.H[name].shape == (2, len(expected)) and (fit.H[name] >= 0).all()
    # the rescaling keeps the model: sum_k W_k(f) H_k(t) equals the model's own prediction
    t, f = tiny_cloud.t[:50], tiny_cloud.f[:50]
    u, v = fit.mapping.to_unit(t, f)
    ours = np.einsum("pk,kp->p", fit.sample_W(f), fit.sample_H(t))
    assert np.allclose(ours, fit.model.predict(u, v), rtol=1e-5)
    # sampling H at the cloud's own times reproduces the stored activations
    corr_stored = activation_note_correlation(fit, envelopes=lambda t: {"x": t, "y": (t - 0.3) ** 2})
    corr_cloud = activation_note_correlation(fit, tiny_cloud, envelopes=lambda t: {"x": t, "y": (t - 0.3) ** 2})
    pd.testing.assert_frame_equal(corr_stored, corr_cloud)


def test_fit_hybrid_is_deterministic(tiny_cloud):
    kwargs = dict(rank=2, hidden=8, epochs=6, seed=5, n_grid=16, progress=False)
    a, b = fit_hybrid(tiny_cloud, **kwargs), fit_hybrid(tiny_cloud, **kwargs)
    assert np.array_equal(a.losses, b.losses) and np.array_equal(a.W, b.W)
    assert all(np.array_equal(a.H[n], b.H[n]) for n in a.segment_names)
    c = fit_hybrid(tiny_cloud, **{**kwargs, "seed": 6})
    assert not np.array_equal(a.losses, c.losses)


def test_fit_hybrid_rejects_bad_clouds():
    no_sr = PointCloud([0.0, 1.0], [10.0, 20.0], [1.0, 2.0], [0, 0], ("x",))
    with pytest.raises(ValueError, match="sample rate"):
        fit_hybrid(no_sr, epochs=1, progress=False)


def test_fm_error_stationary_tone_matches_closed_form():
    # depth 0: a 440 Hz tone; the nearest 8000/256 = 31.25 Hz bin is 437.5 Hz (2.5 Hz off)
    df = fm_frequency_error(sr=8000.0, seconds=1.0, depth=0.0, n_fft=256)
    stft_row, peak_row = df.loc["STFT (strongest bin)"], df.loc["sinusoidal model (strongest peak)"]
    assert stft_row["median |error| (Hz)"] == pytest.approx(2.5) and stft_row["max (Hz)"] == pytest.approx(2.5)
    assert stft_row["grid spacing (Hz)"] == pytest.approx(31.25)
    assert peak_row["max (Hz)"] < 0.05


def test_fm_error_sinusoidal_points_track_the_modulation():
    df = fm_frequency_error(sr=8000.0, seconds=1.0, depth=60.0, n_fft=128)
    stft_row, peak_row = df.loc["STFT (strongest bin)"], df.loc["sinusoidal model (strongest peak)"]
    assert stft_row["frames"] == peak_row["frames"] > 100
    assert stft_row["max (Hz)"] <= stft_row["grid spacing (Hz)"] / 2 + 1e-9  # bin rounding, no more
    assert stft_row["median |error| (Hz)"] > 5
    assert peak_row["95th pct (Hz)"] < 1.0  # off-grid points follow the curve within 1 Hz
