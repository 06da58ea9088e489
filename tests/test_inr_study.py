"""The study "iN-NMF at its best": settings of the networks' design, method subsets, pairing, decision rule.

Real trials on the embedded corpus with tiny settings; the decision rule and the
noise table on simulated rows with known effects.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from innmf.experiments import run_experiments
from innmf.experiments.inr_study import (
    TUNING_FILE, VARIANTS, check_variants, load_study, run_study, slug, variant_settings,
)
from innmf.experiments.settings import METHODS, SettingsError, get_profile, settings_hash
from innmf.experiments.store import result_settings
from innmf.experiments.trial import run_trial
from innmf.experiments.runner import draw_trials
from innmf.report.inr_study import best_setting, draw_noise, headline_rows, study_summary, study_table

TINY = dict(
    n_trials=4, train_seconds=3.0, test_seconds=2.0, n_ffts=[1000, 2000], extra_n_ffts=[512],
    rank=4, nmf_iter=15, hidden=8, inr_epochs=8, refit_epochs=6, sep_epochs=4,
)


def tiny(**more):
    return get_profile("smoke", **{**TINY, **more})


# --- settings -----------------------------------------------------------------------------

@pytest.mark.parametrize("key, value, words", [
    ("inr_init", "xavier", "default, siren"),
    ("inr_encoding", "random", "paper, gaussian"),
    ("encoding_scale", 0, "> 0"),
    ("inr_seed", -1, "integer from 0"),
    ("methods", [], "non-empty list"),
    ("methods", ["NMF", "PCA"], "unknown method"),
    ("methods", ["NMF-interp"], "needs NMF"),
    ("methods", ["NMF-resample", "iN-NMF"], "needs NMF"),
    ("methods", ["NMF", "NMF"], "once"),
])
def test_design_settings_are_checked(key, value, words):
    with pytest.raises(SettingsError, match=words):
        get_profile("smoke", **{key: value})


def test_methods_take_one_canonical_order():
    assert get_profile("smoke", methods=["NMF-interp", "NMF"]).methods == ("NMF", "NMF-interp")
    assert get_profile("paper").methods == METHODS


def test_design_keys_enter_the_hash_only_away_from_the_papers_values():
    paper = get_profile("paper")
    chosen = result_settings(paper)
    assert not {"inr_init", "inr_encoding", "inr_coordinate", "inr_seed", "encoding_scale"} & set(chosen)
    assert settings_hash(result_settings(paper.replace(inr_seed=0, encoding_scale=3.0))) == settings_hash(chosen)
    gaussian = result_settings(paper.replace(inr_encoding="gaussian"))
    assert gaussian["encoding_scale"] == paper.encoding_scale
    hashes = {settings_hash(result_settings(paper.replace(**c)))
              for c in ({}, {"inr_seed": 1}, {"inr_init": "siren"}, {"inr_encoding": "gaussian"},
                        {"inr_encoding": "gaussian", "encoding_scale": 64.0}, {"methods": ["iN-NMF"]},
                        {"inr_encoding": "siren"}, {"inr_coordinate": "hz"})}
    assert len(hashes) == 8
    siren = result_settings(paper.replace(inr_encoding="siren"))
    assert "encoding_scale" not in siren  # the scale draws Gaussian frequencies only


def test_a_stored_manifest_without_the_later_keys_reads_as_the_papers():
    from innmf.experiments.settings import LATER_KEYS, Settings

    old = {k: v for k, v in get_profile("paper").to_dict().items() if k not in LATER_KEYS}
    assert Settings.from_mapping(old) == get_profile("paper")


# --- method subsets and draws on real trials --------------------------------------------

@pytest.fixture(scope="module")
def trial():
    return draw_trials(tiny(n_trials=1))[0]


@pytest.fixture(scope="module")
def full_rows(trial):
    return pd.DataFrame(run_trial(tiny(), trial, ["reconstruction", "separation"]))


@pytest.mark.parametrize("methods", [("iN-NMF",), ("NMF",), ("NMF", "NMF-interp")])
def test_a_subset_of_methods_gives_the_full_runs_numbers(trial, full_rows, methods):
    part = pd.DataFrame(run_trial(tiny(methods=methods), trial, ["reconstruction", "separation"]))
    assert set(part["method"]) == set(methods)
    expected = full_rows[full_rows["method"].isin(methods)].reset_index(drop=True)
    pd.testing.assert_frame_equal(part.reset_index(drop=True), expected)  # bit-identical


def test_another_draw_moves_inmnf_only(trial, full_rows):
    other = pd.DataFrame(run_trial(tiny(inr_seed=1), trial, ["reconstruction", "separation"]))
    for method in ("NMF", "NMF-interp"):
        np.testing.assert_array_equal(other[other["method"] == method]["value"],
                                      full_rows[full_rows["method"] == method]["value"])
    moved = other[other["method"] == "iN-NMF"]["value"].to_numpy() != \
        full_rows[full_rows["method"] == "iN-NMF"]["value"].to_numpy()
    assert moved.any()


@pytest.mark.parametrize("changes", [{"inr_init": "siren"}, {"inr_encoding": "gaussian"},
                                     {"inr_encoding": "siren", "n_freqs": 4}, {"inr_coordinate": "hz"}])
def test_design_settings_reach_the_networks(trial, full_rows, changes):
    other = pd.DataFrame(run_trial(tiny(methods=["iN-NMF"], **changes), trial, ["reconstruction"]))
    paper = full_rows[(full_rows["method"] == "iN-NMF") & (full_rows["experiment"] == "reconstruction")]
    assert np.all(np.isfinite(other["value"]))
    assert not np.array_equal(other["value"].to_numpy(), paper["value"].to_numpy())


# --- the study end to end ---------------------------------------------------------------

@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    run_experiments(tiny(), ["reconstruction", "separation"], out=root / "ref", progress=False)
    df = run_study(root / "ref", root / "study", n_trials=3, variants=["draw 2", "Adam"], progress=False)
    return root, df


def test_the_study_pairs_variants_with_the_references_baselines(study):
    root, df = study
    assert set(df["method"]) == {"NMF", "NMF-interp", "NMF-resample", "paper", "draw 2", "Adam"}
    assert sorted(df["trial"].unique()) == [0, 1, 2]
    counts = df.groupby("method").size()
    assert counts.nunique() == 1  # every setting has every trial x N x metric
    tuning = json.loads((root / "study" / TUNING_FILE).read_text())
    assert tuning["trial"] == 3 and tuning["rate"] in tuning["rates"]  # tuned outside the scored trials
    manifest = json.loads((root / "study" / slug("Adam") / "manifest.json").read_text())
    assert manifest["settings"]["optimizer"] == "adam" and manifest["settings"]["lr"] == tuning["rate"]
    assert manifest["result_settings"]["methods"] == ["iN-NMF"]


def test_the_study_resumes_without_recomputing(study):
    root, df = study
    files = sorted((root / "study").rglob("*.json"))
    stamps = [p.stat().st_mtime_ns for p in files]
    again = run_study(root / "ref", root / "study", n_trials=3, variants=["draw 2", "Adam"], progress=False)
    assert [p.stat().st_mtime_ns for p in files] == stamps
    pd.testing.assert_frame_equal(again, df)
    pd.testing.assert_frame_equal(load_study(root / "ref", root / "study", 3), df)


def test_the_study_refuses_what_it_cannot_pair(study, tmp_path):
    root, _ = study
    with pytest.raises(ValueError, match="Unknown study variant"):
        check_variants(["more epochs"])
    with pytest.raises(ValueError, match="holds 4 of the study's 9 trials"):
        run_study(root / "ref", tmp_path / "s", n_trials=9, variants=["draw 2"], progress=False)
    run_experiments(tiny(n_trials=3, methods=["NMF"]), ["reconstruction", "separation"], out=tmp_path / "nmf",
                    progress=False)
    with pytest.raises(ValueError, match="lacks"):
        run_study(tmp_path / "nmf", tmp_path / "s2", n_trials=3, progress=False)


def test_the_study_command_prints_its_table(study):
    root, _ = study
    out = subprocess.run([sys.executable, "-m", "innmf", "study", "--reference", str(root / "ref"),
                          "--out", str(root / "study"), "--from-store", "--json"],
                         capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report["trials"] == 3
    assert [r["setting"] for r in report["table"]] == ["paper", "draw 2", "Adam"]
    assert report["noise"][0]["draws"] == 2


def test_variant_settings_change_one_thing():
    base = get_profile("paper")
    for label, changes in VARIANTS.items():
        if label == "Adam":
            with pytest.raises(ValueError, match="tuned rate"):
                variant_settings(base, label)
            s = variant_settings(base, label, 3e-3)
            assert (s.optimizer, s.lr) == ("adam", 3e-3)
            continue
        s = variant_settings(base, label)
        assert s.methods == ("iN-NMF",)
        differing = {k for k in s.keys() if s[k] != base[k]} - {"methods"}
        assert differing == set(changes)


# --- tables and the decision rule on simulated rows -------------------------------------

def simulated(effects: dict[str, float], n_trials=36, n_speakers=9, noise=0.3, seed=0):
    """Rows of a study whose settings differ from the paper's by known SDR effects (dB)."""
    rng = np.random.default_rng(seed)
    speaker_effect = rng.normal(0, 0.5, n_speakers)
    rows = []
    for t in range(n_trials):
        a, b = rng.choice(n_speakers, 2, replace=False)
        base = 5 + speaker_effect[a] + speaker_effect[b]
        for method, effect in {"NMF": 0.3, "NMF-interp": 0.0, **effects}.items():
            for n in (1000, 2000):
                for metric, scale in (("sdr", 1.0), ("stoi", 0.01)):
                    value = base * (scale if metric == "sdr" else 0.1) + scale * (effect + rng.normal(0, noise))
                    rows.append({"trial": t, "trial_key": f"k{t}", "speakers": f"s{a}+s{b}",
                                 "experiment": "separation", "method": method, "n_fft": n,
                                 "metric": metric, "value": value})
                rows.append({"trial": t, "trial_key": f"k{t}", "speakers": f"s{a}+s{b}",
                             "experiment": "reconstruction", "method": method, "n_fft": n, "metric": "kl",
                             "value": 1e-3 * (1 + 0.05 * rng.normal())})
    return pd.DataFrame(rows)


