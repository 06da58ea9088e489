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
# # 3. Reconstruction across window sizes
#
# The paper's first experiment asks what iN-NMF costs in modelling quality. For each
# speaker of a trial:
#
# - **NMF** is trained from scratch at every window size $N \in \{1000, 1500, 2000, 2500\}$
#   (KL multiplicative updates, rank $K=20$);
# - **iN-NMF** learns its dictionary $W(f)$ as an implicit neural representation **at
#   $N=2000$ only**. At every other $N$ the network is *sampled* at that STFT's bin
#   frequencies and only the activations $H$ are refitted.
#
# The score is the mean generalised KL divergence between the compressed magnitudes
# $V=|X|^{0.5}$ of the speaker's training audio and the model $WH$. The paper reports
# iN-NMF 7–10 % above NMF at every $N$, *including* the training size. We also probe two
# window sizes outside the training range (`extra_n_ffts`, 512 and 4096 samples).
#
# **What we do differently from the published code** ({doc}`../book/paper_setup` §5): both methods are
# scored on the *same* trials — the same speakers and the same audio — so we can report
# paired differences, not only two unrelated means. Results come from the runner
# `innmf.experiments.run_experiments`, the same one `innmf reproduce` uses; each finished
# trial is saved in a results store, shared with {doc}`04_separation`, so the speakers'
# dictionaries are learnt once for both chapters.
#
# ```{admonition} Learning objectives
# :class: tip
# After this chapter you can
# - run the paper's reconstruction experiment through the resumable runner;
# - set our numbers beside the published ones and say which comparisons carry over;
# - read a paired comparison (mean difference, interval, signed-rank test) and a ratio;
# - judge the "within 10 %" and window-size claims from the results.
#
# **You need:** {doc}`01_nmf_recap` (NMF, KL) and {doc}`02_implicit_factors` (the network,
# sampling $W$ at another $N$).
# ```

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper (innmf/experiments/settings.py)
overrides = {}  # e.g. {"corpus": "timit:/data/TIMIT", "n_trials": 20}
results_dir = None  # results store to write/resume; None: the book's store for these settings
workers = 2  # local processes running trials at once (one thread each)
results_from = None  # read an existing store (e.g. "../results/paper-embedded") instead of computing

# %% tags=["hide-input"]
# %matplotlib inline
import pandas as pd
from IPython.display import Markdown, display

from innmf.report import figures
from innmf.chapters import chapter_results, check, recorded_results
from innmf.report.format import format_table
from innmf.report.verdicts import PAPER_TRAIN_N_FFT, judged_sizes, kl_verdict, window_verdict
from innmf.report.published import published_kl
from innmf.experiments.settings import get_profile
from innmf.accel.runtime import use_threads
from innmf.report.stats import paired_summary, summary_table

P = get_profile(profile, **overrides)
use_threads(P["threads"])  # one thread: fastest and reproducible (innmf/accel/runtime.py)
df, source = chapter_results(P, results_dir, results_from, workers)
rec = df[df["metric"] == "kl"]
n_trials = rec["trial"].nunique()
display(Markdown(
    f"**{n_trials} trial(s)** on corpus `{P['corpus']}`, profile `{profile}`, {source}. "
    f"NMF: {P['nmf_iter']} iterations at each N. iN-NMF: {P['inr_epochs']} epochs at "
    f"N = {P['train_n_fft']}, then {P['refit_epochs']} epochs refitting H at each N."
))

# %% [markdown]
# ## KL against window size, beside the paper's
# Solid lines are ours (mean ± std over trials), dashed lines the paper's published
# means over 500 TIMIT trials. The dotted vertical line marks iN-NMF's training size.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Reconstruction KL against window size: ours (solid, mean ± std over trials) and the paper's published means over 500 TIMIT trials (dashed). iN-NMF was trained at the dotted window size only.", "name": "fig-rec-kl"}}
display(figures.kl_vs_window(rec, published=published_kl(), train_n_fft=P["train_n_fft"]))

# %% [markdown]
# Absolute KL values depend on the corpus and on the level of the audio (the divergence
# scales with the magnitudes), so our curves need not sit on the paper's. What should
# carry over is the *ratio* between the methods, in the table below.

# %%
ours = summary_table(rec).pivot_table(index="n_fft", columns="method", values=["mean", "std"])
paper = published_kl().pivot_table(index="n_fft", columns="method", values="mean")
table = pd.DataFrame({
    "NMF (ours)": ours[("mean", "NMF")],
    "iN-NMF (ours)": ours[("mean", "iN-NMF")],
    "ratio (ours)": ours[("mean", "iN-NMF")] / ours[("mean", "NMF")],
    "NMF (paper)": paper["NMF"],
    "iN-NMF (paper)": paper["iN-NMF"],
    "ratio (paper)": paper["iN-NMF"] / paper["NMF"],
})
if ("mean", "NMF-interp") in ours:  # the interpolated-dictionary baseline, where the results have it
    table.insert(2, "NMF-interp (ours)", ours[("mean", "NMF-interp")])
    table.insert(4, "ratio to NMF-interp (ours)", ours[("mean", "iN-NMF")] / ours[("mean", "NMF-interp")])
