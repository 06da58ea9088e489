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
# # 4. Separating two speakers across window sizes
#
# The paper's central claim: a dictionary learnt as a continuous function of frequency at
# one STFT window size separates speech **at other window sizes** as well as NMF
# retrained at each size.
#
# Each trial takes two different speakers, 20 s of training audio each and a disjoint
# 5 s test excerpt each, scaled to equal energy and summed (an exact 0 dB mixture). At
# every window size $N$:
#
# 1. the dictionaries $W_1, W_2$ are fixed — NMF's learnt at $N$, iN-NMF's *sampled* at
#    $N$ from the networks trained at $N=2000$ (the same models as in
#    {doc}`03_reconstruction`);
# 2. activations $H_1, H_2$ are fitted on the mixture's compressed magnitude
#    (NMF: multiplicative updates with $W$ fixed; iN-NMF: Rprop, as the paper);
# 3. soft masks $M_i = \hat V_i / (\hat V_1 + \hat V_2)$ are applied to the compressed
#    mixture, raised back to the power $1/p$, the mixture phase is reused and the STFT is
#    inverted;
# 4. SDR, SIR, SAR (BSS-eval, `mir_eval`) and STOI (`pystoi`) are measured against the
#    two test sources and averaged over the speakers.
#
# Both methods run on the same trials, so we report paired differences with confidence
# intervals and a Wilcoxon signed-rank test — the published code compared unpaired
# draws ({doc}`../book/paper_setup` §5).
#
# ```{admonition} Learning objectives
# :class: tip
# After this chapter you can
# - run supervised two-speaker separation with fixed dictionaries and soft masks;
# - score it with SDR, SIR, SAR and STOI, and listen to it;
# - test "as good as" properly: a non-inferiority margin checked on the interval, not on
#   the point estimate;
# - separate a method's separation at the training size (fit) from what it loses at
#   other window sizes (transfer);
# - say what the recorded paper-profile run found and how sure it can be.
#
# **You need:** {doc}`03_reconstruction` (the same trials and models) and, for the
# masks, {doc}`01_nmf_recap`.
# ```

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper (innmf/experiments/settings.py)
overrides = {}  # e.g. {"corpus": "timit:/data/TIMIT", "n_trials": 20}
results_dir = None  # results store to write/resume; None: the book's store for these settings
workers = 2  # local processes running trials at once (one thread each)
results_from = None  # read an existing store instead of computing
listen_trial = 0  # which trial to play back

# %% tags=["hide-input"]
# %matplotlib inline
import pandas as pd
from IPython.display import Markdown, display

from innmf import SAMPLE_RATE
from innmf.report import figures
from innmf.chapters import chapter_results, recorded_results
from innmf.report.captioned import PerRow, table
from innmf.report.format import fixed, p_value, signed
from innmf.report.verdicts import SEPARATION_MARGINS, judged_sizes, separation_verdict, window_verdict
from innmf.report import transfer
from innmf.report.endpoints import endpoint_table, readable, rules_text
from innmf.report.published import published_separation
from innmf.experiments.settings import get_profile
from innmf.accel.runtime import use_threads
from innmf.report.stats import SPEAKER_INFERENCE_NOTE, paired_summary, summary_table

P = get_profile(profile, **overrides)
use_threads(P["threads"])  # one thread: fastest and reproducible (innmf/accel/runtime.py)
df, source = chapter_results(P, results_dir, results_from, workers, listen_trial)
sep = df[df["experiment"] == "separation"]
display(Markdown(
    f"**{sep['trial'].nunique()} trial(s)** on corpus `{P['corpus']}`, profile `{profile}`, "
    f"{source}. Activations on the mixture: NMF {P['nmf_iter']} MU iterations, "
    f"iN-NMF {P['sep_epochs']} Rprop epochs (the paper's unequal budgets, kept for comparability)."
))

