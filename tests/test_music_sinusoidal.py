"""The sinusoidal representation of the music experiment: peaks, regions, inversion, fits, a smoke run.

innmf.tf.peak_regions, the ``sinusoidal`` analysis of innmf.experiments.music_reps, the point methods
on continuous frequencies (innmf.experiments.music_fit, innmf.models.point_inr with a frequency
operator) and the recorded family that borrows its grid (innmf.report.music).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.signal
import torch

from innmf.data.stems import load_stems
from innmf.experiments.music import music_settings, run_music, systems
from innmf.experiments.music_fit import System, learn_dictionary, masked_estimates, score, source_models
from innmf.experiments.music_reps import SINUSOIDAL, analyse, stem_coefficients
from innmf.models import point_inr
from innmf.models.point_inr import ImplicitWPoints
from innmf.paper.point_mu import interpolation_matrix
from innmf.paper.separation import wiener_masks
from innmf.tf.peak_regions import inverse_padded_stft, padded_stft, peak_regions

SR = 8000
CQT = music_settings("paper")["cqt"]


def _snr(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((reference - estimate) ** 2)))


def _partials(freqs: list[float], seconds: float, seed: int) -> np.ndarray:
    """Stationary partials (amplitudes 1/h) with 0.2 s raised-sine fades, so every frame's spectrum is lines."""
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    ramp = np.sin(np.pi / 2 * np.minimum(1.0, np.minimum(t, t[::-1]) / 0.2)) ** 2
    return 0.1 * ramp * sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) / (h + 1) for h, f in enumerate(freqs))


def test_padded_stft_and_its_inverse_are_scipys():
    """Forward: scipy.signal.stft (scaling undone); inverse of a *modified* spectrum: scipy.signal.istft."""
    x = np.random.default_rng(0).standard_normal(3000)
    N, hop, pad = 256, 64, 4
    w = scipy.signal.get_window("blackmanharris", N)
    X = padded_stft(x, N, hop, pad, "blackmanharris")
    _, _, Z = scipy.signal.stft(x, window=w, nperseg=N, noverlap=N - hop, nfft=pad * N, boundary=None, padded=False,
                                detrend=False)
    np.testing.assert_allclose(X, Z.T * w.sum(), atol=1e-10)
    gains = np.random.default_rng(1).uniform(0, 1, X.shape)
    _, y_ref = scipy.signal.istft((X * gains).T / w.sum(), window=w, nperseg=N, noverlap=N - hop, nfft=pad * N,
                                  boundary=False)
    y = inverse_padded_stft(X * gains, N, hop, "blackmanharris")
    np.testing.assert_allclose(y, y_ref[: len(y)], atol=1e-10)


def test_a_peaks_coefficient_is_half_the_amplitude_of_its_sinusoid():
    """Closed form: A sin(2π f t) gives a peak at f with |DTFT| = A/2, as Peaks.m gives it (to the parabola's bias)."""
    t = np.arange(2 * SR) / SR
    regions = peak_regions(0.8 * np.sin(2 * np.pi * 443.3 * t + 0.4) + 0.2 * np.sin(2 * np.pi * 1201.7 * t), SR)
    inner = (regions.peaks.t > 0.2) & (regions.peaks.t < 1.8)
    for f0, a0 in ((443.3, 0.8), (1201.7, 0.2)):
        near = inner & (np.abs(regions.peaks.f - f0) < 5)
        assert near.sum() == len(np.unique(regions.peaks.frame[inner]))  # one peak per frame
        np.testing.assert_allclose(regions.peaks.f[near], f0, atol=0.05)
        np.testing.assert_allclose(np.abs(regions.coefs[near]), a0 / 2, rtol=1e-3)
        np.testing.assert_allclose(regions.peaks.m[near], a0 / 2, rtol=2e-3)


