"""Answer checks for the chapters' exercises: right or wrong, and a hint; never the expected value.

A student calls the check an exercise names (``print(check_bins(1000, answer))``)
before opening the solution. Each check computes the expected answer itself, from
the exercise's givens or from the chapter's data, so it never depends on a value the
student supplies, and its message says "right" or "not yet" with a hint (and, for a
number, whether the answer is too large or too small), never the value. Chapters
"NMF of a speech spectrogram" (Exercise 1.4), "Implicit neural factors" (2.1–2.3),
"Reconstruction across window sizes" (3.3), "Irregular and hybrid representations"
(5.3) and "Reproducing at scale" (6.2) use them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _number(answer: Any, what: str) -> float:
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: the answer should be a number, got {answer!r}.") from None
    if not math.isfinite(value):
        raise ValueError(f"{what}: the answer should be a finite number, got {answer!r}.")
    return value


def check(answer: Any, expected: Any, what: str, rtol: float = 0.02, hint: str = "") -> str:
    """Check an answer against an expected number (within ``rtol``) or shape, without showing it.

    For the chapters' own checks below; a chapter calls it directly only with an
    ``expected`` computed from its data, never from the student's work.

    Args:
        answer: the student's number, or an array (or tuple) whose shape is checked.
        expected: a number, or a shape as a tuple.
        what: what the answer is, e.g. ``"bins of an N = 1000 STFT"``.
        rtol: relative tolerance for numbers (0 for exact integers).
        hint: a sentence shown with a wrong answer.

    Returns:
        ``"<what>: right."`` or ``"<what>: not yet (...). Hint: ..."``.

    Raises:
        ValueError: the answer is not a finite number (when a number is expected).
    """
    tail = f" Hint: {hint}" if hint else ""
    if isinstance(expected, tuple):
        got = tuple(answer) if isinstance(answer, tuple) else tuple(np.shape(answer))
        if got == expected:
            return f"{what}: right."
        return f"{what}: not yet (your answer has shape {got}).{tail}"
    value = _number(answer, what)
    if bool(np.isclose(value, float(expected), rtol=rtol, atol=0.0)):
        return f"{what}: right."
    direction = "too large" if value > float(expected) else "too small"
    return f"{what}: not yet ({value:.6g} is {direction}).{tail}"


def check_bins(n_fft: int, answer: Any) -> str:
    """Chapter "NMF of a speech spectrogram", exercise "Rows of W": the rows of W (STFT bins) at window size ``n_fft``."""
    return check(answer, n_fft // 2 + 1, f"bins of an N = {n_fft} STFT", rtol=0.0,
                 hint="a real N-point DFT keeps the frequencies k sr / N from 0 up to the Nyquist "
                      "frequency sr / 2, both included.")


def check_network_parameters(hidden: int, n_freqs: int, answer: Any) -> str:
    """Chapter "Implicit neural factors", exercise "Counting parameters": one component's trainable parameters.

    Args:
        hidden: the width h.
        n_freqs: the encoding's J (2J inputs).
        answer: the student's count.
    """
    d_in = 2 * n_freqs
    expected = d_in * hidden + hidden + 3 * (hidden * hidden + hidden) + hidden + 1
    return check(answer, expected, f"parameters of one network (J = {n_freqs}, h = {hidden})", rtol=0.0,
                 hint="the encoding gives 2J inputs; a linear map a -> b has a b weights and b biases; "
                      "count the first layer, the three h -> h layers and the output layer.")


def check_coordinate_shift(n_small: int, n_large: int, sample_rate: int, answer: Any) -> str:
    """Chapter "Implicit neural factors", exercise "The coordinate is not quite frequency".

    Bin k of an N-point DFT is at k sr / N Hz but at coordinate k/(N/2+1) − 0.5; a
    coordinate x therefore means (x + 0.5)(N/2+1) sr / N Hz, which depends on N. The
    answer is the largest difference, over x in [−0.5, 0.5], between the two sizes.
    """
    def hz(n: int) -> float:
        return (n // 2 + 1) * sample_rate / n  # Hz per unit of x + 0.5

    expected = abs(hz(n_small) - hz(n_large))
    return check(answer, expected, f"largest shift between N = {n_small} and N = {n_large} (Hz)",
                 hint="write the frequency in Hz that a coordinate x means at each N; their difference "
                      "grows linearly with x + 0.5, so it is largest at the top of the axis.")


def check_largest_encoding(n_fft: int, answer: Any) -> str:
    """Chapter "Implicit neural factors", exercise "The largest resolved encoding": the largest J at ``n_fft``.

    Feature j has period 2^(1−j) in x and the training bins are 1/(N/2+1) apart; it is
    resolved while its period spans at least two bins (2^j ≤ N/2+1), and an encoding
    of size J holds the features j = 0 … J−1.
    """
    expected = math.floor(math.log2(n_fft // 2 + 1)) + 1
    return check(answer, expected, f"largest resolved J at N = {n_fft}", rtol=0.0,
                 hint="feature j aliases once 2^j > N/2 + 1; J counts the features j = 0 ... J - 1, "
                      "so J is one more than the largest resolved j.")


def check_ratio_of_medians(rows: Any, n_fft: int, answer: Any) -> str:
    """Chapter "Reconstruction across window sizes": median KL of iN-NMF over NMF's at one window size.

    Args:
        rows: the chapter's per-trial KL rows (columns ``n_fft``, ``method``, ``value``).
        n_fft: the window size.
        answer: the student's ratio.
    """
    at_n = rows[rows["n_fft"] == n_fft].groupby("method")["value"].median()
    if not {"iN-NMF", "NMF"} <= set(at_n.index):
        raise ValueError(f"check_ratio_of_medians: no iN-NMF and NMF rows at N = {n_fft}; pass the chapter's "
                         "per-trial KL table and one of its window sizes.")
    return check(answer, at_n["iN-NMF"] / at_n["NMF"], f"ratio of median KLs at N = {n_fft}",
                 hint="keep the rows at that window size, take the median of `value` for each method "
                      "(over trials), then divide iN-NMF's by NMF's.")


def check_grid_error(sample_rate: float, n_fft: int, answer: Any) -> str:
    """Chapter "Irregular and hybrid representations", exercise "The grid's resolution": largest error in Hz.

    The strongest bin of an N-point STFT estimates a frequency to within half the bin spacing.
    """
    return check(answer, sample_rate / n_fft / 2, f"largest grid error at N = {n_fft} (Hz)",
                 hint="the bins are sample_rate / N apart; a frequency is at most half a spacing "
                      "from the nearest bin.")


def check_workers_needed(seconds: Any, trials: int, hours: float, answer: Any) -> str:
    """Chapter "Reproducing at scale", exercise "Projecting the protocol": workers to run ``trials`` in ``hours``.

    Args:
        seconds: the compute seconds of each measured trial.
        trials: the trials to run (500 for the paper's protocol).
        hours: the wall time allowed.
        answer: the student's number of workers (one core each).
    """
    secs = np.asarray(seconds, dtype=float)
    if secs.size == 0 or not np.all(np.isfinite(secs)) or np.any(secs <= 0):
        raise ValueError("check_workers_needed: seconds should be the positive compute time of each "
                         "measured trial (e.g. trial_seconds of a results store).")
    if not hours > 0:
        raise ValueError(f"check_workers_needed: hours should be positive, got {hours!r}.")
    expected = math.ceil(trials * secs.mean() / (hours * 3600))
    return check(answer, expected, f"workers for {trials} trials in {hours:g} hours", rtol=0.0,
                 hint="trials are independent, so the wall time is trials x the mean seconds per trial "
                      "/ workers; solve for the workers and round up to a whole worker.")
