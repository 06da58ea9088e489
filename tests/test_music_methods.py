"""The music experiment's representations, methods and scores (innmf.experiments.music_*)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.decomposition import non_negative_factorization

from innmf.experiments.music import music_settings, systems
from innmf.experiments.music_fit import System, learn_dictionary, masked_estimates, score, si_sdr, source_models
from innmf.experiments.music_reps import analyse
from innmf.models.point_inr import ImplicitWPoints, hz_coordinate
from innmf.paper.point_mu import interpolation_matrix

SR = 8000
CQT = music_settings("paper")["cqt"]
REPRESENTATIONS = ["stft-256", "stft-512", "stft-1024", "stft-2048", "cqt", "cqt-matrix", "multires"]


def _tone(f0s: list[float], seconds: float, seed: int) -> np.ndarray:
    """A harmonic voice: one note per segment, seven partials below Nyquist, decaying."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    x = np.zeros(n)
    seg = n // len(f0s)
    t = np.arange(seg) / SR
    for i, f0 in enumerate(f0s):
        partials = [np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6)) / h for h in range(1, 8) if f0 * h < 3900]
        x[i * seg:(i + 1) * seg] = np.sum(partials, axis=0) * np.exp(-2 * t)
    return 0.1 * x


@pytest.mark.parametrize("rep", REPRESENTATIONS)
def test_every_representation_inverts_its_own_coefficients_beyond_60_db(rep):
    x = np.random.default_rng(1).standard_normal(2 * SR + 37)
    an = analyse(rep, x, SR, CQT)
    y = an.invert(an.coefs)
    assert len(y) == len(x)
    assert 10 * np.log10(np.sum(x**2) / np.sum((x - y) ** 2)) > 60
    assert len(an.t) == len(an.f) == len(an.weights) == len(an.coefs)


@pytest.mark.parametrize("rep", ["stft-512", "cqt", "multires"])
def test_representations_are_linear_so_the_oracle_mask_is_exact(rep):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(SR), rng.standard_normal(SR)
    np.testing.assert_allclose(analyse(rep, a + b, SR, CQT).coefs,
                               analyse(rep, a, SR, CQT).coefs + analyse(rep, b, SR, CQT).coefs, atol=1e-9)


def test_weights_are_time_frequency_areas_in_stft_point_units():
    x = np.random.default_rng(3).standard_normal(3 * SR)
    assert np.all(analyse("stft-1024", x, SR, CQT).weights == 1.0)
    cqt = analyse("cqt", x, SR, CQT)
    # all points together stand for the whole plane: duration x Nyquist (second-Hz), in units of 1/2
    np.testing.assert_allclose(cqt.weights.sum() * 0.5, 3.0 * SR / 2, rtol=1e-6)
    with pytest.raises(ValueError, match="Unknown representation"):
        analyse("wavelet", x, SR, CQT)


def test_regular_nmf_dictionary_equals_scikit_learns_kl_multiplicative_updates():
    """On an STFT (equal weights, gathers) the learnt W is scikit-learn's MU solution from the same start."""
    settings = music_settings("paper", rank=3, train_iter=30)
    x = _tone([220, 330, 262], 1.5, 0)
    an = analyse("stft-512", x, SR, CQT)
    V = (an.magnitudes ** 0.5).reshape(257, -1)
    rng = np.random.default_rng(0)  # fit_point_nmf's documented start: sqrt(mean/K)|N(0,1)|, W then H
    scale = np.sqrt(V.mean() / 3)
    W0 = scale * np.abs(rng.standard_normal((257, 3)))
    H0 = scale * np.abs(rng.standard_normal((3, V.shape[1])))
    W_ref, _, _ = non_negative_factorization(V, W=W0.copy(), H=H0.copy(), n_components=3, init="custom", solver="mu",
                                             beta_loss="kullback-leibler", max_iter=30, tol=0.0)
    d = learn_dictionary(System("NMF", "stft-512"), x, settings, seed=0)
    np.testing.assert_allclose(d.W, W_ref, rtol=1e-6, atol=1e-9)


