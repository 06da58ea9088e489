"""The paper's speech experiments: runners, a resumable results store, parallel runs.

Public API (chapters "Reconstruction across window sizes", "Separating two
speakers"; command ``innmf reproduce``):

* :func:`run_experiments` — run or resume both experiments over the trials;
* :func:`load_results` — read a results store instead of recomputing;
* :func:`experiment_results` — one experiment's rows (computed, resumed or read);
* :func:`run_trial` — the work of a single trial;
* :class:`Settings`, :func:`get_profile` — typed, checked settings and the named profiles.
"""

from innmf.experiments.runner import draw_trials, experiment_results, run_experiments
from innmf.experiments.settings import PROFILES, Settings, SettingsError, get_profile
from innmf.experiments.store import RESULT_KEYS, ResultsStore, StoreError, load_results, read_manifest
from innmf.experiments.trial import EXPERIMENTS, METHODS, run_trial, trial_seed

__all__ = [
    "EXPERIMENTS",
    "METHODS",
    "PROFILES",
    "RESULT_KEYS",
    "ResultsStore",
    "Settings",
    "SettingsError",
    "StoreError",
    "draw_trials",
    "experiment_results",
    "get_profile",
    "load_results",
    "read_manifest",
    "run_experiments",
    "run_trial",
    "trial_seed",
]
