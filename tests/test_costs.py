"""What not retraining costs (``innmf.experiments.costs``, its record and ``innmf.report.costs``).

No test asserts a speed: times are only checked to be measured (positive, ordered).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from innmf.experiments import costs
from innmf.experiments.costs import COLUMNS, PLANS, MU_LABEL, RPROP_LABEL, network_parameters, parameter_counts
from innmf.experiments.settings import get_profile
from innmf.models.implicit import ImplicitWNMF
from innmf.report import costs as report

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def smoke_table():
    return costs.measure_costs("smoke")


def test_smoke_table_has_every_step_and_positive_times(smoke_table):
    table = smoke_table
    assert list(table.columns) == COLUMNS
    plan, s = PLANS["smoke"], get_profile("smoke")
    times = table[table["unit"] == "s"]
    assert (times["value"] > 0).all() and (times["low"] > 0).all()
    assert (times["low"] <= times["value"]).all() and (times["value"] <= times["high"]).all()
    assert (times["timed_iterations"] <= times["iterations"]).all() and (times["rounds"] == plan.rounds).all()
    for K in plan.ranks:
        for n in plan.n_ffts:
            steps = set(map(tuple, times[(times["rank"] == K) & (times["n_fft"] == n)][["method", "step"]].to_numpy()))
            assert steps >= {("NMF", costs.TRAIN), ("iN-NMF", costs.SAMPLE), ("NMF-interp", costs.INTERP),
                             ("iN-NMF", costs.REFIT_RPROP), ("iN-NMF", costs.REFIT_MU)}
        trained = times[(times["method"] == "iN-NMF") & (times["step"] == costs.TRAIN) & (times["rank"] == K)]
        assert list(trained["n_fft"]) == [s.train_n_fft]  # the networks are trained at N0 only
    recipe = times.set_index(["method", "step"])["iterations"].groupby(level=[0, 1]).first()
    assert recipe[("NMF", costs.TRAIN)] == s.nmf_iter and recipe[("iN-NMF", costs.TRAIN)] == s.inr_epochs
    assert recipe[("iN-NMF", costs.REFIT_RPROP)] == s.refit_epochs


def test_network_parameters_by_hand():
    # the paper's network, one component: Linear(20, 64) + 3 x Linear(64, 64) + Linear(64, 1)
    per_component = (20 * 64 + 64) + 3 * (64 * 64 + 64) + (64 + 1)
    assert per_component == 13889
    assert network_parameters(20, 64, 10) == 20 * 13889 == 277780
    assert network_parameters(3, 8, 2, n_layers=2) == 3 * ((4 * 8 + 8) + (8 * 8 + 8) + (8 + 1))


@pytest.mark.parametrize("rank, hidden, n_freqs", [(20, 64, 10), (3, 8, 4)])
def test_network_parameters_equal_the_models(rank, hidden, n_freqs):
    model = ImplicitWNMF(rank, hidden=hidden, n_freqs=n_freqs)
    trained = sum(p.numel() for p in model.net.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.net.parameters() if not p.requires_grad)
    assert trained == network_parameters(rank, hidden, n_freqs)
    assert frozen == 2 * rank * n_freqs  # the encoding's frequencies and phases, one set per component


def test_parameter_counts_by_hand():
    s = get_profile("paper")
    table = parameter_counts(s, [512, 2000], [10], {512: 1250, 2000: 320})
    value = table.set_index(["method", "step", "n_fft"])["value"]
    assert value[("NMF", costs.DICTIONARY, 512)] == 257 * 10
    assert value[("NMF", costs.DICTIONARY, 2000)] == 1001 * 10
    assert value[("NMF-interp", costs.DICTIONARY, 512)] == 1001 * 10  # N0's dictionary, carried
    assert value[("iN-NMF", costs.DICTIONARY, 512)] == value[("iN-NMF", costs.DICTIONARY, 2000)] == 10 * 13889
    assert value[("iN-NMF", costs.ENCODING, 512)] == 2 * 10 * 10
    for method in ("NMF", "NMF-interp", "iN-NMF"):
        assert value[(method, costs.ACTIVATIONS, 512)] == 10 * 1250
        assert value[(method, costs.ACTIVATIONS, 2000)] == 10 * 320
    assert (table["unit"] == "parameters").all() and list(table.columns) == COLUMNS


def test_smoke_activation_counts_follow_the_spectrograms(smoke_table):
    from innmf.data import trial_audio
    from innmf.experiments.runner import draw_trials
    from innmf.experiments.trial import cached_corpus
    from innmf.tf.stft import magnitude

    s = get_profile("smoke")
    x = trial_audio(cached_corpus(s.corpus), draw_trials(s.replace(n_trials=1))[0]).train[0]
    p = smoke_table[(smoke_table["unit"] == "parameters") & (smoke_table["step"] == costs.ACTIVATIONS)]
    for r in p.itertuples():
        assert r.value == r.rank * magnitude(x, r.n_fft, power=s.power).shape[1]


def test_unknown_profile_and_bad_rounds_are_refused():
    with pytest.raises(ValueError, match="Unknown profile"):
        costs.measure_costs("huge")
    with pytest.raises(ValueError, match="rounds"):
        costs.measure_costs("smoke", rounds=0)


def test_report_reads_the_table(smoke_table):
    n0 = get_profile("smoke").train_n_fft
    routes = report.route_costs(smoke_table)
    assert set(routes["route"]) == set(report.ROUTES)
    assert len(routes) == len(report.ROUTES) * len(PLANS["smoke"].n_ffts) * len(PLANS["smoke"].ranks)
    times = smoke_table[smoke_table["unit"] == "s"].set_index(["method", "step", "n_fft"])["value"]
    paper = routes[routes["route"] == report.PAPER_ROUTE].set_index("n_fft")["seconds"]
    for n in PLANS["smoke"].n_ffts:  # a route's time is the sum of its steps'
        assert paper[n] == pytest.approx(times[("iN-NMF", costs.SAMPLE, n)] + times[("iN-NMF", costs.REFIT_RPROP, n)])
    train = report.training_costs(smoke_table, n0)
    assert list(train["rank"]) == list(PLANS["smoke"].ranks) and (train["iN-NMF / NMF"] > 0).all()
    assert len(report.cost_sentences(smoke_table, n0, PLANS["smoke"].ranks[0])) == 3
    even = report.break_even(smoke_table, n0)
    assert set(even["route"]) == {report.PAPER_ROUTE, report.MU_ROUTE}
    assert not report.step_table(smoke_table, 20).empty and not report.parameter_table(smoke_table, 20).empty
    import matplotlib.pyplot as plt

    plt.close(report.plot_costs(smoke_table, n0))


def test_break_even_by_hand():
    rows = []
    for method, step, n, value in [("NMF", costs.TRAIN, 2000, 2.0), ("NMF", costs.TRAIN, 1000, 3.0),
                                   ("iN-NMF", costs.TRAIN, 2000, 12.0), ("iN-NMF", costs.SAMPLE, 1000, 0.5),
                                   ("iN-NMF", costs.REFIT_RPROP, 1000, 3.5), ("iN-NMF", costs.REFIT_MU, 1000, 0.5),
                                   ("NMF-interp", costs.INTERP, 1000, 0.0)]:
        rows.append({"method": method, "step": step, "n_fft": n, "rank": 20, "unit": "s", "value": value})
    even = report.break_even(pd.DataFrame(rows), 2000).set_index("route")["break_even"]
    assert even[report.MU_ROUTE] == pytest.approx((12.0 - 2.0) / (3.0 - 1.0))  # 5 new sizes
    assert even[report.PAPER_ROUTE] == np.inf  # 4 s per new N against 3 s: never


def _refit_rows():
    rng = np.random.default_rng(0)
    speakers = ["a+b", "b+c", "c+d", "d+a", "a+c", "b+d"]
    rows = []
    for trial, pair in enumerate(speakers):
        for n in (1000, 2000):
            kl, sdr = 6e-4 * (1 + 0.1 * rng.random()), 5 + rng.standard_normal()
            for method, dkl, dsdr in ((RPROP_LABEL, 0.0, 0.0), (MU_LABEL, -1e-6, 0.3 + 0.05 * rng.standard_normal())):
                rows.append({"trial": trial, "trial_key": f"t{trial}", "speakers": pair, "experiment": "reconstruction",
                             "method": method, "n_fft": n, "metric": "kl", "value": kl + dkl})
                rows.append({"trial": trial, "trial_key": f"t{trial}", "speakers": pair, "experiment": "separation",
                             "method": method, "n_fft": n, "metric": "sdr", "value": sdr + dsdr})
    return pd.DataFrame(rows)


def test_refit_effect_pairs_mu_with_rprop():
    rows = _refit_rows()
    effect = report.refit_effect(rows)
    sdr = effect[effect["metric"] == "sdr"]
    assert (sdr["n"] == 6).all() and ((sdr["mean_diff"] > 0.2) & (sdr["mean_diff"] < 0.4)).all()
    assert (effect[effect["metric"] == "kl"]["ratio"] < 1).all()
    shown = report.effect_table(effect)
    assert set(shown["quantity"]) == {"KL ratio MU / Rprop", "SDR MU − Rprop (dB)"}
    record = {"rows": rows.to_dict("records"), "trial_keys": list(range(6)), "mu_iter": 300, "store": "s",
              "settings": {"inr_epochs": 1000, "refit_epochs": 1000, "sep_epochs": 100}}
    assert len(report.refit_sentences(record, effect)) == 3
    recorded = rows[rows["method"] == RPROP_LABEL].assign(method="iN-NMF")
    agreement = report.recorded_agreement(rows, recorded)
    assert (agreement["max_abs_diff"] == 0).all() and set(agreement["metric"]) == {"kl", "sdr"}


def test_the_command_writes_a_record_the_speed_report_leaves_alone(tmp_path):
    from innmf.report.speed import load_records
    from innmf.tools.bench.costs import main

    out = tmp_path / "costs.json"
    assert main(["time", "--profile", "smoke", "--out", str(out), "--shared", "--note", "test"]) == 0
    record = json.loads(out.read_text())
    for key in ("command", "cpu_model", "cores", "threads", "date", "commit", "machine_shared", "load_average_before",
                "load_average_after", "plan", "recipe", "rows", "bench_seconds"):
        assert key in record, key
    assert record["machine_shared"] is True and record["threads"] == 1 and record["note"] == "test"
    assert list(pd.DataFrame(record["rows"]).columns) == COLUMNS
    assert load_records(tmp_path) == []  # a "command" record: not an `innmf bench` one
    assert torch.get_num_threads() == 1  # the fixture's count is restored after the measurement


def test_compare_refits_on_a_tiny_trial():
    s = get_profile("smoke", n_trials=1, train_seconds=3.0, n_ffts=[1000, 2000], extra_n_ffts=[], rank=3, hidden=8,
                    inr_epochs=3, refit_epochs=4, sep_epochs=3)
    from innmf.experiments.runner import draw_trials

    rows = costs.compare_refits_on_trials(s, draw_trials(s), mu_iter=5)
    assert set(rows["method"]) == {RPROP_LABEL, MU_LABEL}
    assert set(rows["metric"]) == {"kl", "sdr", "sir", "sar", "stoi"}
    assert len(rows) == 2 * 2 * (1 + 4)  # two methods x two N x (KL + four separation metrics)
    assert np.isfinite(rows["value"]).all()