def test_point_networks_gradient_equals_autograd_of_the_weighted_kl():
    rng = np.random.default_rng(4)
    L, T = 60, 9
    v = rng.choice(np.linspace(-0.5, 0.5, 7), L)
    t = rng.uniform(0, 1, L)
    B = interpolation_matrix(t, np.linspace(0, 1, T))
    m, w = rng.uniform(0.1, 2.0, L), rng.uniform(0.5, 1.5, L)
    model = ImplicitWPoints(3, hidden=8, seed=1, dtype=torch.float64)
    loss_fn, params = model._objective(v, B, m, w)
    params = [p for p in params if p.requires_grad]  # the encoding's phases are frozen
    loss = loss_fn()
    loss.backward()
    ours = [p.grad.clone() for p in params]
    for p in params:
        p.grad = None
    W = model.net(torch.as_tensor(v))  # pointwise, no shortcut
    Z = torch.as_tensor(B.toarray()) @ torch.nn.functional.softplus(params[-1]).T
    m_hat = (W * Z).sum(1)
    mt, wt = torch.as_tensor(m), torch.as_tensor(w / w.sum())
    reference = (wt * (mt * torch.log(mt / m_hat) - mt + m_hat)).sum()
    reference.backward()
    assert float(loss.detach()) == pytest.approx(float(reference.detach()), rel=1e-10)
    for a, p in zip(ours, params):
        torch.testing.assert_close(a, p.grad, rtol=1e-8, atol=1e-12)


def test_point_networks_refuse_hertz_and_learn_a_fit():
    x = _tone([220, 330], 1.0, 5)
    an = analyse("cqt", x, SR, CQT)
    B = interpolation_matrix(an.t, np.arange(0, 1.01, 0.008))
    model = ImplicitWPoints(2, hidden=8, seed=0)
    with pytest.raises(ValueError, match="hz_coordinate"):
        model.fit(an.f, B, an.magnitudes ** 0.5, an.weights, epochs=2)
    model.fit(hz_coordinate(an.f, SR), B, an.magnitudes ** 0.5, an.weights, epochs=60)
    assert model.history_[-1] < 0.5 * model.history_[0]
    assert model.sample_W(hz_coordinate(np.array([100.0, 200.0]), SR)).shape == (2, 2)


def test_si_sdr_closed_form():
    rng = np.random.default_rng(6)
    s = rng.standard_normal(4000)
    n = rng.standard_normal(4000)
    n -= (n @ s) / (s @ s) * s  # orthogonal to s
    e = 0.3 * s + n
    assert si_sdr(s, e) == pytest.approx(10 * np.log10((0.3**2 * s @ s) / (n @ n)), rel=1e-10)
    assert si_sdr(s, 5 * e) == pytest.approx(si_sdr(s, e), rel=1e-12)  # scale-invariant


@pytest.mark.parametrize("system", systems(music_settings("smoke", irregular=["cqt", "multires"])), ids=lambda s: s.label)
def test_every_system_separates_two_voices_better_than_the_floor(system):
    settings = music_settings("smoke", rank=4, irregular=["cqt", "multires"], train_iter=60, test_iter=60,
                              inr_epochs=50, hidden=8)
    high = [_tone([440, 523, 494, 587], 2.0, 7), _tone([466, 554, 523], 1.5, 8)]
    low = [_tone([110, 131, 123, 147], 2.0, 9), _tone([117, 139, 131], 1.5, 10)]
    dictionaries = [learn_dictionary(system, high[0], settings), learn_dictionary(system, low[0], settings)]
    stems = np.stack([high[1], low[1]])
    mixture = stems.sum(0)
    an = analyse(system.representation, mixture, SR, settings["cqt"])
    models = source_models(system, an, dictionaries, len(mixture) / SR, settings)
    separated = score(stems, masked_estimates(an, models, 0.5), SR)
    floor = score(stems, [mixture / 2, mixture / 2], SR)
    assert np.mean(separated["sdr"]) > np.mean(floor["sdr"]) + 3.0


def test_a_dictionary_from_other_frequencies_is_refused():
    settings = music_settings("smoke")
    d = learn_dictionary(System("NMF", "stft-512"), _tone([220], 1.0, 0), settings)
    an = analyse("stft-1024", _tone([220], 1.0, 1), SR, settings["cqt"])
    with pytest.raises(ValueError, match="frequencies the dictionary was not learnt at"):
        source_models(System("NMF", "stft-1024"), an, [d], 1.0, settings)


def test_settings_refuse_unknown_names_and_profiles():
    with pytest.raises(ValueError, match="Unknown music setting"):
        music_settings("quick", ranks=3)
    with pytest.raises(ValueError, match="Unknown profile"):
        music_settings("huge")
    assert sp.issparse(interpolation_matrix(np.array([0.5]), np.array([0.0, 1.0])))
