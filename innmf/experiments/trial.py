"""The work of one trial: learn both speakers' dictionaries once, then score them.

A trial (two speakers a and b, 20 s of training audio each, a 5 s test mixture)
needs, at every window size N of ``n_ffts + extra_n_ffts`` and for each speaker:

* NMF: KL multiplicative-update NMF of V = |STFT_N(train)|^p, retrained at each N;
* iN-NMF: an implicit W_k(f) trained once at ``train_n_fft``, sampled at N's bin
  frequencies, with H refit on V (the paper refits H at every N, the training N too);
* NMF-interp (a baseline the paper lacks): the NMF dictionary of ``train_n_fft``
  interpolated linearly in Hz to N's bins, with H refit exactly as iN-NMF's
  (:mod:`innmf.experiments.baselines`);
* NMF-resample (another): the same dictionary smoothed by N's window kernel on the
  uncompressed spectrum, resampled in Hz and recompressed (anti-aliased), H refit as
  NMF-interp's.

Both experiments use these same dictionaries, so they are learned once per trial:
the reconstruction experiment scores W·H against V on the training audio (KL,
averaged over the two speakers); the separation experiment fits activations of
[W_a, W_b] on the mixture and masks it (book/paper_setup.md §3). Both methods run on
the same trials, a paired comparison (the published code was unpaired).

Used by ``run_experiments`` and the chapters "Reconstruction across window sizes"
and "Separating two speakers".
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

import innmf
from innmf.experiments.settings import GAUSSIAN_SCALE, METHODS

EXPERIMENTS: tuple[str, ...] = ("reconstruction", "separation")
"""Experiments a trial can produce rows for."""

# Labels mixed into the per-trial seeds so that every model gets its own stream.
_NMF, _INR, _SEP_NMF, _SEP_INR = 1, 2, 3, 4


def trial_seed(seed: int, index: int, *labels: int) -> int:
    """A seed derived from (base seed, trial index, labels), independent of run order.

    Args:
        seed: the settings' base seed.
        index: the trial's index.
        *labels: further integers (speaker slot, model kind, window size).

    Returns:
        A non-negative 31-bit integer, the same wherever and whenever it is computed.
    """
    state = np.random.SeedSequence([int(seed), int(index), *[int(v) for v in labels]])
    return int(state.generate_state(1, dtype=np.uint32)[0] >> 1)


def window_sizes(settings: dict[str, Any]) -> list[int]:
    """Window sizes N a trial evaluates: ``n_ffts`` then the probes in ``extra_n_ffts``."""
    sizes = [int(n) for n in settings["n_ffts"]]
    sizes += [int(n) for n in settings.get("extra_n_ffts") or [] if int(n) not in sizes]
    return sizes


def listening_sizes(settings: dict[str, Any]) -> list[int]:
    """The window sizes chapter "Separating two speakers" plays a trial at: the training N and the smallest of ``n_ffts``."""
    return sorted({int(settings["train_n_fft"]), min(int(n) for n in settings["n_ffts"])})


Signals = dict[int, dict[str, list[np.ndarray]]]
"""Separated signals of one trial: ``{n: {method: [estimate of speaker a, estimate of speaker b]}}``."""


def check_experiments(experiments: Sequence[str]) -> tuple[str, ...]:
    """Validate experiment names; ``"all"`` means both.

    Raises:
        ValueError: an unknown experiment name, or none at all.
    """
    names: list[str] = []
    for name in experiments:
        for part in EXPERIMENTS if name == "all" else (name,):
            if part not in EXPERIMENTS:
                raise ValueError(
                    f"Unknown experiment {part!r}; choose from {list(EXPERIMENTS)} or 'all'."
                )
            if part not in names:
                names.append(part)
    if not names:
        raise ValueError(f"No experiment requested; choose from {list(EXPERIMENTS)} or 'all'.")
    return tuple(n for n in EXPERIMENTS if n in names)


@functools.lru_cache(maxsize=4)
def cached_corpus(spec: str) -> Any:
    """The corpus for ``spec``, loaded once per process (each worker loads its own)."""
    from innmf.data import load_corpus

    return load_corpus(spec)


@dataclass(frozen=True)
class SpeakerModels:
    """One speaker's dictionaries and training-audio fit at each window size N."""

    nmf_W: dict[int, np.ndarray] = field(default_factory=dict)
    inr_W: dict[int, np.ndarray] = field(default_factory=dict)
    interp_W: dict[int, np.ndarray] = field(default_factory=dict)
    resample_W: dict[int, np.ndarray] = field(default_factory=dict)
    kl: dict[tuple[str, int], float] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainedINR:
    """One speaker's iN-NMF trained outside :func:`learn_speaker` (the batched runner, :mod:`innmf.experiments.batched`).

    ``model`` is the fitted :class:`~innmf.models.implicit.ImplicitWNMF`, drawn as
    :func:`implicit_dictionary` draws it; ``H`` the activations already refit at some
    window sizes N (the others are refit by :func:`learn_speaker` as usual).
    """

    model: Any
    H: dict[int, np.ndarray] = field(default_factory=dict)


