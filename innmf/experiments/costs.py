"""What not retraining costs: each method's time and parameters at a new window size N.

iN-NMF's case for its networks is that a dictionary learned once at N0 serves every
other N without retraining. Not retraining is not free, though: at a new N the paper
samples W from the networks and refits H by 1000 Rprop epochs, where NMF simply
learns W and H again. This module measures, in one run, for a grid of window sizes
N and ranks K, at one thread with the contenders interleaved (each round runs every
one of them once, in a shuffled order; medians over the rounds):

* training: NMF (``nmf_iter`` KL multiplicative updates of W and H) at every N, and
  iN-NMF's networks at N0 (``inr_epochs`` Rprop epochs);
* at every N: the query latency of sampling iN-NMF's W there, and of interpolating
  NMF's N0 dictionary there (NMF-interp); H refit with W fixed, by the paper's
  ``refit_epochs`` Rprop epochs and by the fast MU refit
  (:func:`innmf.models.refit.fit_H_mu`, :data:`~innmf.models.refit.MU_REFIT_ITER`
  iterations, from the same start);
* each method's parameter counts (:func:`parameter_counts`).

To fit a time budget a plan may time fewer iterations than the recipe runs (e.g. 100
of iN-NMF's 1000 epochs): such a time is the per-iteration median times the
recipe's count, and the table says so (``timed_iterations`` < ``iterations``). Every
iteration of these loops does the same work, so the time scales with the count; the
call's fixed costs (casting V, allocating buffers) are scaled with it, a small
overestimate.

:func:`compare_refits` measures what the fast refit does to the scores: on stored
trials of a run, the reconstruction KL after each refit and the separation scores
with the mixture's activations fitted by Rprop (the paper's) or by MU, paired per
trial (``innmf.report.stats.paired_summary`` reads its rows).

``python -m innmf.tools.bench.costs`` writes both records (``results/bench/``);
chapter "Reproducing at scale" ("What not retraining costs") reads them through
:mod:`innmf.report.costs` and never measures.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from innmf.experiments.settings import Settings, get_profile

TRAIN, SAMPLE, INTERP, REFIT_RPROP, REFIT_MU = "train", "sample W", "interpolate W", "refit H (Rprop)", "refit H (MU)"
"""The steps timed (``step`` of the table): ``train`` is W and H learned at that N (NMF at every N,
iN-NMF's networks at N0 only)."""
DICTIONARY, ACTIVATIONS, ENCODING = "dictionary", "activations", "frozen encoding"
"""The parameter rows' ``step``: the trained numbers of W's representation, of H, and the
networks' encoding constants (drawn once, never trained: K x J phases and K x J frequencies)."""
RPROP_LABEL, MU_LABEL = "Rprop (paper)", "MU"
"""Method names in :func:`compare_refits`' rows: iN-NMF with the paper's Rprop fits of H, and with MU."""

COLUMNS = ["method", "step", "n_fft", "rank", "unit", "value", "low", "high", "iterations", "timed_iterations", "rounds"]
"""The tidy table's columns: ``unit`` is ``"s"`` (``value`` the median seconds at the recipe's
``iterations``, ``low``/``high`` the fastest and slowest round, scaled alike) or
``"parameters"`` (``value`` a count)."""


@dataclass(frozen=True)
class CostPlan:
    """What one profile of :func:`measure_costs` measures.

    Attributes:
        n_ffts: window sizes N (the training N0 is the profile's ``train_n_fft``).
        ranks: ranks K.
        rounds: interleaved rounds (each contender once per round); medians over them.
        nmf_iter, inr_epochs, refit_epochs: iterations timed per call, at most the
            profile's own counts (more are never run).
    """

    n_ffts: tuple[int, ...]
    ranks: tuple[int, ...]
    rounds: int
    nmf_iter: int
    inr_epochs: int
    refit_epochs: int


PLANS: dict[str, CostPlan] = {
    # seconds, for the tests
    "smoke": CostPlan(n_ffts=(512, 2000), ranks=(20,), rounds=1, nmf_iter=5, inr_epochs=2, refit_epochs=5),
    # the book's scale: under a minute on one core
    "quick": CostPlan(n_ffts=(1000, 2000, 4096), ranks=(20,), rounds=3, nmf_iter=100, inr_epochs=10, refit_epochs=100),
    # the paper's window sizes and rank, half and twice the rank: minutes on one core (results/bench/README.md)
    "paper": CostPlan(n_ffts=(512, 1000, 1500, 2000, 2500, 4096), ranks=(10, 20, 40), rounds=5, nmf_iter=600,
                      inr_epochs=100, refit_epochs=1000),
}
"""The plan of each profile (the profile's settings give the recipe: its ``nmf_iter``,
``inr_epochs``, ``refit_epochs``, ``train_n_fft``, network design and audio length)."""


def network_parameters(rank: int, hidden: int, n_freqs: int, n_layers: int = 4) -> int:
    """Trained numbers of iN-NMF's K networks, by hand (:mod:`innmf.paper.inr`'s design).

    Each network: Linear(2J, h), then ``n_layers - 1`` Linear(h, h), then Linear(h, 1),
    every layer with its bias: K (2J h + h + (L - 1)(h^2 + h) + h + 1). The encoding's
    frequencies and phases are frozen, not counted here.
    """
    K, h, J, L = int(rank), int(hidden), int(n_freqs), int(n_layers)
    return K * (2 * J * h + h + (L - 1) * (h * h + h) + h + 1)


def parameter_counts(settings: Settings, n_ffts: Sequence[int], ranks: Sequence[int], frames: dict[int, int]) -> pd.DataFrame:
    """Each method's parameters at each N and K, as rows of the tidy table (``unit`` "parameters").

    NMF learns a dictionary of F(N) x K numbers at every N (F(N) = N/2 + 1 bins);
    NMF-interp keeps the one of N0; iN-NMF keeps its networks, the same at every N.
    Each learns or refits K x T(N) activations (``frames``: T at each N).
    """
    n0 = int(settings.train_n_fft)
    rows = []
    for K in ranks:
        nets = network_parameters(K, settings.hidden, settings.n_freqs)
        for n in n_ffts:
            act = K * int(frames[n])
            for method, dictionary in (("NMF", (n // 2 + 1) * K), ("NMF-interp", (n0 // 2 + 1) * K), ("iN-NMF", nets)):
                rows.append(_count(method, DICTIONARY, n, K, dictionary))
                rows.append(_count(method, ACTIVATIONS, n, K, act))
            rows.append(_count("iN-NMF", ENCODING, n, K, 2 * K * int(settings.n_freqs)))
    return pd.DataFrame(rows, columns=COLUMNS)


def _count(method: str, step: str, n: int, K: int, value: int) -> dict[str, Any]:
    return {"method": method, "step": step, "n_fft": int(n), "rank": int(K), "unit": "parameters", "value": float(value),
            "low": float(value), "high": float(value), "iterations": np.nan, "timed_iterations": np.nan, "rounds": np.nan}


def _interleaved(tasks: dict[tuple, Callable[[], Any]], rounds: int, seed: int = 0) -> dict[tuple, list[float]]:
    """Seconds of every task in each of ``rounds`` rounds (all tasks once per round, in a shuffled order).

    One untimed call of each first (compiles the kernels, fills the caches).
    """
    for fn in tasks.values():
        fn()
    keys = list(tasks)
    times: dict[tuple, list[float]] = {k: [] for k in keys}
    rng = np.random.default_rng(seed)
    for _ in range(int(rounds)):
        for i in rng.permutation(len(keys)):
            start = time.perf_counter()
            tasks[keys[i]]()
            times[keys[i]].append(time.perf_counter() - start)
    return times


def cost_settings(profile: str) -> Settings:
    """The profile's settings (the recipe: its counts, N0, network design, audio length)."""
    return get_profile(profile)


def measure_costs(profile: str = "quick", rounds: int | None = None, progress: bool = False) -> pd.DataFrame:
    """Time each method's steps at every N and K of the profile's :data:`PLANS`, in one run at one thread.

    The audio is the first trial's first training excerpt of the profile (its
    ``train_seconds``, the embedded corpus by default).

    Args:
        profile: ``smoke`` (seconds, for the tests), ``quick`` (under a minute),
            ``paper`` (the paper's window sizes, three ranks; minutes).
        rounds: override the plan's rounds.
        progress: print one line per phase.

    Returns:
        The tidy table (:data:`COLUMNS`): one row per (method, step, N, K) with the
        median seconds at the recipe's count, then the parameter counts.
    """
    import torch

    from innmf.data import trial_audio
    from innmf.experiments.baselines import interpolate_dictionary
    from innmf.experiments.parallel import limited_threads
    from innmf.experiments.runner import draw_trials
    from innmf.experiments.trial import cached_corpus, implicit_dictionary
    from innmf.models.common import as_matrix
    from innmf.models.nmf import nmf
    from innmf.models.refit import MU_REFIT_ITER, fit_H_mu
    from innmf.models.training import fit_H
    from innmf.tf.stft import frequency_coordinate, magnitude

    if profile not in PLANS:
        raise ValueError(f"Unknown profile {profile!r}; choose one of {sorted(PLANS)}.")
    plan, s = PLANS[profile], cost_settings(profile)
    rounds = plan.rounds if rounds is None else int(rounds)
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}.")
    counts = {"nmf": min(plan.nmf_iter, s.nmf_iter), "inr": min(plan.inr_epochs, s.inr_epochs),
              "refit": min(plan.refit_epochs, s.refit_epochs)}
    recipe = {"nmf": s.nmf_iter, "inr": s.inr_epochs, "refit": s.refit_epochs}
    n0, p, opt, lr = int(s.train_n_fft), float(s.power), s.optimizer, float(s.lr)
    trial = draw_trials(s.replace(n_trials=1))[0]
    x = trial_audio(cached_corpus(s.corpus), trial).train[0]
    sizes = sorted(set(plan.n_ffts))
    V = {n: magnitude(x, n, power=p) for n in sorted({*sizes, n0})}
    frames = {n: V[n].shape[1] for n in V}
    tasks: dict[tuple, Callable[[], Any]] = {}
    meta: dict[tuple, tuple[int, int]] = {}  # key -> (recipe's iterations, timed iterations)
    with limited_threads(1):
        for K in plan.ranks:
            if progress:
                print(f"setting up K = {K}", flush=True)
            model = implicit_dictionary({**s, "rank": K}, 1)
            c0 = frequency_coordinate(n0)
            model.fit(V[n0], c0, epochs=1, optimizer=opt, lr=lr)  # fitted, so that W can be sampled
            W0 = nmf(V[n0], K, counts["nmf"], seed=1, loss_every=counts["nmf"]).W
            tasks[("iN-NMF", TRAIN, n0, K)] = _bind(model.fit, V[n0], c0, epochs=counts["inr"], loss_every=counts["inr"],
                                                    optimizer=opt, lr=lr)
            meta[("iN-NMF", TRAIN, n0, K)] = (recipe["inr"], counts["inr"])
            for n in sizes:
                c, Vt = frequency_coordinate(n), as_matrix(V[n], torch.device("cpu"), torch.float32)
                W = model.sample_W_tensor(c)
                steps = {
                    ("NMF", TRAIN): (_bind(nmf, V[n], K, counts["nmf"], seed=1, loss_every=counts["nmf"]), "nmf"),
                    ("iN-NMF", SAMPLE): (_bind(model.sample_W_tensor, c), None),
                    ("NMF-interp", INTERP): (_bind(interpolate_dictionary, W0, n0, n), None),
                    ("iN-NMF", REFIT_RPROP): (_bind(fit_H, Vt, W, counts["refit"], opt, lr, 2, loss_every=counts["refit"]),
                                              "refit"),
                    ("iN-NMF", REFIT_MU): (_bind(fit_H_mu, Vt, W, MU_REFIT_ITER, 2), None),
                }
                for (method, step), (fn, kind) in steps.items():
                    tasks[(method, step, n, K)] = fn
                    meta[(method, step, n, K)] = ((recipe[kind], counts[kind]) if kind else
                                                  (MU_REFIT_ITER if step == REFIT_MU else 1,) * 2)
        if progress:
            print(f"timing {len(tasks)} steps x {rounds} rounds", flush=True)
        times = _interleaved(tasks, rounds)
    rows = []
    for (method, step, n, K), secs in times.items():
        full, timed = meta[(method, step, n, K)]
        scale = full / timed
        rows.append({"method": method, "step": step, "n_fft": int(n), "rank": int(K), "unit": "s",
                     "value": float(np.median(secs)) * scale, "low": min(secs) * scale, "high": max(secs) * scale,
                     "iterations": float(full), "timed_iterations": float(timed), "rounds": float(len(secs))})
    table = pd.DataFrame(rows, columns=COLUMNS).sort_values(["rank", "method", "step", "n_fft"], kind="stable")
    params = parameter_counts(s, sizes, plan.ranks, frames)
    return pd.concat([table, params], ignore_index=True)


def _bind(fn: Callable, *args: Any, **kwargs: Any) -> Callable[[], Any]:
    return lambda: fn(*args, **kwargs)


def compare_refits(settings: dict[str, Any], trial: Any, mu_iter: int | None = None, corpus: Any = None) -> list[dict[str, Any]]:
    """One trial's iN-NMF scores with H fitted by the paper's Rprop and by MU, paired.

    Replays the trial as :func:`innmf.experiments.trial.run_trial` computes iN-NMF
    (the same seeds: the same networks, up to the rounding of the code since the run)
    and, from the same starts, refits H by MU (``mu_iter`` iterations, default
    :data:`~innmf.models.refit.MU_REFIT_ITER`) instead: the reconstruction KL after
    ``refit_epochs`` Rprop epochs or MU; the separation scores with the mixture's
    activations fitted by ``sep_epochs`` Rprop epochs (the paper's) or by MU.

    Returns:
        Tidy rows ``{trial, trial_key, speakers, experiment, method, n_fft, metric, value}``
        with ``method`` :data:`RPROP_LABEL` or :data:`MU_LABEL`; KL the mean of the two
        speakers', the separation metrics the mean over the two sources (as the runner's).
    """
    import innmf
    from innmf.data import Trial, trial_audio
    from innmf.experiments.trial import _SEP_INR, cached_corpus, implicit_dictionary, inr_seed, trial_seed, window_sizes
    from innmf.models.activations import fit_activations
    from innmf.models.refit import MU_REFIT_ITER, fit_H_mu
    from innmf.paper.metrics import kl_divergence, separation_metrics
    from innmf.paper.separation import separate
    from innmf.tf.stft import frequency_coordinate, magnitude

    s = Settings.from_mapping(settings)
    mu_iter = MU_REFIT_ITER if mu_iter is None else int(mu_iter)
    trial = Trial.from_dict(trial) if isinstance(trial, dict) else trial
    corpus = cached_corpus(s.corpus) if corpus is None else corpus
    audio = trial_audio(corpus, trial)
    seed, index, p, n0 = int(s.seed), int(trial.index), float(s.power), int(s.train_n_fft)
    opt = {"optimizer": s.optimizer, "lr": float(s.lr)}
    sizes = window_sizes(s)
    W_at: dict[int, list[np.ndarray]] = {n: [] for n in sizes}
    kl: dict[tuple[str, int], list[float]] = {}
    for slot, x in enumerate(audio.train):
        model = implicit_dictionary(s, inr_seed(s, seed, index, slot))
        model.fit(magnitude(x, n0, power=p), frequency_coordinate(n0), epochs=s.inr_epochs, loss_every=s.inr_epochs, **opt)
        for n in sizes:
            V, c = magnitude(x, n, power=p), frequency_coordinate(n)
            W = np.asarray(model.sample_W(c))
            W_at[n].append(W)
            H_rprop = model.refit_H(V, c, epochs=s.refit_epochs, loss_every=s.refit_epochs, **opt)
            H_mu = model.refit_H(V, c, epochs=mu_iter, optimizer="mu")
            kl.setdefault((RPROP_LABEL, n), []).append(kl_divergence(V, W @ H_rprop))
            kl.setdefault((MU_LABEL, n), []).append(kl_divergence(V, W @ H_mu))
    base = {"trial": index, "trial_key": str(trial.key), "speakers": "+".join(str(v) for v in trial.speakers)}
    rows = [{**base, "experiment": "reconstruction", "method": method, "n_fft": n, "metric": "kl",
             "value": float(np.mean(kl[(method, n)]))} for method in (RPROP_LABEL, MU_LABEL) for n in sizes]
    for n in sizes:
        V_mix, sep_seed = magnitude(audio.mixture, n, power=p), trial_seed(seed, index, _SEP_INR, n)
        fitted = fit_activations(V_mix, W_at[n], epochs=s.sep_epochs, seed=sep_seed, device=s.device,
                                 loss_every=s.sep_epochs, backend=s.backend, **opt)  # the runner's call
        H_mu, _ = fit_H_mu(V_mix, np.hstack(W_at[n]), mu_iter, seed=sep_seed, device=s.device)
        ranks = [W.shape[1] for W in W_at[n]]
        fits = {RPROP_LABEL: fitted.H, MU_LABEL: np.split(H_mu, np.cumsum(ranks)[:-1], axis=0)}
        for method, Hs in fits.items():
            est = separate(audio.mixture, n, [W @ H for W, H in zip(W_at[n], Hs)], power=p)
            scores = separation_metrics(np.vstack(audio.test), np.vstack(est), sr=innmf.SAMPLE_RATE)
            rows += [{**base, "experiment": "separation", "method": method, "n_fft": n, "metric": metric,
                      "value": float(value)} for metric, value in scores.items()]
    return rows


def recorded_trials(store: str | os.PathLike, n_trials: int) -> tuple[Settings, list[dict[str, Any]]]:
    """The settings and the first ``n_trials`` trial records of a results store (e.g. ``results/paper-embedded``)."""
    from innmf.experiments.store_files import read_manifest, trial_files

    settings = Settings.from_mapping(read_manifest(store)["settings"])
    files = trial_files(Path(store) / "trials")[: int(n_trials)]
    return settings, [json.loads(f.read_text())["trial"] for f in files]


def _compare_task(task: tuple[dict[str, Any], dict[str, Any], int | None]) -> list[dict[str, Any]]:
    settings, trial, mu_iter = task
    return compare_refits(settings, trial, mu_iter)


def compare_refits_on_trials(
    settings: dict[str, Any], trials: Sequence[Any], mu_iter: int | None = None, workers: int = 1, progress: bool = False,
) -> pd.DataFrame:
    """:func:`compare_refits` on several trials (``workers`` processes, one thread each); all rows, sorted."""
    from innmf.experiments.parallel import map_unordered

    plain = dict(Settings.from_mapping(settings).to_dict())
    tasks = [(plain, t if isinstance(t, dict) else t.to_dict(), mu_iter) for t in trials]
    rows = [row for _, result in map_unordered(_compare_task, tasks, workers=workers, progress=progress,
                                               desc="refit comparison", threads=int(plain["threads"]))
            for row in result]
    return pd.DataFrame(rows).sort_values(["experiment", "metric", "n_fft", "method", "trial"], kind="stable",
                                          ignore_index=True)
