"""The CUDA paths agree with the CPU paths (skipped where torch sees no GPU).

CI has no GPU; these run on a device machine (see the issue notes for the last run).
A GPU does not give bit-identical numbers, so the comparisons allow float32 rounding
that grows with the number of iterations.
"""

import numpy as np
import pytest
import torch

from innmf.models.implicit import ImplicitWH, ImplicitWNMF, fit_activations
from innmf.models.nmf import nmf

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(0)
    W = rng.gamma(1.0, 1.0, (60, 4))
    H = rng.gamma(1.0, 1.0, (4, 40))
    return W @ H + 1e-3, np.linspace(0, 1, 60)


@pytest.mark.parametrize("beta", [0, 1, 2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_nmf_cuda_matches_cpu(planted, beta, dtype):
    V, _ = planted
    cpu = nmf(V, 4, 50, beta=beta, seed=0, dtype=dtype)
    gpu = nmf(V, 4, 50, beta=beta, seed=0, dtype=dtype, device="cuda")
    tol = 1e-9 if dtype == torch.float64 else 1e-3
    np.testing.assert_allclose(gpu.W, cpu.W, rtol=tol, atol=tol * np.abs(cpu.W).max())
    np.testing.assert_allclose(gpu.losses[-1], cpu.losses[-1], rtol=tol)


def test_nmf_cuda_fixed_W(planted):
    V, _ = planted
    W = np.abs(np.random.default_rng(1).normal(size=(60, 6))) + 0.1
    cpu = nmf(V, 6, 40, W=W, fix_W=True, seed=0)
    gpu = nmf(V, 6, 40, W=W, fix_W=True, seed=0, device="cuda")
    np.testing.assert_array_equal(gpu.W, W.astype(np.float32))
    np.testing.assert_allclose(gpu.H, cpu.H, rtol=1e-3, atol=1e-4)


def test_implicit_w_sample_and_refit_on_cuda(planted):
    V, f = planted
    cpu = ImplicitWNMF(4, hidden=16, n_freqs=6, seed=0, backend="reference")
    gpu = ImplicitWNMF(4, hidden=16, n_freqs=6, seed=0, device="cuda")
    cpu.fit(V, f, epochs=20)
    gpu.fit(V, f, epochs=20)
    f2 = np.linspace(0, 1, 97)
    np.testing.assert_allclose(gpu.sample_W(f2), cpu.sample_W(f2), rtol=2e-3, atol=1e-4)
    np.testing.assert_allclose(gpu.refit_H(V, f, epochs=10), cpu.refit_H(V, f, epochs=10),
                               rtol=5e-3, atol=1e-4)


def test_activations_on_cuda(planted):
    V, _ = planted
    W1, W2 = np.abs(np.random.default_rng(2).normal(size=(2, 60, 3))) + 0.1
    cpu = fit_activations(V, [W1, W2], epochs=20, seed=0)
    gpu = fit_activations(V, [W1, W2], epochs=20, seed=0, device="cuda")
    for a, b in zip(cpu.H, gpu.H):
        np.testing.assert_allclose(b, a, rtol=2e-3, atol=1e-4)


@pytest.mark.parametrize("evaluation", ["distinct", "pointwise"])
def test_implicit_wh_on_cuda(evaluation):
    rng = np.random.default_rng(3)
    t, f = np.meshgrid(np.linspace(0, 1, 30), np.linspace(0, 1, 20))
    t, f = t.ravel(), f.ravel()
    m = rng.gamma(1.0, 1.0, t.size)
    cpu = ImplicitWH(2, hidden=8, seed=0, evaluation=evaluation, backend="reference")
    gpu = ImplicitWH(2, hidden=8, seed=0, evaluation=evaluation, device="cuda")
    h_cpu = cpu.fit(t, f, m, epochs=10, fraction=1.0).history_
    h_gpu = gpu.fit(t, f, m, epochs=10, fraction=1.0).history_
    np.testing.assert_allclose(h_gpu, h_cpu, rtol=2e-3)
    assert np.isfinite(gpu.predict(t, f)).all()


def test_smoke_trial_on_cuda_matches_cpu():
    from innmf.data import make_trials
    from innmf.experiments.trial import cached_corpus, run_trial
    from innmf.experiments.settings import get_profile

    cpu_settings = get_profile("smoke", n_ffts=[1000], extra_n_ffts=[])
    gpu_settings = {**cpu_settings, "device": "cuda"}
    trial = make_trials(cached_corpus("default"), 1, seed=0, train_seconds=6.0, test_seconds=2.0)[0]
    cpu = run_trial(cpu_settings, trial, ["reconstruction", "separation"])
    gpu = run_trial(gpu_settings, trial, ["reconstruction", "separation"])
    assert [(r["method"], r["metric"], r["n_fft"]) for r in cpu] == \
        [(r["method"], r["metric"], r["n_fft"]) for r in gpu]
    for a, b in zip(cpu, gpu):
        tol = 1e-3 * max(1.0, abs(a["value"])) if a["metric"] == "kl" else 0.05 * max(1.0, abs(a["value"]))
        assert abs(a["value"] - b["value"]) <= tol, (a, b)