# %% [markdown]
# ## Baselines without networks: NMF-interp and NMF-resample
# As in {doc}`03_reconstruction`, **NMF-interp** carries the NMF dictionaries learnt at the
# training size to every other $N$ by linear interpolation in Hz, and fits the mixture's
# activations exactly as iN-NMF does (same optimiser, epochs and initialisation), so the
# two differ in the dictionaries only. If NMF-interp separates as well as iN-NMF, the
# "trained at one $N$ only" result does not need implicit networks. Its anti-aliased
# sibling **NMF-resample** (the templates smoothed by the target window's spectrum before
# they are sampled) is in the transfer tables below where the results have it.

# %% [markdown]
# ## The recorded run: fit at the training size, transfer away from it
# An SDR at $N$ mixes how well a method separates at the training size $N_0$ (its
# **fit**) with how much it loses moving from $N_0$ to $N$ (its **transfer**). The
# window-size claim is about the second, so each is estimated on its own, paired by trial:
#
# - **fit**: $\mathrm{SDR}_m(N_0) - \mathrm{SDR}_c(N_0)$, method $m$ against method $c$;
# - **transfer**: $\bigl(\mathrm{SDR}_m(N) - \mathrm{SDR}_m(N_0)\bigr) - \bigl(\mathrm{SDR}_c(N) - \mathrm{SDR}_c(N_0)\bigr)$,
#   a difference in differences. Against retrained NMF it is what not retraining costs;
#   between iN-NMF and NMF-interp it says which of the two loses less carrying a
#   dictionary to another $N$, whatever their fits at $N_0$.
#
# STOI likewise. Every pair of methods present is shown (NMF-resample too, where the
# results have it), each with its speaker-level 95 % interval and, as a check on the
# speaker model, a **delete-one-speaker jackknife** interval ({doc}`03_reconstruction`
# explains it). The tables use the recorded paper-profile run when this checkout has it,
# else this build's trials.

# %% tags=["hide-input"]
recorded = recorded_results()
judged_rows, judged_name = ((recorded, f"the recorded paper-profile run ({recorded['trial'].nunique()} trials)")
                            if recorded is not None else (sep, f"this build ({sep['trial'].nunique()} trial(s))"))
n0 = P["train_n_fft"]
columns = {"n_fft": "N (samples)", "comparison": "comparison", "n": "trials", "speaker": "mean [speaker 95 %]",
           "jackknife": "jackknife 95 %"}
intervals = {"speaker": ("estimate", "low", "high"), "jackknife": ("jack_low", "jack_high")}
for metric, digits in (("sdr", 2), ("stoi", 3)):
    summary = transfer.estimand_summary(judged_rows, metric, n0)
    unit = " (dB)" if metric == "sdr" else ""
    formats = {"speaker": signed(digits), "jackknife": signed(digits)}
    display(table(transfer.shown(summary, "fit"), f"{metric.upper()}{unit}, fit at the training size N0 = {n0}, one "
                  f"row per pair of methods: mean difference with speaker-level and jackknife 95 % intervals, from "
                  f"{judged_name}.", f"tbl-sep-fit-{metric}", columns, formats=formats, intervals=intervals))
    display(table(transfer.shown(summary, "transfer"), f"{metric.upper()}{unit}, transfer away from N0, one row per "
                  "window size N and pair of methods: the first method's change away from N0 minus the second's, "
                  f"with speaker-level and jackknife 95 % intervals, from {judged_name}.", f"tbl-sep-transfer-{metric}",
                  columns, formats=formats, intervals=intervals))

# %% [markdown]
# **Margins and decisions.** The separation claim is judged on the fit of iN-NMF against
# NMF at $N_0$, the window-size claim on the transfer at the paper's other window sizes:
# an endpoint is non-inferior when the lower end of its interval stays above the margin.
# Why the SDR and STOI margins have their size: they are about the noise of one trial's
# score between two draws of the same recipe (the networks' and $H$'s random start),
# computed below from the study "iN-NMF at its best", rounded to one significant figure.
# A difference smaller than what re-drawing a method's own networks moves a trial by is
# not one a user could act on. (The margins were fixed before that study ran; the study
# says what they mean.) The p-values are Holm-adjusted within each claim: one family per
# claim, over its metrics, comparators and window sizes. A sentence names a window size
# where one method is below another only when that adjusted p is below 0.05. The rules as
# declared in `innmf.report.endpoints`:

# %% tags=["hide-input"]
from innmf.chapters import recorded_study
from innmf.report.inr_study import draw_noise

