"""Edges of ``innmf bench``, ``study``, ``reproduce --scheduler`` and ``corpus`` (issue 24, item 5):
refused by name before any work, nothing left behind, one clear line; and ``corpus check``
telling the user about files at different sample rates.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from innmf.tools.cli import main


def _refused(argv: list[str], capsys, *words: str) -> str:
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 1, f"not refused: {argv}"
    assert "Traceback" not in err
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"
    return err


# --- bench: every count below 1 refused before the minutes of measuring ------------------------

@pytest.fixture
def no_measuring(monkeypatch):
    from innmf.tools.bench import command

    def measured(args):
        raise AssertionError("the benchmark started")

    monkeypatch.setattr(command, "_measure", measured)


@pytest.mark.parametrize("argv,option", [
    (["--trial", "--repeats", "0"], "--repeats"),
    (["--trial", "--repeats", "-3"], "--repeats"),
    (["--trial", "--threads", "0"], "--threads"),
    (["--repeats", "0"], "--repeats"),
    (["--quick", "--threads", "-1"], "--threads"),
])
def test_bench_counts_below_one_are_refused_by_name(capsys, no_measuring, argv, option):
    _refused(["bench", *argv], capsys, option, "at least 1")


def test_bench_trial_with_options_it_does_not_take_is_refused_first(capsys, no_measuring):
    _refused(["bench", "--trial", "--quick"], capsys, "--trial", "--quick")


# --- study: --out may not be (inside) --reference ------------------------------------------------

@pytest.fixture
def reference(tmp_path) -> Path:
    folder = tmp_path / "paper-run"
    folder.mkdir()
    (folder / "manifest.json").write_text("{}")
    return folder


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("where", ["same", "same-spelled-otherwise", "inside", "deep inside"])
@pytest.mark.parametrize("from_store", [False, True])
def test_study_out_in_the_reference_is_refused(capsys, reference, where, from_store):
    out = {"same": reference, "same-spelled-otherwise": reference / ".." / reference.name,
           "inside": reference / "study", "deep inside": reference / "a" / "b"}[where]
    before = _listing(reference)
    argv = ["study", "--reference", str(reference), "--out", str(out), "--trials", "3"]
    _refused(argv + (["--from-store"] if from_store else []), capsys, "--out", "--reference", "folder of its own")
    assert _listing(reference) == before


def test_study_reference_that_is_a_variant_folder_of_out_is_refused(capsys, tmp_path):
    out = tmp_path / "study"
    (out / "draw-2").mkdir(parents=True)
    _refused(["study", "--reference", str(out / "draw-2"), "--out", str(out), "--trials", "3"], capsys,
             "'draw-2'", "overwrite")


@pytest.mark.parametrize("argv,option", [(["--trials", "0"], "--trials"), (["--trials", "3", "--workers", "0"],
                                                                          "--workers")])
def test_study_counts_below_one_are_refused_by_name(capsys, reference, tmp_path, argv, option):
    _refused(["study", "--reference", str(reference), "--out", str(tmp_path / "s"), *argv], capsys, option)
    assert not (tmp_path / "s").exists()


def test_study_help_lists_the_variants_without_importing_them():
    from innmf.experiments.inr_study import VARIANTS
    from innmf.tools.study_cli import variant_labels

    assert variant_labels() == list(VARIANTS)


# --- reproduce --scheduler: a dead address refused before the store exists ----------------------

def _dead_port() -> int:
    with socket.socket() as s:  # a port the system just handed out, closed again: nothing listens
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dead_scheduler_is_one_line_and_leaves_no_store(capsys, tmp_path):
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{_dead_port()}"
    err = _refused(["reproduce", "--profile", "smoke", "--out", str(out), "--quiet", "--scheduler", address],
                   capsys, "Cannot reach a Dask scheduler", address, "dask scheduler")
    assert len([line for line in err.splitlines() if line.strip()]) == 1
    assert not out.exists()


def test_scheduler_probe_accepts_a_listening_port_and_refuses_malformed_addresses():
    from innmf.experiments.parallel import check_scheduler

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        check_scheduler(f"tcp://127.0.0.1:{port}")
        check_scheduler(f"127.0.0.1:{port}")  # Dask reads HOST:PORT as tcp
    check_scheduler(None)
    check_scheduler("inproc://10.0.0.1/1/1")  # other transports: Dask's own connection says
    for bad in ("tcp://127.0.0.1:99999", "tcp://:8786", "tcp://127.0.0.1:port"):
        with pytest.raises(ValueError, match="not a Dask scheduler address"):
            check_scheduler(bad)
    with pytest.raises(ValueError, match="Cannot reach"):
        check_scheduler(f"tcp://127.0.0.1:{_dead_port()}")


# --- corpus: counts, and files at different sample rates ----------------------------------------

def _corpus(root: Path, rates: dict[str, int], seconds: float = 4.0) -> Path:
    rng = np.random.default_rng(0)
    for name, rate in rates.items():
        (root / name).mkdir(parents=True)
        sf.write(str(root / name / "x.wav"), rng.uniform(-0.5, 0.5, int(seconds * rate)), rate)
    return root


CHECK = ["corpus", "check", "--train-seconds", "2", "--test-seconds", "1"]


def test_mixed_rates_at_16k_or_more_are_a_warning_not_a_failure(tmp_path, capsys):
    root = _corpus(tmp_path / "c", {"a": 16000, "b": 44100, "c": 16000})
    assert main([*CHECK, "--corpus", f"folder:{root}"]) == 0
    err = capsys.readouterr().err
    assert "warning: the files have different sample rates" in err
    assert "16000 Hz (2 file(s)" in err and "44100 Hz (1 file(s)" in err and str(root / "b" / "x.wav") in err
    assert main([*CHECK, "--corpus", f"folder:{root}", "--json", "--headers-only"]) == 0
    out, err = capsys.readouterr()
    assert {r["speaker"]: r["sample_rates"] for r in json.loads(out)} == {"a": [16000], "b": [44100], "c": [16000]}
    assert "different sample rates" in err


def test_one_rate_gives_no_warning(tmp_path, capsys):
    root = _corpus(tmp_path / "c", {"a": 22050, "b": 22050})
    assert main([*CHECK, "--corpus", f"folder:{root}", "--headers-only"]) == 0
    assert "sample rate" not in capsys.readouterr().err


def test_a_speaker_below_16k_fails_the_check_by_name(tmp_path, capsys):
    root = _corpus(tmp_path / "c", {"a": 16000, "b": 16000, "n": 8000})
    assert main([*CHECK, "--corpus", f"folder:{root}"]) == 1
    err = capsys.readouterr().err
    assert "speaker n: recorded at 8000 Hz" in err and "nothing above 4000 Hz" in err and "16000 Hz or more" in err
    assert "different sample rates" in err


def test_rates_in_the_library_report():
    from innmf.data.check import mixed_rates_warning, narrowband_problem

    assert narrowband_problem({16000: [Path("a.wav")], 48000: [Path("b.wav")]}) is None
    problem = narrowband_problem({11025: [Path("a.wav"), Path("b.wav")], 8000: [Path("c.wav")]})
    assert problem is not None and "8000 Hz (1 file(s), e.g. c.wav)" in problem  # the lowest rate is named
    assert "16000 Hz (1 file(s), e.g. a.wav), 48000 Hz" in mixed_rates_warning({48000: [Path("b.wav")],
                                                                               16000: [Path("a.wav")]})


def test_corpus_trials_count_below_one_is_refused_by_name(capsys):
    _refused(["corpus", "trials", "-n", "0"], capsys, "--n-trials", "at least 1")
