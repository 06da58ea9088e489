"""The batched runner (``innmf reproduce --batched``): a run's iN-NMF networks trained as one grouped model.

The per-trial runner trains each speaker's K = 20 networks alone, so on a GPU every
epoch is a few dozen launches of tiny kernels (launch-bound, under 1 % of peak). Here
all speakers of a batch of trials (every trial x both slots) are trained in one loop
(:func:`innmf.models.grouped_fit.fit_grouped`: S·K networks, each speaker's V and H its
own, the loss the sum of the per-speaker mean KLs), and H is refit at every window size
N batched over the speakers too (:func:`~innmf.models.grouped_fit.refit_grouped`; the
``"fused"`` and ``"mu"`` refit solvers run per speaker, as in a trial). Each speaker's
networks are drawn exactly as in a trial (:func:`~innmf.experiments.trial.inr_seed`,
:func:`~innmf.experiments.trial.implicit_dictionary`), so the starting weights are the
same bits; Rprop acts per entry on its own gradient, so every speaker follows its
per-trial trajectory, up to the float rounding of the batched products (on one CPU
thread the networks' weights come out bit-identical; the refits differ by an ulp).

The rest of each trial (NMF, the transfers, separation, scores) then runs per trial
(:func:`~innmf.experiments.trial.trial_outputs` with the trained models), and
:func:`innmf.experiments.runner.run_experiments` stores its rows as the per-trial
runner does, so a store can be resumed by either runner. NMF's numbers are the
per-trial runner's bit for bit. No CUDA graphs: launches are already amortised over
all speakers, and a captured step could not be tested without a GPU.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator, Sequence

from tqdm.auto import tqdm

from innmf.experiments.trial import (
    TrainedINR, TrialTask, cached_corpus, implicit_dictionary, inr_coordinates, inr_seed, run_methods,
    run_trial_task, trial_outputs, window_sizes,
)


def check_batched(
    settings: Any, workers: int = 1, scheduler: Any = None, trial_fn: Callable | None = None,
    batch_trials: int | None = None,
) -> None:
    """Refuse what the batched runner cannot honour, before anything is computed or written.

    Raises:
        ValueError: a Dask scheduler or local workers (the networks of all trials train
            in this process, as one model), a replaced ``trial_fn``, the reference
            backend or a trained encoding (no grouped networks), or ``batch_trials`` < 1.
    """
    if scheduler is not None or workers != 1:
        raise ValueError("The batched runner trains every trial's networks in this process as one grouped model: "
                         "it cannot send trials to a Dask scheduler or to --workers processes; drop --batched, "
                         "or --scheduler/--workers.")
    if trial_fn is not None and trial_fn is not run_trial_task:
        raise ValueError("trial_fn replaces the per-trial function, which the batched runner does not call; "
                         "give one or the other.")
    if settings["backend"] == "reference":
        raise ValueError("backend='reference' runs each network alone (the plain math of innmf.paper); the batched "
                         "runner needs the grouped networks: use backend='auto' or 'fast', or drop --batched.")
    if settings.get("inr_encoding", "paper") == "siren":
        raise ValueError("inr_encoding='siren' trains the encoding with the networks; the batched runner groups "
                         "frozen encodings only: drop --batched.")
    if batch_trials is not None and (isinstance(batch_trials, bool) or not isinstance(batch_trials, int)
                                     or batch_trials < 1):
        raise ValueError(f"batch_trials must be a positive integer or None (all trials at once), got {batch_trials!r}.")


def train_speakers(settings: Any, audios: Sequence[Any], indices: Sequence[int], refit: Sequence[bool],
                   progress: bool = False) -> list[list[TrainedINR]]:
    """Both speakers' iN-NMF of every trial, trained as one grouped model; H refit at each N where asked.

    Args:
        settings: the run's settings.
        audios: each trial's ``TrialAudio`` (``innmf.data.trial_audio``).
        indices: each trial's index (enters the seeds).
        refit: per trial, whether the reconstruction experiment needs H refit at every N.
        progress: a progress bar over the training epochs.

    Returns:
        Per trial, ``[speaker a, speaker b]`` as :class:`~innmf.experiments.trial.TrainedINR`.
    """
    from innmf.models.grouped_fit import fit_grouped, refit_grouped
    from innmf.tf.stft import magnitude

    seed, p, n_train = int(settings["seed"]), settings["power"], int(settings["train_n_fft"])
    opt = {"optimizer": settings["optimizer"], "lr": float(settings["lr"])}
    xs = [x for audio in audios for x in audio.train]  # trial-major, slot-minor
    models = [implicit_dictionary(settings, inr_seed(settings, seed, index, slot))
              for index in indices for slot in (0, 1)]
    epochs = int(settings["inr_epochs"])
    fit_grouped(models, [magnitude(x, n_train, power=p) for x in xs], inr_coordinates(settings, n_train),
                epochs=epochs, loss_every=epochs, progress=progress, **opt)
    H: list[dict[int, Any]] = [{} for _ in models]
    # the Rprop/Adam refit is batched; "fused" and "mu" stay per speaker in learn_speaker
    chosen = [s for s in range(len(models)) if refit[s // 2]]
    if chosen and settings.get("refit_solver", "optimizer") == "optimizer":
        for n in window_sizes(settings):
            fitted = refit_grouped([models[s] for s in chosen], [magnitude(xs[s], n, power=p) for s in chosen],
                                   inr_coordinates(settings, n), epochs=int(settings["refit_epochs"]), **opt)
            for s, H_s in zip(chosen, fitted):
                H[s][n] = H_s
    trained = [TrainedINR(m, h) for m, h in zip(models, H)]
    return [trained[2 * i:2 * i + 2] for i in range(len(indices))]


def run_batched(tasks: Sequence[TrialTask], settings: Any, progress: bool = True,
                batch_trials: int | None = None) -> Iterator[tuple[TrialTask, tuple[Any, ...]]]:
    """Yield ``(task, result)`` for every task as :func:`~innmf.experiments.trial.run_trial_task` would.

    Args:
        tasks: the trials to compute (their experiments and listening sizes).
        settings: the run's settings.
        progress: progress bars (training epochs, then trials).
        batch_trials: trials whose networks train together (None: all of them; fewer
            bound the memory, about 3 x F x 2·batch_trials·K x h x (layers + 1) floats).

    Returns:
        An iterator of ``(task, (rows, seconds[, signals]))``, in the order of ``tasks``;
        a trial's seconds include its share of its batch's training.
    """
    from innmf.data import Trial, trial_audio
    from innmf.experiments.parallel import limited_threads

    size = len(tasks) if batch_trials is None else int(batch_trials)
    for start in range(0, len(tasks), max(size, 1)):
        batch = list(tasks[start:start + size])
        with limited_threads(int(settings["threads"])):  # as the per-trial runner: the same thread count, the same sums
            began = time.perf_counter()
            corpus = cached_corpus(settings["corpus"])
            audios = [trial_audio(corpus, Trial.from_dict(t.trial)) for t in batch]
            trained: list[Any] = [None] * len(batch)
            if "iN-NMF" in run_methods(settings):
                trained = train_speakers(settings, audios, [int(t.trial["index"]) for t in batch],
                                         ["reconstruction" in t.experiments for t in batch], progress)
            share = (time.perf_counter() - began) / len(batch)
            for task, models in zip(tqdm(batch, desc="trials", disable=not progress), trained):
                began = time.perf_counter()
                rows, signals = trial_outputs(settings, task.trial, task.experiments, corpus, task.listen, models)
                seconds = share + time.perf_counter() - began
                yield task, ((rows, seconds, signals) if task.listen else (rows, seconds))