display(Markdown(rules_text(("separation", "window-size"), n0)))
study = recorded_study()
margins = ", ".join(f"{m.upper()} {v:+g}" for m, v in SEPARATION_MARGINS.items())
if study is not None and {"paper", "draw 2"} <= set(study["method"]):
    noise = draw_noise(study, [n for n in P["n_ffts"] if n in set(study["n_fft"])]).set_index("metric")
    display(Markdown(
        f"Noise of one trial's score between two draws of the paper's recipe ({noise.at['sdr', 'trials']} trials "
        f"of the study): SDR {noise.at['sdr', 'within_sd']:.2f} dB, STOI {noise.at['stoi', 'within_sd']:.3f} "
        f"(standard deviations); margins: {margins}."))
else:
    display(Markdown(f"This checkout holds no recorded study with two draws, so the noise behind the margins "
                     f"({margins}) cannot be shown here."))
decisions = endpoint_table(judged_rows, n0=n0, paper_n_ffts=judged_sizes(judged_rows))
sep_decisions = readable(decisions, claims=("separation", "window-size"), metrics=("sdr", "stoi"))
# the jackknife's decision is shown only where it differs, so the table fits the page
sep_decisions = sep_decisions.assign(decision=sep_decisions["decision"].where(
    (sep_decisions["decision"] == sep_decisions["jack_decision"]) | sep_decisions["jack_decision"].isna(),
    sep_decisions["decision"] + " (jackknife: " + sep_decisions["jack_decision"] + ")"))
by_metric = PerRow("metric", {"sdr": signed(2), "stoi": signed(3)})
for estimand, claim in (("fit", "separation claim, on the fit at N0"), ("transfer", "window-size claim, on the transfer")):
    part = sep_decisions[sep_decisions["estimand"] == estimand]
    display(table(part.assign(shown_metric=part["metric"].str.upper(),
                              comparator=part["comparison"].str.removeprefix("iN-NMF vs ")),
                  f"Decisions of the {claim}, one row per metric, comparison and window size N: speaker-level 95 % "
                  "interval against the margin (SDR in dB), Holm-adjusted p-values.", f"tbl-sep-decisions-{estimand}",
                  {"shown_metric": "metric", "comparator": "iN-NMF against", "n_fft": "N (samples)",
                   "speaker": "mean [speaker 95 %]", "margin": "margin", "decision": "decision",
                   "p_zero_holm": "p ≠ 0 (Holm)", "p_noninferior_holm": "p margin (Holm)"},
                  formats={"speaker": by_metric, "margin": by_metric, "p_zero_holm": p_value,
                           "p_noninferior_holm": p_value},
                  intervals={"speaker": ("estimate", "low", "high")}))

# %% tags=["hide-input"]
published = published_separation().pivot_table(index="n_fft", columns=["metric", "method"], values="mean")
lines = []
for metric, unit, digits in (("sdr", " dB", 2), ("stoi", "", 3)):
    gap = published[(metric, "iN-NMF")] - published[(metric, "NMF")]
    lines.append(f"- The paper's mean {metric.upper()} differences iN-NMF − NMF (500 TIMIT trials, unpaired): "
                 f"{gap.min():+.{digits}f} to {gap.max():+.{digits}f}{unit}; margin {SEPARATION_MARGINS[metric]:+g}{unit}.")
sizes = judged_sizes(judged_rows)
fit_verdict, transfer_verdict = separation_verdict(judged_rows, sizes, n0), window_verdict(judged_rows, n0, sizes)
lines.append(f"- **Separation at the training size (fit), {judged_name}**: *{fit_verdict.level}* — "
             f"{fit_verdict.evidence}")
lines.append(f"- **Window-size generalisation (transfer), {judged_name}**: *{transfer_verdict.level}* — "
             f"{transfer_verdict.evidence}")
