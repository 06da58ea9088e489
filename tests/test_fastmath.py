"""The one-pass sin/cos kernel against float64 references, and the INR kernels using it."""

import numpy as np
import pytest
import torch

from innmf.accel.simd.sincos import compiled_kernel, fast_sincos_available, sincos_
from innmf.models.inr import ComponentNetworks

needs_kernel = pytest.mark.skipif(compiled_kernel() is None, reason="numba kernel unavailable")


@needs_kernel
def test_sin_and_cos_within_a_float32_ulp():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 3, 100_000), rng.normal(0, 1e4, 10_000), [0.0, np.pi / 2, -np.pi, 1e-30]])
    z = torch.tensor(x, dtype=torch.float32)
    exact = z.double().numpy()
    s = torch.empty_like(z)
    assert sincos_(z, s) is True
    ulp = np.spacing(np.float32(1.0)) / 2  # 6e-8: output magnitudes are <= 1
    assert np.abs(s.numpy() - np.sin(exact)).max() <= ulp
    assert np.abs(z.numpy() - np.cos(exact)).max() <= ulp


def test_falls_back_to_torch_sin_elsewhere():
    z = torch.linspace(-5, 5, 101, dtype=torch.float64)
    s = torch.empty_like(z)
    assert fast_sincos_available(z) is False
    assert sincos_(z, s) is False
    torch.testing.assert_close(s, torch.sin(z))
    torch.testing.assert_close(z, torch.linspace(-5, 5, 101, dtype=torch.float64))  # untouched


@needs_kernel
def test_fused_network_gradients_match_the_plain_backend():
    x = torch.linspace(0, 1, 257)
    fused = ComponentNetworks(5, 16, seed=0)
    plain = ComponentNetworks(5, 16, seed=0, backend="bmm")
    plain.load_state_dict(fused.state_dict())
    outs = []
    for net in (fused, plain):
        y = net(x)
        (y * torch.arange(5.0)).sum().backward()
        outs.append((y.detach(), [p.grad.clone() for p in net.parameters() if p.grad is not None]))
    torch.testing.assert_close(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-6)
    for a, b in zip(outs[0][1], outs[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(__import__("importlib").import_module("innmf.accel.simd.sincos").kl_ratio_kernel() is None, reason="numba unavailable")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_kl_ratio_matches_torch_passes(monkeypatch, dtype):
    import innmf.models.nmf as nmf_module

    rng = np.random.default_rng(1)
    V = rng.gamma(1.0, 1.0, (40, 30))
    V[:, 3] = 0.0  # a silent frame: its activations go to zero and are thresholded
    W0 = rng.random((40, 5)) + 0.1
    W0[:, 2] = 0.0  # a dead component: zero denominators are floored
    H0 = rng.random((5, 30)) + 0.1
    # the unfused updates: the fused kernels (tests/test_fused_kl.py) would take their place
    monkeypatch.setattr(nmf_module, "_fused_run", lambda *args: None)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the compiled passes are used by single-threaded runs only
    try:
        used = []
        real = nmf_module.kl_ratio_kernel
        monkeypatch.setattr(nmf_module, "kl_ratio_kernel", lambda: used.append(1) or real())
        fast = nmf_module.nmf(V, 5, 80, W=W0, H=H0, dtype=dtype)
        assert used, "the compiled path was not taken"
        monkeypatch.setattr(nmf_module, "kl_ratio_kernel", lambda: None)
        plain = nmf_module.nmf(V, 5, 80, W=W0, H=H0, dtype=dtype)
    finally:
        torch.set_num_threads(threads)
    tol = 1e-4 if dtype == torch.float32 else 1e-12  # sums in another order: float rounding
    np.testing.assert_allclose(fast.W, plain.W, rtol=tol, atol=tol * 1e-3)
    np.testing.assert_allclose(fast.H, plain.H, rtol=tol, atol=tol * 1e-3)
    np.testing.assert_allclose(fast.losses, plain.losses, rtol=tol)
    assert (fast.H[:, 3] == 0).all()
