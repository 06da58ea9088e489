"""NMF-interp (issue 14) and NMF-resample: NMF's training-size dictionary carried to other window sizes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import interp1d

from innmf.experiments.baselines import interpolate_dictionary, refit_activations, resample_dictionary, window_kernel
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
    for n in window_sizes(settings):
        expected = resample_dictionary(models.nmf_W[n0], n0, n, settings["power"])
        np.testing.assert_array_equal(models.resample_W[n], expected)


def test_training_size_outside_the_evaluated_sizes_still_gives_interp_rows():
    from innmf.experiments.runner import draw_trials

    settings = get_profile("smoke", **{**TINY, "n_ffts": [1000], "extra_n_ffts": [], "train_n_fft": 1500})
    rows = run_trial(settings, draw_trials(settings)[0], ["reconstruction"])
    assert {(r["method"], r["n_fft"]) for r in rows} == {(m, 1000) for m in METHODS}


@pytest.mark.parametrize("methods", [("NMF", "iN-NMF"), ("NMF", "iN-NMF", "NMF-interp")])
def test_adding_the_baselines_leaves_the_other_methods_numbers_unchanged(tiny_rows, methods):
    """A run without a baseline (``methods`` without it) gives the other methods' rows bit for bit."""
    import pandas as pd

    from innmf.experiments import trial
    from innmf.experiments.parallel import limited_threads
    from innmf.experiments.runner import draw_trials

    settings, with_all = tiny_rows
    settings = settings.replace(methods=methods)
    with limited_threads(1):
        without = pd.DataFrame(trial.run_trial(settings, draw_trials(settings)[0], ["all"]))
    assert set(without["method"]) == set(methods)
    keys = ["experiment", "method", "n_fft", "metric"]
    ours = with_all[with_all["method"].isin(methods)].sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, without.sort_values(keys).reset_index(drop=True), check_exact=True)


# NMF-resample: the N0 dictionary smoothed (as power) by N's window's power spectrum, resampled, recompressed.

def _sine_window(n: int) -> np.ndarray:
    """The paper's window written out by hand: sqrt(0.5 - 0.5 cos(2 pi n / N)) = sin(pi n / N) on 0 <= n < N."""
    return np.sin(np.pi * np.arange(n) / n)


def _closed_form_power(n: int, nu: np.ndarray) -> np.ndarray:
    """|sum_n sin(pi n/N) e^(-2 pi i nu n)|^2 by two geometric series (sin = (e^ix - e^-ix) / 2i)."""
    def geometric(theta: np.ndarray) -> np.ndarray:  # sum_{n<N} e^(i theta n), theta never 0 mod 2 pi here
        return (1 - np.exp(1j * theta * n)) / (1 - np.exp(1j * theta))
    value = (geometric(np.pi / n - 2 * np.pi * nu) - geometric(-np.pi / n - 2 * np.pi * nu)) / 2j
    return np.abs(value) ** 2