if recorded is not None:
    lines.append(f"- **This build on its own** ({sep['trial'].nunique()} trial(s)): separation "
                 f"*{separation_verdict(sep, P['n_ffts'], n0).level}*. All claims side by side: {{doc}}`00_findings`; "
                 "the recorded run: {doc}`06_reproducing_at_scale`.")
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## iN-NMF at its best
# Is iN-NMF's gap to NMF the idea's or the training recipe's? The paper trains every
# implicit dictionary one way (Rprop, 1000 epochs, the Fourier ladder $B_j = 2^j$ with
# random phases, PyTorch's default initialisation; {doc}`../book/paper_setup` §2) and
# never varies it. The recorded study (`results/inr-study`, made by `innmf study`)
# recomputes iN-NMF on the first trials of the recorded paper-profile run under one
# change at a time:
#
# - **draw 2**: the same recipe with another draw of the networks and of $H$'s start, to
#   measure how far a trial moves by the optimiser's luck alone;
# - **3000 epochs**: three times the training budget (the loss still falls at epoch 1000);
# - **Adam**: Adam instead of Rprop for every fit, its learning rate chosen beforehand by
#   the training objective on a trial outside the study (never by a separation score);
# - **SIREN init**: Sitzmann et al.'s initialisation of sine networks
#   {cite}`sitzmann2020`;
# - **Gaussian features**: random Fourier features $B_j \sim \mathcal N(0, \sigma^2)$
#   {cite}`tancik2020` with $\sigma$ set so that their mean $|B_j|$ equals the
#   paper's ladder's (a rule from the paper's encoding, not tuned on any corpus).
#
# Each variant is paired, trial by trial, with NMF and NMF-interp of the same trials;
# each trial's score is first averaged over the paper's window sizes, and every
# interval is speaker-level. The rule that would make a variant the profile `best` was
# fixed before the study ran: its SDR gain over the paper's recipe has a Holm-adjusted
# speaker-level $p < 0.05$ over the candidates, an interval above zero, and a STOI gain
# that is not negative. The quick build does not recompute the study (it retrains every
# trial's networks once per setting; the last table gives the cost); it reads the
# recorded one.
# {numref}`fig-sep-study` shows it.

# %% tags=["hide-input"]
from innmf.chapters import recorded_study, recorded_study_costs
from innmf.report.inr_study import best_setting, draw_noise, study_summary, study_table

study = recorded_study()
if study is None:
    display(Markdown("This checkout holds no recorded study (`results/inr-study`); make one with "
                     "`innmf study --reference results/paper-embedded --out results/inr-study --trials 6`."))
else:
    study_ns = [n for n in P["n_ffts"] if n in set(study["n_fft"])]
    study_sum = study_summary(study, study_ns)
    n_study_speakers = len({s for pair in study["speakers"].unique() for s in pair.split("+")})
    display(Markdown(
        f"**{study['trial'].nunique()} trials** of the recorded run, **{n_study_speakers} speakers**; "
        f"scores averaged over N = {', '.join(map(str, study_ns))} before pairing; speaker-level 95 % "
        "intervals. SDR and STOI: setting − baseline; KL: ratio setting / baseline."))
    for baseline, what in (("NMF", "against retrained NMF"), ("NMF-interp", "against NMF-interp"),
                           ("paper", "against the paper's own recipe (the gain of each change)")):
        versus = study_table(study_sum, baselines=(baseline,))
        display(table(versus, f"The study, one row per setting, {what}: SDR and STOI differences, KL ratio, each "
                      "with its speaker-level 95 % interval.", f"tbl-sep-study-{baseline.lower()}",
                      {c: c.removesuffix(f" vs {baseline}") for c in versus.columns}))
    costs = recorded_study_costs()
    costs = costs[costs["setting"].isin(set(study["method"]))]
    display(table(costs, "What each setting of the study changes and what a trial of it costs.",
                  "tbl-sep-study-costs", {"setting": "setting", "changes": "changes from the paper's settings",
                                          "trial_seconds": "median seconds per trial"},
                  formats={"trial_seconds": "{:.0f}"}))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The study per window size: each setting's SDR minus NMF's (left) and minus the paper's recipe's (right), means over the study's trials with speaker-level 95 % intervals. Circles: draws of the paper's recipe; other markers: changed recipes.", "name": "fig-sep-study"}}
from innmf.report.inr_study import study_figure

if study is not None:
    display(study_figure(study, "sdr"))

