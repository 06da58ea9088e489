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
# ```{admonition} Learning objectives
# :class: tip
# After this chapter you can
# - run the published protocol with `innmf reproduce` on a corpus, a GPU or a cluster, and
#   resume it after an interruption;
# - read a recorded run from its results store instead of recomputing it;
# - project the wall time of 500 trials from measured per-trial times.
# - weigh what serving a new window size without retraining costs against retraining, from a
#   measured record.
#
# **You need:** {doc}`03_reconstruction` and {doc}`04_separation` (what a trial computes).
# ```
#
# ## The three profiles
# Every setting lives in one place, `innmf/experiments/settings.py`, and is shared by the notebooks,
# the command line and the tests. The table lists the settings on which the profiles
# differ.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper: the profile this chapter's demonstration runs with
overrides = {}

# %% tags=["hide-input"]
# %matplotlib inline
import json
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from innmf.report import figures, style
from innmf.experiments import load_results, read_manifest, run_experiments
from innmf.experiments.store import trial_seconds as stored_trial_seconds
from innmf.report.published import published_kl
from innmf.experiments.settings import PROFILES, get_profile
from innmf.accel.runtime import use_threads
from innmf.report.stats import paired_summary
from innmf.chapters import shown_path
from innmf.tools.exercises import check_workers_needed
from innmf.report.captioned import PerRow, Scaled, table as captioned
from innmf.report.format import fixed, p_value, signed, significant

profiles = pd.DataFrame({name: {k: str(v) for k, v in PROFILES[name].items()}
                         for name in ("smoke", "quick", "paper")})
differs = profiles[profiles.nunique(axis=1) > 1]

# %% tags=["hide-input"]
display(captioned(differs.rename_axis("setting"), "The settings in which the three profiles differ.",
                  "tbl-scale-profiles"))

# %% tags=["remove-cell", "nbval-check-output"]
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
base = get_profile(profile, **overrides)
shortened = {**overrides, "n_trials": 2,
             "train_seconds": min(base["train_seconds"], 6.0),
             "test_seconds": min(base["test_seconds"], 2.0),
             "n_ffts": [1000, 2000], "extra_n_ffts": [],
             "nmf_iter": min(base["nmf_iter"], 100),
             "inr_epochs": min(base["inr_epochs"], 100),
             "refit_epochs": min(base["refit_epochs"], 50),
             "sep_epochs": min(base["sep_epochs"], 30)}
demo = get_profile(profile, **shortened)
use_threads(demo["threads"])
out = Path(tempfile.mkdtemp(prefix="innmf-demo-"))
t0 = time.perf_counter()
first = run_experiments(demo, out=out, progress=False)
t1 = time.perf_counter()
again = run_experiments(demo, out=out, progress=False)
t2 = time.perf_counter()
files = sorted(p.name for p in (out / "trials").iterdir())
display(Markdown(
    f"First run: {t1 - t0:.1f} s for {first['trial'].nunique()} trials, "
    f"stored as {files}. "
    f"Second run: {t2 - t1:.2f} s — nothing recomputed."
))

