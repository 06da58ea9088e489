"""The published numbers of the speech experiments, as tidy tables.

Source: Subramani, Smaragdis, Higuchi & Souden (2024), "Rethinking Non-Negative
Matrix Factorization with Implicit Neural Representations", arXiv:2404.04439, as
read from the authors' result files (500 trials per setting; book/paper_setup.md §3).
iN-NMF's templates were trained at N = 2000 only; NMF was retrained at every N.
The paper's results are unpaired across methods (book/paper_setup.md §5).

Used by the chapters "Reconstruction across window sizes" and "Separating two
speakers" to set our numbers beside the paper's.
"""

from __future__ import annotations

import math

import pandas as pd

PUBLISHED_TRIALS = 500
"""Trials per setting in the authors' result files."""

METRIC_ORDER = ("kl", "sdr", "sir", "sar", "stoi")
"""Metrics in the order the paper reports them."""

# (n_fft) -> (NMF mean, NMF std, iN-NMF mean, iN-NMF std), KL on |X|^0.5.
_KL = {
    1000: (4.717e-4, 4.3e-5, 5.189e-4, 4.9e-5),
    1500: (4.882e-4, 4.3e-5, 5.263e-4, 4.6e-5),
    2000: (4.887e-4, 4.4e-5, 5.234e-4, 4.6e-5),
    2500: (4.925e-4, 4.0e-5, 5.403e-4, 4.5e-5),
}

# metric -> n_fft -> ((NMF mean, NMF std), (iN-NMF mean, iN-NMF std)); the result
# files give a standard deviation for SDR only.
_NAN = math.nan
_SEPARATION = {
    "sdr": {
        1000: ((3.92, 3.32), (4.00, 3.09)),
        1500: ((3.84, 3.13), (3.96, 3.01)),
        2000: ((3.88, 2.84), (3.93, 2.99)),
        2500: ((3.85, 2.84), (3.82, 2.89)),
    },
    "sir": {
        1000: ((9.19, _NAN), (9.15, _NAN)),
        1500: ((8.85, _NAN), (8.90, _NAN)),
        2000: ((8.67, _NAN), (8.71, _NAN)),
        2500: ((8.51, _NAN), (8.32, _NAN)),
    },
    "sar": {
        1000: ((6.64, _NAN), (6.78, _NAN)),
        1500: ((6.68, _NAN), (6.84, _NAN)),
        2000: ((6.78, _NAN), (6.91, _NAN)),
        2500: ((6.86, _NAN), (6.99, _NAN)),
    },
    "stoi": {
        1000: ((0.702, _NAN), (0.721, _NAN)),
        1500: ((0.711, _NAN), (0.725, _NAN)),
        2000: ((0.721, _NAN), (0.728, _NAN)),
        2500: ((0.719, _NAN), (0.729, _NAN)),
    },
}


def published_kl() -> pd.DataFrame:
    """Published reconstruction KL, mean ± std over 500 trials.

    Returns:
        DataFrame with columns method ("NMF", "iN-NMF"), n_fft, metric ("kl"),
        mean, std, trials.
    """
    rows = []
    for n_fft, (m_nmf, s_nmf, m_in, s_in) in _KL.items():
        rows.append({"method": "NMF", "n_fft": n_fft, "metric": "kl", "mean": m_nmf, "std": s_nmf})
        rows.append({"method": "iN-NMF", "n_fft": n_fft, "metric": "kl", "mean": m_in, "std": s_in})
    out = pd.DataFrame(rows)
    out["trials"] = PUBLISHED_TRIALS
    return out


def published_separation() -> pd.DataFrame:
    """Published separation metrics (SDR, SIR, SAR in dB; STOI), mean over 500 trials.

    Returns:
        DataFrame with columns method, n_fft, metric, mean, std, trials; ``std`` is
        given for SDR only and NaN for the other metrics (not in the result files).
    """
    rows = []
    for metric, by_n in _SEPARATION.items():
        for n_fft, ((m_nmf, s_nmf), (m_in, s_in)) in by_n.items():
            rows.append({"method": "NMF", "n_fft": n_fft, "metric": metric, "mean": m_nmf, "std": s_nmf})
            rows.append({"method": "iN-NMF", "n_fft": n_fft, "metric": metric, "mean": m_in, "std": s_in})
    out = pd.DataFrame(rows)
    out["trials"] = PUBLISHED_TRIALS
    return out


def published_all() -> pd.DataFrame:
    """:func:`published_kl` and :func:`published_separation` in one table."""
    return pd.concat([published_kl(), published_separation()], ignore_index=True)


def side_by_side(ours_summary: pd.DataFrame, published: pd.DataFrame | None = None,
                 how: str = "left") -> pd.DataFrame:
    """Our summary beside the paper's numbers, matched on method, n_fft and metric.

    Args:
        ours_summary: output of :func:`innmf.report.stats.summary_table` (columns method,
            n_fft, metric, mean, std, trials).
        published: the paper's table (default :func:`published_all`).
        how: pandas merge mode; "left" keeps all our rows (paper columns NaN for a
            setting the paper did not run), "inner" keeps only shared settings.

    Returns:
        DataFrame with method, n_fft, metric, mean_ours, std_ours, trials_ours,
        mean_paper, std_paper, trials_paper and diff (mean_ours − mean_paper).
    """
    published = published_all() if published is None else published
    keys = ["method", "n_fft", "metric"]
    for name, table in (("ours_summary", ours_summary), ("published", published)):
        missing = [c for c in keys + ["mean", "std", "trials"] if c not in table.columns]
        if missing:
            raise ValueError(f"{name} lacks column(s) {missing}; pass innmf.report.stats.summary_table(results).")
    cols = keys + ["mean", "std", "trials"]
    merged = ours_summary[cols].merge(published[cols], on=keys, how=how, suffixes=("_ours", "_paper"))
    merged["diff"] = merged["mean_ours"] - merged["mean_paper"]
    order = {m: i for i, m in enumerate(METRIC_ORDER)}
    merged["_order"] = merged["metric"].map(lambda m: order.get(m, len(order)))
    merged = merged.sort_values(["_order", "metric", "n_fft", "method"], ignore_index=True)
    return merged.drop(columns="_order")