# %% tags=["hide-input"]
if study is not None:
    decision = best_setting(study_sum)
    lines = []
    if {"paper", "draw 2"} <= set(study["method"]):
        noise = draw_noise(study, study_ns).set_index("metric")
        lines.append(
            f"- **Optimiser luck.** Between two draws of the same recipe a trial's SDR moves by "
            f"{noise.at['sdr', 'within_sd']:.2f} dB (SD at one window size), its STOI by "
            f"{noise.at['stoi', 'within_sd']:.3f}; the trials' own spread of iN-NMF − NMF is "
            f"{noise.at['sdr', 'between_sd']:.2f} dB. A change smaller than the first is not visible "
            "in one trial.")
    lines.append(f"- **Decision.** {decision['reason'][0].upper()}{decision['reason'][1:]}")
    lines.append("- " + ("A profile `best` is defined with this change; the paper's profile stays the paper's."
                         if decision["best"] else
                         "So there is no profile `best`: the paper's recipe stays the one this book runs."))
    lines.append(f"- With {n_study_speakers} speakers these intervals are wide; a study on a corpus "
                 "with more speakers (`librispeech:PATH`, {doc}`06_reproducing_at_scale`) is what can "
                 "make a small gain decisive.")
    display(Markdown("\n".join(lines)))

# %% [markdown]
# ## On your machine: this build's trials
# The decisions above rest on the recorded run and the recorded study. The sections below
# show the trials this build computed (the profile and corpus named at the top), beside
# the paper's published means: the check that the same code gives the same picture on your
# machine and corpus.

# %% [markdown]
# ### Distributions per window size
# Split violins as in the paper's figure: NMF on the left half, iN-NMF on the right,
# the training size shaded ({numref}`fig-sep-sdr`, {numref}`fig-sep-stoi`). With few trials (the book's quick profile) the violins
# are rough; `innmf reproduce` with the `paper` profile fills them in.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "SDR per trial and window size: NMF (left halves) against iN-NMF (right halves), means as black bars; the training size is shaded.", "name": "fig-sep-sdr"}}
figures.split_violins(sep, "sdr", train_n_fft=P["train_n_fft"])

# %% tags=["hide-input"] mystnb={"figure": {"caption": "STOI per trial and window size, as in the SDR figure.", "name": "fig-sep-stoi"}}
figures.split_violins(sep, "stoi", train_n_fft=P["train_n_fft"])

# %% [markdown]
# ### Our means beside the paper's
# The paper's numbers are means over 500 TIMIT trials (their standard deviations are
# published for SDR only). Ours come from a different corpus and far fewer trials, so
# compare the *differences between methods*, not the absolute levels.

# %% tags=["hide-input"]
ours = summary_table(sep).pivot_table(index="n_fft", columns=["metric", "method"], values="mean")
paper = published_separation().pivot_table(index="n_fft", columns=["metric", "method"], values="mean")
sizes = sorted(set(ours.index) | set(paper.index))
rows = []
for metric in ("sdr", "sir", "sar", "stoi"):
    unit = "" if metric == "stoi" else " (dB)"
    for n in sizes:
        row = {"metric": metric.upper() + unit, "N (samples)": n}
        for who, tab in (("ours", ours), ("paper", paper)):
            for method in ("NMF", "iN-NMF"):
                column = tab.get((metric, method))
                row[f"{method} ({who})"] = column.get(n) if column is not None else None
        rows.append(row)
side = pd.DataFrame(rows).astype({c: float for c in ("NMF (ours)", "iN-NMF (ours)", "NMF (paper)", "iN-NMF (paper)")})
by_metric = PerRow("metric", {m: fixed(3 if m == "STOI" else 2) for m in side["metric"].unique()})
display(table(side, "Mean separation scores per metric and window size N: ours (this build's trials) and the "
              "paper's published means over 500 TIMIT trials; SDR, SIR and SAR in dB.", "tbl-sep-means",
              formats={c: by_metric for c in side if c.endswith(("(ours)", "(paper)"))}))