def learn_speaker(
    x: np.ndarray, settings: dict[str, Any], seed: int, slot: int, index: int,
    with_kl: bool = True, trained: TrainedINR | None = None,
) -> SpeakerModels:
    """Learn one speaker's NMF and iN-NMF dictionaries at every window size.

    Args:
        x: the speaker's training audio (16 kHz).
        settings: run settings (``rank``, ``nmf_iter``, ``inr_epochs``, ...).
        seed: the settings' base seed.
        slot: 0 for speaker a, 1 for speaker b (enters the seeds).
        index: the trial's index (enters the seeds).
        with_kl: also refit iN-NMF's H at every N and measure both fits' KL (the
            reconstruction experiment); separation alone needs only the W's.
        trained: the speaker's iN-NMF already fitted (and H refit at some N) elsewhere:
            then used instead of fitting (and refitting at those N) here.

    Returns:
        Dictionaries W at each N for each method of the settings' ``methods`` (all
        of :data:`METHODS` by default), and (``with_kl``) the KL of each fit.
    """
    from innmf.paper.metrics import kl_divergence
    from innmf.models.nmf import nmf
    from innmf.tf.stft import magnitude

    p, K, device = settings["power"], int(settings["rank"]), settings["device"]
    backend = settings.get("backend", "auto")  # "reference": the plain math of innmf.paper
    methods = run_methods(settings)
    n_iter = int(settings["nmf_iter"])
    out = SpeakerModels()
    V_at = {n: magnitude(x, n, power=p) for n in window_sizes(settings)}
    for n, V in V_at.items() if "NMF" in methods else ():
        res = nmf(V, K, n_iter, seed=trial_seed(seed, index, slot, _NMF, n), device=device,
                  loss_every=max(n_iter, 1), backend=backend)
        out.nmf_W[n] = res.W
        if with_kl:
            out.kl[("NMF", n)] = kl_divergence(V, res.W @ res.H)

    n_train = int(settings["train_n_fft"])
    V_train = V_at[n_train] if n_train in V_at else magnitude(x, n_train, power=p)
    model = implicit_dictionary(settings, inr_seed(settings, seed, index, slot)) if trained is None else trained.model
    opt = {"optimizer": settings["optimizer"], "lr": float(settings["lr"])}
    if "iN-NMF" in methods:
        epochs = int(settings["inr_epochs"])  # only the networks are needed: record the first loss only
        if trained is None:
            model.fit(V_train, inr_coordinates(settings, n_train), epochs=epochs, loss_every=epochs, **opt)
        for n, V in V_at.items():
            coords = inr_coordinates(settings, n)
            out.inr_W[n] = W = np.asarray(model.sample_W(coords))
            H = None if trained is None else trained.H.get(n)
            if with_kl and H is None:  # the paper refits H at every N, the training N included
                refit = int(settings["refit_epochs"])  # only H is needed: record the first loss only
                solver = {"optimizer": "mu"} if settings.get("refit_solver") == "mu" else {**opt, **_kernel(settings)}
                H = np.asarray(model.refit_H(V, coords, epochs=refit, loss_every=refit, **solver))
            if with_kl:
                out.kl[("iN-NMF", n)] = kl_divergence(V, W @ H)
    # the transfers' refits start from the paper's draw's H initialisation, whatever inr_seed
    for method in ("NMF-interp", "NMF-resample"):
        if method in methods:
            _learn_transfer(out, method, V_at, V_train, settings, seed, slot, index,
                            trial_seed(seed, index, slot, _INR) + 2, with_kl)
    return out


