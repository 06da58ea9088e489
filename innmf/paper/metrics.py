"""Evaluation metrics of the paper: KL of the reconstruction, BSS-eval and STOI.

Follows book/paper_setup.md §3 (Subramani et al. 2024, arXiv:2404.04439):

* reconstruction: the generalised KL divergence between the compressed magnitudes
  V = |X|^p and the model V̂, averaged over all time-frequency bins
  (:func:`innmf.paper.divergences.kl_divergence`, strict: a model that is zero where
  the data are not is an error, never a silent floor);
* separation: mir_eval's ``bss_eval_sources`` SDR, SIR and SAR and pystoi's STOI at
  16 kHz, each averaged over the two speakers.

Used by the experiment runners and the chapters "Reconstruction across window
sizes" and "Separating two speakers".
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import innmf
from innmf.paper.arrays import as_finite_array
from innmf.paper.divergences import kl_divergence

__all__ = ["SEPARATION_METRICS", "kl_divergence", "separation_metrics", "separation_metrics_per_source"]

SEPARATION_METRICS = ("sdr", "sir", "sar", "stoi")
"""Names of the separation metrics, in the order the paper reports them."""


def _validate_sources(references: Any, estimates: Any) -> tuple[np.ndarray, np.ndarray]:
    refs = np.atleast_2d(as_finite_array(references, "References"))
    ests = np.atleast_2d(as_finite_array(estimates, "Estimates"))
    if refs.ndim != 2:
        raise ValueError(f"References must be (n_sources, n_samples), got shape {refs.shape}.")
    if refs.shape != ests.shape:
        raise ValueError(
            f"References have shape {refs.shape} but estimates have shape {ests.shape}; "
            "give one estimate per reference, trimmed to the same length."
        )
    for kind, arr in (("Reference", refs), ("Estimate", ests)):
        for i, row in enumerate(arr):
            if not np.any(row):
                raise ValueError(
                    f"{kind} source {i} is all zeros; BSS-eval is undefined for silent signals"
                    + (" (the separation produced silence for this speaker)." if kind == "Estimate" else ".")
                )
    return refs, ests


def separation_metrics_per_source(
    references: Any, estimates: Any, sr: int = innmf.SAMPLE_RATE, stoi: bool = True
) -> dict[str, np.ndarray]:
    """SDR, SIR, SAR (dB) and STOI for each source.

    Estimate i is compared with reference i (``compute_permutation=False``). This
    differs from the published code, which calls ``bss_eval_sources`` with mir_eval's
    default (``compute_permutation=True``: the best of the source orders is scored).
    We do not search: the separation is supervised, estimate i is made with speaker
    i's own dictionary, so the order is known, and searching it could only flatter a
    failed separation (one that put speaker a's voice in estimate b would score as a
    success). Where the known order is also the best one (any separation that works),
    both give the same numbers.

    Args:
        references: true sources, shape (n_sources, n_samples).
        estimates: separated signals, same shape.
        sr: sample rate in Hz (STOI needs it; 16 kHz in the paper).
        stoi: also compute STOI (the slowest part is BSS-eval, so this is cheap).

    Returns:
        ``{"sdr", "sir", "sar"[, "stoi"]}`` → array of one value per source.

    Raises:
        ValueError: shape mismatch, non-finite or all-zero signals.
    """
    refs, ests = _validate_sources(references, estimates)
    # Imported here: mir_eval is slow to import and the book should not pay for it
    # unless it evaluates separations.
    import mir_eval.separation

    with warnings.catch_warnings():
        # mir_eval 0.8 marks bss_eval_sources deprecated (removal in 0.9, which
        # pyproject excludes); the warning says nothing about our results.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(refs, ests, compute_permutation=False)
    out = {"sdr": np.asarray(sdr), "sir": np.asarray(sir), "sar": np.asarray(sar)}
    if stoi:
        from pystoi import stoi as _stoi

        out["stoi"] = np.array([_stoi(r, e, sr, extended=False) for r, e in zip(refs, ests)])
    return out


def separation_metrics(
    references: Any, estimates: Any, sr: int = innmf.SAMPLE_RATE, stoi: bool = True
) -> dict[str, float]:
    """SDR, SIR, SAR (dB) and STOI, each averaged over the sources, as the paper reports.

    Args:
        references: true sources, shape (n_sources, n_samples) (two speakers here).
        estimates: separated signals, same shape, estimate i belonging to reference i.
        sr: sample rate in Hz.
        stoi: also compute STOI.

    Returns:
        ``{"sdr": float, "sir": float, "sar": float[, "stoi": float]}``.
    """
    per_source = separation_metrics_per_source(references, estimates, sr=sr, stoi=stoi)
    return {name: float(np.mean(values)) for name, values in per_source.items()}