# %% [markdown]
# ### Paired differences (iN-NMF − NMF)
# Per window size and metric: the mean difference over the same trials and two 95 %
# intervals. The **speaker-level** interval treats speakers, not trials, as the unit
# (trials share speakers, see the note under the table); the trial-level t-interval beside
# it is what a naive analysis reports. This table describes; its p-values are unadjusted,
# one per comparison. The claims are decided above, on the recorded run's fit at the training
# size and transfer away from it, with p-values Holm-adjusted within each claim. An interval
# that straddles zero means these speakers cannot tell the methods apart.
# {numref}`fig-sep-paired` shows it.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Paired differences iN-NMF − NMF per window size and metric: mean and speaker-level 95 % interval over this build's trials (trial-level where too few speakers). The dashed line is no difference.", "name": "fig-sep-paired"}}
paired = paired_summary(sep)
figures.paired_differences(paired)

# %% tags=["hide-input"]
order = {"sdr": 0, "sir": 1, "sar": 2, "stoi": 3}
shown = paired.sort_values(["metric", "n_fft"], key=lambda c: c.map(order) if c.name == "metric" else c)
for metric, rows_m in shown.groupby("metric", sort=False):
    digits, unit = (3, "") if metric == "stoi" else (2, " (dB)")
    display(table(rows_m, f"Paired {metric.upper()}{unit} per window size N, one row per N: each method's mean and "
                  "the mean difference iN-NMF − NMF with its speaker-level and trial-level 95 % intervals and "
                  "unadjusted p-values.", f"tbl-sep-paired-{metric}",
                  {"n_fft": "N (samples)", "n": "trials", "mean_baseline": "NMF mean", "mean_treatment": "iN-NMF mean",
                   "speaker": "iN-NMF − NMF [speaker 95 %]", "p_speaker": "p (speakers)", "trial": "trial-level [95 %]",
                   "p_wilcoxon": "Wilcoxon p"},
                  formats={"mean_baseline": fixed(digits), "mean_treatment": fixed(digits), "speaker": signed(digits),
                           "trial": signed(digits), "p_speaker": p_value, "p_wilcoxon": p_value},
                  intervals={"speaker": ("mean_diff", "speaker_low", "speaker_high"), "trial": ("ci_low", "ci_high")}))
display(Markdown(SPEAKER_INFERENCE_NOTE))

# %% tags=["remove-cell", "nbval-check-output"]
means = summary_table(sep).pivot_table(index="n_fft", columns=["metric", "method"], values="mean")
print(means.round(2).to_string())

# %% [markdown]
# ### Against NMF-interp at each window size
# Paired differences iN-NMF − NMF-interp per window size, with 95 % intervals (speaker-level where the trials
# name three or more speakers, else trial-level, as the `interval` column says;
# unadjusted, one per $N$; the recorded run's transfer tables above decide the claim).
# {numref}`fig-sep-interp` shows every trial's SDR of the two.

# %% tags=["hide-input"]
from innmf.report.tables import against_interp, interp_sentence

if "NMF-interp" in set(sep["method"]):
    for metric in ("sdr", "stoi"):
        versus = against_interp(sep, metric)
        unit = "dB" if metric == "sdr" else "STOI"
        difference = signed(2 if metric == "sdr" else 3)
        display(table(
            versus, f"{metric.upper()} of iN-NMF against NMF-interp per window size N, one row per N: mean "
            "differences from retrained NMF and the paired difference iN-NMF − NMF-interp with its 95 % interval "
            "(speaker- or trial-level, as the interval column says).", f"tbl-sep-interp-{metric}",
            {"n_fft": "N (samples)", "trials": "trials", "iN-NMF − NMF": f"iN-NMF − NMF ({unit})",
             "NMF-interp − NMF": f"NMF-interp − NMF ({unit})", "diff": f"iN-NMF − NMF-interp [95 %] ({unit})",
             "level": "interval", "better": f"higher {metric.upper()}"},
            formats={c: difference for c in ("iN-NMF − NMF", "NMF-interp − NMF", "diff")},
            intervals={"diff": ("iN-NMF − NMF-interp", "ci_low", "ci_high")}))
        display(Markdown(interp_sentence(versus, metric, P["train_n_fft"])))
