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
# **What we do differently from the published code** (book page paper_setup §5): both methods are
# scored on the *same* trials — the same speakers and the same audio — so we can report
# paired differences, not only two unrelated means. Results come from the runner
# `innmf.experiments.run_experiments`, the same one `innmf reproduce` uses; each finished
# trial is saved in a results store, shared with {doc}`04_separation`, so the speakers'
# dictionaries are learnt once for both chapters.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper (innmf/experiments/settings.py)
overrides = {}  # e.g. {"corpus": "timit:/data/TIMIT", "n_trials": 20}
results_dir = None  # results store to write/resume; None: the book's store for these settings
workers = 2  # local processes running trials at once (one thread each)
results_from = None  # read an existing store (e.g. "../results/paper-embedded") instead of computing

# %%
# %matplotlib inline
import pandas as pd
from IPython.display import Markdown, display

from innmf.report import figures
from innmf.chapters import chapter_results
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
# means over 500 TIMIT trials. The shaded column marks iN-NMF's training size.

# %%
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
table.index.name = "N"
display(table.style.format("{:.3e}", subset=[c for c in table if "ratio" not in c])
        .format("{:.3f}", subset=["ratio (ours)", "ratio (paper)"], na_rep="–")
        .format(na_rep="–"))

# %% [markdown]
# ## Paired comparison
# Because both methods saw the same trials we can look at the per-trial difference
# (iN-NMF − NMF): its mean with a 95 % t-interval, and a Wilcoxon signed-rank test
# (reported only with at least six trials). `ratio` is the ratio of the two means.

# %%
paired = paired_summary(rec)
display(paired[["n_fft", "n", "mean_baseline", "mean_treatment", "mean_diff", "ci_low", "ci_high",
                "p_wilcoxon", "ratio"]].style.format(precision=4, na_rep="–").format(
    "{:.3e}", subset=["mean_baseline", "mean_treatment", "mean_diff", "ci_low", "ci_high"]))

# %%
# NBVAL_CHECK_OUTPUT
check = paired[["n_fft", "n", "ratio"]].copy()
check["ratio"] = check["ratio"].round(2)
check["within 10 %"] = check["ratio"] <= 1.10
print(check.to_string(index=False))

# %%
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
# 1. Train iN-NMF at $N=1000$ instead (`overrides = {"train_n_fft": 1000}`). Is the gap
#    symmetric — does a dictionary learnt on a coarse frequency grid generalise to finer
#    grids as well as the reverse?
# 2. The KL is a mean over bins. Plot the per-bin KL of one trial against frequency for
#    both methods (use `innmf.paper.divergences` and the factors from `innmf.models.nmf` and
#    `innmf.models.implicit`). Where in frequency does iN-NMF lose?
# 3. The paper reports means and standard deviations only. With the per-trial table
#    `rec`, estimate how many trials are needed for the 95 % interval of the mean
#    difference to exclude zero at every $N$.
