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
# # 5. Irregular and hybrid representations
#
# Classic NMF factorises a matrix, so the representation must be a regular grid: every
# frame sees every frequency bin. The point of iN-NMF is that it does not need one. It
# models a *set of points* $\{(t_i, f_i, m_i)\}$ by
#
# $$\hat m_i = \sum_{k=1}^{K} W_k(f_i)\, H_k(t_i),$$
#
# with $W_k$ and $H_k$ small networks that can be evaluated at any frequency and any
# time, and fits them by minimising the mean generalised KL divergence over the points.
# So a representation whose points fall off any grid, or several representations glued
# together, can be factorised as they are.
#
# This chapter builds three such representations and then the paper's hybrid:
#
# 1. the **sinusoidal model** of a frequency-modulated tone (the paper's Figure 1):
#    spectral peaks whose frequencies follow the modulation instead of snapping to bins;
# 2. a **constant-Q transform with a hop per bin**: every frequency has its own time grid;
# 3. the sinusoidal model of a piano recording;
# 4. the **hybrid** of the paper's demo: two piano notes analysed by an STFT with
#    $N=128$, an STFT with $N=1024$ and the CQT, laid one after another in time (plus,
#    here, a sinusoidal-model segment), factorised with implicit $W$ *and* $H$, rank 2.
#
# The paper only *shows* the hybrid result. We also measure it: in every segment,
# each activation $H_k$ should follow exactly one note, so we correlate $H_k(t)$ with
# each note's energy envelope, computed from the notes rendered separately. The paper's
# setup for this demo is summarised in {doc}`../book/paper_setup` §4.
#
# ```{admonition} Learning objectives
# :class: tip
# After this chapter you can
# - build point clouds from a sinusoidal model, a constant-Q transform with a hop per bin
#   and a hybrid of several analyses;
# - fit iN-NMF with implicit $W$ *and* $H$ to points that lie on no grid;
# - measure, not only show, whether the components follow the notes — and say what such a
#   measurement cannot show.
#
# **You need:** {doc}`02_implicit_factors` (the networks and their encoding).
# ```

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper (innmf/experiments/settings.py)
overrides = {}  # any single setting, e.g. {"hybrid_epochs": 1000, "seed": 1}

# %% tags=["hide-input"]
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from innmf.data.piano import load_piano, load_piano_stems, piano_metadata
from innmf.chapters import fit_hybrid  # innmf.experiments.hybrid's, computed once per build and code
from innmf.experiments.hybrid import (
    activation_note_correlation, fm_frequency_error, note_assignment, note_envelopes,
)
from innmf.experiments.settings import get_profile
from innmf.tf.cqt import cqt
from innmf.tf.hybrid import paper_hybrid_cloud, stft_points
from innmf.accel.runtime import use_threads
from innmf.tools.exercises import check_grid_error
from innmf.report import figures, style
from innmf.report.clouds import plot_cloud
from innmf.report.captioned import table
from innmf.report.format import signed
from innmf.tf.signals import fm_instantaneous_frequency, fm_signal
from innmf.tf.sinusoidal import sinusoidal_analysis

P = get_profile(profile, **overrides)
use_threads(P["threads"])  # see innmf/accel/runtime.py: one thread is fastest for these small networks
print(f"profile {P['profile']}: rank K = {P['hybrid_rank']}, width h = {P['hybrid_hidden']}, "
      f"{P['hybrid_epochs']} epochs on {P['hybrid_fraction']:.0%} of the points each, seed {P['seed']}")