else:
    display(Markdown("These results predate the NMF-interp baseline (no `NMF-interp` rows); "
                     "compute them again to see it."))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "SDR per trial and window size: NMF-interp (left halves) against iN-NMF (right halves), means as black bars; the training size is shaded.", "name": "fig-sep-interp"}}
if "NMF-interp" in set(sep["method"]):
    display(figures.split_violins(sep, "sdr", P["train_n_fft"], methods=("NMF-interp", "iN-NMF")))

# %% [markdown]
# ### Listen to one trial
# The mixture, the two references, and both methods' estimates at the training size
# $N=2000$ and at the smallest window size. These are the estimates the trial was scored
# on, kept beside its rows in the results store when it was computed; a trial whose
# estimates were not kept is replayed from its stored record (speakers, offsets, seed),
# which gives the same signals bit for bit and is how any stored trial can be heard.

# %% tags=["hide-input"]
from innmf.chapters import trial_signals

if listen_trial not in set(df["trial"]):
    raise ValueError(f"listen_trial={listen_trial} is not among the trials run ({sorted(df['trial'].unique())}).")
trial, audio, estimates = trial_signals(P, listen_trial, results_dir, results_from)
sizes = sorted(estimates)
a, b = trial.speakers
display(Markdown(f"Trial {listen_trial}: speakers **{a}** and **{b}** (key `{trial.key}`)."))
players = [("mixture (0 dB)", audio.mixture), (f"reference {a}", audio.test[0]),
           (f"reference {b}", audio.test[1])]
for n in sizes:
    for method in ("NMF", "iN-NMF"):
        for who, est in zip((a, b), estimates[n][method]):
            players.append((f"{method}, N = {n}: estimate of {who}", est))
display(figures.audio_table(players, rate=SAMPLE_RATE))

# %% [markdown]
# ## Beyond the trained range
# The `extra_n_ffts` window sizes (512 and 4096 samples here) lie outside
# $\{1000,\dots,2500\}$. The violins, the paired differences and the transfer tables
# above include them; the window-size verdict is taken at the paper's sizes, and the
# transfer beyond them decides between "holds" and "holds partly".

# %% [markdown]
# ## Exercises
# Each solution is executed whenever the book is built and tested. Longer projects
# without a worked solution: give both methods the same budget for the activations
# (`overrides = {"sep_epochs": 500}`); replace the soft masks by binary masks with
# `innmf.paper.separation` and compare SIR and SAR.
#
# ```{exercise} Non-inferiority by hand
# :label: ex-sep-margin
# For each window size, is iN-NMF non-inferior to NMF in SDR with a margin of −0.5 dB,
# i.e. is the lower end of the 95 % interval at least −0.5? Compute it from `paired`, then
# compare with the point-estimate test the chapter used to make ("mean difference ≥ −0.5").
# ```
#
# ```{solution-start} ex-sep-margin
# :class: dropdown
# ```

# %%
sdr = paired[paired["metric"] == "sdr"].set_index("n_fft")
margin = SEPARATION_MARGINS["sdr"]
tests = pd.DataFrame({
    "N (samples)": sdr.index,
    "mean ≥ margin": sdr["mean_diff"] >= margin,
    "interval ≥ margin": sdr["speaker_low"].fillna(sdr["ci_low"]) >= margin,
})
display(table(tests, "Non-inferiority in SDR per window size N: the "
              "point-estimate test against the interval test.",
              "tbl-sep-margin-by-hand"))

# %% [markdown]
# A point estimate above the margin says little when its interval reaches below it: the
# data are then compatible with a deficit larger than the margin. Non-inferiority needs
# the whole interval above the margin.
#
# ```{solution-end}
# ```
#
# ```{exercise} The smallest difference this design can see
# :label: ex-sep-power
# With the speaker-level standard error of the paired SDR differences iN-NMF − NMF
# (`paired_summary`'s `speaker_se`, of the recorded run or this build), how large must a
# true difference be for these trials to detect it (an interval excluding zero) four times
# in five? Use the minimum detectable effect $(t_{0.975,S-1} + t_{0.80,S-1})\,\mathrm{SE}$
# with $S$ speakers, and set it beside the naive trial-level half-width $1.96\,s/\sqrt{n}$.
# ```
#
# ```{solution-start} ex-sep-power
# :class: dropdown
# ```