table.index.name = "N (samples)"
display(format_table(table, formats={c: ("{:.3f}" if "ratio" in c else "{:.3e}") for c in table}))

# %% [markdown]
# ## Paired comparison
# Because both methods saw the same trials we can look at the per-trial difference
# (iN-NMF − NMF): its mean with a 95 % t-interval, and a Wilcoxon signed-rank test
# (reported only with at least six trials). `ratio` is the ratio of the two means, with
# its **speaker-level** 95 % interval: trials share speakers, so speakers, not trials,
# are the unit of inference (see {doc}`04_separation` for how it is computed). The
# paper's "within 10 %" is met at an N only when that interval's upper end is at most 1.10.

# %%
paired = paired_summary(rec)
kl_cols = ["mean_baseline", "mean_treatment", "mean_diff", "ci_low", "ci_high"]
display(format_table(paired, {"n_fft": "N (samples)", "n": "trials", "mean_baseline": "NMF KL",
                              "mean_treatment": "iN-NMF KL", "mean_diff": "iN-NMF − NMF",
                              "ci_low": "95 % CI low", "ci_high": "95 % CI high", "p_wilcoxon": "Wilcoxon p",
                              "ratio": "ratio iN-NMF / NMF", "ratio_low": "ratio, speaker 95 % low",
                              "ratio_high": "ratio, speaker 95 % high", "noninferior": "within 10 % (interval)"},
                     formats={**{c: "{:.3e}" for c in kl_cols}, "p_wilcoxon": "{:.3f}", "ratio": "{:.3f}",
                              "ratio_low": "{:.3f}", "ratio_high": "{:.3f}"}))

# %% tags=["remove-cell", "nbval-check-output"]
check_table = paired[["n_fft", "n", "ratio"]].copy()
check_table["ratio"] = check_table["ratio"].round(2)
check_table["within 10 %"] = check_table["ratio"] <= 1.10
print(check_table.to_string(index=False))

# %% tags=["hide-input"]
worst = paired.loc[paired["ratio"].idxmax()]
inside = paired[paired["n_fft"].isin(P["n_ffts"])]
verdict = (
    f"At the paper's window sizes the KL ratio iN-NMF / NMF ranges from "
    f"{inside['ratio'].min():.3f} to {inside['ratio'].max():.3f} (the paper: 1.07 to 1.10). "
)
if (inside["ratio"] <= 1.10).all():
    verdict += "**Within the paper's 10 % at every N.** "
else:
    bad = ", ".join(str(n) for n in inside.loc[inside["ratio"] > 1.10, "n_fft"])
    verdict += (f"**Above 10 % at N = {bad}.** With the `{profile}` profile iN-NMF trains for "
                f"{P['inr_epochs']} epochs instead of the paper's 1000 and NMF for {P['nmf_iter']} "
                "iterations instead of 3000; the `paper` profile closes part of that gap. ")
verdict += f"The largest ratio, {worst['ratio']:.3f}, is at N = {int(worst['n_fft'])}."
recorded = recorded_results()
if recorded is not None:
    sizes = judged_sizes(recorded)  # the recorded run is judged at the paper's window sizes
    rec_kl, rec_window = kl_verdict(recorded, sizes), window_verdict(recorded, PAPER_TRAIN_N_FFT, sizes)
    verdict += (f"\n\n**The recorded paper-profile run** ({recorded['trial'].nunique()} trials, "
                f"{{doc}}`06_reproducing_at_scale`): within 10 % — *{rec_kl.level}* ({rec_kl.evidence}); "
                f"window-size generalisation — *{rec_window.level}* ({rec_window.evidence}). "
                f"This build on its own: *{kl_verdict(rec, P['n_ffts']).level}* and "
                f"*{window_verdict(rec, P['train_n_fft'], P['n_ffts']).level}*. "
                "All claims side by side: {doc}`00_findings`.")
display(Markdown(verdict))

# %% [markdown]
# ## Reading the result
# - NMF is retrained at every $N$ and has $F\times K$ free template values there; iN-NMF
#   reuses one network trained at $N=2000$. That the gap is nearly flat in $N$ is the
#   paper's window-size generalisation claim in its reconstruction form.
# - The gap at the training size itself comes from the network: a 4-layer sine MLP with a
#   10-frequency encoding is a smooth function of frequency and cannot follow every
#   bin-to-bin wiggle a free matrix can. {doc}`02_implicit_factors` varies the encoding
#   and width.
# - Outside the trained range (512 and 4096) the sampled dictionary is evaluated at bin
#   spacings it never saw; see how fast the ratio grows there.
#
# ## Exercises
# Each solution is executed whenever the book is built and tested. Two longer projects
# without a worked solution: train iN-NMF at $N = 1000$ instead
# (`overrides = {"train_n_fft": 1000}`) and ask whether generalisation is symmetric; plot
# the per-bin KL of one trial against frequency to see where iN-NMF loses.
#
# ```{exercise} How many trials?
# :label: ex-rec-trials
# The paper reports means and standard deviations only. From the per-trial table `rec`,
# estimate how many trials the 95 % interval of the mean difference (iN-NMF − NMF) would
# need to exclude zero at every $N$, assuming the spread of the differences stays as it is.
# ```
#
# ```{solution-start} ex-rec-trials
# :class: dropdown
# ```