# %% [markdown]
# ## A frequency-modulated tone (the paper's first figure)
# A tone at $f_c = 440$ Hz with a vibrato of $\pm 60$ Hz at 4 Hz, with two overtones.
# Its instantaneous frequency $h\,(f_c + 60 \sin 2\pi\, 4t)$ is a curve in the
# time–frequency plane. A regular STFT can only say "there is energy in this bin at this
# frame": its points sit on the grid, 31 Hz apart here. A sinusoidal model interpolates
# each spectral peak between bins (a parabola through the log magnitudes of three bins),
# so its points land on the curve itself — and therefore on no grid.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The paper's Figure 1 remade: a frequency-modulated tone as a regular STFT (left) and as a sinusoidal model (middle), with the true instantaneous frequencies (cyan); right, a zoom on the fundamental.", "name": "fig-hyb-fm"}}
fm = dict(f_carrier=440.0, f_mod=4.0, depth=60.0)
sr_fm, n_fm = 8000, 256
x_fm = fm_signal(sr_fm, 1.0, n_harmonics=3, **fm)
grid = stft_points(x_fm, sr_fm, n_fm, n_fm // 4, name=f"STFT, N = {n_fm}")
peaks = sinusoidal_analysis(x_fm, sr_fm, window_length=n_fm, hop=n_fm // 4,
                            threshold_db=-40.0).points("sinusoidal model")
t_fine = np.linspace(0, 1, 2000)
fig = style.figure(aspect=0.95, pyplot=True)
panels = fig.subplot_mosaic([["grid", "peaks"], ["zoom", "zoom"]])
axes = [panels["grid"], panels["peaks"], panels["zoom"]]
truth, strongest = style.PALETTE[1], style.PALETTE[2]  # not methods: colours of no method
plot_cloud(grid, ax=axes[0], colorbar=False)
plot_cloud(peaks, ax=axes[1], point_size=9, colorbar=False)
for ax, title in zip(axes, [f"regular STFT, N = {n_fm}\n{len(grid)} points",
                            f"sinusoidal model\n{len(peaks)} points"]):
    for h in (1, 2, 3):
        ax.plot(t_fine, fm_instantaneous_frequency(t_fine, harmonic=h, **fm), color=truth, lw=0.8,
                zorder=0.5 if ax is axes[1] else 2, label="true instantaneous frequency" if h == 1 else None)
    ax.set(ylim=(0, 1700), xlim=(0, 1))
    ax.set_title(title, fontsize=style.FONT_PT)
# zoom on the fundamental: grid points, the strongest bin per frame, and the peaks
ax = axes[2]
zoom = (grid.t <= 0.3) & (grid.f > 330) & (grid.f < 560)
ax.scatter(grid.t[zoom], grid.f[zoom], s=8, marker="+", color="0.6", lw=0.6, label="STFT grid points")
times_g, freqs_g, M = grid.grid()
best = freqs_g[np.argmax(M, axis=0)]
ax.plot(times_g, best, "s", color=strongest, ms=4, mfc="none", label="strongest STFT bin")
low = peaks.f < 600
ax.plot(peaks.t[low], peaks.f[low], "o", color="k", ms=3, label="sinusoidal-model peak")
ax.plot(t_fine, fm_instantaneous_frequency(t_fine, **fm), color=truth, lw=1, zorder=0,
        label="true instantaneous frequency")
ax.set(xlim=(0, 0.3), ylim=(340, 540), xlabel="time (s)", title="zoom: the fundamental")
style.legend(ax, "below", ncols=2)
plt.show()

# %% [markdown]
# How close are the points to the curve? In every frame we take the STFT's strongest
# bin and the sinusoidal model's strongest peak (both on the fundamental) and compare
# their frequency with the true instantaneous frequency at the frame centre. The
# STFT's error is the distance to the nearest bin (up to half the bin spacing); the
# sinusoidal model's is well under 1 Hz. Longer windows shrink the grid but smear the
# vibrato (a 128 ms window sees the frequency sweep by up to 190 Hz), so both errors
# grow again at $N=1024$.

# %% tags=["hide-input"]
fm_table = pd.concat({n: fm_frequency_error(sr=sr_fm, seconds=1.0, n_fft=n, **fm) for n in (128, 256, 1024)},
                     names=["N", "representation"])
display(table(fm_table, "Frequency error on the tone's fundamental per window size N: the strongest STFT bin and "
              "the strongest sinusoidal-model peak of each frame against the true instantaneous frequency.",
              "tbl-hyb-fm-error", formats={c: "{:.2f}" for c in fm_table if c != "frames"}))

# %% [markdown]
# ## The piano recording
# Two notes from a General MIDI piano (FluidR3 sound font, rendered with fluidsynth):
# C3 from 0.1 s to 1.3 s and E3 from 1.2 s to 2.35 s, overlapping for 0.1 s. Both were
# also rendered alone, which gives us the ground truth the paper's demo lacks. As in
# the paper the audio is resampled to 4410 Hz (Nyquist 2205 Hz).

# %% tags=["hide-input"]
meta = piano_metadata()
notes = {n["name"]: n for n in meta["notes"]}
x, sr = load_piano()
_, stems, _ = load_piano_stems()
display(table(pd.DataFrame(meta["notes"]), "The recording's two notes: pitch, onset and note-off.", "tbl-hyb-notes",
              {"name": "note", "midi": "MIDI", "hz": "f0 (Hz)", "onset_s": "onset (s)", "note_off_s": "note-off (s)"},
              formats={"hz": "{:.1f}", "onset_s": "{:.2f}", "note_off_s": "{:.2f}"}))
display(figures.audio_table([("the mixture", x)] + [(f"{name} alone", stem) for name, stem in stems.items()],
                            rate=sr))

# %% [markdown]
# ## A constant-Q transform with a hop per bin
# Bin $k$ of the CQT is centred at $f_k = 20\cdot 2^{k/64}$ Hz and uses a window of
# $N_k = \mathrm{sr}\cdot Q / f_k$ samples ($Q = 64$ periods) with a hop of $N_k/8$: low
# bins have long windows and few frames, high bins short windows and many. There is no
# common time axis, so the CQT is not a matrix. (Our time stamps are the true window
# centres; the published code spreads each bin's frames evenly over the signal instead.)
# {numref}`fig-hyb-cqt` shows it.

# %% tags=["hide-input"]
C = cqt(x, sr, f_min=20.0, bins_per_octave=64, n_octaves=6.7, Q=64.0, hop_fraction=1 / 8)
show = [int(np.argmin(np.abs(C.freqs - f))) for f in (40, 130.8, 261.6, 523.3, 1046.5, 2000)]
display(table(pd.DataFrame({"bin k": show, "f_k (Hz)": C.freqs[show], "window N_k (samples)": C.window_lengths[show],
                            "hop H_k (samples)": C.hops[show], "frames": [len(C.times[k]) for k in show]}),
              "Six bins of the constant-Q transform: centre frequency, window length, hop and number of frames.",
              "tbl-hyb-cqt-bins", formats={"f_k (Hz)": "{:.1f}"}))
display(Markdown(f"{len(C.freqs)} bins, {C.n_points:,} points in all."))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The piano's constant-Q transform as points (left) and six of its bins, each on its own time grid (right).", "name": "fig-hyb-cqt"}}
fig = style.figure(aspect=0.85, pyplot=True)
axes = fig.subplots(2, 1)
plot_cloud(C.points("CQT"), ax=axes[0], log_frequency=True, point_size=1.0, colorbar=False)
axes[0].set(title="the whole CQT (each dot one coefficient)", ylim=(20, 2205), xlim=(0, C.duration))
for k in show:  # a few bins, each on its own time grid
    axes[1].scatter(C.times[k], np.full(len(C.times[k]), C.freqs[k]), s=6, c=np.abs(C.coefs[k]),
                    cmap="magma_r", vmin=0, vmax=np.abs(C.coefs[k]).max())
    axes[1].hlines(C.freqs[k], 0, C.duration, color="0.85", lw=0.5, zorder=0)
axes[1].set(yscale="log", xlim=(0, 0.6), ylim=(30, 2600), xlabel="time (s)", ylabel="frequency (Hz)",
            title="zoom: six bins, six time grids (first 0.6 s)")
plt.show()

# %% [markdown]
# ## The sinusoidal model of the piano
# Peaks of a Blackman–Harris STFT ($N = 1024$, hop 256, 4× zero padding), within 60 dB
# of the strongest, linked into partials frame to frame; partials shorter than three
# frames are dropped. The dashed lines mark the harmonic series of the two notes. The
# model's points land on the piano's partials, between bins, and those are not exactly
# harmonic: string stiffness makes a piano's upper partials sharp. The table measures
# it on each note rendered alone (median deviation from $h f_0$, in cents).
# {numref}`fig-hyb-sines` shows the peaks.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Sinusoidal model of the piano mixture: peaks linked into partials, with the two notes' harmonic series dashed.", "name": "fig-hyb-sines"}}
sines = sinusoidal_analysis(x, sr, window_length=1024, hop=256, threshold_db=-60.0, track=True, min_partial_frames=3)
fig = style.figure(aspect=0.5, pyplot=True)
ax = fig.add_subplot()
plot_cloud(sines.points(), ax=ax, point_size=10)
for (name, note), color in zip(notes.items(), style.PALETTE[::2]):
    for h in range(1, int(sr / 2 // note["hz"]) + 1):
        ax.axhline(h * note["hz"], xmin=0, xmax=1, color=color, lw=0.5, ls="--", alpha=0.6,
                   label=f"harmonics of {name}" if h == 1 else None)
ax.set(title=f"sinusoidal model: {len(sines.f)} peaks in {sines.partial.max() + 1} partials", ylim=(0, 2205))
style.legend(ax, "below", ncols=2)
plt.show()

# %% tags=["hide-input"]
deviation = {}
for name, stem in stems.items():
    alone = sinusoidal_analysis(stem, sr, window_length=1024, hop=256, threshold_db=-60.0, track=True,
                                min_partial_frames=3)
    f0 = notes[name]["hz"]
    h = np.round(alone.f / f0)
    strong = alone.m > 1e-2 * alone.m.max()
    deviation[name] = {hh: np.median(1200 * np.log2(alone.f[(h == hh) & strong] / (hh * f0)))
                       for hh in (1, 2, 4, 8, 12)}
cents = pd.DataFrame(deviation).T.rename_axis("note")
cents.columns = [f"h = {h} (cents)" for h in cents.columns]
display(table(cents, "Median deviation of each note's partial h from h times its f0, in cents, each note "
              "rendered alone.", "tbl-hyb-cents", formats={c: signed(0) for c in cents}))

# %% [markdown]
# ## The hybrid representation
# The paper's demo lays three analyses of the same 2.5 s one after another on one time
# axis: an STFT with $N=128$ (hop 32, good time resolution), an STFT with $N=1024$ (hop
# 256, good frequency resolution) and the CQT above. We append the sinusoidal model as a
# fourth segment. Every segment is amplitude-calibrated (a sinusoid of amplitude $A$
# reads $A/2$ everywhere), so one template per note can explain all of them. The
# targets are $m^{0.5}$, as in the paper.
# {numref}`fig-hyb-cloud` shows it.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The hybrid point cloud: STFT N = 128, STFT N = 1024, the CQT and the sinusoidal model of the same notes, laid one after another in time.", "name": "fig-hyb-cloud"}}
cloud = paper_hybrid_cloud(x, sr, power=0.5, include_sinusoidal=True)
counts = pd.Series({name: int(np.sum(cloud.source == s)) for s, name in enumerate(cloud.source_names)},
                   name="points")
fig = style.figure(aspect=0.45, pyplot=True)
ax = fig.add_subplot()
plot_cloud(cloud, ax=ax, point_size=1.5)
ax.set(title=f"hybrid point cloud: {len(cloud)} points", ylim=(0, 2205))
plt.show()

# %% [markdown]
# ## iN-NMF with implicit W and H, rank 2
# Both factors are networks of the paper's design ({doc}`02_implicit_factors`: a
# 10-frequency Fourier encoding, width $h=16$, sine activations, softplus output), one
# per component and factor. Inputs are the paper's
# coordinates $t/t_{\max}$ and $f/(\mathrm{sr}/2)$. Each epoch draws a random half of
# the points and takes one Rprop step (lr $10^{-3}$). Each network is evaluated once per
# *distinct* time or frequency in the epoch's points and the values are gathered to
# the points, which is what makes 100k points cheap.
# {numref}`fig-hyb-loss` shows it.

# %% mystnb={"figure": {"caption": "Training loss of the hybrid fit (mean KL over each epoch's random half of the points).", "name": "fig-hyb-loss"}}
# ~5 s at quick: no progress bar needed
fit = fit_hybrid(cloud, rank=P["hybrid_rank"], hidden=P["hybrid_hidden"],
                 epochs=P["hybrid_epochs"], fraction=P["hybrid_fraction"],
                 seed=P["seed"], device=P["device"], n_freqs=P["n_freqs"],
                 optimizer=P["optimizer"], lr=P["lr"], progress=False)
print(f"{P['hybrid_epochs']} epochs in {fit.seconds:.1f} s; "
      f"final mean KL {fit.losses[-1]:.2e}")
fig = style.figure(width=0.75, aspect=0.55, pyplot=True)
ax = fig.add_subplot()
epochs = np.arange(1, len(fit.losses) + 1)
ax.plot(epochs, fit.losses, color=style.color("iN-NMF"))
ax.set(yscale="log", xlabel="epoch", ylabel="mean KL (epoch's points)",
       title="training loss")
style.integer_ticks(ax.xaxis)
plt.show()

# %% [markdown]
# ### How well does each activation follow one note?
# For every segment we sample $H_k$ at that segment's own time stamps and correlate it
# (Pearson) with each note's energy envelope (50 ms Hann window on the note rendered
# alone). $H_k$ scales compressed magnitudes $m^{0.5}$ and $m$ grows like the amplitude,
# so a note's $H_k$ should be proportional to its amplitude, $E^{1/4}$ for an energy
# envelope $E$: that is what we correlate with. A component *follows* a note when its
# correlation with that note is the larger one; the assignment is good when, in every
# segment, the two components follow different notes with $r \ge 0.5$, and the same
# way round in all segments.

# %%
corr = activation_note_correlation(fit)
summary = note_assignment(corr)
first = corr.loc[corr.segment == cloud.source_names[0]]
follows = {k: note for k, note in zip(first["component"], first["follows"])}
separated = bool(summary["consistent"].iloc[-1])
print("activations follow one note each, the same way in every segment:",
      "yes" if separated else "NO")

# %% tags=["hide-input"]
display(table(counts.rename_axis("segment").reset_index(), "Points per segment of the hybrid cloud.",
              "tbl-hyb-points"))
display(table(corr, "Pearson r of each activation H_k with each note's envelope, one row per segment and "
              "component, and the note it follows.", "tbl-hyb-correlation",
              formats={c: "{:.2f}" for c in corr if c not in ("segment", "component", "follows")}))
display(table(summary, "The note each component follows per segment, the smallest of those correlations, and "
              "whether the assignment is one-to-one in the segment and the same in every segment.",
              "tbl-hyb-assignment", formats={"min r": "{:.2f}"}))

# %% tags=["remove-cell", "nbval-check-output"]
print(counts.to_string())
print(f"total {len(cloud)} points (the paper's three segments: {int(counts.iloc[:3].sum())})")
print()
print(corr.round(2).to_string(index=False))
print()
print(summary.round(2).to_string(index=False))

# %% [markdown]
# ### Templates
# Each $W_k$ is a continuous function of frequency, drawn here on a 2048-point grid
# (scaled to a peak of 1), with the harmonic series of the note it follows marked.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The learnt templates W_k(f) on a dense grid (peak 1), each with the harmonic series of the note its activation follows.", "name": "fig-hyb-templates"}}
pitch = {name: note["hz"] for name, note in notes.items()}
colors = {name: c for name, c in zip(pitch, style.PALETTE[::2])}  # the notes' colours in every figure
fig = style.figure(height=0.5 + 1.8 * fit.rank, pyplot=True)
axes = fig.subplots(fit.rank, 1, sharex=True, squeeze=False)[:, 0]
for k, ax in enumerate(axes):
    note = follows[k + 1]
    ax.plot(fit.freqs, fit.W[:, k], color="k", lw=0.9)
    for h in range(1, int(fit.freqs[-1] // pitch[note]) + 1):
        ax.axvline(h * pitch[note], color=colors[note], lw=0.8, ls="--", alpha=0.7,
                   label=f"harmonics of {note} ({pitch[note]:.1f} Hz)" if h == 1 else None)
    ax.set(ylabel=style.math_label("W", k + 1, "f"), title=f"template {k + 1} (its activation follows {note} best)")
    style.legend(ax, "right")
ax.set(xlabel="frequency (Hz)", xlim=(0, fit.freqs[-1]))
plt.show()

# %% [markdown]
# ### Activations, segment by segment
# $H_1$ and $H_2$ in each segment (solid), against the two notes' envelopes $E^{1/4}$
# (dotted, in the notes' colours), all scaled to a peak of 1 within the segment. The
# shaded bands mark where the notes are held according to the MIDI file; a note
# still rings briefly after its note-off.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Activations H_k in each segment (solid) against the notes' envelopes to the power 1/4 (dotted), all scaled to peak 1; shading marks where each note is held.", "name": "fig-hyb-activations"}}
comp_colors = ["k", style.PALETTE[1], style.PALETTE[4], style.PALETTE[5]]
fig = style.figure(aspect=0.8, pyplot=True)
n_rows = -(-len(fit.segment_names) // 2)
axes = fig.subplots(n_rows, 2, sharey=True, squeeze=False)
for ax in axes.flat[len(fit.segment_names):]:
    ax.set_visible(False)
for ax, name in zip(axes.flat, fit.segment_names):
    t = fit.times[name]
    for note_name, e in note_envelopes(t).items():
        note = notes[note_name]
        ax.axvspan(note["onset_s"], note["note_off_s"], color=colors[note_name], alpha=0.08)
        ax.plot(t, e**0.25 / (e**0.25).max(), color=colors[note_name], ls=":", lw=1.5,
                label=f"{note_name} envelope$^{{1/4}}$")
    for k in range(fit.rank):
        ax.plot(t, fit.H[name][k] / fit.H[name][k].max(), color=comp_colors[k % len(comp_colors)], lw=1,
                label=style.math_label("H", k + 1))
    ax.set(xlabel="time in the segment (s)", xlim=(0, t.max()))
    ax.set_title(name, fontsize=style.FONT_PT)
for ax in axes[:, 0]:
    ax.set_ylabel("scaled to peak 1")
style.figure_legend(fig, ncols=4)
plt.show()

# %% [markdown]
# ### Reading the result

# %% tags=["hide-input"]
weakest = float(summary["min r"].iloc[-1])
display(Markdown(
    f"With the `{profile}` profile ({P['hybrid_epochs']} epochs) the activations "
    + ("**follow one note each, the same way in every segment**" if separated else
       "**do not** follow one note each in every segment")
    + f"; the weakest correlation of a component with the note it follows is {weakest:.2f}."
))

# %% [markdown]
# When the fit separates the notes, each template is a comb on one note's harmonic
# series ({numref}`fig-hyb-templates`), and each activation rises at its note's onset and
# decays with it, in the short STFT, the long STFT, the CQT and the sinusoidal segment
# alike ({numref}`fig-hyb-activations`). The long STFT's activations are the coarsest (a
# frame every 58 ms, windows of 232 ms). A hammer strike is broadband, so a component can
# flare briefly at the other note's onset. Re-run with
# `overrides = {"hybrid_epochs": ..., "seed": ...}` to see how many epochs the separation
# takes: the notes separate well before the loss stops falling.
#
# What this measurement cannot show: the two notes barely overlap, so their envelopes
# are nearly complementary and a component that simply switches on at the second note's
# onset would correlate well too (exercise {ref}`ex-hyb-blind` measures such a blind
# baseline). Whether factorising irregular points *separates* sources better than a grid
# does is measured in {doc}`07_music_stems`: twenty chorales with exact stems, scored after
# inversion to audio against grid baselines, a floor and an oracle ceiling.
#
# ## What we measure beyond the paper, and what differs
# - **Quantified, not only shown.** The paper shows the templates and activations of
#   the hybrid fit. We correlate each activation with each note's ground-truth envelope
#   in every segment and check that the assignment is one-to-one and consistent, and we
#   measure in hertz how well the irregular (sinusoidal) points of {numref}`fig-hyb-fm` track the
#   true frequency compared with a grid.
# - **A fourth, truly irregular segment.** The paper names sinusoidal models but its
#   code has none; our hybrid includes one.
# - **Time stamps.** Our CQT frames are stamped at their true window centres; the
#   published code spreads each bin's frames evenly over the signal, which misplaces
#   them in time by up to half a window.
# - **Calibrated magnitudes.** A sinusoid of amplitude $A$ reads $A/2$ in every segment
#   and every CQT bin. The published code scales the STFTs by $1/\sqrt{N}$ and the CQT
#   bins by $1/\sqrt{N_k}$, so the same note has different levels in different segments
#   and CQT levels that fall with frequency — which shared templates cannot absorb.
# - **Point counts.** The published demo has about 98,600 points; ours are counted in the
#   table above (the CQT's framing at the edges and the recording differ).
# - **Recording.** The published demo's piano recording is not part of its code; ours is
#   rendered from a free sound font, with each note also rendered alone
#   (`data/piano/README.md`).
#
# The window-size generalisation of {doc}`03_reconstruction` and the separation of
# {doc}`04_separation` need only implicit $W$; here $H$ is implicit too, which is what
# lets one model span segments with unrelated time grids.
#
# ## Exercises
# Each solution is executed whenever the book is built and tested. A longer project
# without a worked solution: leave the sinusoidal segment out of the fit
# (`include_sinusoidal=False`), then sample the learnt $H$ at that segment's times anyway
# with `activation_note_correlation`. Why are those activations meaningless?
#
# ```{exercise} A spectrally blind baseline
# :label: ex-hyb-blind
# Build two "activations" that know nothing about spectra: the first is 1 before the
# second note's onset and 0 after, the second the opposite. Correlate them with the
# notes' envelopes (to the power 1/4) in the long-STFT segment, as the chapter does for
# $H_k$. What does the result say about the correlation test?
# ```
#
# ```{solution-start} ex-hyb-blind
# :class: dropdown
# ```

# %%
second = max(notes.values(), key=lambda n: n["onset_s"])
segment = fit.segment_names[1]
t_seg = fit.times[segment]
envelopes = {name: e**0.25 for name, e in note_envelopes(t_seg).items()}
blind = {"before the second onset": (t_seg < second["onset_s"]).astype(float),
         "after the second onset": (t_seg >= second["onset_s"]).astype(float)}
r_blind = pd.DataFrame({
    k: {name: np.corrcoef(v, env)[0, 1] for name, env in envelopes.items()}
    for k, v in blind.items()
}).T.rename_axis("blind activation")
display(table(r_blind, "Pearson r of each blind activation with each note's "
              "envelope and the step functions.", "tbl-hyb-blind",
              formats={c: "{:.2f}" for c in r_blind}))

# %% [markdown]
# The step functions correlate strongly with the notes they happen to overlap, so a
# high correlation is necessary but not sufficient: the test cannot tell unmixing from
# switching when the notes barely overlap.
#
# ```{solution-end}
# ```
#
# ```{exercise} A third component
# :label: ex-hyb-rank3
# Fit the hybrid with rank 3. What does the third component capture (look at where its
# activation is large)? Does the assignment table still find one component per note?
# ```
#
# ```{solution-start} ex-hyb-rank3
# :class: dropdown
# ```

# %%
fit3 = fit_hybrid(cloud, rank=3, hidden=P["hybrid_hidden"],
                  epochs=P["hybrid_epochs"], fraction=P["hybrid_fraction"],
                  seed=P["seed"], device=P["device"], n_freqs=P["n_freqs"],
                  optimizer=P["optimizer"], lr=P["lr"], progress=False)
summary3 = note_assignment(activation_note_correlation(fit3))
display(table(summary3, "The rank-3 fit: the note each component follows "
              "per segment.", "tbl-hyb-rank3", formats={"min r": "{:.2f}"}))

# %% [markdown]
# With three components for two notes, two notes cannot map one-to-one onto three
# activations, so `one-to-one` is false by construction; the extra component typically
# takes the onsets (broadband hammer noise) or splits one note's partials.
#
# ```{solution-end}
# ```
#
# ```{exercise} The grid's resolution
# :label: ex-hyb-grid
# In the regular STFT of {numref}`fig-hyb-fm` ($N = 256$ at 8 kHz), how far apart are the bins in Hz, and
# so what is the largest error of "the strongest bin" as a frequency estimate? Check with
# `check_grid_error(sr_fm, n_fm, answer)`.
# ```
#
# ```{solution-start} ex-hyb-grid
# :class: dropdown
# ```

# %%
spacing = sr_fm / n_fm
print(f"bin spacing {spacing:.2f} Hz")
answer = spacing / 2
print(check_grid_error(sr_fm, n_fm, answer))

# %% [markdown]
# The bins are $8000/256 = 31.25$ Hz apart, so the nearest bin can be off by up to
# 15.6 Hz; the sinusoidal model's interpolated peaks are far closer (the table of
# frequency errors above).
#
# ```{solution-end}
# ```
