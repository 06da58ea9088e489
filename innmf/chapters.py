"""What the chapters call: their results, computed once and shared between chapters.

The notebooks import this module and :mod:`innmf.report` (plus the layers' public
functions they demonstrate); the bookkeeping of where results live stays here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from innmf.data.paths import build_dir, repository_root


def shown_path(path: str | Path) -> str:
    """A path as a reader may see it: relative to the checkout, never an absolute build path."""
    path = Path(path)
    root = repository_root()
    for base in ((root,) if root else ()) + (Path.cwd(),):
        try:
            return Path(path).resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return path.name if path.is_absolute() else path.as_posix()


def results_dir_for(settings: dict[str, Any]) -> Path:
    """Where the book keeps a profile's experiment results (a resumable results store).

    The reconstruction and separation chapters share one store, so the trials' models
    are learnt once for both; its name changes whenever a setting that changes the
    numbers changes (``n_trials`` excepted: more trials extend the same store).
    """
    from innmf.experiments.store import result_settings
    from innmf.experiments.settings import settings_hash

    key = settings_hash(result_settings(settings))
    return build_dir() / "results" / f"{settings.get('profile', 'custom')}-{key}"


LISTEN_TRIAL = 0
"""The trial chapter "Separating two speakers" plays unless told otherwise (its ``listen_trial``)."""


def chapter_results(
    settings: dict[str, Any],
    results_dir: str | Path | None = None,
    results_from: str | Path | None = None,
    workers: int = 1,
    listen_trial: int | None = LISTEN_TRIAL,
) -> tuple[Any, str]:
    """The speech chapters' per-trial rows: read from a store, or computed/resumed in one.

    Chapters "Reconstruction across window sizes" and "Separating two speakers" call
    this with their parameters, so both run (or resume) both experiments in one shared
    store and each can run alone.

    Args:
        settings: the chapter's settings (``get_profile(profile, **overrides)``).
        results_dir: store to write and resume (default: :func:`results_dir`).
        results_from: an existing store to read instead of computing anything.
        workers: local processes running trials at once.
        listen_trial: the trial whose separated signals the store keeps, as it is
            computed, for :func:`trial_signals` (None: none).

    Returns:
        ``(rows, where)``: the tidy per-trial table and a sentence saying where it came from.
    """
    from innmf.experiments import load_results, run_experiments

    if results_from is not None:
        return load_results(results_from), f"read from the results store `{shown_path(results_from)}`"
    store = results_dir or results_dir_for(settings)
    rows = run_experiments(settings, ("reconstruction", "separation"), out=store, workers=workers,
                           progress=False, keep_signals=() if listen_trial is None else (int(listen_trial),))
    if results_dir is None:  # the default store's name is a settings hash, which tells a reader nothing
        return rows, "computed (or resumed) in this build's results store for these settings (under `_build/results`)"
    return rows, f"computed (or resumed) in the results store `{shown_path(store)}`"


def trial_signals(
    settings: dict[str, Any],
    index: int,
    results_dir: str | Path | None = None,
    results_from: str | Path | None = None,
) -> tuple[Any, Any, dict[int, dict[str, list[Any]]]]:
    """Trial ``index``, its audio and its separated signals at the sizes the chapter plays.

    Chapter "Separating two speakers", section "Listen to one trial". The signals are
    those the trial scored, kept in the book's store when the trial was computed
    (:func:`chapter_results`); a store without them (another ``listen_trial``, a store
    made before they were kept) has the trial replayed from its record, which gives the
    same signals bit for bit, and keeps them there for the next build. A store read with
    ``results_from`` is only read: the trial is replayed.

    Args:
        settings: the chapter's settings.
        index: the trial's index.
        results_dir: the store :func:`chapter_results` wrote (default: the book's store).
        results_from: the store the chapter reads instead of computing.

    Returns:
        ``(trial, audio, signals)``: the ``innmf.data.Trial``, its ``TrialAudio`` and
        ``{n: {method: [estimate a, estimate b]}}`` at
        :func:`~innmf.experiments.trial.listening_sizes`.
    """
    from innmf.data import trial_audio
    from innmf.experiments import ResultsStore, draw_trials
    from innmf.experiments.store_signals import load_signals
    from innmf.experiments.trial import cached_corpus, listening_sizes, replay_separation

    trial = draw_trials({**settings, "n_trials": index + 1})[index]  # trial i depends only on (seed, i)
    sizes = listening_sizes(settings)
    store = None if results_from is not None else Path(results_dir or results_dir_for(settings))
    kept = load_signals(store, index) if store is not None else None
    if kept is not None and set(sizes) <= set(kept):
        return trial, trial_audio(cached_corpus(settings["corpus"]), trial), {n: kept[n] for n in sizes}
    audio, signals = replay_separation(settings, trial, sizes=sizes)
    if store is not None and (store / "manifest.json").exists():
        with ResultsStore(store, settings, corpus_spec=cached_corpus(settings["corpus"]).spec) as writer:
            if writer.load_trial(index) is not None:  # kept beside the trial's rows only
                writer.write_signals(trial.to_dict(), signals)
    return trial, audio, signals


def fit_hybrid(*args: Any, **kwargs: Any) -> Any:
    """:func:`innmf.experiments.hybrid.fit_hybrid`, computed once per build and code (:mod:`innmf.memo`).

    Chapter "Irregular and hybrid representations": the same arguments, the same fit, bit
    for bit; a re-execution of the chapter (its text changed, not the code) reads it.
    """
    from innmf.experiments.hybrid import fit_hybrid as fit
    from innmf.memo import memoised

    return memoised(fit, *args, **kwargs)


def inr_ablation(*args: Any, **kwargs: Any) -> Any:
    """:func:`innmf.experiments.ablation.inr_ablation`, computed once per build and code (:mod:`innmf.memo`).

    Chapter "Implicit neural factors": the same arguments, the same table, bit for bit
    (its ``seconds`` are those of the fits when they ran); a re-execution of the chapter
    (its text changed, not the code) reads it.
    """
    from innmf.experiments.ablation import inr_ablation as ablation
    from innmf.memo import memoised

    return memoised(ablation, *args, **kwargs)


RECORDED_RUN = "results/paper-embedded"
"""The recorded paper-profile run, relative to the checkout (chapter "Reproducing at scale")."""

RECORDED_STUDY = "results/inr-study"
"""The recorded study "iN-NMF at its best" (``innmf study``), paired with :data:`RECORDED_RUN`."""


def recorded_study() -> Any | None:
    """The recorded study's rows paired with the recorded run's NMF and NMF-interp, or None without them.

    Chapter "Separating two speakers", section "iN-NMF at its best".
    """
    from innmf.experiments.inr_study import load_study

    root = repository_root() or Path.cwd()
    study, reference = root / RECORDED_STUDY, root / RECORDED_RUN
    if not (reference / "manifest.json").exists() or not any(study.glob("*/manifest.json")):
        return None
    return load_study(reference, study)


RECORDED_DESIGN = "results/inr-design"
"""The recorded INR design study (``innmf study --design``), paired with :data:`RECORDED_RUN`."""


def recorded_design() -> Any | None:
    """The recorded design study's rows (:func:`innmf.experiments.inr_design.load_design`), or None without it.

    Chapter "Reconstruction across window sizes", section on the network's design.
    """
    from innmf.experiments.inr_design import RERUN, load_design

    root = repository_root() or Path.cwd()
    study, reference = root / RECORDED_DESIGN, root / RECORDED_RUN
    if not (reference / "manifest.json").exists() or not (study / RERUN / "manifest.json").exists():
        return None
    return load_design(reference, study)


def recorded_study_costs() -> Any:
    """What each setting of the recorded study changed and its median seconds per trial (chapter "Separating two speakers")."""
    from innmf.experiments.inr_study import study_settings_table

    root = repository_root() or Path.cwd()
    return study_settings_table(root / RECORDED_RUN, root / RECORDED_STUDY)


def recorded_results() -> Any | None:
    """The recorded paper-profile run's per-trial rows, or None when this checkout has none.

    Chapters "What holds up", "Reconstruction across window sizes" and "Separating two
    speakers" set its verdicts beside the quick build's.
    """
    from innmf.experiments import load_results

    root = repository_root() or Path.cwd()
    store = root / RECORDED_RUN
    if not (store / "manifest.json").exists():
        return None
    return load_results(store)


def check(answer: Any, expected: Any, what: str, rtol: float = 0.02) -> str:
    """Check a student's answer to an exercise: a number (within ``rtol``) or a shape.

    The exercises' check functions below compute ``expected`` from the chapter's own
    data and call this, so a student can test an answer before opening the solution.

    Returns:
        A sentence saying "correct" or what was expected.

    Raises:
        ValueError: the answer is not a number or a shape.
    """
    import numpy as np

    if isinstance(expected, tuple):
        ok = tuple(np.shape(answer)) == expected if not isinstance(answer, tuple) else answer == expected
        got = answer if isinstance(answer, tuple) else tuple(np.shape(answer))
        return f"{what}: correct, {expected}." if ok else f"{what}: not quite: you have {got}, expected {expected}."
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: the answer should be a number, got {answer!r}.") from None
    if bool(np.isclose(value, float(expected), rtol=rtol, atol=0.0)):
        return f"{what}: correct ({value:.6g})."
    return f"{what}: not quite: {value:.6g}, expected about {float(expected):.6g} (within {rtol:.0%})."


def check_bins(n_fft: int, answer: Any) -> str:
    """Exercise of chapter "NMF recap": the number of rows of W (STFT bins) for window size N."""
    return check(answer, n_fft // 2 + 1, f"bins of an N = {n_fft} STFT", rtol=0.0)


def check_network_parameters(hidden: int, n_freqs: int, answer: Any) -> str:
    """Exercise of chapter "Implicit neural factors": trainable parameters of one component's network."""
    d_in = 2 * n_freqs
    expected = d_in * hidden + hidden + 3 * (hidden * hidden + hidden) + hidden + 1
    return check(answer, expected, f"parameters of one network (J = {n_freqs}, h = {hidden})", rtol=0.0)


def check_coordinate_shift(n_small: int, n_large: int, sample_rate: int, answer: Any) -> str:
    """Exercise of chapter "Implicit neural factors": the largest Hz shift of the paper's coordinate.

    Bin k of an N-point DFT is at k sr / N Hz but at coordinate k/(N/2+1) − 0.5; a
    coordinate x therefore means (x + 0.5)(N/2+1) sr / N Hz, which depends on N. The
    answer is the largest difference, over x in [−0.5, 0.5), between the two sizes.
    """
    def hz(n: int) -> float:
        return (n // 2 + 1) * sample_rate / n  # Hz per unit of x + 0.5

    expected = abs(hz(n_small) - hz(n_large))
    return check(answer, expected, f"largest shift between N = {n_small} and N = {n_large} (Hz)")


def recorded_cost(root: str | Path | None = None) -> Any:
    """The method's cost for the findings page: :func:`innmf.report.summary.store_cost` of the recorded
    run (``results/paper-embedded``) and the recorded study's second draw of the paper's networks
    (``results/inr-study/draw-2``), with the one-thread CPU speed record of ``results/bench``; None when
    the checkout lacks either store."""
    import json

    from innmf.experiments.inr_study import slug
    from innmf.report.summary import store_cost

    root = Path(root) if root is not None else (repository_root() or Path.cwd())
    run, alone = root / RECORDED_RUN, root / RECORDED_STUDY / slug("draw 2")
    if not ((run / "trials").is_dir() and (alone / "trials").is_dir()):
        return None
    bench = None
    for path in sorted((root / "results" / "bench").glob("cpu-*.json")):
        record = json.loads(path.read_text())
        if record.get("threads") == 1 and "innmf_epoch_ms" in record:
            bench = record
            break
    return store_cost(run, alone, bench)
