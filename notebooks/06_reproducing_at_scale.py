# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. Reproducing at scale
#
# The book's chapters run on the `quick` profile so that they execute in minutes. The
# paper's protocol is 500 trials per setting with 3000 NMF iterations and 1000 Rprop
# epochs per network. This chapter shows how to run it — on TIMIT, on a GPU, on many
# processes or a cluster — without losing work when a run is interrupted.
#
# ## The three profiles
# Every setting lives in one place, `innmf/profiles.py`, and is shared by the notebooks,
# the command line and the tests. The table lists the settings on which the profiles
# differ.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper: the profile this chapter's demonstration runs with
overrides = {}

# %%
# %matplotlib inline
import tempfile
import time
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from innmf.experiments import load_results, read_manifest, run_experiments
from innmf.profiles import PROFILES, get_profile
from innmf.runtime import use_threads

profiles = pd.DataFrame({name: {k: str(v) for k, v in PROFILES[name].items()}
                         for name in ("smoke", "quick", "paper")})
differs = profiles[profiles.nunique(axis=1) > 1]

# %%
# NBVAL_CHECK_OUTPUT
print(differs.to_string())

# %% [markdown]
# ## One command for the whole protocol
# `innmf reproduce` runs the same runners as {doc}`03_reconstruction` and
# {doc}`04_separation`:
#
# ```bash
# # the published protocol on TIMIT, 8 local processes
# innmf reproduce --experiment all --profile paper --corpus timit:/data/TIMIT \
#     --out runs/paper-timit --workers 8 --json
#
# # the same on a GPU
# innmf reproduce --profile paper --corpus timit:/data/TIMIT --device cuda --out runs/paper-gpu
#
# # on an existing Dask cluster: start `dask scheduler` on one machine and
# # `dask worker tcp://HOST:8786` on the others (each with this package and the corpus)
# innmf reproduce --profile paper --corpus timit:/data/TIMIT \
#     --scheduler tcp://HOST:8786 --out runs/paper-cluster
# ```
#
# - **Resumable.** Every finished trial is written at once, atomically, to
#   `OUT/trials/`. Run the same command again after an interruption and only the
#   missing trials are computed. A store refuses to mix in results made with other
#   settings; `n_trials` may grow, so a 40-trial run can be extended to 500.
# - **Deterministic.** Each trial's seeds derive from the profile's seed and the trial's
#   index, so the numbers do not depend on the number of workers or the order in which
#   trials finish.
# - **No repeated work.** Within a trial, each speaker's dictionaries at every window
#   size are learnt once and used by both experiments.
# - **Tables from the store.** `innmf reproduce --out DIR --from-store` rebuilds
#   `per_trial.csv` and `summary.csv` without computing; the chapters read a store with
#   their `results_from` parameter.
#
# ## A small demonstration
# Two trials on the profile this chapter was executed with, shortened, written to a
# temporary store; then the same call again, which finds both trials done.

# %%
demo = get_profile(profile, **{"n_trials": 2, **overrides})
use_threads(demo["threads"])
demo.update(train_seconds=min(demo["train_seconds"], 6.0), test_seconds=min(demo["test_seconds"], 2.0),
            n_ffts=[1000, 2000], extra_n_ffts=[], nmf_iter=min(demo["nmf_iter"], 100),
            inr_epochs=min(demo["inr_epochs"], 100), refit_epochs=min(demo["refit_epochs"], 50),
            sep_epochs=min(demo["sep_epochs"], 30))
out = Path(tempfile.mkdtemp(prefix="innmf-demo-"))
t0 = time.perf_counter()
first = run_experiments(demo, out=out, progress=False)
t1 = time.perf_counter()
again = run_experiments(demo, out=out, progress=False)
t2 = time.perf_counter()
files = sorted(p.name for p in (out / "trials").iterdir())
display(Markdown(
    f"First run: {t1 - t0:.1f} s for {first['trial'].nunique()} trials, stored as {files}. "
    f"Second run: {t2 - t1:.2f} s — nothing recomputed."
))

# %%
# NBVAL_CHECK_OUTPUT
same = first.sort_values(list(first.columns[:-1])).reset_index(drop=True).equals(
    again.sort_values(list(again.columns[:-1])).reset_index(drop=True))
print("rows:", len(first), "| identical after resume:", same,
      "| stored settings hash matches:", read_manifest(out)["settings_hash"] is not None)

# %% [markdown]
# The store's manifest records the settings, their hash, the corpus and the package
# version; the trial files hold each trial's record (speakers, offsets, seed), so any
# trial can be replayed on its own.

# %%
manifest = read_manifest(out)
display(pd.Series({k: manifest[k] for k in manifest if k != "settings"}, name="manifest").to_frame())
display(load_results(out).head(8))

# %% [markdown]
# ## How long does the full protocol take?
# Per trial the paper's protocol learns, for each of two speakers, NMF at each window
# size (3000 iterations each) and one iN-NMF network (1000 epochs) plus a 1000-epoch
# refit of $H$ at each window size, then separates the mixture at each window size with
# both methods. `innmf bench` measures the building blocks against the published code's
# structure; the results folder `results/` of the repository, where present, holds a
# recorded run of the `paper` settings on the embedded corpus with its timings.

# %%
recorded = Path("../results")
runs = sorted(p.parent for p in recorded.glob("*/summary.csv")) if recorded.exists() else []
if runs:
    for run in runs:
        display(Markdown(f"**Recorded run `{run.name}`**"))
        readme = run / "README.md"
        if readme.exists():
            display(Markdown(readme.read_text()))
else:
    display(Markdown("No recorded paper-profile run is stored in this checkout (`results/`)."))

# %% [markdown]
# ## On a GPU
# Every model takes a `device`: `--device cuda` on the command line, or
# `overrides = {"device": "cuda"}` in a chapter. The networks of all $K$ components are
# evaluated in one batched call, which keeps a GPU busy; classic NMF's multiplicative
# updates are a handful of matrix products per iteration and gain as well. GPU numbers
# are not bit-identical to CPU numbers, so `device` is part of a store's settings.
#
# ## Exercises
# 1. Run `innmf reproduce --profile smoke --out /tmp/s --json`, interrupt it with Ctrl-C
#    during the second trial, and run it again. Which files in `/tmp/s/trials` were
#    rewritten (compare modification times)?
# 2. Start a local Dask cluster (`dask scheduler` and two `dask worker` processes) and
#    run the smoke profile with `--scheduler`. Check that `per_trial.csv` is identical to
#    a serial run's.
# 3. Estimate from `innmf bench --json` how long 500 trials of the paper's protocol
#    would take on your machine, and compare with a measured run of 5 trials.
