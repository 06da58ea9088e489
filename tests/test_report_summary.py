"""The findings page's answer (innmf.report.summary): figure rows, computed reasons, cost from a store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from innmf.chapters import recorded_cost
from innmf.report import summary
from innmf.report.endpoints import FAILS, HOLDS, PARTLY, endpoint_table, readable
from innmf.report.verdicts import claim_verdicts
from test_report_endpoints import results  # hand-built rows with a known fit and transfer


def music(deltas: dict[tuple[str, str], tuple[float, float]]) -> pd.DataFrame:
    """A music endpoint table with a given (delta, Holm p) per (data set, representation)."""
    return pd.DataFrame([{"dataset": d, "representation": r, "comparator": "NMF | stft-1024", "pieces": 20,
                          "delta": delta, "low": delta - 0.3, "high": delta + 0.3, "p_holm": p, "floor": -2.0,
                          "oracle": 12.0, "twin_delta": 0.1} for (d, r), (delta, p) in deltas.items()])


SETS = {("a", "cqt"): (1.0, 0.01), ("a", "multires"): (0.1, 0.6), ("b", "cqt"): (-0.8, 0.02)}


def test_the_figure_has_one_row_per_claim_and_per_music_set_and_representation() -> None:
    table = endpoint_table(results())
    fig = summary.summary_figure(table, music(SETS))
    speech, last = fig.axes[:-1], fig.axes[-1]
    assert len(speech) == 3 and all(len(ax.get_yticks()) == 1 for ax in speech)
    assert len(last.get_yticks()) == len(SETS)
    labels = [t.get_text() for t in last.get_yticklabels()]
    assert labels[0].startswith("a, cqt\n+1.00 [+0.70, +1.30]")
    assert labels[-1].startswith("b, cqt\n\u22120.80 [")  # minus signs as the book's text prints them
    texts = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert {"Quality", "Separation", "Irregular representations", "better", "worse", "no difference"} <= texts
    assert fig.get_size_inches()[0] <= 6.7  # 670 px at the book's 100 dpi
    assert len(summary.summary_figure(table).axes) == 3  # without the music runs


def test_reasons_are_computed_and_change_with_the_numbers() -> None:
    close = summary.claim_lines(endpoint_table(results(fit_ratio=1.05)))
    far = summary.claim_lines(endpoint_table(results(fit_ratio=1.2)))
    quality = {line.key: line for line in close}["kl"], {line.key: line for line in far}["kl"]
    assert quality[0].level == HOLDS and "within the margin: KL ratio at N = 2000 1.05" in quality[0].reason
    assert quality[1].level == FAILS and "past the margin: KL ratio at N = 2000 1.2" in quality[1].reason
    assert quality[0].text() != quality[1].text()
    window = {line.key: line for line in summary.claim_lines(endpoint_table(results(kl_growth={512: 1.2})))}["window"]
    assert window.level == PARTLY and "beyond the paper's sizes (N = 512, 4096), past the margin: KL factor at N = 512" \
        in window.reason


def test_lines_agree_with_the_verdicts_and_say_what_reproduced() -> None:
    df = results(sdr_fit=-1.0)
    table = endpoint_table(df)
    lines = summary.claim_lines(table, music(SETS))
    verdicts = claim_verdicts(df, table=table, irregular=music(SETS))
    assert {line.key: line.level for line in lines} == {key: v.level for key, v in verdicts.items()}
    assert [line.name for line in lines] == list(summary.CLAIM_NAMES.values())
    irregular = lines[-1]
    assert irregular.level == PARTLY  # supported on a, contradicted on b
    assert irregular.reason.startswith("supported on a (cqt better +1.00 dB [+0.70, +1.30], multires no difference")
    assert "contradicted on b (cqt worse −0.80 dB" in irregular.reason
    shaky = summary.ClaimLine("kl", HOLDS, "a reason", jackknife=PARTLY)
    assert summary.lines_markdown([shaky]).endswith("a reason. On the delete-one-speaker jackknife intervals: holds partly.")
    signs = summary.ClaimLine("sdr", PARTLY, "SDR at N = 4096 -0.31 dB [-1.04, +0.42] (margin -0.50 dB), stft-512")
    assert summary.lines_markdown([signs]).endswith(
        "SDR at N = 4096 \u22120.31 dB [\u22121.04, +0.42] (margin \u22120.50 dB), stft-512.")
    text = summary.reproduced_text(lines)
    held = [line.name for line in lines if line.level == HOLDS]
    assert all(name in text.split("\n")[0] for name in held)
    assert "Separation (does not hold here)" in text.split("\n")[1]


def _store(root: Path, seconds: list[float], **changes: object) -> Path:
    settings = {"corpus": "default", "threads": 1, "n_ffts": [1000, 2000], "extra_n_ffts": [512], "inr_epochs": 1000,
                "nmf_iter": 3000, "methods": ["NMF", "iN-NMF"], **changes}
    (root / "trials").mkdir(parents=True)
    (root / "manifest.json").write_text(json.dumps({"settings_hash": "x", "result_settings": settings,
                                                    "settings": settings}))
    for i, s in enumerate(seconds):
        (root / "trials" / f"{i:05d}.json").write_text(json.dumps({"trial": {"index": i}, "seconds": s, "rows": []}))
    return root


def test_the_cost_is_read_from_the_stores(tmp_path: Path) -> None:
    run = _store(tmp_path / "run", [200.0, 210.0, 400.0])
    alone = _store(tmp_path / "alone", [150.0, 140.0], methods=["iN-NMF"], inr_seed=1)
    cost = summary.store_cost(run, alone, {"innmf_epoch_ms": 200.0, "nmf_iter_ms": 5.0})
    assert (cost.trial_median, cost.trials, cost.alone_median, cost.alone_trials) == (210.0, 3, 145.0, 2)
    assert cost.differs == () and cost.n_sizes == 3 and cost.methods == ("NMF", "iN-NMF")
    text = summary.cost_text(cost)
    assert "median 210 s of compute with both methods (NMF, iN-NMF; 3 trials" in text and "145 s with iN-NMF alone" in text
    assert "about 69 % of a trial" in text and "one thread" in text and "about 13 times" in text  # 200 s / 15 s
    other = summary.store_cost(run, _store(tmp_path / "other", [100.0], nmf_iter=100))
    assert other.differs == ("nmf_iter",) and "differ in nmf_iter" in summary.cost_text(other)
    with pytest.raises(ValueError, match="no timed trials"):
        summary.store_cost(run, _store(tmp_path / "empty", []))
    assert "no recorded run" in summary.cost_text(None)


def test_the_recorded_cost_when_the_checkout_has_it() -> None:
    cost = recorded_cost()
    if cost is None:
        pytest.skip("this checkout holds no recorded run and study")
    assert cost.trials >= cost.alone_trials > 0 and cost.alone_median < cost.trial_median


def test_compact_decisions_fit_the_column() -> None:
    compact = summary.compact_decisions(readable(endpoint_table(results())))
    assert list(compact.columns) == ["estimand", "comparator", *summary.DECISION_COLUMNS]
    kl = compact[(compact["metric"] == "KL") & (compact["estimand"] == "fit") & (compact["comparator"] == "NMF")]
    assert kl.iloc[0]["interval"].startswith("[1.0") and kl.iloc[0]["margin"] == "1.100"
    assert set(compact["comparator"]) == {"NMF", "NMF-interp"}
    shown = summary.decision_table(compact[compact["estimand"] == "fit"], "Fit at the training size", "tbl-fit")
    assert "speaker 95 %" in shown.header and "p = 0 (Holm)" in shown.header
    assert shown.markdown().startswith(":::{table} Fit at the training size\n:name: tbl-fit")
    assert not any("-" in cell for row in shown.rows for cell in row[2:5])  # U+2212, never a hyphen, for minus


def test_system_labels_become_words_for_prose() -> None:
    text = "cqt: -1.72 dB against NMF | stft-512; multires against NMF-raster-32 | cqt"
    assert summary.system_names(text) == "cqt: -1.72 dB against NMF on stft-512; multires against NMF-raster-32 on cqt"


def test_an_endpoint_without_an_interval_is_said_to_have_none() -> None:
    table = endpoint_table(results())
    row = (table["claim"] == "quality") & (table["comparator"] == "NMF")
    table.loc[row, ["low", "high", "decision"]] = [float("nan"), float("nan"), "undecided"]
    quality = summary.claim_lines(table)[0]
    assert quality.key == "kl" and quality.reason.startswith("no interval (too few trials or speakers): KL ratio at N = 2000")
    assert len(summary.summary_figure(table).axes) == 3  # drawn as a point without an interval