def run_methods(settings: dict[str, Any]) -> tuple[str, ...]:
    """The methods a trial computes: the settings' ``methods`` (all of :data:`METHODS` by default)."""
    return tuple(settings.get("methods") or METHODS)


def inr_seed(settings: dict[str, Any], seed: int, index: int, slot: int) -> int:
    """The seed of one speaker's implicit networks: the paper's draw, or draw ``inr_seed`` > 0 of the same trial."""
    draw = int(settings.get("inr_seed", 0))
    return trial_seed(seed, index, slot, _INR) if draw == 0 else trial_seed(seed, index, slot, _INR, draw)


def inr_coordinates(settings: dict[str, Any], n_fft: int) -> np.ndarray:
    """The networks' coordinates of the N-point STFT's bins under the settings' ``inr_coordinate``."""
    from innmf.tf.stft import frequency_coordinate

    return frequency_coordinate(n_fft, aligned=settings.get("inr_coordinate", "paper") == "hz")


def implicit_dictionary(settings: dict[str, Any], seed: int) -> Any:
    """An untrained :class:`~innmf.models.implicit.ImplicitWNMF` of the settings' design (K, h, J, init, encoding;
    a ``"siren"`` encoding is trained with the networks)."""
    from innmf.models.implicit import ImplicitWNMF

    encoding = settings.get("inr_encoding", "paper")
    return ImplicitWNMF(
        int(settings["rank"]), hidden=int(settings["hidden"]), n_freqs=int(settings["n_freqs"]),
        init=settings.get("inr_init", "default"), encoding=encoding,
        encoding_scale=float(settings.get("encoding_scale", GAUSSIAN_SCALE)),
        trainable_encoding=encoding == "siren",  # SIREN trains its first sine layer
        seed=seed, device=settings["device"], backend=settings.get("backend", "auto"),
    )


def _learn_transfer(
    out: SpeakerModels, method: str, V_at: dict[int, np.ndarray], V_train: np.ndarray, settings: dict[str, Any],
    seed: int, slot: int, index: int, refit_seed: int, with_kl: bool,
) -> None:
    """NMF-interp or NMF-resample: the training N's NMF dictionary carried to every N, H refit as iN-NMF's.

    Runs after NMF and iN-NMF, NMF-resample after NMF-interp (private generators: the
    numbers of the methods before do not change); the refit starts from iN-NMF's H
    initialisation (``refit_seed``), so the three differ in the dictionary only.
    """
    from innmf.experiments.baselines import interpolate_dictionary, refit_activations, resample_dictionary
    from innmf.models.nmf import nmf
    from innmf.paper.metrics import kl_divergence

    if method == "NMF-interp":
        transfer, store = interpolate_dictionary, out.interp_W
    else:
        def transfer(W: np.ndarray, n_from: int, n_to: int) -> np.ndarray:
            return resample_dictionary(W, n_from, n_to, float(settings["power"]))
        store = out.resample_W
    n_train = int(settings["train_n_fft"])
    W_train = out.nmf_W.get(n_train)
    if W_train is None:  # the training N is not evaluated: learn its NMF as the runner would
        n_iter = int(settings["nmf_iter"])
        W_train = nmf(V_train, int(settings["rank"]), n_iter, seed=trial_seed(seed, index, slot, _NMF, n_train),
                      device=settings["device"], loss_every=max(n_iter, 1)).W
    for n, V in V_at.items():
        store[n] = W = transfer(W_train, n_train, n)
        if with_kl:
            if settings.get("refit_solver", "optimizer") == "mu":
                H = fixed_W_activations(V, [W], int(settings["refit_epochs"]), settings, refit_seed)[0]
            else:
                H = refit_activations(V, W, int(settings["refit_epochs"]), settings["optimizer"],
                                      float(settings["lr"]), refit_seed, settings["device"], **_kernel(settings))
            out.kl[(method, n)] = kl_divergence(V, W @ H)


