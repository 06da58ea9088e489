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
# # 1. NMF of a speech spectrogram
#
# Before replacing the factors of NMF by neural networks we need the thing being replaced.
# This chapter factorises the magnitude spectrogram of one speaker with classic NMF, the
# way the paper's baseline does ({doc}`../book/paper_setup` §3: KL multiplicative updates,
# rank $K=20$, the init $10 + \mathcal{N}(0,1)$, compressed magnitudes $V = |X|^{0.5}$), and
# looks at what comes out: spectral templates $W$, activations $H$, how fast the loss
# falls, and what the model sounds like.
#
# ```{admonition} Learning objectives
# :class: tip
# After this chapter you can
# - compute the compressed magnitude spectrogram $V = |X|^p$ the paper factorises;
# - fit NMF with multiplicative updates for the KL, Euclidean and Itakura–Saito divergences
#   and compare the fits fairly;
# - read templates $W$ and activations $H$, and resynthesise audio from a model.
#
# **You need:** Python and NumPy, the STFT. No earlier chapter. Symbols: {doc}`../book/glossary`.
# ```
#
# NMF approximates $V \in \mathbb{R}_+^{F\times T}$ by $\hat V = WH$ by minimising a
# divergence $D(V \,\|\, \hat V)$. The multiplicative updates of {cite:t}`lee2001`, generalised
# to the $\beta$-divergence family by {cite:t}`fevotte2011`, are
#
# $$H \leftarrow H \odot \frac{W^\top\big(V \odot \hat V^{\beta-2}\big)}{W^\top \hat V^{\beta-1}},
# \qquad
# W \leftarrow W \odot \frac{\big(V \odot \hat V^{\beta-2}\big)H^\top}{\hat V^{\beta-1}H^\top},$$
#
# with $\beta=1$ the generalised Kullback–Leibler divergence (the paper's),
# $\beta=2$ the Euclidean distance and $\beta=0$ the Itakura–Saito divergence.
# They keep the factors non-negative and never increase the loss.
#
# Computationally an iteration is four thin matrix products ($\hat V$ twice, then the
# numerators) with elementwise work between them. `innmf.models.nmf` runs them in the order and
# with the safeguards of scikit-learn's `NMF(solver="mu")` (tested to give its factors).
# For KL on a CPU it fuses each update into one pass over blocks of rows of $V$: a block
# of $\hat V$ is formed in registers, divided into $V$ and used at once, so $\hat V$ is
# never stored; that is about twice as fast as the same products through a BLAS
# (`innmf/accel/mu_fused_kl.py`, `innmf bench`).

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper (innmf/experiments/settings.py)
overrides = {}  # any single setting, e.g. {"corpus": "timit:/data/TIMIT", "rank": 10}

# %% tags=["hide-input"]
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from innmf import SAMPLE_RATE
from innmf.tools.exercises import check_bins
from innmf.report import figures, style
from innmf.report.captioned import table as captioned
from innmf.data import load_corpus
from innmf.paper.divergences import beta_divergence
from innmf.models.nmf import nmf
from innmf.experiments.settings import get_profile
from innmf.accel.runtime import use_threads
from innmf.tf.stft import istft, stft, stft_frequencies, stft_times

P = get_profile(profile, **overrides)
use_threads(P["threads"])  # one thread: fastest and reproducible (innmf/accel/runtime.py)
corpus = load_corpus(P["corpus"])
speaker = corpus.speakers[0]
x = speaker.audio()[: int(P["train_seconds"] * SAMPLE_RATE)]
n_fft, K, p = P["train_n_fft"], P["rank"], P["power"]
X = stft(x, n_fft)
V = np.abs(X) ** p
freqs, times = stft_frequencies(n_fft, SAMPLE_RATE), stft_times(V.shape[1], n_fft, SAMPLE_RATE)
print(f"speaker {speaker.id} ({speaker.sex}), {len(x) / SAMPLE_RATE:.1f} s, "
      f"N = {n_fft}: V is {V.shape[0]} x {V.shape[1]}, rank K = {K}")

# %% [markdown]
# ## The representation
# The paper's STFT: a square-root periodic Hann window of $N$ samples, hop $N/2$, an
# orthonormal DFT. With $N=2000$ at 16 kHz the window lasts 125 ms, so bins are 8 Hz
# apart and frames 62.5 ms apart: fine in frequency, coarse in time
# ({numref}`fig-nmf-spectrogram`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Magnitude STFT of the speaker's training excerpt in dB (60 dB range), at the paper's training window size.", "name": "fig-nmf-spectrogram"}}
fig = style.figure(aspect=0.42, pyplot=True)
ax = fig.add_subplot()
mesh = ax.pcolormesh(times, freqs, 20 * np.log10(np.abs(X) + 1e-6), shading="nearest",
                     vmin=-60 + 20 * np.log10(np.abs(X).max()), cmap="magma")
