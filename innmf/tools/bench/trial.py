"""``innmf bench --trial``: one trial of the paper's protocol, ours against the published structure.

The published code runs the protocol as four scripts (NMF and iN-NMF, reconstruction
and separation), each drawing its own speakers, so one trial of both experiments at
the four window sizes N in {1000, 1500, 2000, 2500} costs (book/paper_setup.md, and the
published scripts):

* 3 x 1000 iN-NMF training epochs (one network in the reconstruction script, two
  in the separation script), each with the per-component structure of
  :mod:`innmf.tools.bench.published_structure`;
* 4 x 1000 epochs refitting H alone (reconstruction) and 4 x 100 epochs fitting the
  mixture's activations (separation), autograd and ``torch.optim.Rprop``;
* 12 NMF fits of 3000 KL multiplicative updates on a speaker's 20 s spectrogram
  (4 reconstruction, 8 dictionaries for separation) and 4 fits of the mixture's
  activations (3000 updates of H alone, stacked dictionaries of rank 40);
* 8 separation scorings (mir_eval + STOI), the same calls as ours.

Running that trial takes over ten minutes here, so this command measures each unit
of it in the same run (median of repeated timings at N = 2000: a spectrogram with hop
N/2 has about the same number of entries at every N) and multiplies by the counts.
scikit-learn's float64 MU stands in for the published numpy MU. Our side is measured
whole: one trial of :func:`innmf.experiments.trial.run_trial` with the ``paper``
settings at the same four window sizes.

The two sides do not do the same work: ours learns each speaker's dictionaries once
for both experiments (2 networks and 8 NMFs, not 3 and 12), refits H for both
speakers and adds the NMF-interp baseline. So three numbers are reported apart:

* ``trial_speedup_like_for_like``: the published structure's unit costs times *our*
  trial's counts (:func:`our_counts`), against our trial: the same work on both sides;
* ``sharing_saving``: how much less the published structure would spend with its
  dictionaries shared between the experiments as ours are (its own counts, against
  them with 2 networks and 8 NMFs);
* ``trial_speedup``: the published scripts' own counts against our trial (both effects).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
import torch.nn.functional as nnf

import innmf
from innmf.tools.bench.timing import interleaved_medians
from innmf.tools.bench.published_structure import ReferenceImplicitW, reference_epoch, reference_kl

COUNTS = {
    "inr_epochs": 3 * 1000,
    "refit_epochs": 4 * 1000,
    "sep_epochs": 4 * 100,
    "nmf_iterations": 12 * 3000,
    "nmf_mixture_iterations": 4 * 3000,
    "scorings": 8,
}


def _activation_step(V: torch.Tensor, W: torch.Tensor, seed: int = 0):
    """The published refit/separation step: H = softplus(param) by Rprop, W fixed."""
    gen = torch.Generator().manual_seed(seed)
    H = torch.nn.Parameter(torch.rand(W.shape[1], V.shape[1], generator=gen))
    opt = torch.optim.Rprop([H], lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = reference_kl(V, W @ nnf.softplus(H))
        loss.backward()
        opt.step()

    return step


def _sklearn_iteration_ms(V: np.ndarray, W0: np.ndarray, H0: np.ndarray, fix_W: bool, n_iter: int) -> float:
    """Milliseconds per KL MU iteration of scikit-learn (float64), W and H or H alone."""
    from sklearn.decomposition import non_negative_factorization

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fix_W:  # V^T ~ H^T W^T with the "components" W^T held fixed
                non_negative_factorization(V.T, W=H0.T.copy(), H=W0.T, n_components=W0.shape[1], init="custom",
                                           update_H=False, solver="mu", beta_loss="kullback-leibler",
                                           max_iter=n_iter, tol=0)
            else:
                non_negative_factorization(V, W=W0.copy(), H=H0.copy(), n_components=W0.shape[1], init="custom",
                                           solver="mu", beta_loss="kullback-leibler", max_iter=n_iter, tol=0)

    return interleaved_medians({"sk": (run, 1)}, 3, 1, torch.device("cpu"))["sk"] / n_iter


def published_unit_costs(settings: dict, audio, rounds: int = 5) -> dict[str, float]:
    """Seconds per unit of work in the published structure, measured here at N = 2000."""
    from innmf.paper.metrics import separation_metrics
    from innmf.tf.stft import frequency_coordinate, magnitude

    n, K = 2000, int(settings["rank"])
    V = magnitude(audio.train[0], n, power=settings["power"]).astype(np.float32)
    V_mix = magnitude(audio.mixture, n, power=settings["power"]).astype(np.float32)
    Vt, Vmt = torch.from_numpy(V), torch.from_numpy(V_mix)
    f = torch.as_tensor(frequency_coordinate(n), dtype=torch.float32)

    torch.manual_seed(0)
    ref = ReferenceImplicitW(K, V.shape[1], n_freqs=int(settings["n_freqs"]), hidden=int(settings["hidden"]), seed=0)
    ref_opt = torch.optim.Rprop(ref.parameters(), lr=1e-3)
    with torch.no_grad():
        W = ref.get_W(f)
    costs = interleaved_medians(
        {
            "inr_epochs": (lambda: reference_epoch(ref, ref_opt, Vt, f), 1),
            "refit_epochs": (_activation_step(Vt, W), 20),
            "sep_epochs": (_activation_step(Vmt, torch.cat([W, W.flip(1)], dim=1)), 20),
        },
        rounds,
        2,
        torch.device("cpu"),
    )
    out = {k: v / 1e3 for k, v in costs.items()}
    rng = np.random.default_rng(0)
    W0 = np.abs(10 + rng.standard_normal((V.shape[0], K)))
    H0 = np.abs(10 + rng.standard_normal((K, V.shape[1])))
    out["nmf_iterations"] = _sklearn_iteration_ms(V.astype(np.float64), W0, H0, False, 100) / 1e3
    W2 = np.hstack([W0, W0[::-1]])
    Hm = np.abs(10 + rng.standard_normal((2 * K, V_mix.shape[1])))
    out["nmf_mixture_iterations"] = _sklearn_iteration_ms(V_mix.astype(np.float64), W2, Hm, True, 100) / 1e3
    start = time.perf_counter()
    est = audio.test[::-1]  # any two signals of the right length: scoring time does not depend on quality
    separation_metrics(np.vstack(audio.test), np.vstack(est), sr=innmf.SAMPLE_RATE)
    out["scorings"] = time.perf_counter() - start
    return out


def our_counts(settings: dict, n_sizes: int = 4) -> dict[str, int]:
    """The units of work of one trial of :func:`innmf.experiments.trial.run_trial` (both
    experiments at ``n_sizes`` window sizes), in :data:`COUNTS`' units.

    Per speaker: an NMF at every N, one network, H refit at every N for iN-NMF and for
    NMF-interp; per N: the mixture's NMF activations, the Rprop activation fits of
    iN-NMF and NMF-interp, and one scoring per method.
    """
    speakers, methods = 2, 3
    return {
        "inr_epochs": speakers * int(settings["inr_epochs"]),
        "refit_epochs": speakers * n_sizes * 2 * int(settings["refit_epochs"]),
        "sep_epochs": n_sizes * 2 * int(settings["sep_epochs"]),
        "nmf_iterations": speakers * n_sizes * int(settings["nmf_iter"]),
        "nmf_mixture_iterations": n_sizes * int(settings["nmf_iter"]),
        "scorings": n_sizes * methods,
    }


def run_trial_benchmark(rounds: int = 5) -> dict:
    """Time one trial of ours (measured whole) against the published structure (projected).

    Returns:
        ``trial_seconds`` (ours); ``published_trial_seconds`` (the published counts)
        and ``published_like_for_like_seconds`` (our counts), both projected from the
        unit costs measured in the same run; ``published_shared_trial_seconds`` (the
        published counts with shared dictionaries); ``trial_speedup``,
        ``trial_speedup_like_for_like``, ``sharing_saving``; per unit
        ``published_<unit>_s``, ``count_<unit>`` and ``our_count_<unit>``.
    """
    from innmf.data import trial_audio
    from innmf.experiments.runner import draw_trials
    from innmf.experiments.trial import cached_corpus, run_trial
    from innmf.experiments.settings import get_profile

    settings = get_profile("paper", n_ffts=[1000, 1500, 2000, 2500], extra_n_ffts=[], n_trials=1)
    trial = draw_trials(settings)[0]
    audio = trial_audio(cached_corpus(settings["corpus"]), trial)
    units = published_unit_costs(settings, audio, rounds)
    start = time.perf_counter()
    run_trial(settings, trial, ["reconstruction", "separation"])
    ours = time.perf_counter() - start
    mine = our_counts(settings)
    shared = {**COUNTS, "inr_epochs": mine["inr_epochs"], "nmf_iterations": mine["nmf_iterations"]}
    published = sum(units[k] * COUNTS[k] for k in COUNTS)
    like = sum(units[k] * mine[k] for k in COUNTS)
    published_shared = sum(units[k] * shared[k] for k in COUNTS)
    out: dict = {
        "trial_seconds": ours,
        "published_trial_seconds": published,
        "published_like_for_like_seconds": like,
        "published_shared_trial_seconds": published_shared,
        "trial_speedup": published / ours,
        "trial_speedup_like_for_like": like / ours,
        "sharing_saving": published / published_shared,
    }
    for key, count in COUNTS.items():
        out[f"published_{key}_s"] = units[key]
        out[f"count_{key}"] = count
        out[f"our_count_{key}"] = mine[key]
    return out