# %%
import math

needed = {}
for _, row in paired.iterrows():
    if row["n"] > 1 and row["std_diff"] > 0:
        needed[int(row["n_fft"])] = math.ceil((1.96 * row["std_diff"] / abs(row["mean_diff"])) ** 2)
print("trials needed per N (normal approximation):", needed)

# %% [markdown]
# The half-width of the interval is about $1.96\,s/\sqrt{n}$, so it excludes zero once
# $n > (1.96\,s/|\bar d|)^2$. The KL differences are large against their spread, so few
# trials suffice; separation differences ({doc}`04_separation`) need far more.
#
# ```{solution-end}
# ```
#
# ```{exercise} Is the gap flat?
# :label: ex-rec-flat
# The window-size claim in its reconstruction form says the KL ratio does not grow away
# from the training size. Compute, from `paired`, the largest growth of the ratio over its
# value at $N = $ `P["train_n_fft"]`, inside the paper's window sizes and outside them.
# ```
#
# ```{solution-start} ex-rec-flat
# :class: dropdown
# ```

# %%
by_n = paired.set_index("n_fft")["ratio"]
growth = by_n - by_n[P["train_n_fft"]]
inside_growth = growth[growth.index.isin(P["n_ffts"])].max()
outside_growth = growth[~growth.index.isin(P["n_ffts"])]
print(f"largest growth inside the paper's sizes: {inside_growth:+.3f}; outside: "
      + ", ".join(f"N = {n}: {g:+.3f}" for n, g in outside_growth.items()))
print(window_verdict(rec, P["train_n_fft"], P["n_ffts"]).text())

# %% [markdown]
# `innmf.report.verdicts.window_verdict` applies exactly this rule (growth at most 0.05),
# which is how {doc}`00_findings` words its verdict.
#
# ```{solution-end}
# ```
#
# ```{exercise} The ratio at the training size
# :label: ex-rec-ratio
# What is this build's KL ratio iN-NMF / NMF at the training size? Compute it from the
# per-trial table `rec` yourself (mean over trials of each method, then the ratio) and
# check it with `check(answer, paired.set_index("n_fft").loc[P["train_n_fft"], "ratio"], "ratio")`.
# ```
#
# ```{solution-start} ex-rec-ratio
# :class: dropdown
# ```

# %%
at_train = rec[rec["n_fft"] == P["train_n_fft"]].groupby("method")["value"].mean()
answer = at_train["iN-NMF"] / at_train["NMF"]
print(check(answer, paired.set_index("n_fft").loc[P["train_n_fft"], "ratio"], "KL ratio at the training size"))

# %% [markdown]
# The ratio of the means equals `paired_summary`'s `ratio` because both methods are
# averaged over the same trials.
#
# ```{solution-end}
# ```

# %% [markdown]
# ## A baseline without networks: NMF-interp
# The window-size claim says that iN-NMF's dictionary, trained at one $N$, serves every
# other $N$ without retraining. A plain NMF dictionary can be carried to another $N$ too:
# **NMF-interp** takes the NMF dictionary learnt at the training size, interpolates every
# template linearly in Hz (on the compressed magnitudes it models) to the other window
# size's bin frequencies, and refits $H$ exactly as iN-NMF does: the same optimiser,
# epochs and initialisation (`innmf.experiments.baselines`). The two methods then differ
# in the dictionary only, on the same trials, so this is the comparison the claim has to
# win; retrained NMF is a method that is *allowed* to retrain. At the training size
# NMF-interp's dictionary is NMF's own, and only the refit of $H$ differs (gradient
# steps instead of multiplicative updates): that row shows what the refit alone costs.
# The table gives each method's excess KL over retrained NMF (mean of the per-trial
# relative differences) and the paired difference iN-NMF − NMF-interp with its 95 %
# interval.

# %% tags=["hide-input"]
from innmf.report.tables import against_interp, interp_sentence

if "NMF-interp" in set(rec["method"]):
    versus = against_interp(rec, "kl")
    display(format_table(
        versus,
        {"n_fft": "N (samples)", "trials": "trials", "iN-NMF − NMF": "iN-NMF over NMF",
         "NMF-interp − NMF": "NMF-interp over NMF", "iN-NMF − NMF-interp": "iN-NMF − NMF-interp (KL)",
         "ci_low": "95 % CI low", "ci_high": "95 % CI high", "better": "lower KL"},
        formats={"iN-NMF − NMF": "{:+.1%}", "NMF-interp − NMF": "{:+.1%}", "iN-NMF − NMF-interp": "{:+.2e}",
                 "ci_low": "{:+.2e}", "ci_high": "{:+.2e}"}))
    display(Markdown(interp_sentence(versus, "kl", P["train_n_fft"])))
else:
    display(Markdown("These results predate the NMF-interp baseline (no `NMF-interp` rows); "
                     "compute them again to see it."))