ax.set(xlabel="time (s)", ylabel="frequency (Hz)", ylim=(0, 4000),
       title=f"$|X|$ in dB, speaker {speaker.id}, N = {n_fft}")
fig.colorbar(mesh, ax=ax, label="dB")
plt.show()

# %% [markdown]
# ## Three divergences, same data, same initialisation
# Every run starts from the same seeded paper initialisation and runs the profile's
# number of iterations (`nmf_iter`); {numref}`fig-nmf-convergence` follows each loss.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Loss against iteration for NMF with three divergences from the same initialisation; each curve in its own divergence's units.", "name": "fig-nmf-convergence"}}
betas = {"KL (β=1)": 1.0, "Euclidean (β=2)": 2.0, "Itakura–Saito (β=0)": 0.0}
fits = {name: nmf(V, K, P["nmf_iter"], beta=beta, init="paper", seed=P["seed"], device=P["device"])
        for name, beta in betas.items()}
display(figures.convergence({name: fit.losses for name, fit in fits.items()},
                            ylabel="divergence (own units)"))

# %% [markdown]
# Each curve is in its own divergence's units, so compare shapes, not heights: every
# curve only goes down (the multiplicative updates' guarantee; the test suite checks it).
# The table gives each fit's final loss under all three divergences (rows: the
# divergence trained for; columns: the divergence measured). After enough iterations a
# model should be best on the divergence it was trained for; Itakura–Saito converges
# slowly from this initialisation, so with few iterations it may not be there yet.

# %% tags=["hide-input"]
table = pd.DataFrame(
    {name: {f"measured by {m}": beta_divergence(V, fit.W @ fit.H, b) for m, b in betas.items()}
     for name, fit in fits.items()}
).T.rename_axis("trained for")
display(captioned(table, "Final loss of each fit (rows: the divergence trained for) under each divergence "
                   "(columns), each in its own units; one speaker, same initialisation.", "tbl-nmf-divergences"))
best = {col: table[col].idxmin() for col in table}
display(Markdown("Lowest per column: " + "; ".join(f"{col} → {row}" for col, row in best.items()) + "."))

# %% tags=["remove-cell", "nbval-check-output"]
print(table.map(lambda v: f"{v:.3e}").to_string())

# %% [markdown]
# ## Templates and activations (KL)
# Each column of $W$ is a spectral template; the matching row of $H$ says when, and how
# strongly, it is used. Sorting the components by their centre frequency makes the
# picture readable: low templates hold voiced harmonics, high ones fricatives
# ({numref}`fig-nmf-factors`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "KL-NMF factors: templates W (columns, each scaled to peak 1, sorted by centre frequency) and their activations H.", "name": "fig-nmf-factors"}}
fit = fits["KL (β=1)"]
order = np.argsort((fit.W * freqs[:, None]).sum(0) / fit.W.sum(0))
scale = fit.W.max(axis=0)  # unit-peak templates, activations rescaled: WH is unchanged
display(figures.factors((fit.W / scale)[:, order], (fit.H * scale[:, None])[order], freqs, times,
                        title=f"KL-NMF of speaker {speaker.id}, K = {K}"))

# %% [markdown]
# ## Listening to the model
# $\hat V = WH$ models compressed magnitudes. To hear it we undo the compression,
# $|\hat X| = \hat V^{1/p}$, borrow the phase of the original STFT and invert. Because the
# analysis pair reconstructs perfectly, what you hear is only the model's error.

# %%
def resynthesise(V_hat: np.ndarray) -> np.ndarray:
    return istft(V_hat ** (1 / p) * np.exp(1j * np.angle(X)), n_fft, len(x))


