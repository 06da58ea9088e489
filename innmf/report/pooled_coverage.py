"""Coverage of the pooled speaker-level interval on data simulated with a design.

:func:`coverage_study` draws datasets from the joint model of
:mod:`innmf.report.pooled_model` with known components, keeping a design's speaker
pairs, and counts how often each interval holds the true mean: the interval the book
uses (t with speakers − 1 df), its Satterthwaite variant and the trial-level t-interval.
``tests/test_report_pooled_model.py`` checks the coverage that module's docstring and
:data:`innmf.report.stats.SPEAKER_INFERENCE_NOTE` describe, with a band that could fail it.

Used by the chapter "A paired look at the comparison" and the tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from innmf.report.pooled_model import joint_intervals
from innmf.report.speaker_model import speaker_design


def coverage_study(
    labels: Sequence[str],
    n_sizes: int = 4,
    settings: Sequence[tuple[float, float]] = ((0.7, 0.0), (0.7, 1.0), (2.0, 0.5), (2.0, 1.0)),
    residual_sd: Sequence[float] = (0.8, 1.0, 1.0, 1.3),
    n_data: int = 400,
    at: int = 2,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Coverage of the pooled interval, its Satterthwaite variant and the trial-level t-interval.

    Each dataset keeps the trials' speaker pairs and draws ``d[t, N] = s_a + s_b + u_t +
    e[t, N]`` with known components and true means 0; the interval at size ``at`` (N0's
    place among the paper's four) is checked, one per dataset, so hits are independent.
    Chapter "A paired look at the comparison" and ``tests/test_report_pooled_model.py``.

    Args:
        labels: the design, one ``"spkA+spkB"`` per trial.
        n_sizes: window sizes per trial (1: the one-size model, no trial effect).
        settings: ``(trial_sd, speaker_sd)`` pairs, in units of the residual noise.
        residual_sd: residual standard deviation per size (the first ``n_sizes`` are used).
        n_data: simulated datasets per setting.
        at: the size whose interval is checked.
        confidence: level of the intervals.
        seed: seed of the simulation.

    Returns:
        One row per setting: ``trial_sd``, ``speaker_sd``, then for the interval
        (t with speakers − 1 df), its Satterthwaite variant and the trial-level t-interval
        the ``coverage``, ``satterthwaite_coverage``, ``trial_coverage`` and the mean
        half-widths in units of the true standard error of the mean, ``half_width``,
        ``satterthwaite_half_width``, ``trial_half_width``.
    """
    design, _ = speaker_design(labels)
    index = pd.Index(range(len(labels)))
    frame = pd.Series(list(labels), index=index)
    sd = np.asarray(residual_sd[:n_sizes], dtype=float)
    at = min(at, n_sizes - 1)
    rng = np.random.default_rng(seed)
    n, counts = len(labels), design.sum(axis=0)
    quantile = 0.5 + confidence / 2
    t_trial = float(sps.t.ppf(quantile, n - 1))
    rows = []
    for trial_sd, speaker_sd in settings:
        true_se = math.sqrt(speaker_sd**2 * float(counts @ counts) + n * (trial_sd**2 + sd[at] ** 2)) / n
        hits = np.zeros((n_data, 3), dtype=bool)
        halves = np.zeros((n_data, 3))
        for i in range(n_data):
            y = ((design @ (speaker_sd * rng.standard_normal(design.shape[1])))[:, None]
                 + trial_sd * rng.standard_normal((n, 1)) + sd * rng.standard_normal((n, n_sizes)))
            fit = joint_intervals(pd.DataFrame(y, index=index), frame, confidence).iloc[at]
            halves[i] = (fit["high"] - fit["estimate"], float(sps.t.ppf(quantile, fit["satterthwaite_df"])) * fit["se"],
                         t_trial * float(np.std(y[:, at], ddof=1)) / math.sqrt(n))
            hits[i] = abs(fit["estimate"]) <= halves[i]
        cover, width = hits.mean(axis=0), halves.mean(axis=0) / true_se
        rows.append({"trial_sd": trial_sd, "speaker_sd": speaker_sd, "coverage": cover[0],
                     "satterthwaite_coverage": cover[1], "trial_coverage": cover[2], "half_width": width[0],
                     "satterthwaite_half_width": width[1], "trial_half_width": width[2]})
    return pd.DataFrame(rows)
