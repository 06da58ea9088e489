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
# # 2. Implicit neural factors
#
# {doc}`01_nmf_recap` ended on the limitation this book is about: a dictionary $W$ learnt
# at one window size $N$ has one row per STFT bin of that $N$ and describes nothing else.
# iN-NMF {cite:p}`subramani2024` replaces each column $W_k$ by a *function* of frequency,
# $W_k(f)$, represented by a small neural network — an implicit neural representation
# (INR). The model of a spectrogram is still
#
# $$\hat V_{ft} = \sum_{k=1}^{K} W_k(f)\, H_{kt},$$
#
# but $W_k$ can now be evaluated at any $f$: at the 1001 bins of $N=2000$, the 501 bins of
# $N=1000$, or at frequencies that lie on no grid at all. This chapter builds the network
# piece by piece (the encoding, the layers), fits it to one speaker, samples one learnt
# template at several resolutions, and ends with an ablation of the design choices that
# the paper fixes without testing.
#
# ```{admonition} Learning objectives
# :class: tip
# After this chapter you can
# - explain the spectral bias of neural networks and what a Fourier encoding does about it;
# - build and count the parameters of the paper's per-component network;
# - fit iN-NMF to a spectrogram and sample the learnt dictionary at any window size;
# - read a paired, one-factor-at-a-time ablation and say which differences are ties.
#
# **You need:** {doc}`01_nmf_recap` (NMF, the KL divergence, $V = |X|^p$).
# ```

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper (innmf/experiments/settings.py)
overrides = {}  # any single setting, e.g. {"corpus": "timit:/data/TIMIT", "rank": 10}
workers = 2  # local processes fitting the ablation's configurations at once (the same numbers as one)

# %% tags=["hide-input"]
# %matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np

from innmf import SAMPLE_RATE
from IPython.display import Markdown, display

from innmf.tools.exercises import check_coordinate_shift, check_largest_encoding, check_network_parameters
from innmf.report import figures, style
from innmf.report.captioned import Scaled, table
from innmf.chapters import inr_ablation  # innmf.experiments.ablation's, computed once per build and code
from innmf.data import load_corpus
from innmf.paper.encoding import FourierEncoding
from innmf.paper.metrics import kl_divergence
from innmf.models.implicit import ImplicitWNMF
from innmf.models.nmf import nmf
from innmf.experiments.settings import get_profile
from innmf.report.published import published_kl
from innmf.accel.runtime import use_threads
from innmf.tf.stft import frequency_coordinate, magnitude, stft_frequencies, stft_times

P = get_profile(profile, **overrides)
use_threads(P["threads"])  # one thread: fastest and reproducible (innmf/accel/runtime.py)
corpus = load_corpus(P["corpus"])
speaker = corpus.speakers[0]
x = speaker.audio()[: int(P["train_seconds"] * SAMPLE_RATE)]
n_fft, K, p, seed = P["train_n_fft"], P["rank"], P["power"], P["seed"]
V = magnitude(x, n_fft, power=p)
freqs, times = stft_frequencies(n_fft, SAMPLE_RATE), stft_times(V.shape[1], n_fft, SAMPLE_RATE)
coords = frequency_coordinate(n_fft)
fit_options = {"optimizer": P["optimizer"], "lr": P["lr"]}
print(f"speaker {speaker.id}, {len(x) / SAMPLE_RATE:.1f} s, N = {n_fft}: V is {V.shape[0]} x {V.shape[1]}, "
      f"rank K = {K}, {P['inr_epochs']} epochs of {P['optimizer']} (profile '{P['profile']}')")