def _kernel(settings: dict[str, Any]) -> dict[str, str]:
    """The Rprop fits' kernel: the fused one (:mod:`innmf.accel.refit_fused`) with ``refit_solver="fused"``."""
    return {"kernel": "fused"} if settings.get("refit_solver") == "fused" else {}


def fixed_W_activations(
    V: np.ndarray, Ws: Sequence[np.ndarray], n_iter: int, settings: dict[str, Any], seed: int, backend: str = "auto",
) -> list[np.ndarray]:
    """Activations of the fixed dictionaries ``Ws`` on V by KL multiplicative updates (``refit_solver="mu"``).

    The start is the Rprop fit's for the same ``seed``
    (:func:`innmf.models.refit.initial_activations`), so the two solvers differ in the
    solver only; used for iN-NMF, NMF-interp and NMF-resample alike.

    Returns:
        One H per dictionary (K_i x T).
    """
    from innmf.models.refit import fit_H_mu

    H, _ = fit_H_mu(V, np.hstack([np.asarray(W) for W in Ws]), n_iter=n_iter, seed=seed,
                    device=settings["device"], backend=backend)
    return np.split(np.asarray(H), np.cumsum([np.asarray(W).shape[1] for W in Ws])[:-1], axis=0)


def separated_signals(
    mixture: np.ndarray,
    n: int,
    W_nmf: Sequence[np.ndarray] | None,
    W_inr: Sequence[np.ndarray] | None,
    settings: dict[str, Any],
    seed: int,
    index: int,
    W_interp: Sequence[np.ndarray] | None = None,
    W_resample: Sequence[np.ndarray] | None = None,
) -> dict[str, list[np.ndarray]]:
    """Separate the mixture at window size ``n`` with each method's fixed dictionaries.

    NMF fits the activations of the stacked dictionaries by multiplicative updates
    (``nmf_iter``); iN-NMF by Rprop (``sep_epochs``), as the paper; NMF-interp (with
    ``W_interp``) and NMF-resample (with ``W_resample``) exactly as iN-NMF, from the
    same initialisation. Each source's model W_i H_i then drives a soft mask of the
    compressed mixture (``innmf.paper.separation``).
    A method whose dictionaries are None is skipped (a run of some ``methods`` only).

    Returns:
        ``{method: [estimate of speaker a, estimate of speaker b]}``.
    """
    from innmf.models.activations import fit_activations
    from innmf.models.nmf import nmf
    from innmf.paper.separation import separate
    from innmf.tf.stft import magnitude

    p, device = settings["power"], settings["device"]
    backend = settings.get("backend", "auto")  # "reference": the plain math of innmf.paper
    V_mix = magnitude(mixture, n, power=p)
    fits = []
    if W_nmf is not None:
        ranks = [W.shape[1] for W in W_nmf]
        n_iter = int(settings["nmf_iter"])
        # loss_every=n_iter: only the factors are needed, not the loss history
        res = nmf(V_mix, sum(ranks), n_iter, W=np.hstack(W_nmf), fix_W=True,
                  seed=trial_seed(seed, index, _SEP_NMF, n), device=device, loss_every=max(n_iter, 1),
                  backend=backend)
        fits.append(("NMF", W_nmf, np.split(res.H, np.cumsum(ranks)[:-1], axis=0)))
    if W_inr is not None and settings.get("refit_solver", "optimizer") == "mu":
        fits.append(("iN-NMF", W_inr, fixed_W_activations(V_mix, W_inr, int(settings["sep_epochs"]), settings,
                                                           trial_seed(seed, index, _SEP_INR, n), backend)))
    elif W_inr is not None:
        fitted = fit_activations(
            V_mix, list(W_inr), epochs=int(settings["sep_epochs"]), optimizer=settings["optimizer"],
            lr=float(settings["lr"]), seed=trial_seed(seed, index, _SEP_INR, n), device=device,
            loss_every=int(settings["sep_epochs"]), backend=backend, **_kernel(settings),
        )
        fits.append(("iN-NMF", W_inr, fitted.H))
    # after the others (private generators): their draws are unchanged
    for method, W_transfer in (("NMF-interp", W_interp), ("NMF-resample", W_resample)):
        if W_transfer is None:
            continue
        if settings.get("refit_solver", "optimizer") == "mu":
            fits.append((method, W_transfer, fixed_W_activations(V_mix, W_transfer, int(settings["sep_epochs"]),
                                                                 settings, trial_seed(seed, index, _SEP_INR, n))))
            continue
        transferred = fit_activations(
            V_mix, list(W_transfer), epochs=int(settings["sep_epochs"]), optimizer=settings["optimizer"],
            lr=float(settings["lr"]), seed=trial_seed(seed, index, _SEP_INR, n), device=device,
            loss_every=int(settings["sep_epochs"]), **_kernel(settings),
        )
        fits.append((method, W_transfer, transferred.H))
    out = {}
    for method, Ws, Hs in fits:
        models = [np.asarray(W) @ np.asarray(H) for W, H in zip(Ws, Hs)]
        out[method] = separate(mixture, n, models, power=p)
    return out


