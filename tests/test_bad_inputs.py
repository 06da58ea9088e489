"""Bad input to ``innmf reproduce`` and ``innmf corpus check``: a clear error naming the problem
before any work, never a traceback, never a silent run, and no store left behind (issue 16).

Every case runs the command in this process: an unexpected exception fails the test
(a traceback), a zero exit status fails it (silently accepted), and the message must
name the problem. The reproduce cases also assert that ``--out`` was not created, so
the corrected re-run on the same folder is not refused.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from innmf.tools.cli import main

TINY = ["n_trials=1", "train_seconds=3.0", "test_seconds=2.0", "n_ffts=[1000,2000]", "extra_n_ffts=[]",
        "rank=4", "nmf_iter=10", "hidden=8", "inr_epochs=5", "refit_epochs=4", "sep_epochs=3"]

# (extra command-line arguments, words the error must contain)
REPRODUCE_CASES = [
    (["--set", "n_ffts=512"], ["n_ffts", "list"]),
    (["--set", "extra_n_ffts=512"], ["extra_n_ffts", "list"]),
    (["--set", "device=tpu"], ["device", "tpu", "cpu"]),
    (["--device", "tpu"], ["device", "tpu", "cuda"]),
    (["--set", "device=cuda:x"], ["device", "cuda:N"]),
    (["--set", "seed=-1"], ["seed", "-1", "from 0"]),
    (["--set", "seed=x"], ["seed", "'x'", "integer"]),
    (["--set", "seed=1.5"], ["seed", "1.5", "integer"]),
    (["--set", "seed=true"], ["seed", "True", "integer"]),
    (["--set", "rank=abc"], ["rank", "'abc'", "integer"]),
    (["--set", "rank=1.5"], ["rank", "1.5", "integer"]),
    (["--set", "rank=0"], ["rank", "from 1"]),
    (["--set", "train_seconds=x"], ["train_seconds", "'x'", "number"]),
    (["--set", "train_seconds=nan"], ["train_seconds", "nan", "finite"]),
    (["--set", "train_seconds=-3"], ["train_seconds", "-3"]),
    (["--set", "test_seconds=0.001"], ["test_seconds", "0.001", "at least"]),
    (["--set", "n_ffts=[1000.7]"], ["n_ffts[0]", "1000.7", "integer"]),
    (["--set", "n_ffts=[]"], ["n_ffts", "at least one"]),
    (["--set", "n_ffts=[3]"], ["n_ffts[0]", "3", "16"]),
    (["--set", "n_ffts=[1000,1000]"], ["n_ffts", "once"]),
    (["--set", "n_ffts=[1000,\"x\"]"], ["n_ffts[1]", "'x'"]),
    (["--set", "train_n_fft=3"], ["train_n_fft", "16"]),
    (["--set", "nmf_iter=0"], ["nmf_iter", "from 1"]),
    (["--set", "inr_epochs=-1"], ["inr_epochs", "from 1"]),
    (["--set", "n_trials=-1"], ["n_trials", "from 1"]),
    (["--set", "n_trials=0"], ["n_trials", "from 1"]),
    (["--set", "threads=0"], ["threads", "from 1"]),
    (["--threads", "0"], ["threads", "from 1"]),
    (["--set", "lr=nan"], ["lr", "finite"]),
    (["--set", "lr=-1"], ["lr", "-1"]),
    (["--set", "power=0"], ["power", "> 0"]),
    (["--set", "optimizer=sgd"], ["optimizer", "rprop", "adam"]),
    (["--set", "sex_pairing=both"], ["sex_pairing", "mixed"]),
    (["--set", "backend=gpu"], ["backend", "reference", "fast"]),
    (["--set", "hybrid_fraction=2"], ["hybrid_fraction", "<= 1"]),
    (["--set", "nosuch=1"], ["nosuch", "known settings"]),
    (["--set", "n_trials"], ["key=value"]),
    (["--set", "corpus=timit:/data/TIMIT?splt=test"], ["splt", "split", "sa"]),
    (["--corpus", "timit:/data/TIMIT?splt=test"], ["splt", "split"]),
    (["--corpus", "wav:/x"], ["unknown corpus spec", "folder:PATH"]),
    (["--corpus", "folder:/no/such/folder"], ["/no/such/folder", "does not exist"]),
    (["--corpus", "librispeech:/no/such/folder"], ["/no/such/folder", "does not exist"]),
    (["--workers", "0"], ["workers", "positive"]),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], ["--workers", "--scheduler"]),
    (["--profile", "fastest"], ["profile", "fastest"]),
]


def _reproduce(out: Path, *extra: str) -> list[str]:
    sets = [a for s in TINY for a in ("--set", s)]
    return ["reproduce", "--profile", "smoke", "--out", str(out), "--quiet", *sets, *extra]


def _fails_clearly(argv: list[str], words: list[str], capsys) -> str:
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse: usage line and message, exit status 2
        status = exit_.code
    err = capsys.readouterr().err
    assert status not in (0, None), f"accepted silently: {argv}"
    assert "Traceback" not in err
    for word in words:
        assert word in err, f"{word!r} not in the message {err!r}"
    return err


@pytest.mark.parametrize("extra,words", REPRODUCE_CASES, ids=[" ".join(c[0]) for c in REPRODUCE_CASES])
def test_reproduce_bad_settings_are_clear_errors_and_leave_no_store(tmp_path, capsys, extra, words):
    out = tmp_path / "out"
    _fails_clearly(_reproduce(out, *extra), words, capsys)
    assert not out.exists(), "a rejected run left a store behind"


def test_out_is_an_existing_file(tmp_path, capsys):
    out = tmp_path / "results.txt"
    out.write_text("not a folder")
    _fails_clearly(_reproduce(out), [str(out), "is a file"], capsys)
    assert out.read_text() == "not a folder"


def test_out_in_a_read_only_folder(tmp_path, capsys, monkeypatch):
    from innmf.experiments import store

    parent = tmp_path / "archive"
    parent.mkdir()
    real_access = os.access
    monkeypatch.setattr(store.os, "access", lambda p, mode: False if Path(p) == parent else real_access(p, mode))
    _fails_clearly(_reproduce(parent / "out"), ["not writable", "--from-store"], capsys)
    assert not (parent / "out").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_in_a_read_only_folder_for_real(tmp_path, capsys):
    parent = tmp_path / "archive"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        _fails_clearly(_reproduce(parent / "out"), ["not writable"], capsys)
    finally:
        parent.chmod(0o755)


# --- degenerate audio: the same rules in `corpus check` and in `reproduce`, before any work ----------

def _speech_like(seconds: float, seed: int) -> np.ndarray:
    """Noise shaped by a syllable-rate envelope: sound throughout, unlike any other seed's."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    envelope = 0.3 + 0.7 * np.abs(np.sin(2 * np.pi * (3 + seed) * t))
    return 0.2 * envelope * rng.standard_normal(t.size)