# %%
from scipy import stats as sps

base = recorded if recorded is not None else sep
power = paired_summary(base[base["metric"] == "sdr"]).set_index("n_fft")
df_speakers = power["n_speakers"] - 1
t_sum = sps.t.ppf(0.975, df_speakers) + sps.t.ppf(0.80, df_speakers)
power["detectable"] = t_sum * power["speaker_se"]
power["trial_half_width"] = 1.96 * power["std_diff"] / power["n"] ** 0.5
cols = ["n", "n_speakers", "speaker_se", "detectable", "trial_half_width"]
display(table(
    power[cols],
    "The smallest SDR difference these trials can detect per window size N, "
    "against the naive trial-level half-width.", "tbl-sep-detectable",
    {"n_fft": "N (samples)", "n": "trials", "n_speakers": "speakers",
     "speaker_se": "speaker SE (dB)",
     "detectable": "detectable at 80 % (dB)",
     "trial_half_width": "trial-level half-width (dB)"},
    formats={c: "{:.2f}" for c in cols[2:]}, index=True))
published_sdr = published_separation().query("metric == 'sdr'")
published_sdr = published_sdr.pivot_table(index="n_fft", columns="method",
                                          values="mean")
published_gap = (published_sdr["iN-NMF"] - published_sdr["NMF"]).abs()
common = published_gap.index.intersection(power.index)
detectable = power.loc[common, "detectable"]
below = int((published_gap[common] < detectable).sum())
print("published SDR differences smaller than this design's detectable "
      f"effect at their N: {below} of {len(common)}")

# %% [markdown]
# The speaker-level error does not shrink like $1/\sqrt{n}$: more trials of the same
# speakers reduce only its trial part, so the detectable effect is set by the number of
# speakers as much as by the number of trials. An interval that includes zero is then
# absence of evidence for a difference smaller than the detectable effect, not evidence
# that there is none.
#
# ```{solution-end}
# ```
#
# ```{exercise} Same-sex and mixed-sex pairs
# :label: ex-sep-sex
# Split this build's trials into same-sex and mixed-sex pairs (the corpus knows each
# speaker's sex) and compare the mean SDR of both methods. Which is harder?
# ```
#
# ```{solution-start} ex-sep-sex
# :class: dropdown
# ```

# %%
from innmf.data import load_corpus

sex = {s.id: s.sex for s in load_corpus(P["corpus"]).speakers}
def pairing(ids: str) -> str:
    sexes = {sex.get(i) for i in ids.split("+")}
    return "same" if len(sexes) == 1 else "mixed"


pairs = sep.assign(pairing=sep["speakers"].map(pairing))
sdr_rows = pairs[pairs["metric"] == "sdr"]
sdr_by = sdr_rows.groupby(["pairing", "method"])["value"].mean()
sdr_by = sdr_by.unstack("method")
display(table(sdr_by, "Mean SDR (dB) of each method over same-sex and "
              "mixed-sex pairs, every window size.", "tbl-sep-sex",
              formats={c: "{:.2f}" for c in sdr_by}, index=True))
counts = pairs.drop_duplicates("trial")["pairing"].value_counts()
if {"same", "mixed"} <= set(sdr_by.index):
    gap = sdr_by.loc["mixed"] - sdr_by.loc["same"]
    gaps = ", ".join(f"{method} {value:+.2f} dB"
                     for method, value in gap.items())
    display(Markdown(
        "Mean SDR of mixed-sex pairs minus same-sex pairs in these trials "
        "(every window size): "
        + gaps
        + f"; {counts['mixed']} mixed-sex and {counts['same']} "
        "same-sex trial(s)."))
else:
    kinds = ", ".join(sdr_by.index)
    display(Markdown(f"These trials hold {kinds}-sex pairs only: "
                     "no comparison here."))

# %% [markdown]
# The usual expectation is that the two speakers of a mixed-sex pair differ more in pitch
# range and formants, so their dictionaries overlap less; the line above says what these
# trials show. With few trials one group may be missing or hold a single trial;
# `overrides = {"sex_pairing": "same"}` draws only one kind.
#
# ```{solution-end}
# ```