def test_a_clear_gain_is_named_best_and_no_gain_is_not():
    clear = study_summary(simulated({"paper": 0.0, "draw 2": 0.0, "3000 epochs": 1.0, "SIREN init": 0.0}),
                          [1000, 2000])
    decision = best_setting(clear)
    assert decision["best"] == "3000 epochs" and decision["qualified"] == ["3000 epochs"]
    none = best_setting(study_summary(simulated({"paper": 0.0, "3000 epochs": 0.0, "SIREN init": 0.0}),
                                      [1000, 2000]))
    assert none["best"] is None and "no candidate is clearly better" in none["reason"]
    assert "with 80 % power" in none["reason"] and "inconclusive" in none["reason"]


def test_the_study_table_reads_differences_and_ratios():
    summary = study_summary(simulated({"paper": 0.0, "3000 epochs": 1.0}), [1000, 2000])
    table = study_table(summary)
    assert list(table["setting"]) == ["paper", "3000 epochs"]
    cell = table.set_index("setting").at["3000 epochs", "SDR (dB) vs NMF-interp"]
    value = float(cell.split(" ")[0])
    assert 0.7 < value < 1.3 and "[" in cell  # the simulated +1.0 dB, with its interval
    assert table.set_index("setting").at["paper", "KL ratio vs NMF"].startswith(("0.9", "1.0"))