def separate_at(
    mixture: np.ndarray,
    sources: Sequence[np.ndarray],
    n: int,
    W_nmf: Sequence[np.ndarray] | None,
    W_inr: Sequence[np.ndarray] | None,
    settings: dict[str, Any],
    seed: int,
    index: int,
    W_interp: Sequence[np.ndarray] | None = None,
    W_resample: Sequence[np.ndarray] | None = None,
) -> dict[str, dict[str, float]]:
    """Separate the mixture at window size ``n`` with each method and score it.

    Returns:
        ``{method: {"sdr", "sir", "sar", "stoi"}}`` against the test sources.
    """
    estimates = separated_signals(mixture, n, W_nmf, W_inr, settings, seed, index, W_interp, W_resample)
    return _scores(sources, estimates)


def _scores(sources: Sequence[np.ndarray], estimates: dict[str, list[np.ndarray]]) -> dict[str, dict[str, float]]:
    """Each method's SDR, SIR, SAR and STOI of its estimates against the test sources."""
    from innmf.paper.metrics import separation_metrics

    return {method: separation_metrics(np.vstack(sources), np.vstack(est), sr=innmf.SAMPLE_RATE)
            for method, est in estimates.items()}


def _dictionaries(speakers: Sequence[SpeakerModels], n: int) -> tuple[Any, Any, Any, Any]:
    """Each method's dictionaries of both speakers at N (None for a method the run skips)."""
    def pick(name: str) -> list[np.ndarray] | None:
        found = [getattr(s, name).get(n) for s in speakers]
        return None if any(W is None for W in found) else found
    return pick("nmf_W"), pick("inr_W"), pick("interp_W"), pick("resample_W")


def replay_separation(
    settings: dict[str, Any], trial: Any, sizes: Sequence[int] | None = None, corpus: Any = None
) -> tuple[Any, dict[int, dict[str, list[np.ndarray]]]]:
    """Recompute one stored trial's separations from its record, for listening.

    Chapter "Separating two speakers". Uses the same seeds as :func:`run_trial`, so
    the estimates are the ones that were scored.

    Args:
        settings: the run's settings.
        trial: an ``innmf.data.Trial`` or its ``to_dict()`` (e.g. from a results store).
        sizes: window sizes to separate at (default: all of the trial's).
        corpus: the loaded corpus (default: ``settings["corpus"]``).

    Returns:
        ``(TrialAudio, {n: {method: [estimate a, estimate b]}})``.
    """
    from innmf.data import Trial, trial_audio

    if isinstance(trial, dict):
        trial = Trial.from_dict(trial)
    corpus = cached_corpus(settings["corpus"]) if corpus is None else corpus
    audio = trial_audio(corpus, trial)
    seed, index = int(settings["seed"]), int(trial.index)
    speakers = [learn_speaker(x, settings, seed, slot, index, False)
                for slot, x in enumerate(audio.train)]
    sizes = list(sizes) if sizes is not None else window_sizes(settings)
    separations = {}
    for n in sizes:
        W_nmf, W_inr, W_interp, W_resample = _dictionaries(speakers, n)
        separations[n] = separated_signals(audio.mixture, n, W_nmf, W_inr, settings, seed, index, W_interp,
                                           W_resample)
    return audio, separations


