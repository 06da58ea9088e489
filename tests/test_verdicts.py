"""Verdicts on the paper's claims follow the results: synthetic tables where a claim holds or fails."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from innmf.report.verdicts import (
    FAILS, HOLDS, PARTLY, UNDECIDED, claim_verdicts, findings_table, irregular_verdict, kl_verdict,
    separation_verdict, window_verdict,
)

N_FFTS = (1000, 1500, 2000, 2500)
EXTRA = (512, 4096)


def results(kl_ratio: dict[int, float], sdr_diff: float, stoi_diff: float, trials: int = 12,
            spread: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """Per-trial rows with a known KL ratio per N and known mean separation differences."""
    rng = np.random.default_rng(seed)
    rows = []
    for trial in range(trials):
        # a crossed design over 8 speakers, as the runner's trials have: speakers are the unit
        pair = f"s{trial % 8}+s{(trial * 3 + 1) % 8 if (trial * 3 + 1) % 8 != trial % 8 else (trial + 1) % 8}"
        for n in N_FFTS + EXTRA:
            base = 5e-4 * (1 + 0.01 * rng.standard_normal())
            rows.append(dict(trial=trial, speakers=pair, experiment="reconstruction", method="NMF", n_fft=n,
                             metric="kl", value=base))
            rows.append(dict(trial=trial, speakers=pair, experiment="reconstruction", method="iN-NMF", n_fft=n,
                             metric="kl", value=base * kl_ratio.get(n, 1.08)))
            for metric, diff, level in (("sdr", sdr_diff, 4.0), ("stoi", stoi_diff, 0.7)):
                value = level + rng.standard_normal() * level * 0.1
                noise = spread * (level if metric == "stoi" else 1.0) * rng.standard_normal()
                rows.append(dict(trial=trial, speakers=pair, experiment="separation", method="NMF", n_fft=n,
                                 metric=metric, value=value))
                rows.append(dict(trial=trial, speakers=pair, experiment="separation", method="iN-NMF", n_fft=n,
                                 metric=metric, value=value + diff + noise * 0.01))
    return pd.DataFrame(rows)


def test_kl_claim_holds_then_fails_when_the_ratio_grows():
    good = results({n: 1.06 for n in N_FFTS}, 0.0, 0.0)
    assert kl_verdict(good, N_FFTS).level == HOLDS
    # The quality claim is judged on the fit at the training size; a gap growing away from it is the window claim's.
    some = results({1000: 1.2, 1500: 1.06, 2000: 1.06, 2500: 1.06}, 0.0, 0.0)
    assert kl_verdict(some, N_FFTS).level == HOLDS
    window = window_verdict(some, 2000, N_FFTS)
    assert window.level == FAILS and re.search(r"NMF transfers better in KL at N = [^(]*1000", window.evidence)
    bad = results({n: 1.3 for n in N_FFTS}, 0.0, 0.0)
    assert kl_verdict(bad, N_FFTS).level == FAILS


def test_window_claim_distinguishes_inside_and_outside_the_paper_range():
    flat = results({n: 1.07 for n in N_FFTS + EXTRA}, 0.0, 0.0)
    assert window_verdict(flat, 2000, N_FFTS).level == HOLDS
    outside = results({**{n: 1.07 for n in N_FFTS}, 512: 1.2, 4096: 1.2}, 0.0, 0.0)
    assert window_verdict(outside, 2000, N_FFTS).level == PARTLY
    inside = results({1000: 1.2, 1500: 1.07, 2000: 1.07, 2500: 1.07}, 0.0, 0.0)
    assert window_verdict(inside, 2000, N_FFTS).level == FAILS


def test_separation_claim_tested_on_the_interval():
    assert separation_verdict(results({}, 0.05, 0.002), N_FFTS).level == HOLDS
    worse = separation_verdict(results({}, -1.0, -0.05), N_FFTS)
    assert worse.level == FAILS and "excluding zero" in worse.evidence
    one_trial = separation_verdict(results({}, 0.0, 0.0, trials=1), N_FFTS)
    assert one_trial.level == UNDECIDED


def test_findings_text_changes_when_a_claim_fails():
    """The acceptance test of the findings page: same code, other results, other words."""
    good = findings_table({"run": results({n: 1.06 for n in N_FFTS + EXTRA}, 0.05, 0.002)}, 2000, N_FFTS)
    bad = findings_table({"run": results({n: 1.25 for n in N_FFTS + EXTRA}, -1.0, -0.05)}, 2000, N_FFTS)
    assert list(good["Verdict"][:3]) == [HOLDS, HOLDS, HOLDS]
    assert list(bad["Verdict"][:3]) == [FAILS, HOLDS, FAILS]
    assert good.loc[0, "run"] != bad.loc[0, "run"]
    assert "missing" in good.loc[0, "Against NMF-interp"]
    assert set(good.columns) >= {"Claim", "The paper", "run", "Verdict", "Against NMF-interp"}


def test_interp_baseline_is_compared_once_present():
    rows = results({n: 1.06 for n in N_FFTS + EXTRA}, 0.0, 0.0)
    interp = rows[rows["method"] == "NMF"].assign(method="NMF-interp")
    interp.loc[interp["metric"] == "kl", "value"] *= 1.03
    table = findings_table({"run": pd.concat([rows, interp])}, 2000, N_FFTS)
    # At the training size NMF-interp's KL is 1.03 x NMF's and iN-NMF's 1.06 x: NMF-interp fits better.
    assert "iN-NMF vs NMF-interp: KL 1.029" in table.loc[0, "Against NMF-interp"]
    assert "NMF-interp better in KL at N = 2000" in table.loc[0, "Against NMF-interp"]
    # Both carry their dictionaries to the other sizes without loss: no transfer difference.
    assert "no difference between iN-NMF and NMF-interp resolved" in table.loc[1, "Against NMF-interp"]


def _endpoint(deltas: dict[tuple[str, str], tuple[float, float]]) -> pd.DataFrame:
    """A music endpoint table with given (delta, Holm p) per (data set, representation)."""
    return pd.DataFrame([{"dataset": d, "representation": r, "comparator": "NMF | stft-1024", "pieces": 20,
                          "delta": delta, "low": delta - 0.3, "high": delta + 0.3, "p_holm": p, "floor": -2.0,
                          "oracle": 12.0, "twin_delta": 0.1} for (d, r), (delta, p) in deltas.items()])


def test_irregular_verdict_reads_the_music_endpoint():
    both = {("a", "cqt"): (1.0, 0.01), ("b", "cqt"): (0.8, 0.02)}
    assert irregular_verdict(_endpoint(both)).level == HOLDS
    assert irregular_verdict(_endpoint({**both, ("b", "cqt"): (0.1, 0.6)})).level == PARTLY
    assert irregular_verdict(_endpoint({("a", "cqt"): (-1.0, 0.01), ("b", "cqt"): (0.1, 0.6)})).level == FAILS
    assert irregular_verdict(_endpoint({("a", "cqt"): (0.1, 0.6)})).level == UNDECIDED
    assert irregular_verdict(None).level == UNDECIDED
    evidence = irregular_verdict(_endpoint(both)).evidence
    assert "a, cqt: +1.00 dB [+0.70, +1.30] against NMF | stft-1024 over 20 pieces" in evidence
    verdicts = claim_verdicts(results({}, 0.0, 0.0), 2000, N_FFTS, irregular=_endpoint(both))
    assert set(verdicts) == {"kl", "window", "separation", "irregular"}


def test_missing_window_sizes_are_an_error():
    with pytest.raises(ValueError, match="window sizes"):
        kl_verdict(results({}, 0.0, 0.0), (3000,))


def test_verdicts_use_the_speaker_level_interval_and_say_when_speakers_are_few():
    """A deficit that trial-level intervals call significant is only as certain as its speakers allow."""
    rows = results({}, -0.3, -0.001, trials=12)
    verdict = separation_verdict(rows, N_FFTS)
    assert "speaker-level" in verdict.evidence
    assert "8 speakers only" in verdict.evidence


def test_a_later_run_on_the_same_data_sets_is_judged_beside_the_earlier_not_pooled():
    """ADDENDUM-2.md: the sinusoidal points on the chorales are their own claim, the earlier one stands."""
    from innmf.report.music import claim_groups, family_claims

    earlier = _endpoint({("a", "cqt"): (1.0, 0.01), ("a", "multires"): (0.5, 0.02)}).assign(family="run-1")
    later = _endpoint({("a", "sinusoidal"): (-2.0, 0.001)}).assign(family="run-2")
    both = pd.concat([earlier, later], ignore_index=True)
    # pooled per data set, "worse on one and better on two" would read "not shown"
    assert family_claims(both) == {"a (cqt, multires)": "supported", "a (sinusoidal)": "contradicted"}
    assert [len(g) for _, g in claim_groups(both)] == [2, 1]
    assert family_claims(earlier) == {"a": "supported"}
    assert irregular_verdict(both).level == PARTLY
