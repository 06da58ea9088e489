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
# way the paper's baseline does (book page paper_setup: KL multiplicative updates, rank $K=20$, the init
# $10 + \mathcal{N}(0,1)$, compressed magnitudes $V = |X|^{0.5}$), and looks at what comes
# out: spectral templates $W$, activations $H$, how fast the loss falls, and what the
# model sounds like.
#
# NMF approximates $V \in \mathbb{R}_+^{F\times T}$ by $\hat V = WH$ by minimising a
# divergence $D(V \,\|\, \hat V)$. The multiplicative updates of Lee & Seung, generalised
# to the $\beta$-divergence family by Févotte & Idier, are
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

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Audio, display

from innmf import SAMPLE_RATE
from innmf.report import figures
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
# apart and frames 62.5 ms apart: fine in frequency, coarse in time.

# %%
fig, ax = plt.subplots(figsize=(9, 3.2))
mesh = ax.pcolormesh(times, freqs, 20 * np.log10(np.abs(X) + 1e-6), shading="nearest",
                     vmin=-60 + 20 * np.log10(np.abs(X).max()), cmap="magma")
ax.set(xlabel="time (s)", ylabel="frequency (Hz)", ylim=(0, 4000),
       title=f"|X| in dB, speaker {speaker.id}, N = {n_fft}")
fig.colorbar(mesh, ax=ax, label="dB")
plt.show()

# %% [markdown]
# ## Three divergences, same data, same initialisation
# Every run starts from the same seeded paper initialisation and runs the profile's
# number of iterations (`nmf_iter`).

# %%
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

# %%
# NBVAL_CHECK_OUTPUT
table = pd.DataFrame(
    {name: {f"D_{{β={b:g}}}": beta_divergence(V, fit.W @ fit.H, b) for b in betas.values()}
     for name, fit in fits.items()}
).T
print(table.map(lambda v: f"{v:.3e}").to_string())
best = {col: table[col].idxmin() for col in table}
print("lowest per column:", "; ".join(f"{col} → {row}" for col, row in best.items()))

# %% [markdown]
# ## Templates and activations (KL)
# Each column of $W$ is a spectral template; the matching row of $H$ says when, and how
# strongly, it is used. Sorting the components by their centre frequency makes the
# picture readable: low templates hold voiced harmonics, high ones fricatives.

# %%
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
print(f"signal-to-reconstruction-error ratio of the KL model: {snr:.1f} dB")
print("original")
display(Audio(x, rate=SAMPLE_RATE))
print(f"NMF model, K = {K}")
display(Audio(y, rate=SAMPLE_RATE))
low = fit.W[:, order[: K // 2]] @ fit.H[order[: K // 2]]
print(f"the {K // 2} lowest templates only (soft-masked)")
display(Audio(resynthesise(low / np.maximum(fit.W @ fit.H, 1e-12) * V), rate=SAMPLE_RATE))

# %% [markdown]
# ## What carries over to iN-NMF
# Everything above needs $V$ to be a matrix: $W$ has one row per STFT bin, so a model
# learnt at $N=2000$ has 1001 rows and cannot describe an STFT with $N=1000$ (501 bins).
# {doc}`02_implicit_factors` replaces the rows of $W$ by a function of frequency.
#
# ## Exercises
# 1. Change `rank` (e.g. `overrides = {"rank": 5}` and `{"rank": 60}`). How does the
#    final KL change, and what do the templates start to look like at high rank?
# 2. Set `power` to 1 (plain magnitudes) and to 2 (power spectrogram). Which divergence
#    gives the most natural-sounding reconstruction at each power? Why might the paper
#    have chosen $p = 0.5$?
# 3. Derive the multiplicative update for $H$ under the KL divergence from the gradient
#    $\nabla_H D = W^\top(\mathbf{1} - V/\hat V)$ split into its positive and negative
#    parts, and check it against `innmf/models/nmf.py`.
# 4. The fused updates of `innmf/accel/mu_fused_kl.py` need $\hat V$ only one block of rows at a
#    time. Why does that work for the update of $W$ row by row, and what must be
#    accumulated over all rows before $H$ can be updated?
