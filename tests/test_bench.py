"""``innmf bench`` in its tiny mode: the JSON has every key, with sane values (no timing asserts)."""

import json
import math
import os

import numpy as np
import pytest
import torch

from innmf.tools.bench.units import synthetic_hybrid_coordinates
from innmf.tools.cli import main

FIGURES = ["innmf", "nmf", "nmf_large", "hybrid"]
REQUIRED = [
    "innmf_epoch_ms", "innmf_published_structure_ms", "innmf_plain_eager_ms",
    "innmf_achieved_gflops", "peak_gflops", "fma_peak_gflops_core", "fma_peak_gflops_machine",
    "nmf_iter_ms", "nmf_iter_ms_float64", "nmf_sklearn_float32_ms", "nmf_sklearn_float64_ms",
    "nmf_numpy_float32_ms", "nmf_torch_float32_ms", "nmf_final_kl", "nmf_large_iter_ms",
    "hybrid_epoch_ms", "hybrid_pointwise_ms", "startup_s",
    *[f"{fig}_speedup_vs_fastest" for fig in FIGURES],
    *[f"{fig}_of_core_peak" for fig in FIGURES], *[f"{fig}_of_machine_peak" for fig in FIGURES],
]  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_thread")  # fixture in conftest.py


def test_quick_bench_json(capsys):
    assert main(["bench", "--quick", "--json", "--repeats", "1"]) == 0
    results = json.loads(capsys.readouterr().out)
    for key in REQUIRED:
        assert isinstance(results[key], float) and math.isfinite(results[key]) and results[key] > 0, key
    assert results["device"] == "cpu"
    assert results["threads"] == results["torch_threads"] == 1
    assert results["torch_version"] == torch.__version__
    assert "family" in results["cpu_model"] or not os.path.exists("/proc/cpuinfo")  # the core, not only the vendor
    assert results["commit"] and results["blas"]
    # the same KL updates from the same start: every peer ends at the same loss
    for fig in ("nmf", "nmf_large"):
        for peer, kl in results[f"{fig}_peer_final_kl"].items():
            assert results[f"{fig}_final_kl"] == pytest.approx(kl, rel=1e-3), (fig, peer)
    assert results["nmf_skipped"].keys() <= {"torchnmf_float32"}
    # the headline is the ratio against the fastest peer, which is the smallest of all ratios
    for fig in FIGURES:
        peers = {k for k in results if k.startswith(f"{fig}_speedup_vs_") and not k.endswith("_fastest")}
        fastest = results[f"{fig}_fastest_peer"]
        assert results[f"{fig}_speedup_vs_fastest"] == results[f"{fig}_speedup_vs_{fastest}"]
        matched = {k for k in peers if not k.endswith("float64")}  # float64 is compared with our float64
        assert results[f"{fig}_speedup_vs_fastest"] == pytest.approx(min(results[k] for k in matched)), fig
    assert results["peak_gflops"] >= results["peak_gflops_matmul"]


def test_table_output(capsys):
    assert main(["bench", "--quick", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "innmf_speedup_vs_fastest" in out and "hybrid_speedup_vs_fastest" in out


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


def test_ratios_name_every_peer_and_the_fastest():
    from innmf.tools.bench.figures import ratios

    out = ratios("x", 2.0, {"a": 3.0, "b": 10.0})
    assert out["x_fastest_peer"] == "a"
    assert out["x_speedup_vs_fastest"] == 1.5 and out["x_speedup_vs_b"] == 5.0 and out["x_a_ms"] == 3.0


def test_trial_counts_like_for_like():
    from innmf.experiments.settings import get_profile
    from innmf.tools.bench.trial import COUNTS, our_counts

    ours = our_counts(get_profile("paper"))
    assert ours.keys() == COUNTS.keys()
    # ours learns 2 networks and 8 speaker NMFs per trial (shared by both experiments); published: 3 and 12
    assert ours["inr_epochs"] == 2 * 1000 and COUNTS["inr_epochs"] == 3 * 1000
    assert ours["nmf_iterations"] == 8 * 3000 and COUNTS["nmf_iterations"] == 12 * 3000
    assert ours["nmf_mixture_iterations"] == COUNTS["nmf_mixture_iterations"]


def test_cpu_model_names_family_and_model(monkeypatch):
    from innmf.tools.bench import machine

    monkeypatch.setattr(machine, "cpuinfo", lambda: {"model name": "AMD EPYC", "cpu family": "26", "model": "2",
                                                     "stepping": "0"})
    assert machine.cpu_model() == "AMD EPYC (family 26, model 2, stepping 0)"


def test_an_unknown_device_is_a_clear_error(capsys):
    from innmf.tools.cli import main

    assert main(["bench", "--device", "tpu"]) == 1
    err = capsys.readouterr().err
    assert "device" in err and "tpu" in err and "cuda:N" in err and "Traceback" not in err