def run_trial(
    settings: dict[str, Any], trial: Any, experiments: Sequence[str], corpus: Any = None
) -> list[dict[str, Any]]:
    """Compute one trial and return its tidy rows for the requested experiments.

    Args:
        settings: run settings (``innmf.experiments.settings.get_profile``).
        trial: an ``innmf.data.Trial`` or its ``to_dict()``.
        experiments: ``reconstruction`` and/or ``separation``.
        corpus: the loaded corpus (default: ``settings["corpus"]``, cached per process).

    Returns:
        Rows ``{trial, trial_key, speakers, experiment, method, n_fft, metric, value}``
        for each method of the settings' ``methods``:
        reconstruction gives metric ``kl`` (mean of the two speakers' KL), separation
        gives ``sdr``, ``sir``, ``sar``, ``stoi`` (each the mean of the two speakers).
    """
    return trial_outputs(settings, trial, experiments, corpus)[0]


def trial_outputs(
    settings: dict[str, Any], trial: Any, experiments: Sequence[str], corpus: Any = None,
    listen: Sequence[int] = (), trained: Sequence[TrainedINR] | None = None,
) -> tuple[list[dict[str, Any]], Signals]:
    """:func:`run_trial`'s rows and, at the window sizes ``listen``, the separated signals it scored.

    Chapter "Separating two speakers" plays a trial's signals; kept here as they are
    scored, they need no replay (:func:`replay_separation` gives the same, bit for bit).

    ``trained``: both speakers' iN-NMF fitted elsewhere (the batched runner), in slot order.

    Returns:
        ``(rows, signals)``: signals (:data:`Signals`) at the sizes of ``listen`` the
        trial separates at (none without the separation experiment).
    """
    from innmf.data import Trial, trial_audio

    experiments = check_experiments(experiments)
    if isinstance(trial, dict):
        trial = Trial.from_dict(trial)
    corpus = cached_corpus(settings["corpus"]) if corpus is None else corpus
    audio = trial_audio(corpus, trial)
    seed, index = int(settings["seed"]), int(trial.index)
    with_kl = "reconstruction" in experiments
    speakers = [learn_speaker(x, settings, seed, slot, index, with_kl, None if trained is None else trained[slot])
                for slot, x in enumerate(audio.train)]

    base = {"trial": index, "trial_key": str(trial.key),
            "speakers": "+".join(str(s) for s in trial.speakers)}
    rows: list[dict[str, Any]] = []
    sizes = window_sizes(settings)
    methods = run_methods(settings)
    if "reconstruction" in experiments:
        for method in methods:
            for n in sizes:
                kl = float(np.mean([s.kl[(method, n)] for s in speakers]))
                rows.append({**base, "experiment": "reconstruction", "method": method,
                             "n_fft": n, "metric": "kl", "value": kl})
    signals: Signals = {}
    kept = {int(n) for n in listen}
    if "separation" in experiments:
        for n in sizes:
            W_nmf, W_inr, W_interp, W_resample = _dictionaries(speakers, n)
            estimates = separated_signals(audio.mixture, n, W_nmf, W_inr, settings, seed, index, W_interp,
                                          W_resample)
            if n in kept:
                signals[n] = estimates
            scores = _scores(audio.test, estimates)
            for method in methods:
                for metric, value in scores[method].items():
                    rows.append({**base, "experiment": "separation", "method": method,
                                 "n_fft": n, "metric": metric, "value": float(value)})
    return rows, signals


TRANSFER_METHODS: tuple[str, ...] = ("NMF-interp", "NMF-resample")
"""The methods that carry NMF's training-size dictionary to every N (:func:`transfer_rows`)."""