def _corpus(root: Path, second: np.ndarray) -> Path:
    """A two-speaker folder corpus: one good speaker and ``second``."""
    for name, audio in (("good", _speech_like(8.0, 1)), ("odd", second)):
        (root / name).mkdir(parents=True)
        sf.write(str(root / name / "x.wav"), audio, 16000, subtype="FLOAT")
    return root


DEGENERATE = {
    "constant DC": (lambda: np.full(8 * 16000, 0.25), ["constant", "DC", "x.wav"]),
    "identical speakers": (lambda: _speech_like(8.0, 1), ["identical audio", "good", "odd"]),
    "mostly silent": (lambda: np.concatenate([np.zeros(30 * 16000), _speech_like(0.1, 2)]),
                      ["mostly silent", "x.wav", "trim"]),
    "stereo left = -right": (lambda: np.stack([_speech_like(8.0, 3), -_speech_like(8.0, 3)], axis=1),
                             ["cancel", "phase-inverted", "x.wav"]),
    "silent": (lambda: np.zeros(8 * 16000), ["silent", "x.wav"]),
}


@pytest.mark.parametrize("kind", sorted(DEGENERATE))
def test_degenerate_audio_in_corpus_check(tmp_path, capsys, kind):
    make, words = DEGENERATE[kind]
    root = _corpus(tmp_path / "corpus", make())
    argv = ["corpus", "check", "--corpus", f"folder:{root}", "--train-seconds", "3", "--test-seconds", "2"]
    err = _fails_clearly(argv, words, capsys)
    if kind == "stereo left = -right":
        assert "silent" not in err.split("cancel")[0].splitlines()[-1]  # said what it is, not "silent"


@pytest.mark.parametrize("kind", sorted(DEGENERATE))
def test_degenerate_audio_in_reproduce_before_any_work(tmp_path, capsys, kind):
    make, words = DEGENERATE[kind]
    root = _corpus(tmp_path / "corpus", make())
    out = tmp_path / "out"
    _fails_clearly(_reproduce(out, "--corpus", f"folder:{root}"), words, capsys)
    assert not out.exists()


CHECK_CASES = [
    (["--train-seconds", "-5"], ["train_seconds", "-5"]),
    (["--train-seconds", "nan"], ["train_seconds", "nan"]),
    (["--test-seconds", "0"], ["test_seconds", "0"]),
    (["--corpus", "timit:/data/TIMIT?splt=test"], ["splt", "split", "sa"]),
    (["--corpus", "default?split=test"], ["default", "no options"]),
    (["--corpus", "folder:/no/such"], ["/no/such", "does not exist"]),
]


@pytest.mark.parametrize("extra,words", CHECK_CASES, ids=[" ".join(c[0]) for c in CHECK_CASES])
def test_corpus_check_bad_arguments(capsys, extra, words):
    _fails_clearly(["corpus", "check", "--headers-only", *extra], words, capsys)


def test_a_good_corpus_still_passes(tmp_path, capsys):
    root = _corpus(tmp_path / "corpus", _speech_like(8.0, 5))
    assert main(["corpus", "check", "--corpus", f"folder:{root}", "--train-seconds", "3",
                 "--test-seconds", "2"]) == 0
