"""The overlapping-notes experiment (issue 14): ground truth at the points, scores by hand, the verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from innmf.data.piano import load_piano_stems
from innmf.experiments.irregular import (
    METHODS,
    irregular_experiment,
    irregular_verdict,
    overlapping_notes,
    representation,
    score_components,
)


def test_shifted_notes_overlap_for_about_a_second_and_sum_to_the_mixture():
    notes = overlapping_notes(0.9)
    assert list(notes.stems) == ["C3", "E3"]
    np.testing.assert_array_equal(notes.mixture, notes.stems["C3"] + notes.stems["E3"])
    assert 0.8 < notes.overlap < 1.4
    _, stems, sr = load_piano_stems()
    n = int(round(0.9 * sr))
    np.testing.assert_array_equal(notes.stems["E3"][: len(stems["E3"]) - n], stems["E3"][n:])
    assert overlapping_notes(0.0).overlap < 0.3  # the demo's notes barely overlap
    with pytest.raises(ValueError, match="shift"):
        overlapping_notes(9.0)


@pytest.mark.parametrize("name", ["cqt", "sinusoidal", "hybrid"])
def test_references_are_the_stems_at_the_mixtures_points(name):
    notes = overlapping_notes()
    rep = representation(name, notes)
    assert set(rep.references) == {"C3", "E3"}
    for ref in rep.references.values():
        assert ref.shape == rep.cloud.m.shape and np.all(ref >= 0)
    # the transforms are linear, so |A + B| lies within |B| of |A| at every point (triangle
    # inequality); the sinusoidal model's peaks are interpolated, within a few per cent
    a, b, m = rep.references["C3"], rep.references["E3"], rep.cloud.m
    tol = (0.03 * m if name == "sinusoidal" else 1e-9 * m.max()) + 1e-12
    assert np.all(np.abs(m - a) <= b + tol) and np.all(np.abs(m - b) <= a + tol)
    assert np.all(m <= a + b + tol)
    with pytest.raises(ValueError, match="Unknown representation"):
        representation("wavelet", notes)


def test_score_components_by_hand():
    refs = {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}
    m = np.array([1.0, 1.0])
    # equal components: masks 1/2, estimate (m^0.5 / 2)^2 = 1/4 everywhere
    snr, _ = score_components(m, [np.ones(2), np.ones(2)], refs)
    assert snr["a"] == pytest.approx(10 * np.log10(1 / (0.75**2 + 0.25**2)))
    # perfect but swapped components: matched back, both exact
    snr, assignment = score_components(m, [np.array([0.0, 1.0]), np.array([1.0, 0.0])], refs)
    assert assignment == (1, 0) and min(snr.values()) > 100
    with pytest.raises(ValueError, match="rank 2"):
        score_components(m, [np.ones(2)], refs)


@pytest.fixture(scope="module")
def tiny_table():
    return irregular_experiment(seeds=(0, 1), representations=("cqt",), epochs=5, nmf_iter=10)


def test_table_is_tidy_paired_and_complete(tiny_table):
    df = tiny_table
    assert list(df.columns) == ["seed", "representation", "method", "metric", "value"]
    assert set(df["method"]) == set(METHODS)
    metrics = df.groupby("method")["metric"].apply(set)
    assert metrics["iN-NMF"] == metrics["NMF-raster"] == {"snr", "snr C3", "snr E3", "kl_heldout", "envelope_r"}
    assert metrics["blind"] == {"snr", "snr C3", "snr E3", "envelope_r"}
    assert np.all(np.isfinite(df["value"]))
    assert (df[df["metric"] == "kl_heldout"]["value"] > 0).all()
    # the blind split does not depend on the seed
    blind = df[df["method"] == "blind"].pivot_table(index="metric", columns="seed", values="value")
    np.testing.assert_array_equal(blind[0], blind[1])


def test_blind_switch_correlates_with_the_envelopes_only_when_the_notes_do_not_overlap():
    """What chapter 5's earlier test could not see: switching looks like unmixing to a correlation."""
    apart = irregular_experiment(seeds=(0,), representations=("cqt",), epochs=2, nmf_iter=2, shift=0.0)
    together = irregular_experiment(seeds=(0,), representations=("cqt",), epochs=2, nmf_iter=2)

    def blind(df, metric):
        return float(df[(df["method"] == "blind") & (df["metric"] == metric)]["value"].iloc[0])

    assert blind(apart, "envelope_r") > 0.8
    assert blind(together, "envelope_r") < blind(apart, "envelope_r")
    assert blind(together, "snr") < blind(apart, "snr")


def test_verdict_by_hand():
    rows = []
    for seed, (a, b) in enumerate([(5.0, 4.0), (6.0, 4.5), (3.0, 4.2)]):
        rows += [{"seed": seed, "representation": "cqt", "method": "iN-NMF", "metric": "snr", "value": a},
                 {"seed": seed, "representation": "cqt", "method": "NMF-raster", "metric": "snr", "value": b},
                 {"seed": seed, "representation": "hybrid", "method": "iN-NMF", "metric": "snr", "value": a + 10},
                 {"seed": seed, "representation": "hybrid", "method": "NMF-raster", "metric": "snr", "value": b}]
    verdict = irregular_verdict(pd.DataFrame(rows)).set_index("representation")
    assert verdict.loc["cqt", "wins"] == 2 and verdict.loc["cqt", "verdict"] == "mixed"
    assert verdict.loc["cqt", "mean_diff"] == pytest.approx(np.mean([1.0, 1.5, -1.2]))
    assert verdict.loc["hybrid", "verdict"] == "iN-NMF better than NMF-raster"
    kl = pd.DataFrame(rows).assign(metric="kl_heldout")
    assert irregular_verdict(kl, "kl_heldout").set_index("representation").loc["hybrid", "wins"] == 0
    with pytest.raises(ValueError, match="blind"):
        irregular_verdict(pd.DataFrame(rows), baseline="blind")


def test_settings_follow_the_profile():
    from innmf.experiments.irregular import REPRESENTATIONS, irregular_settings
    from innmf.experiments.settings import get_profile

    smoke, quick = irregular_settings(get_profile("smoke")), irregular_settings(get_profile("quick"))
    assert smoke["seeds"] == (0,) and smoke["representations"] == ("cqt",)
    assert len(quick["seeds"]) == 3 and quick["representations"] == REPRESENTATIONS
    assert quick["epochs"] == get_profile("quick")["hybrid_epochs"]


def test_summary_means_over_seeds(tiny_table):
    from innmf.experiments.irregular import irregular_summary

    summary = irregular_summary(tiny_table)
    assert list(summary.index) == [("cqt", m) for m in METHODS]
    snr = tiny_table[(tiny_table["metric"] == "snr") & (tiny_table["method"] == "iN-NMF")]["value"]
    assert summary.loc[("cqt", "iN-NMF"), "snr"] == pytest.approx(snr.mean())
    assert summary.loc[("cqt", "iN-NMF"), "snr_min"] == pytest.approx(snr.min())
    assert np.isnan(summary.loc[("cqt", "blind"), "kl_heldout"]) and summary["seeds"].eq(2).all()