def transfer_rows(
    settings: dict[str, Any], trial: Any, methods: Sequence[str] = ("NMF-resample",), corpus: Any = None
) -> list[dict[str, Any]]:
    """One trial's rows of the transfer baselines alone, from NMF learned at the training size only.

    What :func:`run_trial` gives for these methods, bit for bit (the same seeds and code),
    without NMF at the other window sizes and without the networks: it adds a baseline to
    a recorded run (``results/paper-embedded/add_nmf_resample.py``; chapters
    "Reconstruction across window sizes" and "Separating two speakers").

    Args:
        settings: the run's settings (both experiments are computed).
        trial: an ``innmf.data.Trial`` or its ``to_dict()``.
        methods: some of :data:`TRANSFER_METHODS`.
        corpus: the loaded corpus (default: ``settings["corpus"]``, cached per process).

    Returns:
        Rows as :func:`run_trial`'s for ``methods``, plus (when ``train_n_fft`` is one of the
        window sizes) NMF's reconstruction row at ``train_n_fft``: the dictionary every
        transfer starts from, for checking against a stored run.

    Raises:
        ValueError: a method that is not a transfer baseline.
    """
    from innmf.data import Trial, trial_audio
    from innmf.models.nmf import nmf
    from innmf.paper.metrics import kl_divergence
    from innmf.tf.stft import magnitude

    if isinstance(methods, str) or not methods or set(methods) - set(TRANSFER_METHODS):
        raise ValueError(f"methods must be some of {list(TRANSFER_METHODS)}, got {methods!r}.")
    methods = tuple(m for m in TRANSFER_METHODS if m in set(methods))
    if isinstance(trial, dict):
        trial = Trial.from_dict(trial)
    corpus = cached_corpus(settings["corpus"]) if corpus is None else corpus
    audio = trial_audio(corpus, trial)
    seed, index = int(settings["seed"]), int(trial.index)
    p, n_train, n_iter = settings["power"], int(settings["train_n_fft"]), int(settings["nmf_iter"])
    sizes = window_sizes(settings)
    speakers = []
    for slot, x in enumerate(audio.train):
        out = SpeakerModels()
        V_at = {n: magnitude(x, n, power=p) for n in sizes}
        V_train = V_at[n_train] if n_train in V_at else magnitude(x, n_train, power=p)
        if n_train in V_at:  # as learn_speaker; otherwise the transfer learns it as learn_speaker does
            res = nmf(V_train, int(settings["rank"]), n_iter, seed=trial_seed(seed, index, slot, _NMF, n_train),
                      device=settings["device"], loss_every=max(n_iter, 1), backend=settings.get("backend", "auto"))
            out.nmf_W[n_train] = res.W
            out.kl[("NMF", n_train)] = kl_divergence(V_train, res.W @ res.H)
        for method in methods:
            _learn_transfer(out, method, V_at, V_train, settings, seed, slot, index,
                            trial_seed(seed, index, slot, _INR) + 2, True)
        speakers.append(out)

    base = {"trial": index, "trial_key": str(trial.key), "speakers": "+".join(str(s) for s in trial.speakers)}
    keys = [("NMF", n_train)] if n_train in sizes else []
    keys += [(method, n) for method in methods for n in sizes]
    rows = [{**base, "experiment": "reconstruction", "method": method, "n_fft": n, "metric": "kl",
             "value": float(np.mean([s.kl[(method, n)] for s in speakers]))} for method, n in keys]
    for n in sizes:
        _, _, W_interp, W_resample = _dictionaries(speakers, n)
        scores = separate_at(audio.mixture, audio.test, n, None, None, settings, seed, index, W_interp, W_resample)
        for method in methods:
            for metric, value in scores[method].items():
                rows.append({**base, "experiment": "separation", "method": method,
                             "n_fft": n, "metric": metric, "value": float(value)})
    return rows


@dataclass(frozen=True)
class TrialTask:
    """A picklable unit of work for a worker: settings, trial record, experiments, sizes to keep signals at."""

    settings: dict[str, Any]
    trial: dict[str, Any]
    experiments: tuple[str, ...]
    listen: tuple[int, ...] = ()


def run_trial_task(task: TrialTask) -> tuple[Any, ...]:
    """Run a :class:`TrialTask` (in any process); return its rows, the seconds it took and, with ``listen``, its signals."""
    start = time.perf_counter()
    if not task.listen:
        rows = run_trial(task.settings, task.trial, task.experiments)
        return rows, time.perf_counter() - start
    rows, signals = trial_outputs(task.settings, task.trial, task.experiments, listen=task.listen)
    return rows, time.perf_counter() - start, signals
