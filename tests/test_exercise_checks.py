"""The exercises' checks: right answers pass, wrong ones get a hint and never the expected value.

Each expected value is checked against an independent computation: numpy's rfft
frequencies, the package's own network, brute-force searches over a grid.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from innmf.models.inr import ComponentNetworks
from innmf.tools.exercises import (
    check, check_bins, check_coordinate_shift, check_grid_error, check_largest_encoding, check_network_parameters,
    check_ratio_of_medians, check_workers_needed,
)


def assert_hidden(message: str, expected: float) -> None:
    """A wrong answer's message: "not yet", a hint, and no form of the expected value."""
    assert "not yet" in message and "Hint:" in message, message
    forms = {str(expected), f"{expected:g}", f"{expected:.6g}", f"{expected:.3g}", f"{expected:.2f}", f"{expected:.1f}"}
    shown = set(re.findall(r"\d+(?:\.\d+)?", message.split("Hint:")[0]))
    assert not forms & shown, (message, forms & shown)


def test_generic_check_numbers_and_shapes():
    assert check(1.0, 1.01, "x") == "x: right."
    message = check(1.2, 1.0, "x", hint="look again.")
    assert message == "x: not yet (1.2 is too large). Hint: look again." and "too small" in check(0.5, 1.0, "x")
    assert check(np.zeros((3, 4)), (3, 4), "shape") == "shape: right."
    assert check(np.zeros((4, 3)), (3, 4), "shape") == "shape: not yet (your answer has shape (4, 3))."
    for bad in ("many", None, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="x: the answer should be a"):
            check(bad, 3.0, "x")


@pytest.mark.parametrize("n_fft", [256, 1000, 1500, 2047])
def test_bins_match_numpy(n_fft: int):
    bins = len(np.fft.rfftfreq(n_fft))
    assert check_bins(n_fft, bins).endswith("right.")
    assert_hidden(check_bins(n_fft, n_fft // 2), bins)


@pytest.mark.parametrize("hidden, n_freqs", [(64, 10), (32, 8), (16, 4)])
def test_network_parameters_match_the_package_network(hidden: int, n_freqs: int):
    net = ComponentNetworks(1, hidden=hidden, n_freqs=n_freqs)
    count = sum(p.numel() for p in net.parameters() if p.requires_grad)
    assert check_network_parameters(hidden, n_freqs, count).endswith("right.")
    assert_hidden(check_network_parameters(hidden, n_freqs, count + 1), count)


def test_coordinate_shift_brute_force():
    sr, x = 16_000, np.linspace(-0.5, 0.5, 100_001)

    def hz(n: int) -> np.ndarray:
        return (x + 0.5) * (n // 2 + 1) * sr / n

    shift = float(np.max(np.abs(hz(500) - hz(2000))))  # 24 Hz: 251 x 32 = 8032 against 1001 x 8 = 8008
    assert check_coordinate_shift(500, 2000, sr, shift).endswith("right.")
    assert_hidden(check_coordinate_shift(500, 2000, sr, 8.0), shift)


@pytest.mark.parametrize("n_fft", [500, 1000, 2000, 4000, 1022, 1024])
def test_largest_encoding_brute_force(n_fft: int):
    bins = n_fft // 2 + 1
    largest = 0
    while 2 ** largest <= bins:  # features j = 0 .. J-1 are resolved while 2^j <= N/2 + 1
        largest += 1
    assert check_largest_encoding(n_fft, largest).endswith("right.")
    assert_hidden(check_largest_encoding(n_fft, largest + 1), largest)


def test_largest_encoding_is_not_circular():
    """The student's expected value is no input: a wrong J stays wrong whatever else is passed."""
    assert "not yet" in check_largest_encoding(1000, 10)


def test_ratio_of_medians_hand_made():
    rows = pd.DataFrame({"n_fft": [2000] * 6 + [1000] * 2, "method": ["NMF"] * 3 + ["iN-NMF"] * 3 + ["NMF", "iN-NMF"],
                         "value": [1.0, 2.0, 9.0, 3.0, 1.0, 2.2, 5.0, 5.0]})
    assert check_ratio_of_medians(rows, 2000, 2.2 / 2.0).endswith("right.")  # medians 2.0 and 2.2
    assert_hidden(check_ratio_of_medians(rows, 2000, (3 + 1 + 2.2) / (1 + 2 + 9)), 1.1)  # the ratio of the means
    with pytest.raises(ValueError, match="no iN-NMF and NMF rows at N = 512"):
        check_ratio_of_medians(rows, 512, 1.0)


@pytest.mark.parametrize("sr, n_fft", [(8000, 256), (16000, 2000)])
def test_grid_error_brute_force(sr: int, n_fft: int):
    bins = np.fft.rfftfreq(n_fft, 1 / sr)
    freqs = np.linspace(0, sr / 2, 400_001)
    right = np.clip(np.searchsorted(bins, freqs), 1, len(bins) - 1)
    worst = float(np.max(np.minimum(freqs - bins[right - 1], bins[right] - freqs)))  # distance to the nearest bin
    assert check_grid_error(sr, n_fft, worst).endswith("right.")
    assert_hidden(check_grid_error(sr, n_fft, sr / n_fft), sr / n_fft / 2)


def test_workers_needed_brute_force():
    seconds = np.array([200.0, 215.0, 206.0, 190.0])
    workers = next(w for w in range(1, 1000) if 500 * seconds.mean() / w / 3600 <= 8)
    assert check_workers_needed(seconds, 500, 8, workers).endswith("right.")
    assert_hidden(check_workers_needed(seconds, 500, 8, workers - 1), workers)
    for bad in ([], [100.0, -1.0], [np.nan]):
        with pytest.raises(ValueError, match="positive compute time of each"):
            check_workers_needed(bad, 500, 8, 3)
    with pytest.raises(ValueError, match="hours should be positive"):
        check_workers_needed(seconds, 500, 0, 3)