def test_regions_tile_every_frame_and_split_at_the_minimum_between_peaks():
    x = _partials([300.0, 1000.0], 1.0, 0)
    regions = peak_regions(x, SR)
    mag = np.abs(padded_stft(regions.padded, regions.window_length, regions.hop, regions.zero_pad, regions.window))
    assert regions.owner.shape == mag.shape and regions.owner.min() == 0
    assert set(np.unique(regions.owner)) == set(range(len(regions.coefs)))  # every peak owns bins
    for j in np.unique(regions.peaks.frame):
        own = np.flatnonzero(regions.peaks.frame == j)
        row = regions.owner[j]
        assert np.all(np.diff(row) >= 0) and set(row) == set(own)  # contiguous runs, ordered as the peaks
        for a, b in zip(own[:-1], own[1:]):  # the boundary is the minimum between the two peaks' bins
            lo, hi = np.flatnonzero(row == a).max(), np.flatnonzero(row == b).min()
            ka, kb = (int(round(regions.peaks.f[i] * regions.n_fft / SR)) for i in (a, b))
            assert hi == lo + 1 and hi == ka + np.argmin(mag[j, ka:kb + 1])
    # weights: the area of the bins each peak owns; all of them the whole analysed plane
    an = analyse("sinusoidal", x, SR, CQT)
    frames, bins = regions.owner.shape
    np.testing.assert_allclose(an.weights.sum() * 0.5, frames * bins * regions.hop / regions.n_fft)
    np.testing.assert_allclose(an.weights, regions.areas() / 0.5)


def test_frames_without_peaks_take_the_regions_of_the_nearest_frame():
    x = np.concatenate([_partials([500.0], 0.5, 1), np.zeros(SR), _partials([700.0], 0.5, 2)])
    regions = peak_regions(x, SR)
    has = np.unique(regions.peaks.frame)
    silent = np.setdiff1d(np.arange(len(regions.owner)), has)
    assert len(silent) > 10
    for j in silent:
        nearest = has[np.argmin(np.abs(has - j) + 1e-3 * (has > j))]  # ties to the earlier frame
        np.testing.assert_array_equal(regions.owner[j], regions.owner[nearest])


@pytest.mark.parametrize("seed", [0, 1])
def test_the_representation_gives_a_known_signal_back_beyond_60_db(seed):
    x = np.random.default_rng(seed).standard_normal(2 * SR + 37) if seed else _partials([220.0, 440.0, 990.0], 1.5, 3)
    an = analyse("sinusoidal", x, SR, CQT)
    assert _snr(x, an.invert(an.coefs)) > 60
    assert len(an.t) == len(an.f) == len(an.weights) == len(an.coefs) == len(an.bandwidth)
    assert np.all(an.f > 0) and np.all(an.f < SR / 2) and not an.regular


def test_oracle_masks_on_two_resolved_sources_give_each_back_beyond_60_db():
    """Partials of the two sources 100 Hz or more apart: each peak's region holds one source, so the
    oracle (magnitude share, p = 1) separates them exactly; the masks sum to one at every peak."""
    S = np.stack([_partials([523.0, 1046.0, 1569.0], 2.0, 4), _partials([196.0, 392.0, 784.0], 2.0, 5)])
    mixture = S.sum(0)
    an = analyse("sinusoidal", mixture, SR, CQT)
    coefs = [stem_coefficients(an, s, SR, CQT) for s in S]
    np.testing.assert_allclose(np.sum(coefs, axis=0), an.coefs, atol=1e-12)  # linear at the mixture's points
    models = [np.abs(c) for c in coefs]
    np.testing.assert_allclose(np.sum(wiener_masks([m[None] for m in models]), axis=0), 1.0, atol=1e-12)
    estimates = masked_estimates(an, models, 1.0)
    for s, e in zip(S, estimates):
        assert _snr(s, e) > 60
    assert _snr(mixture, np.sum(estimates, axis=0)) > 60


def test_a_committed_piece_goes_through_the_representation_and_its_oracle():
    """A chorale of default-music: the mixture back beyond 60 dB; oracle masks (p = 1) sum to one and their
    estimates to the mixture beyond 60 dB; the experiment's oracle (p = 0.5) far above the floor."""
    piece = load_stems("default-music", sr=SR).pieces_in("test")[0]
    stems = piece.load()
    S = np.stack(list(stems.values()))
    mixture = S.sum(0)
    an = analyse("sinusoidal", mixture, SR, CQT)
    assert _snr(mixture, an.invert(an.coefs)) > 60
    models = [np.abs(stem_coefficients(an, s, SR, CQT)) for s in S]
    np.testing.assert_allclose(np.sum(wiener_masks([m[None] for m in models]), axis=0), 1.0, atol=1e-12)
    assert _snr(mixture, np.sum(masked_estimates(an, models, 1.0), axis=0)) > 60
    oracle = score(S, masked_estimates(an, [m**0.5 for m in models], 0.5), SR)
    floor = score(S, [mixture / len(S)] * len(S), SR)
    assert np.mean(oracle["sdr"]) > np.mean(floor["sdr"]) + 10


