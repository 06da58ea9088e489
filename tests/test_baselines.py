"""NMF-interp (issue 14): the interpolated NMF dictionary and its place in the paired runner."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import interp1d

from innmf.experiments.baselines import interpolate_dictionary, refit_activations
from innmf.experiments.settings import get_profile
from innmf.experiments.trial import METHODS, learn_speaker, run_trial, window_sizes
from innmf.models.implicit import ImplicitWNMF
from innmf.tf.stft import frequency_coordinate, stft_frequencies

TINY = dict(
    n_trials=1, train_seconds=3.0, test_seconds=2.0, n_ffts=[1000, 2000], extra_n_ffts=[512],
    rank=4, nmf_iter=15, hidden=8, inr_epochs=8, refit_epochs=6, sep_epochs=4,
)


def test_interpolation_is_identity_at_the_training_size():
    W = np.random.default_rng(0).random((1001, 5))
    np.testing.assert_array_equal(interpolate_dictionary(W, 2000, 2000), W)


@pytest.mark.parametrize("n_to", [512, 1000, 1500, 2500, 4096])
def test_interpolation_matches_scipy_linear_in_hz(n_to):
    sr = 16000.0
    W = np.random.default_rng(1).random((1001, 3)) + 0.1
    reference = interp1d(stft_frequencies(2000, sr), W, axis=0, kind="linear")(stft_frequencies(n_to, sr))
    out = interpolate_dictionary(W, 2000, n_to)
    assert out.shape == (n_to // 2 + 1, 3)
    np.testing.assert_allclose(out, reference, rtol=0, atol=1e-12)


def test_a_template_linear_in_frequency_is_reproduced_exactly():
    # hand-derived: linear interpolation of a linear function is that function
    W = np.stack([np.arange(1001) / 1000.0, 2.0 - np.arange(1001) / 1000.0], axis=1)
    out = interpolate_dictionary(W, 2000, 512)
    f = np.arange(257) / 256.0  # bin k of N = 512 at k / 256 of Nyquist
    np.testing.assert_allclose(out, np.stack([f, 2.0 - f], axis=1), atol=1e-12)


@pytest.mark.parametrize(
    "W, message",
    [(np.ones((100, 2)), "1001 bins"), (-np.ones((1001, 2)), "non-negative"), (np.ones(1001), "1001 bins")],
)
def test_bad_dictionaries_are_refused_with_the_fix(W, message):
    with pytest.raises(ValueError, match=message):
        interpolate_dictionary(W, 2000, 1000)


def test_refit_is_exactly_inn_nmfs_refit():
    """Same W and seed: NMF-interp's H refit gives iN-NMF's refit_H bit for bit."""
    rng = np.random.default_rng(2)
    V = rng.random((257, 40)) ** 2
    coords = frequency_coordinate(512)
    model = ImplicitWNMF(3, hidden=8, seed=5).fit(V, coords, epochs=2)  # transform needs a fitted model
    H_inr = model.refit_H(V, coords, epochs=25, loss_every=25)
    H_interp = refit_activations(V, model.sample_W(coords), epochs=25, seed=model.seed + 2)
    np.testing.assert_array_equal(H_interp, H_inr)


@pytest.fixture(scope="module")
def tiny_rows():
    import pandas as pd

    from innmf.experiments.runner import draw_trials
    from innmf.experiments.parallel import limited_threads

    settings = get_profile("smoke", **TINY)
    with limited_threads(1):
        return settings, pd.DataFrame(run_trial(settings, draw_trials(settings)[0], ["all"]))


def test_every_window_size_and_metric_has_all_methods(tiny_rows):
    settings, df = tiny_rows
    assert "NMF-interp" in METHODS
    counts = df.groupby(["experiment", "n_fft", "metric"])["method"].apply(frozenset)
    assert set(counts.index.get_level_values("n_fft")) == set(window_sizes(settings))
    assert (counts == frozenset(METHODS)).all()
    assert np.all(np.isfinite(df["value"]))


def test_interp_dictionary_is_the_training_nmf_one_at_the_training_size():
    from innmf.data import trial_audio
    from innmf.experiments.runner import draw_trials
    from innmf.experiments.trial import cached_corpus

    settings = get_profile("smoke", **TINY)
    audio = trial_audio(cached_corpus(settings["corpus"]), draw_trials(settings)[0])
    models = learn_speaker(audio.train[0], settings, 0, 0, 0, with_kl=False)
    n0 = int(settings["train_n_fft"])
    np.testing.assert_array_equal(models.interp_W[n0], models.nmf_W[n0])
    np.testing.assert_array_equal(models.interp_W[512], interpolate_dictionary(models.nmf_W[n0], n0, 512))


def test_training_size_outside_the_evaluated_sizes_still_gives_interp_rows():
    from innmf.experiments.runner import draw_trials

    settings = get_profile("smoke", **{**TINY, "n_ffts": [1000], "extra_n_ffts": [], "train_n_fft": 1500})
    rows = run_trial(settings, draw_trials(settings)[0], ["reconstruction"])
    assert {(r["method"], r["n_fft"]) for r in rows} == {(m, 1000) for m in METHODS}


def test_adding_nmf_interp_leaves_the_other_methods_numbers_unchanged(tiny_rows):
    """The run without the baseline (``methods`` without it) gives NMF's and iN-NMF's rows bit for bit."""
    import pandas as pd

    from innmf.experiments import trial
    from innmf.experiments.parallel import limited_threads
    from innmf.experiments.runner import draw_trials

    settings, with_interp = tiny_rows
    settings = settings.replace(methods=("NMF", "iN-NMF"))
    with limited_threads(1):
        without = pd.DataFrame(trial.run_trial(settings, draw_trials(settings)[0], ["all"]))
    assert set(without["method"]) == {"NMF", "iN-NMF"}
    keys = ["experiment", "method", "n_fft", "metric"]
    ours = with_interp[with_interp["method"] != "NMF-interp"].sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, without.sort_values(keys).reset_index(drop=True), check_exact=True)
