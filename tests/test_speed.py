"""Reading recorded bench outputs back (innmf.report.speed), and the chapter's speed claims against them."""

import itertools
import json
import re
from pathlib import Path

import pytest

from innmf.report.speed import FIGURES, gpu_trial_summary, load_records, peer_table, speed_sentences, speed_table

ROOT = Path(__file__).resolve().parents[1]
RATIO = re.compile(r"(\d+(?:\.\d+)?)\s*(?:x|×)(?![\w])(?!\s*\d)")  # "2.5x", not "4097 x 2000"


def _bench_record(**extra):
    rec = {"device": "cpu", "cpu": "X", "cpu_model": "X (family 25, model 1, stepping 1)", "threads": 2,
           "commit": "abc", "innmf_epoch_ms": 20.0, "innmf_published_structure_ms": 180.0,
           "innmf_plain_compiled_ms": 30.0, "nmf_iter_ms": 0.5, "nmf_iter_ms_float64": 1.0,
           "nmf_sklearn_float32_ms": 1.0, "nmf_sklearn_float64_ms": 2.5, "nmf_numpy_float32_ms": 0.8}
    rec.update(extra)
    return rec


def test_headline_is_against_the_fastest_peer(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(_bench_record()))
    table = speed_table(load_records(tmp_path)).set_index("measurement")
    epoch = table.loc[table.index.str.startswith("iN-NMF")].iloc[0]
    assert epoch["speedup"] == pytest.approx(1.5) and "torch.compile" in epoch["reference_is"]  # not the 9x
    nmf = table.loc[table.index.str.startswith("KL-MU")].iloc[0]
    assert nmf["speedup"] == pytest.approx(1.6) and "numpy" in nmf["reference_is"]
    assert epoch["machine"] == "CPU X (family 25, model 1, stepping 1), 2 thread(s)"  # readers get no commit
    peers = peer_table(load_records(tmp_path))
    f64 = peers[peers["peer"].str.contains("float64")].iloc[0]
    assert f64["speedup"] == pytest.approx(2.5)  # our float64 against scikit-learn's float64


def test_trial_is_counted_like_for_like(tmp_path):
    (tmp_path / "t.json").write_text(json.dumps({"threads": 1, "cpu": "X", "trial_seconds": 60.0,
                                                 "published_trial_seconds": 900.0,
                                                 "published_like_for_like_seconds": 600.0,
                                                 "published_shared_trial_seconds": 700.0}))
    records = load_records(tmp_path)
    row = speed_table(records).iloc[0]
    assert row["speedup"] == pytest.approx(10.0) and row["unit"] == "s"
    (sentence,) = speed_sentences(records)
    assert "10.00x" in sentence and "15.00x" in sentence and "1.29x" in sentence


def test_old_records_are_read_with_their_old_keys(tmp_path):
    (tmp_path / "old.json").write_text(json.dumps({"device": "NVIDIA H200", "threads": 16, "innmf_epoch_ms": 5.0,
                                                   "innmf_reference_epoch_ms": 50.0}))
    (tmp_path / "other.json").write_text(json.dumps({"command": "python -m something", "epoch_ms": {}}))
    table = speed_table(load_records(tmp_path))
    assert len(table) == 1 and table["speedup"].iloc[0] == pytest.approx(10.0)


def test_gpu_trial_summary_projects_wall_time():
    rec = {"serial_trial_seconds": [20.0, 22.0], "workers": 8, "workers_trials": 24, "workers_wall_seconds": 144.0}
    summary = gpu_trial_summary(rec)
    assert summary["wall s per trial"].tolist() == pytest.approx([21.0, 6.0])
    assert summary["hours for 500 trials"].iloc[1] == pytest.approx(500 * 6.0 / 3600)


def test_missing_folder_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="innmf bench --json"):
        load_records(tmp_path / "nope")


def _record_ratios(records):
    """Every ratio of two timings within one record, as the chapter prints them."""
    out = set()
    for rec in records:
        times = [v for k, v in rec.items() if isinstance(v, (int, float)) and ("_ms" in k or k.endswith("_seconds")) and v > 0]
        out.update(f"{a / b:.2f}" for a, b in itertools.permutations(times, 2))
    return out


def test_every_ratio_the_chapter_prints_comes_from_a_record():
    """Chapter 6's speed section: its prose states no ratio of its own, and every ratio
    it prints from results/bench/ is a ratio of two timings of one record."""
    source = (ROOT / "notebooks" / "06_reproducing_at_scale.py").read_text()
    section = source[source.index("# ## How fast, and against what?"):source.index("# ## Exercises")]
    prose = "\n".join(line for line in section.splitlines() if line.startswith("#"))
    assert not RATIO.findall(prose), "the speed section's prose states a ratio: print it from a record instead"
    records = load_records(ROOT / "results" / "bench")
    printed = [m for sentence in speed_sentences(records) for m in RATIO.findall(sentence)]
    printed += [f"{v:.2f}" for v in speed_table(records)["speedup"]]
    assert printed
    known = _record_ratios(records)
    assert set(printed) <= known, set(printed) - known
    # and the table's headline is the ratio the bench itself recorded
    for rec in records:
        peers = peer_table([rec])
        for fig, label, _, _ in FIGURES:
            if f"{fig}_speedup_vs_fastest" in rec:
                best = peers[peers["fastest"] & (peers["measurement"] == label)]
                assert best["speedup"].iloc[0] == pytest.approx(rec[f"{fig}_speedup_vs_fastest"]), (rec["file"], fig)