def test_headline_rows_average_over_the_named_window_sizes():
    df = simulated({"paper": 0.0})
    head = headline_rows(df, [1000, 2000])
    one = df[(df["trial"] == 0) & (df["method"] == "paper") & (df["metric"] == "sdr")]["value"].mean()
    got = head[(head["trial"] == 0) & (head["method"] == "paper") & (head["metric"] == "sdr")]["value"]
    assert got.item() == pytest.approx(one)
    with pytest.raises(ValueError, match="no rows at the window sizes"):
        headline_rows(df, [4096])


def test_draw_noise_recovers_the_simulated_spread():
    df = simulated({"paper": 0.0, "draw 2": 0.0, "draw 3": 0.0}, n_trials=60, noise=0.4)
    noise = draw_noise(df, [1000, 2000]).set_index("metric")
    assert noise.at["sdr", "within_sd"] == pytest.approx(0.4, rel=0.15)
    assert noise.at["sdr", "draws"] == 3
    with pytest.raises(ValueError, match="at least two draws"):
        draw_noise(simulated({"paper": 0.0}), [1000])


def test_a_setting_stopped_part_way_is_left_out_by_name(study, tmp_path):
    import shutil

    root, df = study
    copy = tmp_path / "study"
    shutil.copytree(root / "study", copy)
    (copy / slug("SIREN init") / "trials").mkdir(parents=True)  # started, nothing finished
    shutil.copy(copy / slug("draw 2") / "manifest.json", copy / slug("SIREN init") / "manifest.json")
    partial = load_study(root / "ref", copy, 3)
    assert partial.attrs["incomplete"] == ["SIREN init"]
    pd.testing.assert_frame_equal(partial, df)


def test_detectable_gain_matches_the_t_formula():
    """MDE = (t_.975 + t_.80) * SE with S - 1 df: a hand-computed case and its growth as speakers fall."""
    from scipy import stats

    from innmf.report.inr_study import detectable_gain

    rows = pd.DataFrame({"speaker_se": [0.1, 0.1], "n_speakers": [6, 3]})
    mde = detectable_gain(rows)
    assert mde.iloc[0] == pytest.approx((stats.t.ppf(0.975, 5) + stats.t.ppf(0.8, 5)) * 0.1)
    assert mde.iloc[0] == pytest.approx(0.1 * (2.5706 + 0.9195), abs=1e-4)
    assert mde.iloc[1] > mde.iloc[0]
