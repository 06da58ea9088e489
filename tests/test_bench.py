"""``innmf bench`` in its tiny mode: the JSON has every key, with sane values (no timing asserts)."""

import json
import math

import numpy as np
import pytest
import torch

from innmf.tools.bench.units import synthetic_hybrid_coordinates
from innmf.tools.cli import main

REQUIRED = [
    "innmf_epoch_ms", "innmf_reference_epoch_ms", "innmf_speedup",
    "innmf_achieved_gflops", "peak_gflops",
    "nmf_iter_ms", "sklearn_nmf_iter_ms", "nmf_speedup", "nmf_final_kl", "sklearn_final_kl",
    "hybrid_epoch_ms", "hybrid_naive_epoch_ms", "hybrid_speedup",
]  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_thread")  # fixture in conftest.py


def test_quick_bench_json(capsys):
    assert main(["bench", "--quick", "--json", "--repeats", "1"]) == 0
    results = json.loads(capsys.readouterr().out)
    for key in REQUIRED:
        assert isinstance(results[key], float) and math.isfinite(results[key]) and results[key] > 0, key
    assert results["device"] == "cpu"
    assert results["threads"] == 1
    assert results["torch_version"] == torch.__version__
    # the same KL updates from the same start: the final losses agree closely
    assert results["nmf_final_kl"] == pytest.approx(results["sklearn_final_kl"], rel=1e-3)
    assert results["peak_gflops"] >= results["peak_gflops_matmul"]


def test_table_output(capsys):
    assert main(["bench", "--quick", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "innmf_speedup" in out and "hybrid_speedup" in out


def test_hybrid_coordinates_have_the_papers_counts():
    t, f, m, counts = synthetic_hybrid_coordinates()
    assert counts["points"] == t.size == f.size == m.size
    assert abs(counts["points"] - 98_600) / 98_600 < 0.01  # book/paper_setup.md: about 98,600 points
    assert 900 <= counts["distinct_freqs"] <= 1100  # about 1k distinct frequencies
    assert 1000 <= counts["distinct_times"] <= 10_000  # a few thousand distinct times
    assert t.min() >= 0 and t.max() <= 1 and f.min() >= 0 and f.max() <= 1
    assert np.all(m > 0)


def test_bad_arguments():
    with pytest.raises(SystemExit):
        main(["bench", "--repeats", "x"])
    assert main(["bench", "--quick", "--repeats", "0"]) == 1  # a clear error, exit status 1
