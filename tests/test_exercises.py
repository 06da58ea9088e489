"""The exercises' answer checks: hand-derived answers pass, wrong ones say what was expected."""

from __future__ import annotations

import math

import numpy as np
import pytest

from innmf.chapters import check, check_bins, check_coordinate_shift, check_network_parameters
from innmf.models.inr import ComponentNetworks


def test_check_numbers_and_shapes():
    assert "correct" in check(1.0, 1.01, "x")
    assert "not quite" in check(1.2, 1.0, "x") and "expected about 1" in check(1.2, 1.0, "x")
    assert "correct" in check(np.zeros((3, 4)), (3, 4), "shape")
    assert "expected (3, 4)" in check(np.zeros((4, 3)), (3, 4), "shape")
    with pytest.raises(ValueError, match="should be a number"):
        check("many", 3.0, "x")


def test_check_bins():
    assert "correct" in check_bins(1000, 501)
    assert "not quite" in check_bins(1000, 500)


def test_network_parameters_match_the_package_network():
    """The closed form of the exercise against the parameters of the package's network."""
    assert "correct" in check_network_parameters(64, 10, 13_889)  # the paper's count
    net = ComponentNetworks(1, hidden=16, n_freqs=4)
    n = sum(p.numel() for p in net.parameters() if p.requires_grad)
    assert "correct" in check_network_parameters(16, 4, n)


def test_coordinate_shift_hand_derived():
    # x = 0.5 is bin N/2+1: (N/2+1) sr / N Hz, i.e. 251*32 = 8032 Hz at N = 500, 1001*8 = 8008 at 2000
    assert "correct" in check_coordinate_shift(500, 2000, 16_000, 24.0)
    assert "not quite" in check_coordinate_shift(500, 2000, 16_000, 8.0)
    assert math.isclose(float(check_coordinate_shift(500, 2000, 16_000, 24.0).split("(")[-1].rstrip(").")), 24.0)
