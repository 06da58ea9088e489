"""Faults a results store must survive, or refuse by name with the fix (issue 16).

Deleted or damaged manifests, mixed settings, damaged, foreign and stray trial files,
concurrent writers, leftover temporary files, read-only archives, audio replaced in
place, equal paths written differently, thread counts, and kill -9 / SIGTERM / Ctrl-C
of the parent with worker processes. Trials are the cheap stand-ins of the runner
tests (``fake_trial``) wherever the numbers themselves do not matter.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from innmf.experiments import load_results, run_experiments
from innmf.experiments.settings import get_profile
from innmf.experiments.store import ResultsStore, StoreError
from innmf.tools.cli import main

from signals_helper import terminal_sigint

REPO = Path(__file__).resolve().parents[1]
TINY = dict(n_trials=3, train_seconds=3.0, test_seconds=2.0, n_ffts=[1000, 2000], extra_n_ffts=[512],
            rank=4, nmf_iter=15, hidden=8, inr_epochs=8, refit_epochs=6, sep_epochs=4)
CALLS: list[int] = []


def tiny(**more):
    return get_profile("smoke", **{**TINY, **more})


def fake_trial(task):
    """The real row format, numbers from the trial index: cheap bookkeeping."""
    CALLS.append(int(task.trial["index"]))
    i = int(task.trial["index"])
    rows = [{"trial": i, "trial_key": task.trial["key"], "speakers": "+".join(task.trial["speakers"]),
             "experiment": e, "method": m, "n_fft": 1000, "metric": "kl" if e == "reconstruction" else "sdr",
             "value": float(i + j)}
            for e in task.experiments for j, m in enumerate(("NMF", "iN-NMF"))]
    return rows, 0.0


def must_not_run(task):
    raise AssertionError(f"trial {task.trial['index']} was recomputed")


def run(out, settings=None, trial_fn=fake_trial, **kw):
    return run_experiments(settings or tiny(), ["all"], out=out, progress=False, trial_fn=trial_fn, **kw)


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()


@pytest.fixture()
def finished(tmp_path):
    """A finished three-trial store and its rows."""
    out = tmp_path / "store"
    df = run(out)
    CALLS.clear()
    return out, df


# --- the manifest ----------------------------------------------------------------------------------

def test_deleted_manifest_then_other_settings_is_refused(finished):
    out, _ = finished
    (out / "manifest.json").unlink()
    with pytest.raises(StoreError, match=r"3 trial file\(s\) but no manifest.json.*delete .*trials"):
        run(out, tiny(nmf_iter=30), trial_fn=must_not_run)
    with pytest.raises(StoreError, match="no manifest.json"):
        load_results(out)
    assert not (out / "manifest.json").exists()  # nothing was made up


@pytest.mark.parametrize("content", ["", "{\"settings_hash\": ", "garbage \x00", "{}", "[1, 2]"])
def test_damaged_manifest_is_named(finished, content):
    out, _ = finished
    (out / "manifest.json").write_text(content)
    for action in (lambda: run(out, trial_fn=must_not_run), lambda: load_results(out)):
        with pytest.raises(StoreError, match=rf"{out / 'manifest.json'} is damaged.*Restore it"):
            action()


# --- trial files -----------------------------------------------------------------------------------

DAMAGE = {
    "empty": "",
    "truncated": None,  # the first half of the real file
    "garbage": "\x89PNG not json",
    "empty object": "{}",
    "a list": "[{\"trial\": 1}]",
    "rows of another trial": None,
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damaged_trial_file_is_named_and_recomputed_once_deleted(finished, kind):
    out, df = finished
    path = out / "trials" / "00001.json"
    text = path.read_text()
    if kind == "truncated":
        path.write_text(text[: len(text) // 2])
    elif kind == "rows of another trial":
        record = json.loads(text)
        record["rows"][0]["trial"] = 2
        path.write_text(json.dumps(record))
    else:
        path.write_text(DAMAGE[kind])
    for action in (lambda: run(out, trial_fn=must_not_run), lambda: load_results(out)):
        with pytest.raises(StoreError, match=rf"{path} is damaged .*delete it and re-run"):
            action()
    path.unlink()  # the fix the message gives
    again = run(out)
    assert CALLS == [1]
    pd.testing.assert_frame_equal(again, df)  # nothing lost


def test_foreign_trial_file_is_refused(finished, tmp_path):
    out, _ = finished
    other = tmp_path / "other"
    run(other, tiny(nmf_iter=30), trial_fn=fake_trial)
    shutil.copy(other / "trials" / "00001.json", out / "trials" / "00001.json")
    for action in (lambda: run(out, trial_fn=must_not_run), lambda: load_results(out)):
        with pytest.raises(StoreError, match=r"00001.json was made with other settings.*does not belong"):
            action()


def test_stray_json_and_trials_as_a_file(finished, tmp_path):
    out, _ = finished
    stray = out / "trials" / "1extra.json"
    stray.write_text("{}")
    with pytest.raises(StoreError, match=r"1extra.json is not a trial file.*remove it"):
        load_results(out)
    with pytest.raises(StoreError, match="1extra.json"):
        run(out, trial_fn=must_not_run)
    stray.unlink()
    assert len(load_results(out)) > 0

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "trials").write_text("oops")
    with pytest.raises(StoreError, match=r"trials is a file.*remove it"):
        run(bad, trial_fn=must_not_run)


def test_mixed_settings_are_refused_with_the_differences(finished):
    out, _ = finished
    with pytest.raises(StoreError, match=r"nmf_iter: store has 15, this run has 30.*another --out"):
        run(out, tiny(nmf_iter=30), trial_fn=must_not_run)


def test_threads_are_part_of_the_store(finished):
    out, _ = finished
    with pytest.raises(StoreError, match=r"threads: store has 1, this run has 2"):
        run(out, trial_fn=must_not_run, threads=2)
    with pytest.raises(StoreError, match="threads"):
        run(out, tiny(threads=2), trial_fn=must_not_run)


def test_auto_backend_is_stored_as_what_it_ran(finished, monkeypatch):
    from innmf.experiments import store

    out, _ = finished
    made_with = json.loads((out / "manifest.json").read_text())["result_settings"]["backend"]
    assert made_with == f"auto/{store.auto_backend()}"
    other = "plain" if made_with.endswith("compiled") else "compiled"
    monkeypatch.setattr(store, "auto_backend", lambda: other)  # e.g. the same run without innmf[fast]
    with pytest.raises(StoreError, match=rf"backend: store has '{made_with}', this run has 'auto/{other}'"):
        run(out, trial_fn=must_not_run)


def test_leftover_temporary_files_are_removed(finished):
    out, df = finished
    for tmp in (out / "trials" / ".00001.json.abc.tmp", out / ".manifest.json.x.tmp"):
        tmp.write_text("{\"half\": ")
    again = run(out, trial_fn=must_not_run)
    assert not list(out.rglob("*.tmp"))
    pd.testing.assert_frame_equal(again, df)


# --- one writer at a time --------------------------------------------------------------------------

def test_a_second_writer_in_this_process_is_refused(finished):
    out, df = finished
    with ResultsStore(out, tiny()):
        with pytest.raises(StoreError, match="another innmf run is writing"):
            run(out, trial_fn=must_not_run)
        pd.testing.assert_frame_equal(load_results(out), df)  # readers are not blocked
    run(out, trial_fn=must_not_run)  # released


def test_a_concurrent_writer_in_another_process_is_refused(tmp_path):
    out = tmp_path / "store"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from innmf.experiments.settings import get_profile
            from innmf.experiments.store import ResultsStore
            store = ResultsStore({str(out)!r}, get_profile("smoke", **{dict(TINY, nmf_iter=30)!r}))
            print("holding", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(StoreError, match="another innmf run is writing"):
            run(out, trial_fn=must_not_run)
    finally:
        holder.kill()
        holder.wait()
    assert json.loads((out / "manifest.json").read_text())["result_settings"]["nmf_iter"] == 30
    with pytest.raises(StoreError, match="nmf_iter: store has 30"):  # and then its settings hold
        run(out, trial_fn=must_not_run)


# --- reading a finished store writes nothing -------------------------------------------------------

def test_from_store_on_a_read_only_store(finished, capsys, monkeypatch):
    from innmf.experiments import store

    out, df = finished
    real_access = os.access
    monkeypatch.setattr(store.os, "access", lambda p, mode: False if Path(p) == out else real_access(p, mode))

    def no_writes(*args, **kwargs):
        raise AssertionError("wrote into a read-only store")

    monkeypatch.setattr(store, "atomic_write_text", no_writes)
    pd.testing.assert_frame_equal(load_results(out), df)
    assert main(["reproduce", "--out", str(out), "--from-store", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["n_trials"] == 3
    assert "read-only" in captured.err
    with pytest.raises(StoreError, match="not writable"):
        run(out, trial_fn=must_not_run)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_from_store_on_a_read_only_store_for_real(finished, capsys):
    out, _ = finished
    for p in [out, out / "trials"]:
        p.chmod(0o555)
    try:
        assert main(["reproduce", "--out", str(out), "--from-store", "--json"]) == 0
    finally:
        for p in [out, out / "trials"]:
            p.chmod(0o755)


# --- the corpus is what its audio is ---------------------------------------------------------------

def _folder_corpus(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for name in ("alice", "bob", "carol"):
        (root / name).mkdir(parents=True)
        sf.write(str(root / name / "x.wav"), 0.1 * rng.standard_normal(8 * 16000), 16000, subtype="FLOAT")
    return root


def test_equal_paths_written_differently_are_one_corpus(tmp_path, monkeypatch):
    corpus = _folder_corpus(tmp_path / "corpus")
    out = tmp_path / "store"
    run(out, tiny(corpus=f"folder:{corpus}"))
    monkeypatch.chdir(tmp_path)
    for spec in ("folder:corpus", "folder:corpus/", f"folder:{corpus}/", "folder:./corpus/../corpus"):
        run(out, tiny(corpus=spec), trial_fn=must_not_run)


def test_audio_replaced_in_place_is_refused_on_resume(tmp_path):
    corpus = _folder_corpus(tmp_path / "corpus")
    out = tmp_path / "store"
    run(out, tiny(corpus=f"folder:{corpus}"))
    victim = json.loads((out / "trials" / "00000.json").read_text())["trial"]["speakers"][0]
    x, rate = sf.read(str(corpus / victim / "x.wav"))
    sf.write(str(corpus / victim / "x.wav"), x[::-1].copy(), rate, subtype="FLOAT")  # same length, other audio
    with pytest.raises(StoreError, match=rf"audio of speaker {victim} changed.*Restore"):
        run(out, tiny(corpus=f"folder:{corpus}"), trial_fn=must_not_run)


# --- processes: the parent killed, stopped or interrupted ------------------------------------------

SLOW_TRIAL = '''
import os, time
from pathlib import Path

def slow(task):
    marks = Path(os.environ["MARKS"])
    (marks / f"start-{task.trial['index']}-{os.getpid()}").touch()
    time.sleep(float(os.environ.get("SLEEP", "3")))
    (marks / f"done-{task.trial['index']}").touch()
    i = int(task.trial["index"])
    return [{"trial": i, "trial_key": task.trial["key"], "speakers": "a+b", "experiment": e,
             "method": m, "n_fft": 1000, "metric": "kl" if e == "reconstruction" else "sdr",
             "value": 1.0} for e in task.experiments for m in ("NMF", "iN-NMF")], 0.0
'''

DRIVER = '''
import sys
from slowtrial import slow
from innmf.experiments import run_experiments
from innmf.experiments.settings import get_profile

if __name__ == "__main__":
    settings = get_profile("smoke", n_trials=6, train_seconds=3.0, test_seconds=2.0)
    run_experiments(settings, ["all"], out=sys.argv[1], workers=2, progress=False, trial_fn=slow)
'''


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its exit status is left


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_the_parent_leaves_no_worker(tmp_path):
    (tmp_path / "slowtrial.py").write_text(SLOW_TRIAL)
    (tmp_path / "driver.py").write_text(DRIVER)
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "MARKS": str(marks), "SLEEP": "4", "PYTHONPATH": str(tmp_path)}
    parent = subprocess.Popen([sys.executable, str(tmp_path / "driver.py"), str(tmp_path / "out")],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while len(list(marks.glob("start-*"))) < 2 and time.time() < deadline:
        time.sleep(0.1)
    assert len(list(marks.glob("start-*"))) == 2, parent.stderr.read1().decode() if parent.poll() else "slow"
    family = _descendants(parent.pid)  # two workers and multiprocessing's resource tracker
    assert len(family) >= 2
    parent.kill()  # SIGKILL: no handler, no finally
    parent.wait()
    deadline = time.time() + 10
    while any(_alive(p) for p in family) and time.time() < deadline:
        time.sleep(0.1)
    assert not [p for p in family if _alive(p)], "orphaned processes outlived their parent"
    time.sleep(5)  # past the first trials' end: a surviving worker would start the next ones
    assert sorted(p.name.split("-")[1] for p in marks.glob("start-*")) == ["0", "1"]
    assert not list(marks.glob("done-*"))
    parent.stdout.close()  # the pipes were not held open by orphans: both reach end of file
    assert parent.stderr.read() is not None


@pytest.mark.parametrize("signum,workers", [(signal.SIGTERM, 1), (signal.SIGINT, 2)],
                         ids=["SIGTERM serial", "Ctrl-C with 2 workers"])
def test_sigterm_and_ctrl_c_print_one_line_and_resume(tmp_path, signum, workers):
    (tmp_path / "slowtrial.py").write_text(SLOW_TRIAL)
    marks = tmp_path / "marks"
    marks.mkdir()
    cli = textwrap.dedent('''
        import sys
        from slowtrial import slow
        import innmf.experiments.runner as runner
        # trial_fn's default, found by name: parameters added after it must not shift it
        code, defaults = runner.run_experiments.__code__, list(runner.run_experiments.__defaults__)
        names = code.co_varnames[:code.co_argcount][-len(defaults):]
        defaults[names.index("trial_fn")] = slow
        runner.run_experiments.__defaults__ = tuple(defaults)
        from innmf.tools.cli import main
        if __name__ == "__main__":
            sys.exit(main(sys.argv[1:]))
    ''')
    (tmp_path / "cli.py").write_text(cli)
    env = {**os.environ, "MARKS": str(marks), "SLEEP": "3", "PYTHONPATH": str(tmp_path)}
    out = tmp_path / "out"
    argv = [sys.executable, str(tmp_path / "cli.py"), "reproduce", "--profile", "smoke", "--out", str(out),
            "--quiet", "--workers", str(workers), "--set", "n_trials=3", "--set", "train_seconds=3",
            "--set", "test_seconds=2"]
    proc = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=terminal_sigint)
    deadline = time.time() + 120
    while not list(marks.glob("start-*")) and time.time() < deadline:
        time.sleep(0.1)
    if signum == signal.SIGINT:
        os.killpg(proc.pid, signum)  # Ctrl-C reaches the whole process group, workers too
    else:
        proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [f"innmf reproduce: stopped by {signal.Signals(signum).name}; the finished trials are "
                     f"stored in {out}: re-run the same command to resume."], err
    if workers > 1:
        return  # resuming is the same with workers (tests/test_experiments_runner.py); spare the start-up
    # the same command resumes to completion
    done = subprocess.run(argv, env={**env, "SLEEP": "0"}, cwd=tmp_path, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    assert sorted(int(p.stem) for p in (out / "trials").glob("*.json")) == [0, 1, 2]