@pytest.mark.parametrize("n", [1500, 2500, 4096, 777])
def test_window_kernel_is_the_windows_power_spectrum_in_closed_form(n):
    nu = np.arange(2000) / 2000  # offsets m / N0 in cycles per sample; no theta = 0 for these N
    reference = _closed_form_power(n, nu)
    np.testing.assert_allclose(window_kernel(n, 2000), reference / reference.sum(), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("k0", [0, 300, 1000])
def test_a_line_becomes_the_target_windows_kernel_at_the_target_bins(p, k0):
    """N = 1000 from N0 = 2000: bin j of N lies on bin 2j of N0, so no interpolation enters.

    Reference: numpy's FFT of the window zero-padded to 2000 gives its DTFT at m / 2000;
    Parseval gives the normaliser sum_m |F_m|^2 = 2000 * sum_n w_n^2 = 2000 * N / 2.
    A line at bin k0 (0 < k0 < 1000) also has its mirror image at 2000 - k0.
    """
    a = 3.0
    W = np.zeros((1001, 2))
    W[k0, 0] = a
    W[:, 1] = 0.5
    out = resample_dictionary(W, 2000, 1000, p)
    F = np.abs(np.fft.fft(_sine_window(1000), 2000)) ** 2 / (2000 * 1000 / 2)
    j = np.arange(501)
    images = {k0 % 2000, (2000 - k0) % 2000}
    power = sum(F[(2 * j - k) % 2000] for k in images) * a ** (2 / p)
    assert out.shape == (501, 2)
    np.testing.assert_allclose(out[:, 0], power ** (p / 2), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out[:, 1], 0.5, rtol=1e-12)  # a flat template stays flat


@pytest.mark.parametrize("n_from, n_to", [(2000, 512), (2000, 1000), (2000, 1500), (2000, 2000), (2000, 2500),
                                          (2000, 4096), (2000, 999), (1999, 1000), (1999, 3001)])
def test_flat_stays_flat_and_shapes_follow_the_target(n_from, n_to):
    W = np.full((n_from // 2 + 1, 3), 0.7) * np.array([1.0, 2.0, 0.0])
    out = resample_dictionary(W, n_from, n_to, 0.5)
    assert out.shape == (n_to // 2 + 1, 3)
    np.testing.assert_allclose(out, np.full((n_to // 2 + 1, 3), 0.7) * np.array([1.0, 2.0, 0.0]), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("n_from, n_to", [(64, 40), (64, 64), (64, 100), (63, 49)])
def test_matches_an_explicit_circulant_smoothing_then_scipy_interpolation(n_from, n_to):
    """The definition written as loops: mirror to the full circle, smooth, interpolate in Hz, recompress."""
    p = 0.5
    W = np.random.default_rng(3).random((n_from // 2 + 1, 2)) ** 3
    P = W ** (2 / p)
    full = np.array([P[min(m, n_from - m)] for m in range(n_from)])  # even spectrum, bins m and N0 - m
    g = _closed_form_power(n_to, np.arange(n_from) / n_from)
    g = g / g.sum()
    smoothed = np.array([[sum(full[m, k] * g[(i - m) % n_from] for m in range(n_from)) for k in range(2)]
                         for i in range(n_from // 2 + 1)])
    sr = 16000.0
    expected = interp1d(stft_frequencies(n_from, sr), smoothed, axis=0)(stft_frequencies(n_to, sr)) ** (p / 2)
    np.testing.assert_allclose(resample_dictionary(W, n_from, n_to, p), expected, rtol=1e-9, atol=1e-12)


def test_at_the_training_size_the_own_kernel_smooths_by_about_one_ninth():
    """N = N0 is defined as W smoothed by N0's own kernel, not the identity.

    Hand-derived: the sine window's DTFT at m bins is about (2N / pi) / (1 - 4 m^2), so the
    power weights are proportional to 1, 1/9, 1/225, ... and sum to pi^2 / 8 times the first:
    the bin keeps 8 / pi^2 of a line's power, each neighbour 1/9 of that.
    """
    p = 0.5
    W = np.zeros((1001, 1))
    W[400] = 2.0
    out = resample_dictionary(W, 2000, 2000, p)[:, 0] ** (2 / p) / 2.0 ** (2 / p)  # powers, per unit line
    assert out[400] == pytest.approx(8 / np.pi ** 2, rel=1e-5)
    assert out[401] / out[400] == pytest.approx(1 / 9, rel=1e-5)
    assert out[398] / out[400] == pytest.approx(1 / 225, rel=1e-4)
    assert not np.allclose(resample_dictionary(W, 2000, 2000, p), W)


def test_finer_target_bins_make_the_smoothing_nearly_the_identity_and_the_transfer_an_interpolation():
    """N = 4000 > N0 = 2000: the kernel's first zero (1.5 / N) lies inside one N0 bin (1 / N0).

    Even target bins 2j fall on N0's bin j and keep more than 99 % of a line's power; odd
    target bins lie halfway and get the mean of the two neighbouring (smoothed) powers.
    """
    p = 0.5
    g0 = window_kernel(4000, 2000)[0]
    assert g0 > 0.99
    W = np.zeros((1001, 1))
    W[500] = 1.0
    power = resample_dictionary(W, 2000, 4000, p)[:, 0] ** (2 / p)
    assert power[1000] == pytest.approx(g0, rel=1e-9)
    np.testing.assert_allclose(power[1:-1:2], (power[0:-2:2] + power[2::2]) / 2, rtol=1e-9, atol=1e-15)
    # a whole dictionary: the powers of NMF-resample are those of linear interpolation within 1 - g0
    W = np.random.default_rng(4).random((1001, 4))
    P = W ** (2 / p)
    ours = resample_dictionary(W, 2000, 4096, p) ** (2 / p)
    interp = interpolate_dictionary(P, 2000, 4096)
    assert np.max(np.abs(ours - interp)) <= (1 - window_kernel(4096, 2000)[0]) * P.max()


def test_resampled_dictionaries_are_non_negative_and_finite_with_zeros():
    rng = np.random.default_rng(5)
    W = rng.random((1001, 6)) * (rng.random((1001, 6)) < 0.05)  # sparse lines, mostly exact zeros
    W[:, 0] = 0.0
    for n in (512, 1000, 2000, 4096):
        out = resample_dictionary(W, 2000, n, 0.5)
        assert np.all(np.isfinite(out)) and np.all(out >= 0)
        np.testing.assert_array_equal(out[:, 0], 0.0)


@pytest.mark.parametrize(
    "W, kwargs, message",
    [(np.ones((100, 2)), {}, "1001 bins"), (-np.ones((1001, 2)), {}, "non-negative"),
     (np.full((1001, 2), np.nan), {}, "finite"), (np.ones(1001), {}, "1001 bins"),
     (np.ones((1001, 2)), {"power": 0.0}, "power"), (np.ones((1001, 2)), {"power": float("nan")}, "power"),
     (np.ones((1001, 2)), {"n_fft_to": 1}, "at least 2")],
)
def test_bad_inputs_to_the_resampling_are_refused(W, kwargs, message):
    args = {"n_fft_from": 2000, "n_fft_to": 1000, "power": 0.5, **kwargs}
    with pytest.raises(ValueError, match=message):
        resample_dictionary(W, **args)


def test_transfer_rows_are_run_trials_rows_bit_for_bit(tiny_rows):
    """What adds NMF-resample to a recorded run: the same rows as a full trial, and NMF's at N0."""
    import pandas as pd

    from innmf.experiments.parallel import limited_threads
    from innmf.experiments.runner import draw_trials
    from innmf.experiments.trial import transfer_rows

    settings, full = tiny_rows
    with limited_threads(1):
        rows = pd.DataFrame(transfer_rows(settings, draw_trials(settings)[0], ["NMF-resample", "NMF-interp"]))
    keys = ["experiment", "method", "n_fft", "metric"]
    n0 = settings["train_n_fft"]
    wanted = full["method"].isin(["NMF-interp", "NMF-resample"]) | (
        (full["method"] == "NMF") & (full["n_fft"] == n0) & (full["metric"] == "kl"))
    pd.testing.assert_frame_equal(rows.sort_values(keys).reset_index(drop=True),
                                  full[wanted].sort_values(keys).reset_index(drop=True), check_exact=True)
    with pytest.raises(ValueError, match="some of"):
        transfer_rows(settings, draw_trials(settings)[0], ["NMF"])
