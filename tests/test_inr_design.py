"""The INR design study: its designs (SIREN first layer, Hz coordinate), trial rule, reproduction check and verdicts.

The designs are checked against hand-derived values; the trial rule on hand-made draws;
the decision rule on the recorded run's rows with known effects added.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from innmf.experiments import inr_design
from innmf.experiments.inr_design import DESIGNS, covering_trials, load_design, reference_pairs
from innmf.experiments.runner import run_experiments
from innmf.experiments.settings import get_profile
from innmf.experiments.trial import implicit_dictionary, inr_coordinates
from innmf.paper.encoding import SIREN_OMEGA, FourierEncoding
from innmf.report.inr_design import design_summary, design_table, verdict_sentences, verdicts
from innmf.tf.stft import frequency_coordinate

REFERENCE = "results/paper-embedded"


# --- the designs ----------------------------------------------------------------------------

def test_the_hz_coordinate_gives_a_frequency_one_coordinate_at_every_window_size():
    sr, f = 16000, 1000.0  # bin 32 at N = 512, bin 256 at N = 4096
    aligned = [frequency_coordinate(n, aligned=True)[int(f * n / sr)] for n in (512, 4096)]
    assert aligned == [2 * f / sr - 0.5] * 2
    paper = [frequency_coordinate(n)[int(f * n / sr)] for n in (512, 4096)]
    assert paper[0] != paper[1]  # k/(N/2+1): the published coordinate moves with N
    assert frequency_coordinate(2000, aligned=True)[[0, -1]].tolist() == [-0.5, 0.5]
    with pytest.raises(TypeError, match="aligned= goes with n_fft"):
        frequency_coordinate(hz=[100.0], sr=sr, aligned=True)
    assert np.array_equal(inr_coordinates({"inr_coordinate": "hz"}, 512), frequency_coordinate(512, aligned=True))
    assert np.array_equal(inr_coordinates({}, 512), frequency_coordinate(512))


def test_the_siren_encoding_is_a_siren_first_layer():
    enc = FourierEncoding(200, "siren", seed=3, n_sets=5, trainable=True, dtype=torch.float64)
    a = enc.frequencies.detach().numpy() * math.pi / (2 * SIREN_OMEGA)  # the weight of nn.Linear(1, J)
    c = enc.phases.detach().numpy() / SIREN_OMEGA  # and its bias
    for draws in (a, c):  # both U(-1, 1), as nn.Linear(1, J) draws them
        assert stats.kstest(draws.ravel(), stats.uniform(loc=-1, scale=2).cdf).pvalue > 1e-3
    x = np.linspace(-0.5, 0.5, 7)
    features = enc(torch.as_tensor(x)).detach().numpy()  # (P, sets, 2J), cosines first
    expected = np.sin(SIREN_OMEGA * (a[None] * (2 * x)[:, None, None] + c[None]))  # sin(omega_0 (a u + c)), u = 2x
    np.testing.assert_allclose(features[..., 200:], expected, atol=1e-12)
    np.testing.assert_allclose(features[..., :200], np.sin(SIREN_OMEGA * (a[None] * (2 * x)[:, None, None] + c[None])
                                                           + np.pi / 2), atol=1e-12)


@pytest.mark.parametrize("backend", ["reference", "auto"])
def test_a_siren_trains_its_first_layer(backend):
    settings = {**get_profile("smoke").to_dict(), "rank": 3, "hidden": 8, "n_freqs": 4, "inr_encoding": "siren",
                "inr_init": "siren", "backend": backend}
    model = implicit_dictionary(settings, seed=5)
    before = [p.detach().clone() for p in (model.net.encodings()[0].frequencies if backend == "reference"
                                           else model.net.encoding.frequencies,)]
    V = np.random.default_rng(0).random((257, 30)) + 0.1
    model.fit(V, frequency_coordinate(512), epochs=20, loss_every=1)
    after = model.net.encodings()[0].frequencies if backend == "reference" else model.net.encoding.frequencies
    assert not torch.equal(before[0], after.detach())
    assert model.history_[-1] < model.history_[0]


def test_the_siren_fast_path_is_the_reference():
    settings = {**get_profile("smoke").to_dict(), "rank": 3, "hidden": 8, "n_freqs": 4, "inr_encoding": "siren",
                "inr_init": "siren"}
    V = np.random.default_rng(1).random((257, 30)) + 0.1
    histories = []
    for backend in ("reference", "auto"):
        model = implicit_dictionary({**settings, "backend": backend}, seed=5)
        histories.append(model.fit(V, frequency_coordinate(512), epochs=15, loss_every=1).history_)
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-5)


# --- the trials -----------------------------------------------------------------------------

def test_covering_trials_take_new_pairs_until_every_speaker_appears_twice():
    pairs = [("a", "b"), ("b", "a"), ("a", "c"), ("a", "d"), ("b", "d"), ("c", "d"), ("b", "c")]
    # (b, a) repeats a pair; (a, d) would give a a third trial; (b, d) and (c, d) complete b, c, d
    assert covering_trials(pairs) == [0, 2, 4, 5]
    assert covering_trials(pairs, per_speaker=1) == [0, 5]
    with pytest.raises(ValueError, match=r"speakers \['c', 'd'\]"):
        covering_trials(pairs[:5])


def test_the_recorded_runs_covering_trials_reach_all_six_speakers_twice():
    pairs = reference_pairs(REFERENCE)
    chosen = covering_trials(pairs)
    counts = pd.Series([s for i in chosen for s in pairs[i]]).value_counts()
    assert len(counts) == 6 and (counts == 2).all()
    assert len({frozenset(pairs[i]) for i in chosen}) == len(chosen)


def test_only_runs_the_named_trials_with_the_full_runs_numbers():
    settings = get_profile("smoke", n_trials=2, methods=["NMF"])
    full = run_experiments(settings, ["reconstruction"], progress=False)
    part = run_experiments(settings, ["reconstruction"], progress=False, only=[1])
    assert set(part["trial"]) == {1}
    pd.testing.assert_frame_equal(part.reset_index(drop=True),
                                  full[full["trial"] == 1].reset_index(drop=True))  # bit-identical
    with pytest.raises(ValueError, match="must name trials of the draw, 0 .. 1"):
        run_experiments(settings, ["reconstruction"], progress=False, only=[2])


# --- the comparator's drift -----------------------------------------------------------------

def test_the_rerun_drift_is_zero_for_equal_rows_and_measures_a_change():
    from innmf.experiments.store import load_results

    rows = load_results(REFERENCE)
    rerun = rows[rows["trial"].isin([0, 1]) & (rows["method"] == "iN-NMF")]
    same = inr_design.rerun_drift(REFERENCE, rerun).set_index("metric")
    assert (same["max_error"] == 0).all() and (same["n"] == 12).all()  # 2 trials x 6 window sizes
    moved = rerun.assign(value=np.where(rerun["metric"] == "kl", rerun["value"] * 1.002,
                                        np.where(rerun["metric"] == "sdr", rerun["value"] - 0.3, rerun["value"])))
    drift = inr_design.rerun_drift(REFERENCE, moved).set_index("metric")
    assert drift.loc["kl", "max_error"] == pytest.approx(0.002) and drift.loc["kl", "mean_error"] == pytest.approx(0.002)
    assert drift.loc["sdr", "mean_error"] == pytest.approx(-0.3) and drift.loc["stoi", "max_error"] == 0


def test_a_folder_without_designs_is_refused_with_the_command(tmp_path):
    with pytest.raises(ValueError, match="no re-run of the paper's design.*innmf study --design"):
        load_design(REFERENCE, tmp_path)


# --- the decision rule ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def simulated():
    """The paper's design's recorded rows on the covering trials, and two designs with known effects."""
    from innmf.experiments.store import load_results

    rows = load_results(REFERENCE)
    rows = rows[rows["trial"].isin(covering_trials(reference_pairs(REFERENCE)))]
    paper = rows[rows["method"] == "iN-NMF"]
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 0.003, len(paper))
    kl, sdr = (paper["metric"] == "kl").to_numpy(), (paper["metric"] == "sdr").to_numpy()
    at_512 = (paper["n_fft"] == 512).to_numpy()
    # "J = 8": KL 10 % lower at 512 only (a better transfer there, the same fit); SDR 1 dB higher everywhere
    a = paper.assign(method="J = 8", value=np.where(kl, paper["value"] * np.exp(noise - 0.1 * at_512),
                                                     np.where(sdr, paper["value"] + 1.0 + noise, paper["value"])))
    # "SIREN": nothing but noise
    b = paper.assign(method="SIREN", value=np.where(kl, paper["value"] * np.exp(noise),
                                                    np.where(sdr, paper["value"] + noise, paper["value"])))
    return design_summary(pd.concat([rows, a, b], ignore_index=True), ["J = 8", "SIREN"])


def test_the_verdicts_find_the_simulated_effects_and_nothing_else(simulated):
    decided = verdicts(simulated).set_index(["design", "metric", "estimand"])
    assert decided.loc[("J = 8", "kl", "transfer"), "verdict"] == "better"
    assert decided.loc[("J = 8", "kl", "transfer"), "better_at"] == [512]
    assert decided.loc[("J = 8", "kl", "fit"), "verdict"] == "no difference shown"
    assert decided.loc[("J = 8", "sdr", "fit"), "verdict"] == "better"
    assert decided.loc[("J = 8", "sdr", "transfer"), "verdict"] == "no difference shown"
    assert (decided.loc["SIREN", "verdict"] == "no difference shown").all()


def test_holm_runs_over_one_family_per_metric_and_estimand(simulated):
    for _, family in simulated.groupby(["metric", "estimand"]):
        p, adjusted = family["p"].to_numpy(), family["p_holm"].to_numpy()
        smallest = np.argmin(p)
        assert adjusted[smallest] == pytest.approx(min(1.0, len(p) * p[smallest]))
    assert len(simulated[(simulated["metric"] == "kl") & (simulated["estimand"] == "transfer")]) == 10


def test_the_table_reads_ratios_and_differences(simulated):
    kl = design_table(simulated, "kl").set_index("design")
    ratio = float(kl.loc["J = 8", "transfer to 512"].split()[0])
    assert ratio == pytest.approx(math.exp(-0.1), abs=0.01) and kl.loc["J = 8", "Holm p < 0.05"] == "512"
    assert kl.loc["SIREN", "Holm p < 0.05"] == "none"
    sdr = design_table(simulated, "sdr").set_index("design")
    assert sdr.loc["J = 8", "fit at N0"].startswith("+1.00")
    assert list(kl.columns) == ["fit at N0", *(f"transfer to {n}" for n in (512, 1000, 1500, 2500, 4096)),
                                "Holm p < 0.05"]


def test_every_design_changes_one_thing_from_the_papers():
    paper = get_profile("paper")
    for label, changes in DESIGNS.items():
        changed = inr_design.design_settings(paper, label)
        assert changed.methods == ("iN-NMF",)
        differ = {k for k in paper.to_dict() if changed[k] != paper[k]} - {"methods"}
        assert differ == set(changes), label


def test_the_verdict_sentences_name_each_design_and_the_sizes(simulated):
    lines = verdict_sentences(verdicts(simulated))
    assert lines[0].startswith("J = 8: ") and "KL transfer better (at N = 512)" in lines[0]
    assert "SDR fit better" in lines[0]
    assert lines[1] == ("SIREN: KL fit no difference shown; KL transfer no difference shown; "
                        "SDR fit no difference shown; SDR transfer no difference shown")


def test_the_recorded_study_is_complete_and_its_readme_is_current():
    from pathlib import Path

    from innmf.chapters import recorded_design

    df = recorded_design()
    assert df is not None and df.attrs["incomplete"] == []
    assert set(DESIGNS) <= set(df["method"]) and df.attrs["trials"] == [0, 1, 2, 4, 9, 19]
    summary = design_summary(df, list(DESIGNS))
    readme = Path("results/inr-design/README.md").read_text()
    for line in verdict_sentences(verdicts(summary)):  # README written by write_results.py from these stores
        assert f"- {line}" in readme