y = resynthesise(fit.W @ fit.H)
snr = 10 * np.log10(np.sum(x**2) / np.sum((x - y) ** 2))
low = fit.W[:, order[: K // 2]] @ fit.H[order[: K // 2]]
display(Markdown(
    f"Signal-to-reconstruction-error ratio of the KL model: **{snr:.1f} dB**."))
display(figures.audio_table([
    ("original", x),
    (f"NMF model, K = {K}", y),
    (f"the {K // 2} lowest templates only (soft-masked)",
     resynthesise(low / np.maximum(fit.W @ fit.H, 1e-12) * V)),
], rate=SAMPLE_RATE))

# %% [markdown]
# ## What carries over to iN-NMF
# Everything above needs $V$ to be a matrix: $W$ has one row per STFT bin, so a model
# learnt at $N=2000$ has 1001 rows and cannot describe an STFT with $N=1000$ (501 bins).
# {doc}`02_implicit_factors` replaces the rows of $W$ by a function of frequency.
#
# ## Exercises
# Each solution is executed whenever the book is built and tested, so it cannot rot; on
# the short `smoke` profile its numbers mean little.
#
# ```{exercise} Rank
# :label: ex-nmf-rank
# Fit KL-NMF with rank $K = 5$ and $K = 40$ besides the paper's 20 (`nmf(V, K, ...)`, or
# `overrides = {"rank": 5}` for the whole chapter). How does the final KL change, and
# what do the templates start to look like at high rank?
# ```
#
# ```{solution-start} ex-nmf-rank
# :class: dropdown
# ```

# %%
ranks = {k: nmf(V, k, P["nmf_iter"], beta=1, init="paper", seed=P["seed"],
               device=P["device"])
         for k in (5, K, 40)}
final = pd.DataFrame({"rank K": list(ranks),
                      "final KL": [r.losses[-1] for r in ranks.values()]})
display(captioned(final, "Final KL divergence of KL-NMF at three ranks, same "
                  "spectrogram and initialisation.", "tbl-nmf-rank"))

# %% [markdown]
# The KL falls with the rank: more templates, more freedom. At high rank templates
# specialise: many hold a single harmonic or a single phone's spectrum, and several
# become near-duplicates that share the work.
#
# ```{solution-end}
# ```
#
# ```{exercise} Compression
# :label: ex-nmf-power
# Refit KL-NMF on plain magnitudes ($p = 1$) and on the power spectrogram ($p = 2$).
# Compare the signal-to-error ratio of the resynthesis with $p = 0.5$'s. Why might the
# paper have chosen $p = 0.5$?
# ```
#
# ```{solution-start} ex-nmf-power
# :class: dropdown
# ```

# %%
def snr_at(power: float) -> float:
    V_p = np.abs(X) ** power
    f_p = nmf(V_p, K, P["nmf_iter"], beta=1, init="paper", seed=P["seed"],
              device=P["device"])
    mag = (f_p.W @ f_p.H) ** (1 / power)
    y_p = istft(mag * np.exp(1j * np.angle(X)), n_fft, len(x))
    return 10 * np.log10(np.sum(x**2) / np.sum((x - y_p) ** 2))


powers = [0.5, 1.0, 2.0]
snrs = pd.DataFrame({"p": powers, "SNR (dB)": [snr_at(q) for q in powers]})
display(captioned(snrs, "Signal-to-error ratio of the resynthesis per "
                  "compression exponent p of the magnitudes.", "tbl-nmf-power",
                  formats={"p": "{:.1f}", "SNR (dB)": "{:.1f}"}))

# %% [markdown]
# Compression shrinks the dynamic range: with $p = 2$ a few loud harmonics dominate the
# loss and quiet detail is modelled badly; with $p = 0.5$ the loud and the quiet parts
# weigh more evenly, which also makes the soft masks of {doc}`04_separation` better
# behaved.
#
# ```{solution-end}
# ```
#
# ```{exercise} The KL update of H
# :label: ex-nmf-derive
# Derive the multiplicative update for $H$ under the KL divergence from the gradient
# $\nabla_H D = W^\top(\mathbf{1} - V/\hat V)$ split into its positive and negative parts.
# Apply one update to the fitted factors and check that the KL does not increase.
# ```
#
# ```{solution-start} ex-nmf-derive
# :class: dropdown
# ```

# %%
# positive part W^T 1, negative part W^T (V / V_hat): H <- H * neg / pos
W_, H_ = fit.W, fit.H
H_next = H_ * (W_.T @ (V / (W_ @ H_))) / W_.sum(axis=0)[:, None]
before = beta_divergence(V, W_ @ H_, 1.0)
after = beta_divergence(V, W_ @ H_next, 1.0)
print(f"KL before {before:.6e}, after one update {after:.6e}: "
      f"{'not increased' if after <= before * (1 + 1e-9) else 'INCREASED'}")

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise} Rows of W
# :label: ex-nmf-bins
# A dictionary learnt at $N = 2000$ has 1001 rows. How many rows would NMF's $W$ have at
# $N = 1500$, another of the paper's window sizes? Check your answer with
# `check_bins(1500, answer)`.
# ```
#
# ```{solution-start} ex-nmf-bins
# :class: dropdown
# ```

# %%
answer = 1500 // 2 + 1
print(check_bins(1500, answer))

# %% [markdown]
# An $N$-point real DFT has $N/2 + 1$ non-negative frequencies, from 0 to the Nyquist
# frequency: 751 at $N = 1500$, so the 1001-row dictionary cannot be used there.
#
# ```{solution-end}
# ```