# %% tags=["nbval-check-output"]
def in_order(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.sort_values(list(rows.columns[:-1])).reset_index(drop=True)


same = in_order(first).equals(in_order(again))
hashed = read_manifest(out)["settings_hash"] is not None
print("rows:", len(first), "| identical after resume:", same,
      "| stored settings hash matches:", hashed)

# %% [markdown]
# The store's manifest records the settings, their hash, the corpus and the package
# version; the trial files hold each trial's record (speakers, offsets, seed), so any
# trial can be replayed on its own.

# %% tags=["hide-input"]
manifest = read_manifest(out)
entries = [k for k in manifest if k not in ("settings", "result_settings")]
# a hash says nothing to a reader: its length and what it is a hash of do
values = [f"{len(str(manifest[k]))} hex digits (a hash of the settings that change the numbers)"
          if k == "settings_hash" else str(manifest[k]) for k in entries]
display(captioned(pd.DataFrame({"entry": entries, "value": values}), "The demonstration store's manifest, "
                  "its settings aside.", "tbl-scale-manifest"))
rows_shown = load_results(out).head(8)
display(captioned(rows_shown, "The store's first rows: one per trial, experiment, method, window size and metric "
                  "(each trial's key, which ends in a hash, left out).", "tbl-scale-rows",
                  {"trial": "trial", "speakers": "speakers", "experiment": "experiment", "method": "method",
                   "n_fft": "N (samples)", "metric": "metric", "value": "value"}, formats={"value": significant(3)}))

# %% [markdown]
# ## A recorded run of the paper's protocol
# The repository holds one run of the `paper` settings (3000 NMF iterations, 1000 Rprop
# epochs, rank 20, $N \in \{1000, 1500, 2000, 2500\}$ plus 512 and 4096) on the embedded
# corpus, made with `innmf reproduce` on a 2-core CPU with two workers. The book reads it
# here instead of recomputing it (`results_from` does the same in
# {doc}`03_reconstruction` and {doc}`04_separation`); `results/paper-embedded/README.md`
# records the command and the history of the recording. {numref}`fig-scale-kl` and
# {numref}`fig-scale-sdr` show its reconstruction and separation per window size.

# %% tags=["hide-input"]
def trial_seconds(store: Path) -> np.ndarray:
    return np.array(stored_trial_seconds(store))


recorded = Path("../results/paper-embedded")
has_run = (recorded / "manifest.json").exists() and any((recorded / "trials").glob("*.json"))
if has_run:
    ref = load_results(recorded)
    ref_paired = paired_summary(ref)
    secs = trial_seconds(recorded)
    display(Markdown(
        f"**{ref['trial'].nunique()} trials** of the `{read_manifest(recorded)['profile']}` settings in "
        f"`{shown_path(recorded)}`: {np.median(secs):.0f} s of compute per trial (median, one core), "
        f"{secs.sum() / 2 / 60:.1f} minutes on two workers."
    ))
else:
    display(Markdown("No recorded paper-profile run is stored in this checkout (`results/paper-embedded`)."))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The recorded paper-profile run: reconstruction KL against window size beside the paper's published means.", "name": "fig-scale-kl"}}
if has_run:
    display(figures.kl_vs_window(ref[ref["metric"] == "kl"], published=published_kl(), train_n_fft=2000))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The recorded paper-profile run: SDR per trial and window size, NMF (left halves) against iN-NMF (right halves).", "name": "fig-scale-sdr"}}
if has_run:
    display(figures.split_violins(ref[ref["experiment"] == "separation"], "sdr", train_n_fft=2000))

# %% tags=["hide-input"]
if has_run:
    kl_rows, sep_rows = ref_paired[ref_paired["metric"] == "kl"], ref_paired[ref_paired["metric"] != "kl"]
    kl = Scaled(2)  # the means and the difference in one power of ten
    display(captioned(kl_rows, "The recorded run's reconstruction KL per window size N: each method's mean, the "
                      "paired difference iN-NMF − NMF with its trial-level 95 % interval, the ratio of the means "
                      "and the Wilcoxon p.", "tbl-scale-kl",
                      {"n_fft": "N (samples)", "n": "trials", "mean_baseline": "NMF mean", "mean_treatment": "iN-NMF mean",
                       "diff": "iN-NMF − NMF [95 %]", "ratio": "ratio", "p_wilcoxon": "Wilcoxon p"},
                      formats={"mean_baseline": kl, "mean_treatment": kl, "diff": kl, "ratio": "{:.3f}",
                               "p_wilcoxon": p_value}, intervals={"diff": ("mean_diff", "ci_low", "ci_high")}))
    by_metric = PerRow("metric", {m: fixed(3 if m == "stoi" else 2) for m in sep_rows["metric"].unique()})
    change = PerRow("metric", {m: signed(3 if m == "stoi" else 2) for m in sep_rows["metric"].unique()})
    display(captioned(sep_rows.assign(shown_metric=sep_rows["metric"].str.upper()), "The recorded run's separation "
                      "scores per metric and window size N: each method's mean and the paired difference "
                      "iN-NMF − NMF with its trial-level 95 % interval (SDR, SIR, SAR in dB).", "tbl-scale-separation",
                      {"shown_metric": "metric", "n_fft": "N (samples)", "n": "trials", "mean_baseline": "NMF mean",
                       "mean_treatment": "iN-NMF mean", "diff": "iN-NMF − NMF [95 %]", "p_wilcoxon": "Wilcoxon p"},
                      formats={"mean_baseline": by_metric, "mean_treatment": by_metric, "diff": change,
                               "p_wilcoxon": p_value}, intervals={"diff": ("mean_diff", "ci_low", "ci_high")}))

# %% [markdown]
# ## How long does the full protocol take?
# Per trial, the protocol learns for each of the two speakers NMF at every window size
# and one iN-NMF network plus a refit of $H$ at every window size, then separates the
# mixture at every window size with both methods. Each trial's file in a results store
# records its compute time, so the wall time of any number of trials on any number of
# workers can be projected from a finished run (trials are independent, so the time
# divides by the number of workers until the machine runs out of cores), as in
# {numref}`fig-scale-projection`.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Projected wall time of the 500-trial protocol against the number of workers, from measured per-trial compute times.", "name": "fig-scale-projection"}}
measured = {"this chapter's demonstration (shortened)": trial_seconds(out)}
if has_run:
    measured["recorded paper-profile run"] = trial_seconds(recorded)
workers = np.array([1, 2, 4, 8, 16, 32, 64])
fig = style.figure(aspect=0.6, pyplot=True)
ax = fig.add_subplot()
for (label, secs), color in zip(measured.items(), style.PALETTE):  # runs, not methods
    ax.loglog(workers, 500 * secs.mean() / workers / 3600, "o-", color=color,
              label=f"{label}: {secs.mean():.0f} s/trial")
ax.axhline(24, color=style.REFERENCE, ls=":", lw=1, label="one day")
ax.set(xlabel="workers (one thread each)", ylabel="hours for 500 trials",
       title="Projected wall time of the 500-trial protocol")
ax.set_xticks(workers, [str(w) for w in workers])  # whole numbers of workers, no 10^x
ax.set_xticks([], minor=True)
style.legend(ax, "below")
plt.show()

# %% [markdown]
# ## How fast, and against what?
# `innmf bench` times each building block of the protocol against every alternative at
# hand, in one process, the contenders interleaved (medians after warm-up): an iN-NMF
# training epoch against the published code's structure and a plain batched PyTorch
# model (eager and under `torch.compile`); KL multiplicative-update NMF against
# scikit-learn at the same precision, plain numpy and torch loops (and torchnmf where it
# is installed), on the paper's spectrogram and on a 4097 x 2000 one; distinct-coordinate
# evaluation of the hybrid cloud against evaluating both networks at every point. The
# headline of each is the ratio against the *fastest* alternative. `innmf bench --trial`
# times one whole trial of ours against the published structure, projected from its unit
# costs measured in the same run (a published trial takes over ten minutes), counted like
# for like: the published structure doing our trial's work, with the saving from
# sharing the dictionaries between the experiments (we learn 2 networks and 8 NMFs per
# trial where the published scripts learn 3 and 12) stated apart. Each record names its
# machine (CPU model with family and model, threads) and the commit it measured;
# `results/bench/README.md` gives the commands. Every number below is read from those
# records; {numref}`fig-scale-speedups` draws the speed-ups.

# %% tags=["hide-input"]
from innmf.report.speed import gpu_trial_summary, load_records, peer_table, speed_sentences, speed_table

speed_dir = Path("../results/bench")
if speed_dir.is_dir():
    records = load_records(speed_dir)
    table = speed_table(records)
    table = table.assign(measurement=table["measurement"] + " (" + table["unit"] + ")")
    for i, (machine, part) in enumerate(table.groupby("machine", sort=False), start=1):
        display(captioned(part, f"Speed on {machine}: ours against the fastest alternative measured, one row per "
                          "measurement (time per step in the unit named).", f"tbl-scale-speed-{i}",
                          {"measurement": "measurement", "ours": "ours", "reference": "fastest alternative",
                           "speedup": "speed-up (×)", "reference_is": "which alternative"},
                          formats={"ours": significant(3), "reference": significant(3), "speedup": "{:.2f}"}))
    display(Markdown("\n".join(f"- {sentence}" for sentence in speed_sentences(records))))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Measured speed-ups of ours over every alternative, per measurement and machine (log scale; dotted: equal speed; solid bars: the fastest alternative on that machine).", "name": "fig-scale-speedups"}}
if speed_dir.is_dir():
    from innmf.report.speed import speedup_figure

    display(speedup_figure(peer_table(records)))
else:
    display(Markdown("No speed records in this checkout (`results/bench`)."))

# %% [markdown]
# Read the ratios with the machine beside them: the fused NMF kernels
# (`innmf/accel/mu_fused_kl.py`) form $WH$ a block of rows at a time in registers and
# never store it, in explicit vector code (AVX-512 where the CPU has it, AVX2 halves
# otherwise), and split the rows of $W$ and the columns of $H$ over the threads without
# reordering a sum, so their numbers are the same at every thread count; how far they
# lead depends on the CPU's vector width and on the BLAS the alternatives get. The
# records carry each figure's achieved GFLOP/s against the machine's FMA peak measured
# in the same run (`*_of_core_peak`, `*_of_machine_peak`). Distinct-coordinate
# evaluation pays on a CPU (the networks run at ~8k coordinates instead of ~50k points
# per epoch) but hardly on a GPU, where such small epochs are bound by kernel launches
# either way.
#
# ## On a GPU
# Every model takes a `device`: `--device cuda` on the command line, or
# `overrides = {"device": "cuda"}` in a chapter. GPU numbers are not bit-identical to
# CPU numbers (Rprop follows the signs of gradients, so float rounding changes
# the path of iN-NMF's training slightly), so `device` is part of a store's settings. The
# GPU row of the table above compares our code with the reference *as implemented
# here*; the published scripts capture their training steps in CUDA graphs, which
# removes most of the Python and launch overhead that dominates the reference on a
# GPU, so that row says little about the published code on a GPU. What the GPU
# changes for a user is the wall time of the protocol:

# %% tags=["hide-input"]
gpu_records = sorted(speed_dir.glob("gpu-*-trials.json")) if speed_dir.is_dir() else []
for i, path in enumerate(gpu_records, start=1):
    rec = json.loads(path.read_text())
    display(captioned(gpu_trial_summary(rec), f"Wall time of the protocol on {rec['device']}, `{rec['profile']}` "
                      f"settings, window sizes {rec['window_sizes']}: one process against worker processes sharing "
                      "the GPU.", f"tbl-scale-gpu-{i}", formats={"wall s per trial": "{:.1f}",
                                                                    "hours for 500 trials": "{:.2f}"}))

# %% [markdown]
# ## What not retraining costs
# iN-NMF's networks are learnt once, at the training window size $N_0$, and then serve
# any other $N$: sample $W$ at $N$'s bins and refit $H$ with $W$ fixed (the paper refits
# it by Rprop). NMF instead learns $W$ and $H$ again at every $N$. Which is cheaper is a
# question of measurement, and the paper leaves it open. `python -m innmf.tools.bench.costs`
# times, in one run at one thread with the steps interleaved (medians over rounds): the
# training of both methods at $N_0$; at each $N$ the query latency of sampling iN-NMF's
# $W$ (and of interpolating NMF's $N_0$ dictionary, NMF-interp), the refit of $H$ by the
# paper's Rprop epochs and by a fast alternative, multiplicative updates (MU) of $H$ with
# $W$ fixed from the same start (`refit_H(..., optimizer="mu")`,
# `innmf/models/refit.py`), and NMF's retraining; and counts each method's parameters
# ({numref}`fig-scale-costs` draws the routes).
# Where a step was timed for fewer iterations than the recipe runs, its time is the
# per-iteration time times the recipe's count (the table says which). The record is
# `results/bench/costs.json`; `results/bench/README.md` gives the command.

# %% tags=["hide-input"]
from innmf.report import costs as cost_report

costs_path, refits_path = speed_dir / "costs.json", speed_dir / "refit-mu.json"
has_costs = costs_path.exists()
if has_costs:
    cost_record, cost_rows = cost_report.load_record(costs_path)
    n0, k_paper = cost_record["recipe"]["train_n_fft"], 20 if 20 in set(cost_rows["rank"]) else int(cost_rows["rank"].iloc[0])
    display(Markdown(f"Measured on: {cost_report.machine_sentence(cost_record)}"))
    display(Markdown("\n".join(f"- {sentence}" for sentence in cost_report.cost_sentences(cost_rows, n0, k_paper))))
    steps = cost_report.step_table(cost_rows, k_paper)
    display(captioned(steps, f"Seconds per step and window size N at rank K = {k_paper}, one thread: what each "
                      "route is made of (how: the calls or iterations timed).", "tbl-scale-steps",
                      formats={c: significant(3) for c in steps.columns if c.startswith("N =")}))
else:
    display(Markdown("No record of what not retraining costs in this checkout (`results/bench/costs.json`)."))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Seconds to serve a new window size N per route and rank (one thread, log scales): NMF retrained, iN-NMF sampled with H refit by Rprop or by MU, NMF-interp; dotted: iN-NMF's one-off training at N0.", "name": "fig-scale-costs"}}
if has_costs:
    display(cost_report.plot_costs(cost_rows, n0))
    plt.close("all")

# %% [markdown]
# The one-off training at $N_0$ per rank, and after how many new window sizes iN-NMF's
# route has cost less in all than retraining NMF at each (infinite: never, because the
# route costs more per $N$ than retraining does):

# %% tags=["hide-input"]
if has_costs:
    display(captioned(cost_report.training_costs(cost_rows, n0), f"Training at N0 = {n0} per rank: NMF against "
                      "iN-NMF, one thread.", "tbl-scale-training",
                      formats={"NMF (s)": "{:.2f}", "iN-NMF (s)": "{:.1f}", "iN-NMF / NMF": "{:.1f}"}))
    display(captioned(cost_report.break_even(cost_rows, n0), "Break-even per rank and route: the new window sizes "
                      "after which iN-NMF's route has cost less in all than retraining NMF at each.", "tbl-scale-break-even",
                      {"rank": "K", "route": "route", "retrain_s": "NMF retraining per N (s)",
                       "route_s": "route per N (s)", "extra_training_s": "iN-NMF's extra training (s)",
                       "break_even": "new sizes to break even"},
                      formats={"retrain_s": "{:.2f}", "route_s": "{:.3f}", "extra_training_s": "{:.1f}",
                               "break_even": "{:.1f}"}))

# %% [markdown]
# What each method keeps, at the paper's rank: NMF a dictionary per window size (its
# size grows with $N$), NMF-interp the dictionary of $N_0$, iN-NMF its networks (the
# same at every $N$) and a few frozen encoding constants; all three fit $K \times T$
# activations at each $N$.

# %% tags=["hide-input"]
if has_costs:
    display(captioned(cost_report.parameter_table(cost_rows, k_paper), f"Parameters fitted per method, step and "
                      f"window size N at rank K = {k_paper}.", "tbl-scale-parameters"))

# %% [markdown]
# Does the fast refit change the scores? `python -m innmf.tools.bench.costs refits`
# retrains the networks of the first trials of the recorded run (the networks are not
# stored) with the run's seeds, and fits $H$ both ways from the same start: the
# reconstruction's refit at every $N$, and the mixture's activations in the
# separation. Paired per trial, with speaker-level 95 % intervals
# (`innmf.report.stats.paired_summary`, MU against the paper's Rprop):

# %% tags=["hide-input"]
if refits_path.exists():
    refit_record = json.loads(refits_path.read_text())
    refit_rows = cost_report.refit_rows(refit_record)
    effect = cost_report.refit_effect(refit_rows)
    display(Markdown(f"Measured on: {cost_report.machine_sentence(refit_record)}"))
    display(Markdown("\n".join(f"- {s}" for s in cost_report.refit_sentences(refit_record, effect))))
    effects = cost_report.effect_table(effect)
    for quantity, part in effects.groupby("quantity", sort=False):
        kl = quantity.startswith("KL")
        level, change = (Scaled(4), fixed(6)) if kl else (fixed(2), signed(2))
        display(captioned(part, f"{quantity}, per window size N: the two refits' means and the effect with its "
                          "speaker-level 95 % interval.", f"tbl-scale-refit-{'kl' if kl else 'sdr'}",
                          {"N (samples)": "N (samples)", "trials": "trials", "speakers": "speakers",
                           "Rprop mean": "Rprop mean", "MU mean": "MU mean", "effect": "effect [95 %]"},
                          formats={"Rprop mean": level, "MU mean": level, "effect": change},
                          intervals={"effect": ("estimate", "95 % low", "95 % high")}))
    if has_run:
        display(Markdown("The Rprop arm against the recorded run's iN-NMF values for the same trials "
                         "(absolute differences; the networks are retrained, so float rounding moves them):"))
        display(captioned(cost_report.recorded_agreement(refit_rows, ref), "The Rprop arm against the recorded "
                          "run, per metric: absolute differences over the same trials and window sizes.",
                          "tbl-scale-agreement",
                          {"metric": "metric", "pairs": "trial × N", "median_abs_diff": "median |difference|",
                           "max_abs_diff": "largest |difference|", "median_recorded": "median recorded value"},
                          formats={c: significant(3) for c in ("median_abs_diff", "max_abs_diff", "median_recorded")}))
else:
    display(Markdown("No refit comparison in this checkout (`results/bench/refit-mu.json`)."))

# %% [markdown]
# ## Exercises
# Each solution is executed whenever the book is built and tested. Longer projects
# without a worked solution: interrupt `innmf reproduce --profile smoke --out runs/s` with
# Ctrl-C during the second trial and run it again (which trial files were rewritten?);
# run the smoke profile on a local Dask cluster with `--scheduler` and compare
# `per_trial.csv` with a serial run's.
#
# ```{exercise} Extending a store
# :label: ex-scale-extend
# Ask the demonstration's store for one more trial than it holds. How many trials are
# computed, and are the first two unchanged?
# ```
#
# ```{solution-start} ex-scale-extend
# :class: dropdown
# ```

# %%
t0 = time.perf_counter()
three = get_profile(profile, **{**shortened, "n_trials": 3})
more = run_experiments(three, out=out, progress=False)
t_more = time.perf_counter() - t0
kept = in_order(more[more["trial"] < 2])
print(f"{more['trial'].nunique()} trials now, {t_more:.1f} s: "
      "first two unchanged:", kept.equals(in_order(first)))

# %% [markdown]
# Only the third trial is computed: a store may grow in `n_trials`, each trial's seeds
# depend only on the profile's seed and the trial's index, so old trials are kept as they are.
#
# ```{solution-end}
# ```
#
# ```{exercise} Projecting the protocol
# :label: ex-scale-project
# With the recorded run's compute time per trial (`trial_seconds(recorded)`, or the
# demonstration's `trial_seconds(out)` without a recorded run), how many workers, one core
# each, would the paper's 500 trials need to finish overnight, in 8 hours? Check with
# `check_workers_needed(secs, 500, 8, answer)`, where `secs` holds those seconds.
# ```
#
# ```{solution-start} ex-scale-project
# :class: dropdown
# ```

# %%
import math

secs = trial_seconds(recorded) if has_run else trial_seconds(out)
# wall time = trials x mean / workers
answer = math.ceil(500 * secs.mean() / (8 * 3600))
print(check_workers_needed(secs, 500, 8, answer))
print(f"{answer} workers: {500 * secs.mean() / answer / 3600:.1f} hours")

# %% [markdown]
# Trials are independent, so the time divides by the workers as long as each has a core
# of its own: solve $500\,\bar t / w \le 8$ h for $w$ and round up. On a shared machine,
# measure a few trials with the workers you will use.
#
# ```{solution-end}
# ```
#
# ```{exercise} Where the numbers come from
# :label: ex-scale-manifest
# Which settings make a results store refuse to be extended? Change one that does and one
# that does not (`n_trials`) and call `run_experiments` on the demonstration's store.
# ```
#
# ```{solution-start} ex-scale-manifest
# :class: dropdown
# ```

# %%
try:
    reseeded = get_profile(profile,
                           **{**shortened, "seed": demo["seed"] + 1})
    run_experiments(reseeded, out=out, progress=False)
    print("accepted (unexpected)")
except Exception as err:  # the store names the settings that differ
    message = str(err).replace(str(out), "<store>").splitlines()[0][:160]
    print(f"refused: {type(err).__name__}: {message}")

# %% [markdown]
# Every setting that changes the numbers is part of the store's settings hash (the
# manifest's `result_settings`); only `n_trials` may differ, because more trials extend
# the same experiment.
#
# ```{solution-end}
# ```
