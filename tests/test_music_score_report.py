"""ADDENDUM-3's family in the report: the score-informed rows judged alone, the earlier families unchanged.

The score-informed rows here are synthetic (``score_rows``): the recorded supervised rows of
``chorales-ensemble`` relabelled to the score task's systems and shifted, with the ``task`` column of
``record_addendum_3.py``; they exercise the code, they are no result.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from innmf.report import music

REPO = Path(__file__).resolve().parents[1]
RECORDED = REPO / "results" / "music"
EARLIER = {"chorales": "rows.csv", "addendum-1": "addendum-rows.csv", "addendum-2": "addendum-2-rows.csv"}
SCORE_SYSTEMS = [("NMF", f"stft-{n}") for n in (256, 512, 1024, 2048)] + [("NMF-grid", "cqt"), ("iN-NMF", "cqt")]
SHIFT = {("NMF", "stft-256"): -3.0, ("NMF", "stft-512"): -2.5, ("NMF", "stft-1024"): -2.0, ("NMF", "stft-2048"): -4.0,
         ("NMF-grid", "cqt"): -2.5, ("iN-NMF", "cqt"): -1.0}

needs_recorded = pytest.mark.skipif(not all((RECORDED / f).exists() for f in EARLIER.values()),
                                    reason="the recorded music rows are not in this checkout")


def score_rows(supervised: pd.DataFrame, dataset: str = "chorales-ensemble", seed: int = 0) -> pd.DataFrame:
    """Synthetic rows of the score-informed task on the recorded pieces of ``dataset``: the floor and oracles as
    recorded, each score system a supervised system of the same label shifted by :data:`SHIFT` plus noise."""
    part = supervised[(supervised["dataset"] == dataset) & (supervised["split"] != "fit")]
    keep = SCORE_SYSTEMS + [("floor", "none"), ("oracle", "cqt")] + [("oracle", f"stft-{n}") for n in (256, 512, 1024, 2048)]
    pairs = list(zip(part["method"], part["representation"]))
    out = part[[p in keep for p in pairs]].copy()
    rng = np.random.default_rng(seed)
    shift = np.array([SHIFT.get(p, 0.0) for p in zip(out["method"], out["representation"])])
    noisy = shift != 0
    out["value"] = out["value"] + shift + noisy * rng.normal(0.0, 0.3, len(out))
    out.insert(1, "task", "score-informed")
    return out.reset_index(drop=True)


def _checkout(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "notebooks").mkdir()
    root = tmp_path / "results" / "music"
    root.mkdir(parents=True)
    monkeypatch.setenv("INNMF_ROOT", str(tmp_path))
    return root


def test_task_named_keeps_another_task_apart_and_unrecorded_reads_the_rows():
    rows = pd.DataFrame({"dataset": ["a", "a", "b"], "task": ["score-informed", "supervised", np.nan]})
    named = music.task_named(rows)
    assert named["dataset"].tolist() == ["a (score-informed)", "a", "b"]
    assert music.base_dataset(named).tolist() == ["a", "a", "b"]
    assert music.task_named(rows.drop(columns="task")) is not None
    assert music.unrecorded("addendum-3", pd.DataFrame({"dataset": ["chorales-ensemble"], "task": ["score-informed"]})
                            ) == ["chorales-piano"]
    assert music.unrecorded("addendum-3", named.iloc[:0]) == ["chorales-ensemble", "chorales-piano"]


@needs_recorded
def test_addendum_3_is_its_own_family_and_leaves_the_earlier_ones_as_judged(tmp_path, monkeypatch):
    root = _checkout(tmp_path, monkeypatch)
    for name in EARLIER.values():
        shutil.copy(RECORDED / name, root / name)
    before = music.recorded_endpoint()
    claims_before = music.recorded_claims()
    groups_before = music.family_claims(before)
    rows_before = music.recorded_rows()
    assert music.unrecorded("addendum-3") == ["chorales-ensemble", "chorales-piano"]

    raw = score_rows(pd.read_csv(RECORDED / "rows.csv"))
    raw.to_csv(root / "addendum-3-rows.csv", index=False)
    after = music.recorded_endpoint()
    # the earlier families: every number and word as before
    earlier = after[after["family"] != "addendum-3"].reset_index(drop=True)
    pd.testing.assert_frame_equal(earlier, before)
    claims = music.recorded_claims()
    assert {f: c for f, c in claims.items() if f != "addendum-3"} == claims_before
    groups = music.family_claims(after)
    assert {k: v for k, v in groups.items() if "score-informed" not in k} == groups_before
    supervised = music.recorded_rows(music.SUPERVISED)
    pd.testing.assert_frame_equal(supervised, rows_before)
    assert len(music.recorded_rows()) == len(rows_before) + len(raw)  # nothing merged with the supervised rows

    # addendum 3: its comparator among the four STFTs on its own validation pieces, Holm over its endpoint(s) only
    mine = after[after["family"] == "addendum-3"].reset_index(drop=True)
    alone = music.endpoint(music.task_named(raw))
    pd.testing.assert_frame_equal(mine.drop(columns="family"), alone)
    assert mine["dataset"].tolist() == ["chorales-ensemble (score-informed)"]
    assert mine["representation"].tolist() == ["cqt"]
    assert mine["comparator"].iloc[0] in {f"NMF | stft-{n}" for n in (256, 512, 1024, 2048)}
    np.testing.assert_allclose(mine["p_holm"], mine["p"])  # one recorded endpoint: Holm over it alone
    wide = music.piece_scores(raw).xs(("chorales-ensemble", "test"), level=("dataset", "split"))
    diff = wide["iN-NMF | cqt"] - wide[mine["comparator"].iloc[0]]
    assert mine["delta"].iloc[0] == pytest.approx(diff.mean())
    twin = wide["iN-NMF | cqt"] - wide["NMF-grid | cqt"]
    assert mine["twin_delta"].iloc[0] == pytest.approx(twin.mean())
    assert set(claims["addendum-3"]) == {"chorales-ensemble (score-informed)"}
    assert "chorales-ensemble (score-informed)" in groups
    assert music.unrecorded("addendum-3") == ["chorales-piano"]

    # secondary: each score system against the same supervised system on the same test pieces
    contrast = music.task_contrast(music.recorded_rows(["addendum-3"]), pd.read_csv(RECORDED / "rows.csv"))
    row = contrast.set_index("system").loc["NMF | stft-2048"]
    assert row["dataset"] == "chorales-ensemble" and row["pieces"] == 20
    assert row["delta"] == pytest.approx(-4.0, abs=0.2) and row["low"] < row["delta"] < row["high"]
    assert "floor | none" not in set(contrast["system"])
    assert contrast.set_index("system").loc["oracle | cqt", "delta"] == pytest.approx(0.0, abs=1e-9)


def _split(rows: pd.DataFrame, folder: Path, names: dict[str, str], prefix: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, dataset in names.items():
        part = rows[rows["dataset"] == dataset]
        part.to_csv(folder / f"{prefix}{name}-rows.csv", index=False)
        (folder / f"{prefix}{name}-timing.json").write_text(json.dumps({"dataset": dataset, "seconds": 600.0,
                                                                       "rows": len(part), "workers": 2}))


@needs_recorded
def test_write_readme_reports_addendum_3_and_its_unrecorded_timbre(tmp_path):
    """write_readme.py on run folders rebuilt from the recorded rows, addendum 3 synthetic and for one timbre only."""
    (tmp_path / "notebooks").mkdir()
    out = tmp_path / "results" / "music"
    out.mkdir(parents=True)
    shutil.copy(RECORDED / "write_readme.py", out / "write_readme.py")
    runs = tmp_path / "runs"
    rows = pd.read_csv(RECORDED / "rows.csv")
    _split(rows, runs / "chorales", {"ensemble": "chorales-ensemble", "piano": "chorales-piano"})
    _split(pd.read_csv(RECORDED / "addendum-rows.csv"), runs / "addendum-1",
           {"muldjord": "muldjord-stems", "ambience": "ambience-speech"})
    _split(pd.read_csv(RECORDED / "addendum-2-rows.csv"), runs / "addendum-2",
           {"ensemble": "chorales-ensemble", "piano": "chorales-piano", "muldjord": "muldjord-stems",
            "ambience": "ambience-speech"})
    raw = score_rows(rows)
    _split(raw, runs / "addendum-3", {"ensemble": "chorales-ensemble"}, prefix="score-")
    env = {**os.environ, "INNMF_ROOT": str(tmp_path)}
    done = subprocess.run([sys.executable, str(out / "write_readme.py"), *(str(runs / f) for f in
                                                                          ("chorales", "addendum-1", "addendum-2",
                                                                           "addendum-3"))],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    written = pd.read_csv(out / "addendum-3-rows.csv")
    assert len(written) == len(raw) and set(written["task"]) == {"score-informed"}
    record = json.loads((out / "run.json").read_text())
    mine = record["runs"]["addendum-3"]
    assert mine["commit"] == "adcd4bf" and mine["task"] == "score-informed"
    assert mine["not_recorded"] == ["chorales-piano"] and list(mine["timing"]) == ["score-ensemble"]
    expected = music.endpoint(music.task_named(raw))
    assert mine["comparators"] == {"chorales-ensemble (score-informed)": expected["comparator"].iloc[0]}
    assert mine["claims"] == music.claim_verdict(expected)
    # the earlier families as the recorded run.json has them
    kept = json.loads((RECORDED / "run.json").read_text())["runs"]
    for family in EARLIER:
        assert record["runs"][family]["comparators"] == kept[family]["comparators"]
        assert record["runs"][family]["claims"] == kept[family]["claims"]
        assert record["runs"][family]["not_recorded"] == []
    readme = (out / "README.md").read_text()
    section = readme[readme.index("## Run `addendum-3`"):]
    assert "ADDENDUM-3.md (committed in adcd4bf" in section
    assert f"{expected['delta'].iloc[0]:+.2f}" in section and f"{expected['twin_delta'].iloc[0]:+.2f}" in section
    assert "**chorales-piano**: pre-registered" in section and "not yet recorded" in section
    assert "1 endpoint(s) recorded of the 2 registered" in section
    assert "`task_contrast`" in section
    assert readme.startswith("# Recorded runs") and "4 recorded runs" in readme


def test_write_readme_without_addendum_3_says_it_is_pre_registered_only(tmp_path):
    """Three folders (the earlier usage): addendum 3 is named as pre-registered and not recorded."""
    (tmp_path / "notebooks").mkdir()
    out = tmp_path / "results" / "music"
    out.mkdir(parents=True)
    shutil.copy(RECORDED / "write_readme.py", out / "write_readme.py")
    rows = score_rows(pd.read_csv(RECORDED / "rows.csv")).drop(columns="task") if (RECORDED / "rows.csv").exists() \
        else None
    if rows is None:
        pytest.skip("the recorded music rows are not in this checkout")
    _split(rows, tmp_path / "runs", {"ensemble": "chorales-ensemble"})
    env = {**os.environ, "INNMF_ROOT": str(tmp_path)}
    empty = tmp_path / "none"
    empty.mkdir()
    done = subprocess.run([sys.executable, str(out / "write_readme.py"), str(tmp_path / "runs"), str(empty), str(empty)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["runs"]["addendum-3"]["not_recorded"] == ["chorales-ensemble", "chorales-piano"]
    assert record["runs"]["chorales"]["not_recorded"] == ["chorales-piano"]
    readme = (out / "README.md").read_text()
    assert "## Run `addendum-3`: ADDENDUM-3.md (committed in adcd4bf), pre-registered and not recorded" in readme
    assert "1 recorded run (`chorales`)" in readme and not (out / "addendum-3-rows.csv").exists()


def test_a_family_recorded_in_part_is_judged_at_the_bonferroni_bound():
    from innmf.report.music import holm_bound

    table = pd.DataFrame([{"dataset": "d (score-informed)", "representation": "cqt", "comparator": "NMF | stft-512",
                           "delta": 1.0, "low": 0.2, "high": 1.8, "p": p, "p_holm": p} for p in (0.02,)])
    assert holm_bound(table, 2)["p_holm"].tolist() == [0.04]
    assert holm_bound(table, 2)["verdict"].iloc[0].startswith("iN-NMF better")
    late = holm_bound(table.assign(p=0.03, p_holm=0.03), 2)  # 0.06 at the bound: provisional
    assert late["verdict"].iloc[0].startswith("no difference shown")
    with pytest.raises(ValueError, match="only 1 registered"):
        holm_bound(pd.concat([table, table]), 1)