# %% [markdown]
# ## The network's input: a Fourier encoding of frequency
# The network sees a frequency as a coordinate $x \in [-0.5, 0.5)$. For bin $k$ of an
# $N$-point DFT the paper uses $x = k/(N/2+1) - 0.5$ (`innmf.tf.stft.frequency_coordinate`),
# so the same physical frequency lands on (almost) the same $x$ whatever $N$ is.
#
# A multilayer perceptron fed the raw scalar $x$ learns smooth functions first and fine
# detail late or never — the *spectral bias* of neural networks {cite:p}`rahaman2019`.
# A speech spectrum is anything but smooth: voiced frames are combs of harmonics 100–250 Hz
# apart, i.e. 12–30 bins at $N = 2000$. {cite:t}`tancik2020` showed that mapping the input
# through sinusoids of increasing frequency first lets the network fit such detail. The
# paper's encoding ({doc}`../book/paper_setup` §2) uses $J$ fixed octave-spaced frequencies and random phases:
#
# $$\gamma(x) = \big[\cos(\pi 2^j x + b_j),\ \sin(\pi 2^j x + b_j)\big]_{j=0}^{J-1},
# \qquad b_j \sim \mathcal N(0, 1),$$
#
# $2J$ features (20 for the paper's $J=10$), frozen during training. Despite its name in
# the published code ("random Fourier features"), only the phases are random; Tancik et
# al.'s features draw the frequencies too (`FourierEncoding(kind="gaussian")`). Feature $j$
# completes $2^{j-1}$ periods over the whole axis, so the finest ($j=9$) has a period of
# $2^{-8}$ in $x$, about 4 bins at $N=2000$ (31 Hz).
# {numref}`fig-inr-encoding` shows it.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The paper's Fourier encoding of the frequency coordinate: all features as an image (left), four of them against frequency at the training window size (right).", "name": "fig-inr-encoding"}}
enc = FourierEncoding(n_freqs=P["n_freqs"], kind="paper", seed=seed)
xs = np.linspace(-0.5, 0.5, 2001)
feats = enc(xs).numpy()
J = P["n_freqs"]
hz = (xs + 0.5) * (n_fft // 2 + 1) * SAMPLE_RATE / n_fft  # the coordinate in Hz at the training N

fig = style.figure(aspect=0.95, pyplot=True)
ax_img, ax_lines = fig.subplots(2, 1)
# interleave cos/sin of the same j so rows go from slow to fast
order = np.ravel(np.column_stack([np.arange(J), J + np.arange(J)]))
mesh = ax_img.pcolormesh(xs, np.arange(2 * J), feats[:, order].T, shading="nearest", cmap="RdBu_r")
ax_img.set_yticks(np.arange(0, 2 * J, 2), [f"$j = {j}$" for j in range(J)])
ax_img.set(xlabel="coordinate $x$", title=rf"$\gamma(x)$: {2 * J} features (cos, sin per $j$)")
fig.colorbar(mesh, ax=ax_img)
shown_j = [j for j in (0, 3, 6, 9) if j < J]
for j, color in zip(shown_j, style.sequence(len(shown_j))):
    ax_lines.plot(hz, feats[:, j] + 2.5 * j / 3, color=color, label=rf"$\cos(\pi\, 2^{{{j}}} x + b_{{{j}}})$")
ax_lines.set(xlabel=f"frequency (Hz) at N = {n_fft}", yticks=[], xlim=(0, 2000),
             title="four of the features, offset, 0–2 kHz")
style.legend(ax_lines, "below", ncols=len(shown_j))
plt.show()

# %% [markdown]
# ### Spectral bias, seen on one frame
# To see what the encoding buys, fit one column of $V$ — the frame with the most energy, a
# voiced sound — by a rank-1 iN-NMF ($\hat v(f) = W_1(f)\,h$) with $J = 1$ (two features
# of period 2: essentially the raw coordinate), $J = 4$ and the paper's $J = 10$, each for
# the profile's number of epochs.
# {numref}`fig-inr-spectral-bias` shows it.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "One voiced frame (grey) fitted by a rank-1 iN-NMF with J = 1, 4 and 10 encoding frequencies: spectral bias in action.", "name": "fig-inr-spectral-bias"}}
t_loud = int(np.argmax(V.sum(axis=0)))
frame = V[:, [t_loud]]
frame_fits = {}
for j in (1, 4, 10):
    one = ImplicitWNMF(1, hidden=P["hidden"], n_freqs=j, seed=seed, device=P["device"])
    one.fit(frame, coords, epochs=P["inr_epochs"], **fit_options)
    frame_fits[j] = one.sample_W(coords) @ one.H_

fig = style.figure(aspect=0.85, pyplot=True)
axes = fig.subplots(len(frame_fits), 1, sharex=True, sharey=True)
for ax, (j, fitted), color in zip(axes, frame_fits.items(), style.sequence(len(frame_fits))):
    ax.plot(freqs, frame[:, 0], color="0.6", lw=2.5, label=f"$V$ at t = {times[t_loud]:.2f} s")
    ax.plot(freqs, fitted[:, 0], color=color, lw=1.2, label=f"$J = {j}$: KL {kl_divergence(frame, fitted):.1e}")
    ax.set(ylabel=style.POWER_MAGNITUDE, xlim=(0, 2000))
    style.legend(ax, "right")
axes[0].set_title(f"one frame fitted by one network, {P['inr_epochs']} epochs")
axes[-1].set_xlabel("frequency (Hz)")
plt.show()

# %% tags=["hide-input"]
frame_kl = {j: kl_divergence(frame, fitted) for j, fitted in frame_fits.items()}
display(Markdown(f"KL of each fit of the frame relative to $J = 10$'s ({P['inr_epochs']} epochs): "
                 + ", ".join(f"$J = {j}$: {frame_kl[j] / frame_kl[10]:.3g}" for j in frame_kl) + "."))

# %% [markdown]
# Spectral bias: a network with few encoding frequencies can draw only smooth shapes,
# and it draws the broad ones first, so with $J=1$ the fit starts as a bump and reaches
# for the harmonic comb only with many epochs, while $J=10$ can follow single bins; the
# line above says how far each got on this build's budget. Nothing forces a spectral
# template to be smooth, so the encoding's highest frequency sets how much detail a
# template *can* hold — and, as we will see, also how it behaves between the bins it was
# trained on.
#
# ## The network
# Each component $k$ has its own network ({doc}`../book/paper_setup` §2; the published code's layout for
# speech, width $h=64$):
#
# $$x \xrightarrow{\gamma} \mathbb R^{2J} \xrightarrow{\text{Linear}} \mathbb R^{h}
# \xrightarrow{\text{Linear}} \xrightarrow{\sin} \xrightarrow{\text{Linear}} \xrightarrow{\sin}
# \xrightarrow{\text{Linear}} \xrightarrow{\sin} \xrightarrow{\text{Linear}} \mathbb R
# \xrightarrow{\text{softplus}} W_k(x) \ge 0 .$$
#
# Three remarks. The softplus makes every template non-negative without the projections
# or multiplicative updates classic NMF needs. There is no activation after the first
# layer, so the first two linear maps compose into one — the network is a three-sine-layer
# MLP with an over-parameterised first layer. And the weights use PyTorch's default
# initialisation, not the SIREN rule {cite:p}`sitzmann2020`, so the sines start in their
# nearly linear range. $H$ is a free $K\times T$ matrix, $H = \operatorname{softplus}(\Theta)$.
#
# The published code calls the $K$ networks one after another. `innmf.models.inr.ComponentNetworks`
# stacks the $K$ networks' weights layer by layer into $(K, d_{in}, d_{out})$ tensors and
# evaluates all components at all frequencies with one grouped matrix product per layer
# (and multiplies the two first layers' small matrices before touching the points). It is
# the same function with the same parameters — the test suite checks it against a
# per-component implementation of the published layout (`innmf.tools.bench.published_structure`) — only
# faster.

# %%
model = ImplicitWNMF(K, hidden=P["hidden"], n_freqs=P["n_freqs"], seed=seed,
                     device=P["device"])
params = model.net.parameters()
n_net = sum(p_.numel() for p_ in params if p_.requires_grad)
print(f"{n_net:,} trainable network parameters = K x {n_net // K:,}")
print(f"H adds K x T = {K * V.shape[1]:,}")
print(f"Classic NMF's W has F x K = {V.shape[0] * K:,}")

# %% [markdown]
# At the paper's size the dictionary has *more* parameters than NMF's $W$ at $N=2000$
# ($20\times13{,}889$ against $1001\times20$); what it gains is not compactness but a
# continuous frequency axis.
#
# ## Fitting one speaker
# Both models minimise the mean generalised KL divergence between $V$ and $\hat V$. NMF
# uses multiplicative updates from the paper's initialisation; iN-NMF uses full-batch
# Rprop on the network weights and $\Theta$ (the paper's optimiser, learning rate
# $10^{-3}$). An NMF iteration and an Rprop epoch are different amounts of work, so
# compare where the curves end, not their slopes.
# {numref}`fig-inr-training` shows it.

# %% mystnb={"figure": {"caption": "Training curves of NMF (multiplicative updates) and iN-NMF (Rprop) on the same spectrogram; compare where they end, not their slopes.", "name": "fig-inr-training"}}
start = time.perf_counter()
res = nmf(V, K, P["nmf_iter"], beta=1, init="paper", seed=seed,
          device=P["device"])
t_nmf = time.perf_counter() - start
start = time.perf_counter()
fitted = model.fit(V, coords, epochs=P["inr_epochs"], progress=False,
                   **fit_options)
history = fitted.history_
t_inr = time.perf_counter() - start
W_inr, H_inr = model.sample_W(coords), model.H_
kl_nmf = kl_divergence(V, res.W @ res.H)
kl_inr = kl_divergence(V, W_inr @ H_inr)
fig = figures.convergence(
    {f"NMF, {P['nmf_iter']} MU iterations": res.losses,
     f"iN-NMF, {P['inr_epochs']} Rprop epochs": history},
    ylabel="mean KL divergence",
    title=f"speaker {speaker.id}, N = {n_fft}, K = {K}",
)
fig.axes[0].set_xlabel("iteration / epoch")
fig

# %%
print(f"final KL: NMF {kl_nmf:.3e} ({t_nmf:.1f} s), "
      f"iN-NMF {kl_inr:.3e} ({t_inr:.1f} s); "
      f"iN-NMF / NMF = {kl_inr / kl_nmf:.2f} after {P['inr_epochs']} epochs "
      f"against {P['nmf_iter']} iterations")
published = published_kl().pivot_table(index="n_fft", columns="method",
                                       values="mean")
paper = get_profile("paper")
if n_fft in published.index:
    ratio_paper = published.loc[n_fft, "iN-NMF"] / published.loc[n_fft, "NMF"]
    print(f"the paper (500 TIMIT trials): iN-NMF / NMF = {ratio_paper:.2f} "
          f"at N = {n_fft} after {paper['inr_epochs']} epochs "
          f"against {paper['nmf_iter']} iterations")

# %% [markdown]
# The two lines above set this build's ratio beside the paper's ({doc}`../book/paper_setup` §3),
# each with its training budget; a shorter budget stops both models further from
# convergence. The learnt factors look like NMF's: harmonic templates
# low in frequency, broadband ones high up (components sorted by centroid, each template
# scaled to its maximum and its activations by the inverse).
# {numref}`fig-inr-factors` shows it.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "iN-NMF factors of the same speaker: the networks sampled at the training bins (each template scaled to peak 1) and their activations.", "name": "fig-inr-factors"}}
order = np.argsort((W_inr * freqs[:, None]).sum(0) / W_inr.sum(0))
peak = W_inr.max(axis=0)  # show each template scaled to its maximum (W H unchanged)
fig = figures.factors((W_inr / peak)[:, order], (H_inr * peak[:, None])[order], freqs, times,
                      title=f"iN-NMF of speaker {speaker.id}: W sampled at the {len(freqs)} bins of N = {n_fft}")
fig

# %% [markdown]
# ## One template, many resolutions
# The network is trained on the 1001 bin frequencies of $N=2000$ only. Sampling it at
# the bins of another window size is one forward pass — no retraining. Below, the
# template that carries the most energy below 1 kHz ($\sum_{f<1\,\mathrm{kHz}} W_k \cdot
# \sum_t H_k$, so a voiced one) is sampled at the bins of $N = 500, 1000, 2000, 4000$
# and on a dense grid of 8000 coordinates, and drawn against the NMF template most
# similar to it (cosine similarity), which exists only at $N=2000$'s 1001 bins (scaled
# by least squares: NMF's factors have no fixed scale).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "One learnt template sampled at four window sizes and on a dense grid, against the closest NMF template (top: 0 to 8 kHz; bottom: zoom on 0 to 1.2 kHz).", "name": "fig-inr-resolutions"}}
low = freqs < 1000  # a voiced template shows the harmonic detail best
k_star = int(np.argmax(W_inr[low].sum(0) * H_inr.sum(1)))
w_star = W_inr[:, k_star]
cos = (res.W.T @ w_star) / (np.linalg.norm(res.W, axis=0) * np.linalg.norm(w_star))
j_star = int(np.argmax(cos))
w_nmf = res.W[:, j_star] * (res.W[:, j_star] @ w_star) / (res.W[:, j_star] @ res.W[:, j_star])

dense = np.linspace(-0.5, 0.5, 8001)[:-1]
dense_hz = (dense + 0.5) * (n_fft // 2 + 1) * SAMPLE_RATE / n_fft
w_dense = model.sample_W(dense)[:, k_star]
sampled = {n: (stft_frequencies(n, SAMPLE_RATE), model.sample_W(frequency_coordinate(n))[:, k_star])
           for n in (500, 1000, 2000, 4000)}

fig = style.figure(aspect=1.05, pyplot=True)
top, zoom = fig.subplots(2, 1)
nmf_label = f"NMF template {j_star} (cosine {cos[j_star]:.2f}): the {len(freqs)} bins of N = {n_fft} only"
dense_label = "iN-NMF template, dense grid (8000 coordinates)"
top.plot(freqs, w_nmf, color=style.color("NMF"), lw=0.8, alpha=0.6, label=nmf_label)
top.plot(dense_hz, w_dense, color=style.color("iN-NMF"), lw=0.8, label=dense_label)
top.set(xlim=(0, SAMPLE_RATE / 2), ylabel=style.math_label("W", k_star, "f"),
        title=f"iN-NMF template {k_star} and the closest NMF template")
zoom.plot(dense_hz, w_dense, color=style.color("iN-NMF"), lw=0.8, label=dense_label)
for (n, (f_n, w_n)), ms, color in zip(sampled.items(), (10, 7, 5, 3), style.sequence(len(sampled))):
    zoom.plot(f_n, w_n, "o", ms=ms, mfc="none", color=color, alpha=0.9, label=f"sampled at the {len(f_n)} bins of N = {n}")
zoom.plot(freqs, w_nmf, "x", ms=4, color=style.color("NMF"), alpha=0.7, label=nmf_label)
zoom.set(xlim=(0, 1200), ylim=(0, 1.15 * w_dense[dense_hz <= 1200].max()),
         xlabel="frequency (Hz)", ylabel=style.math_label("W", k_star, "f"),
         title="zoom on 0–1.2 kHz: one function at four window sizes")
style.figure_legend(fig, (top, zoom), ncols=1)
plt.show()

# %% [markdown]
# All four samplings lie on one curve: that is the whole mechanism of the paper's
# window-size generalisation. To model a spectrogram at another $N$, sample $W$ at its bins
# and fit $H$ alone (the KL is convex in $H$ once $W$ is fixed); {doc}`03_reconstruction`
# measures how well that works over many trials. Two caveats. Between the training bins
# nothing in the loss constrains the function: what the dense curve does there, and
# what $N = 4000$ samples, is whatever the network's smoothness makes of it. For the
# paper's network that stays close to an interpolation of the bin values; the ablation
# below shows a network for which it does not. And the NMF template, free in every bin,
# is typically spikier than what the network draws at the same bins.
#
# ## A small ablation: encoding size, activation, width
# The paper uses $J=10$, sines and $h=64$ and never varies them ({doc}`../book/paper_setup` §7). Each
# configuration below is a full fit on the same spectrogram with the **same seed** — the
# same initial $H$ and, where $J$ agrees, the same encoding phases — so differences are
# paired, not draws of different luck. One factor varies at a time around the paper's
# setting (`innmf.experiments.ablation.inr_ablation`; the full Cartesian product costs the product of
# the grid sizes). Each row reports the KL at the training size and, after sampling $W$ at
# a smaller and a larger window size and refitting $H$ alone, the KL there.
# {numref}`fig-inr-ablation` shows it.

# %%
all_n = sorted((set(P["n_ffts"]) | set(P["extra_n_ffts"])) - {n_fft})
others = {n: magnitude(x, n, power=p) for n in (all_n[0], all_n[-1])}
grid = {"n_freqs": [1, 4, 10, 13], "activation": ["sin", "relu"],
        "hidden": [16, 64]}
ablation = inr_ablation(V, n_fft, grid, rank=K, epochs=P["ablation_epochs"],
                        seed=seed, device=P["device"], others=others,
                        refit_epochs=P["refit_epochs"], workers=workers,
                        **fit_options)

# %% tags=["remove-cell", "nbval-check-output"]
kl_cols = ["kl"] + [f"kl_N{n}" for n in others]
shown = ablation[["label", "n_freqs", "activation", "hidden", "n_params"] + kl_cols].copy()
shown[kl_cols] = shown[kl_cols].map(lambda v: f"{v:.2e}")
print(shown.rename(columns={"kl": f"kl_N{n_fft} (train)"}).to_string(index=False))

# %% tags=["hide-input"]
rel = ablation.set_index("label")[kl_cols] / ablation.loc[ablation["is_base"], kl_cols].to_numpy()
headers = {"n_freqs": "J", "activation": "activation", "hidden": "width h",
           "n_params": "parameters", "kl": f"KL at N = {n_fft} (training)",
           **{f"kl_N{n}": f"KL at N = {n} (H refit)" for n in others}}
display(table(ablation, "The ablation's configurations, one per row (one factor varied at a time, same seed): "
              "size and KL at the training size and, with W sampled and H refitted, at two other sizes.",
              "tbl-inr-ablation", headers, formats={c: Scaled(2) for c in kl_cols}))
relative = rel.reset_index().assign(seconds=ablation["seconds"].to_numpy())
display(table(relative, "The same fits relative to the paper's network (KL over its KL at each window size N) "
              "and each fit's wall time.", "tbl-inr-ablation-relative",
              {"label": "configuration", "kl": f"KL / paper's, N = {n_fft}",
               **{f"kl_N{n}": f"KL / paper's, N = {n}" for n in others}, "seconds": "wall time (s)"},
              formats={**{c: "{:.3f}" for c in kl_cols}, "seconds": "{:.1f}"}))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The ablation, one factor at a time around the paper's network (orange): KL relative to the paper's network at the training size and, with W sampled and H refit, at two other window sizes. Left of the dashed line is better.", "name": "fig-inr-ablation"}}
def pretty(label: str) -> str:
    if label == "base":
        return f"paper: J = {P['n_freqs']}, sin, h = {P['hidden']}"
    key, value = label.split("=")
    return {"n_freqs": f"J = {value}", "activation": value, "hidden": f"h = {value}"}.get(key, label)


fig = style.figure(height=0.3 * len(ablation) + 1.7, pyplot=True)
axes = fig.subplots(1, len(kl_cols), sharey=True, squeeze=False)
y = np.arange(len(ablation))
colors = [style.color("paper") if b else style.REFERENCE for b in ablation["is_base"]]
for ax, col in zip(axes[0], kl_cols):
    ratio = rel[col].to_numpy()
    ax.axvline(1.0, color=style.color("paper"), lw=1, ls="--")
    ax.hlines(y, 1.0, ratio, color="0.6", lw=1)
    ax.scatter(ratio, y, c=colors, s=50, zorder=3)
    n = n_fft if col == "kl" else int(col.removeprefix("kl_N"))
    ax.set_title(f"N = {n}\n" + ("(training)" if col == "kl" else "($H$ refit)"), fontsize=style.FONT_PT)
    ax.grid(axis="x", alpha=0.3)
axes[0, 0].set_yticks(y, [pretty(label) for label in ablation["label"]])
axes[0, 0].invert_yaxis()
fig.supxlabel("KL / KL of the paper's network (left of the dashed line: better)", fontsize=style.FONT_PT)
plt.show()

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Training curves of the ablation's configurations (same seed), spikes clipped.", "name": "fig-inr-ablation-curves"}}
histories = {pretty(label): h for label, h in ablation.attrs["histories"].items()}
fig = figures.convergence(histories, ylabel="mean KL divergence",
                          title="training curves of the ablation (same seed), spikes clipped")
finals = [h[-1] for h in histories.values()]
fig.axes[0].set(xlabel="epoch", ylim=(0.9 * min(finals), 4 * max(finals)))
fig

# %% [markdown]
# ### Reading the ablation
# The numbers below are this build's (one speaker, one seed, the profile's
# `ablation_epochs`); `overrides = {"seed": 1}` re-runs it with another seed, and on the
# `smoke` budget nothing here is worth reading.

# %% tags=["hide-input"]
def ratio(label: str, col: str) -> str:
    return f"{rel.loc[label, col]:.2f}" if label in rel.index else "–"


small, large = (f"kl_N{n}" for n in others)
n_small, n_large = others
display(Markdown("\n".join([
    f"- **Encoding size $J$.** Relative to the paper's $J = {P['n_freqs']}$ at the training size: "
    f"$J=1$ {ratio('n_freqs=1', 'kl')}, $J=4$ {ratio('n_freqs=4', 'kl')}, $J=13$ {ratio('n_freqs=13', 'kl')}. "
    f"Sampled at $N={n_small}$ and $N={n_large}$ with $H$ refit, $J=13$ has {ratio('n_freqs=13', small)} and "
    f"{ratio('n_freqs=13', large)} times the paper's KL.",
    f"- **Activation.** ReLU against sine: {ratio('activation=relu', 'kl')} at the training size, "
    f"{ratio('activation=relu', large)} at $N={n_large}$.",
    f"- **Width.** $h=16$ against $h={P['hidden']}$: {ratio('hidden=16', 'kl')} at the training size, "
    f"{ratio('hidden=16', small)} at $N={n_small}$, {ratio('hidden=16', large)} at $N={n_large}$.",
])))

# %% [markdown]
# Why the encoding matters in both directions. Too few frequencies and the network
# cannot follow the harmonic detail. Too many and little is gained at the training size
# but much can be lost elsewhere, by aliasing: feature $j$ has period $2^{1-j}$ in $x$,
# the training bins are $1/(N/2+1)$ apart, and a feature varies faster than the grid can
# see once its period drops below two bins, i.e. once $2^j > N/2+1$. For $N = 2000$ that
# happens from $j = 10$ on: $J = 10$ (features $j \le 9$) is exactly the largest encoding
# whose every feature is resolved by the training grid. A larger $J$ can wiggle between
# the training bins at no cost in the loss, and other window sizes sample those wiggles
# ({numref}`fig-inr-resolutions` shows the paper's network staying close to an
# interpolation of its bin values). For another training size the rule is
# $J \le \lfloor \log_2(N/2+1) \rfloor + 1$.
#
# ReLU with a Fourier encoding in front can fit detail too — the encoding, not the
# periodic activation, is what lets the network do so ({cite:t}`tancik2020`'s point).
# Whether Rprop's sign-based steps get along with ReLU's kinks shows in its training
# curve ({numref}`fig-inr-ablation-curves`), where instability appears as spikes; the
# activation line above gives what this build's run ended at. The width line gives what
# width buys, to be set against its parameters and its wall time in the table.
#
# Limits of this ablation, stated plainly: one speaker, one seed per build, one budget
# (not converged: the curves still fall); KL on the training audio only, so
# "generalisation" here means other window sizes of the *same* signal, not new speech.
# Rprop steps by the *sign* of each gradient entry, so tiny differences grow: two
# mathematically identical evaluations of the same network drift apart over a few
# hundred epochs (`results/paper-embedded/README.md` measures how far, between
# recordings). Read differences no larger than that drift as ties.
#
# ## Exercises
# Each solution is executed whenever the book is built and tested.
#
# ```{exercise} Counting parameters
# :label: ex-inr-parameters
# The paper's network ($J = 10$, $h = 64$) has the 13,889 trainable parameters per
# component printed above. How many does one component's network have with $J = 8$ and
# $h = 32$? Count layer by layer (a linear map $a \to b$ has $ab + b$; check your count
# on the paper's network first), then check with `check_network_parameters(32, 8, answer)`.
# ```
#
# ```{solution-start} ex-inr-parameters
# :class: dropdown
# ```

# %%
def count(n_freqs: int, h: int) -> int:
    d_in = 2 * n_freqs
    return (d_in * h + h) + 3 * (h * h + h) + (h + 1)


answer = count(8, 32)
print(check_network_parameters(32, 8, answer),
      f"({answer:,}; the paper's network: {count(10, 64):,})")

# %% [markdown]
# $16 \cdot 32 + 32$ for the first layer, $3 \times (32^2 + 32)$ for the three $h \to h$
# layers and $32 + 1$ for the output: 3,745, about a quarter of the paper's 13,889
# ($20 \cdot 64 + 64 + 3 \times 4160 + 65$): the $h^2$ terms dominate, so halving the
# width divides the count by almost four, while the encoding adds only $2J h$.
#
# ```{solution-end}
# ```
#
# ```{exercise} The coordinate is not quite frequency
# :label: ex-inr-coordinate
# The paper's coordinate $k/(N/2+1) - 0.5$ is not exactly proportional to frequency: a
# coordinate $x$ means a slightly different frequency in Hz at each $N$. Compute the
# largest difference, in Hz, between $N = 500$ and $N = 2000$ and compare it with the bin
# spacing at $N = 2000$. Check with `check_coordinate_shift(500, 2000, SAMPLE_RATE, answer)`.
# ```
#
# ```{solution-start} ex-inr-coordinate
# :class: dropdown
# ```

# %%
def hz_at(x_coord: float, n: int) -> float:
    return (x_coord + 0.5) * (n // 2 + 1) * SAMPLE_RATE / n


# the shift grows linearly with x
answer = abs(hz_at(0.5, 500) - hz_at(0.5, 2000))
print(check_coordinate_shift(500, 2000, SAMPLE_RATE, answer))
print(f"bin spacing at N = 2000: {SAMPLE_RATE / 2000:.0f} Hz")

# %% [markdown]
# At the top of the axis the two sizes disagree by about three bins of $N = 2000$, so a
# template sampled at $N = 500$ is read slightly shifted in frequency — small for broad
# templates, noticeable for sharp harmonics. The coordinate $f/(f_s/2) - 0.5$ has no shift.
#
# ```{solution-end}
# ```
#
# ```{exercise} The largest resolved encoding
# :label: ex-inr-aliasing
# Using the aliasing argument above, what is the largest $J$ whose features are all
# resolved by the bins of a training size $N = 1000$? Check with
# `check_largest_encoding(1000, answer)`.
# ```
#
# ```{solution-start} ex-inr-aliasing
# :class: dropdown
# ```

# %%
import math

largest = {n: math.floor(math.log2(n // 2 + 1)) + 1
           for n in (500, 1000, 2000, 4000)}
print(check_largest_encoding(1000, largest[1000]))
print(", ".join(f"N = {n}: J = {j}" for n, j in largest.items()))

# %% [markdown]
# Feature $j$ aliases once $2^j > N/2 + 1$; at $N = 1000$ ($N/2+1 = 501$) that is from
# $j = 9$ on, so $J = 9$ (features $j \le 8$) is the largest resolved encoding: the
# paper's $J = 10$ would be one octave too fine for a dictionary trained at $N = 1000$.
#
# ```{solution-end}
# ```
