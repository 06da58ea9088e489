"""Reading recorded bench outputs back (innmf.report.speed)."""

import json

import pytest

from innmf.report.speed import gpu_trial_summary, load_records, speed_table


def test_speed_table_pairs_each_measurement_with_its_reference(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"device": "cpu", "cpu": "X", "threads": 1, "innmf_epoch_ms": 20.0,
                                                 "innmf_reference_epoch_ms": 180.0, "nmf_iter_ms": 0.7,
                                                 "sklearn_nmf_iter_ms": 2.1}))
    (tmp_path / "b.json").write_text(json.dumps({"threads": 1, "cpu": "X", "trial_seconds": 60.0,
                                                 "published_trial_seconds": 600.0}))
    table = speed_table(load_records(tmp_path))
    assert len(table) == 3
    assert table.set_index("unit").loc["s", "speedup"] == pytest.approx(10.0)
    epoch = table[table["measurement"].str.startswith("iN-NMF")].iloc[0]
    assert epoch["speedup"] == pytest.approx(9.0) and epoch["machine"] == "CPU (X), 1 thread(s)"


def test_gpu_trial_summary_projects_wall_time():
    rec = {"serial_trial_seconds": [20.0, 22.0], "workers": 8, "workers_trials": 24, "workers_wall_seconds": 144.0}
    summary = gpu_trial_summary(rec)
    assert summary["wall s per trial"].tolist() == pytest.approx([21.0, 6.0])
    assert summary["hours for 500 trials"].iloc[1] == pytest.approx(500 * 6.0 / 3600)


def test_missing_folder_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="innmf bench --json"):
        load_records(tmp_path / "nope")