@pytest.mark.parametrize("sparse", [True, False])
def test_point_networks_through_a_frequency_operator_have_autograds_gradient(monkeypatch, sparse):
    """W at nodes, read at the points by linear interpolation: the hand-made gradient equals autograd's,
    with W H formed at the touched cells only or on the whole grid."""
    monkeypatch.setattr(point_inr, "SPARSE_CELLS_RATIO", 0 if sparse else 10**9)
    rng = np.random.default_rng(4)
    L, T, nodes = 80, 9, np.linspace(-0.5, 0.5, 11)
    A = interpolation_matrix(rng.uniform(-0.5, 0.5, L), nodes)
    B = interpolation_matrix(rng.uniform(0, 1, L), np.linspace(0, 1, T))
    m, w = rng.uniform(0.1, 2.0, L), rng.uniform(0.5, 1.5, L)
    model = ImplicitWPoints(3, hidden=8, seed=1, dtype=torch.float64)
    loss_fn, params = model._objective(nodes, B, m, w, A)
    params = [p for p in params if p.requires_grad]
    loss = loss_fn()
    loss.backward()
    ours = [p.grad.clone() for p in params]
    for p in params:
        p.grad = None
    W = torch.as_tensor(A.toarray()) @ model.net(torch.as_tensor(nodes))
    Z = torch.as_tensor(B.toarray()) @ torch.nn.functional.softplus(params[-1]).T
    m_hat = (W * Z).sum(1)
    mt, wt = torch.as_tensor(m), torch.as_tensor(w / w.sum())
    reference = (wt * (mt * torch.log(mt / m_hat) - mt + m_hat)).sum()
    reference.backward()
    assert float(loss.detach()) == pytest.approx(float(reference.detach()), rel=1e-10)
    for a, p in zip(ours, params):
        torch.testing.assert_close(a, p.grad, rtol=1e-8, atol=1e-12)
    with pytest.raises(ValueError, match="operator"):
        model._objective(nodes[::-1], B, m, w, A)


@pytest.mark.parametrize("method", ["NMF-grid", "iN-NMF"])
def test_both_point_methods_separate_two_voices_on_peaks_better_than_the_floor(method):
    """The voices carry a noise floor 60 dB below their partials, as recordings do: its low peaks everywhere
    tell a source's networks where it has no energy (pure partials alone leave W free between them)."""
    settings = music_settings("smoke", rank=4, irregular=["sinusoidal"], train_iter=60, test_iter=60, inr_epochs=150,
                              hidden=8)
    system = System(method, "sinusoidal")

    def notes(f0s: list[float], seed: int) -> np.ndarray:  # one note after another, four partials each
        x = np.concatenate([_partials([f0 * h for h in (1, 2, 3, 4)], 0.6, seed + i) for i, f0 in enumerate(f0s)])
        return x + 1e-4 * np.random.default_rng(seed + 50).standard_normal(len(x))

    # the dictionaries hear the notes the test mixes (a free W knows no frequency it has not heard)
    high, low = notes([440.0, 494.0, 523.0], 6), notes([110.0, 123.0, 139.0], 7)
    dictionaries = [learn_dictionary(system, high, settings), learn_dictionary(system, low, settings)]
    an0 = analyse("sinusoidal", high, SR, CQT)
    assert all(np.array_equal(d.freqs, an0.freq_grid) for d in dictionaries)  # W kept on the FFT's nodes
    stems = np.stack([notes([523.0, 440.0, 494.0], 8), notes([139.0, 123.0, 110.0], 9)])
    mixture = stems.sum(0)
    an = analyse("sinusoidal", mixture, SR, CQT)
    models = source_models(system, an, dictionaries, len(mixture) / SR, settings)
    separated = score(stems, masked_estimates(an, models, 0.5), SR)
    floor = score(stems, [mixture / 2, mixture / 2], SR)
    assert np.mean(separated["sdr"]) > np.mean(floor["sdr"]) + 10.0


def test_sinusoidal_enters_a_run_only_when_asked_for_and_the_profiles_are_unchanged():
    for profile in ("paper", "quick", "smoke"):
        assert all(s.representation != "sinusoidal" for s in systems(music_settings(profile)))
    assert music_settings("paper")["irregular"] == ["cqt", "multires"]
    assert SINUSOIDAL == {"window_length": 1024, "hop": 256, "zero_pad": 4, "threshold_db": -80.0}
    labels = [s.label for s in systems(music_settings("smoke", irregular=["sinusoidal"]))]
    assert labels == ["NMF | stft-512", "NMF-grid | sinusoidal", "iN-NMF | sinusoidal"]


def test_a_smoke_run_on_the_committed_chorales_scores_every_system_on_peaks():
    rows = run_music("default-music", profile="smoke", progress=False, irregular=["sinusoidal"])
    got = set(zip(rows["method"], rows["representation"]))
    assert got == {("floor", "none"), ("oracle", "stft-512"), ("NMF", "stft-512"), ("oracle", "sinusoidal"),
                   ("NMF-grid", "sinusoidal"), ("iN-NMF", "sinusoidal")}
    assert set(rows["metric"]) == {"sdr", "sir", "sar", "si_sdr"} and np.isfinite(rows["value"]).all()
    sdr = rows[rows.metric == "sdr"].groupby(["method", "representation"])["value"].mean()
    assert sdr["oracle", "sinusoidal"] > sdr["floor", "none"] + 10


def _family_rows(dataset: str, means: dict[tuple[str, str], float], seed: int) -> pd.DataFrame:
    rng, pieces_rng = np.random.default_rng(seed), np.random.default_rng(ord(dataset))  # a piece is as hard in every run
    out = []
    for part, pieces in (("validation", 4), ("test", 12)):
        for p in range(pieces):
            shift = pieces_rng.normal(0, 2)
            out += [{"dataset": dataset, "split": part, "piece": f"{part}{p}", "method": method, "representation": rep,
                     "source": src, "metric": "sdr", "value": mean + shift + rng.normal(0, 0.05)}
                    for (method, rep), mean in means.items() for src in ("s1", "s2")]
    return pd.DataFrame(out)


def test_a_recorded_run_of_the_peaks_alone_borrows_its_lenders_grid(tmp_path, monkeypatch):
    """ADDENDUM-2: the sinusoidal rows judged against the grid candidates of the run that recorded the same
    pieces, in a Holm family of their own; each row once in the pooled rows; another floor is refused."""
    from innmf.report import music

    (tmp_path / "notebooks").mkdir()
    root = tmp_path / "results" / "music"
    root.mkdir(parents=True)
    monkeypatch.setenv("INNMF_ROOT", str(tmp_path))
    grid = {("NMF", "stft-512"): 5.0, ("NMF", "stft-1024"): 4.0, ("NMF-raster-32ms", "cqt"): 3.0,
            ("iN-NMF", "cqt"): 6.0, ("NMF-grid", "cqt"): 5.5, ("floor", "none"): -3.0, ("oracle", "cqt"): 12.0}
    first = pd.concat([_family_rows("a", grid, 0), _family_rows("b", grid | {("NMF", "stft-1024"): 7.0}, 1)])
    first.to_csv(root / "rows.csv", index=False)
    peaks = {("iN-NMF", "sinusoidal"): 6.5, ("NMF-grid", "sinusoidal"): 4.5, ("oracle", "sinusoidal"): 15.0}
    new = pd.concat([_family_rows("a", peaks, 2), _family_rows("b", peaks, 3), first[first.method == "floor"]])
    new.to_csv(root / "addendum-2-rows.csv", index=False)
    table = music.recorded_endpoint().set_index(["family", "dataset", "representation"])
    assert list(table.loc["addendum-2"].index) == [("a", "sinusoidal"), ("b", "sinusoidal")]
    part = table.loc["addendum-2"]
    assert part["comparator"].tolist() == table.loc["chorales"].xs("cqt", level="representation")["comparator"].tolist()
    assert part["comparator"].tolist() == ["NMF | stft-512", "NMF | stft-1024"]
    np.testing.assert_allclose(part["delta"], [1.5, -0.5], atol=0.1)
    np.testing.assert_allclose(np.sort(part["p_holm"]), np.minimum(1, np.maximum.accumulate(np.sort(part["p"]) * [2, 1])))
    claims = music.recorded_claims()
    assert claims["addendum-2"] == {"a": "supported", "b": "contradicted"} and set(claims) == {"chorales", "addendum-2"}
    pooled = music.recorded_rows()
    assert len(pooled) == len(first) + len(new) - int((first.method == "floor").sum())
    assert not pooled.duplicated(music.ROW_KEY).any()
    new.loc[new.method == "floor", "value"] += 0.01  # other mixtures: the borrowed grid would not be paired
    new.to_csv(root / "addendum-2-rows.csv", index=False)
    with pytest.raises(ValueError, match="floor"):
        music.recorded_runs()
