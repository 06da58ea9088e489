"""innmf.accel.simd.weight_grad: the AVX-512 weight gradients of the grouped layers."""

import numpy as np
import pytest
import torch

import innmf.accel.grouped_mlp as inr_kernels
from innmf.models.inr import ComponentNetworks

pytestmark = [
    pytest.mark.usefixtures("one_thread"),  # fixture in conftest.py; the kernel is used at one thread
    pytest.mark.skipif(inr_kernels.simd_weight_grad() is None, reason="needs numba and an AVX-512 CPU"),
]


# d_in: whole 12-row tiles, 4-row remainders, both; d_out: one to three column tiles
@pytest.mark.parametrize("P,K,d_in,d_out", [(1, 1, 4, 32), (37, 3, 16, 64), (1001, 20, 64, 64), (50, 2, 28, 96),
                                            (9, 5, 20, 64)])
def test_matches_float64_einsum(P, K, d_in, d_out):
    rng = np.random.default_rng(P + d_in)
    x = rng.standard_normal((P, K, d_in)).astype(np.float32)
    g = rng.standard_normal((P, K, d_out)).astype(np.float32)
    out = np.full((K, d_in, d_out), np.nan, np.float32)
    inr_kernels.simd_weight_grad().weight_grad(x, g, out)
    ref = np.einsum("pki,pko->kio", x.astype(np.float64), g.astype(np.float64))
    # float32 sums of P products: error ~ sqrt(P) eps |x| |g|
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-6 * np.sqrt(P) * np.abs(x).max() * np.abs(g).max() * 4)


def test_refuses_strided_arrays():
    from numba.core.errors import TypingError

    x = np.ones((5, 2, 8), np.float32)
    g = np.ones((5, 2, 64), np.float32)[:, :, ::2]
    with pytest.raises(TypingError, match="C-contiguous"):
        inr_kernels.simd_weight_grad().weight_grad(x, g, np.empty((2, 8, 32), np.float32))


def test_paper_network_gradients_match_bmm(monkeypatch):
    """The fused backend with the kernel against the plain bmm backend, at the paper's width."""
    coords = torch.tensor(np.arange(301) / 301 - 0.5, dtype=torch.float32)
    calls = []
    real = inr_kernels.simd_weight_grad()
    monkeypatch.setattr(inr_kernels, "simd_weight_grad", lambda: calls.append(1) or real)
    grads = {}
    for backend in ("fused", "bmm"):
        net = ComponentNetworks(5, hidden=64, seed=4, backend=backend)
        g = torch.randn(301, 5, generator=torch.Generator().manual_seed(2))
        (net(coords) * g).sum().backward()
        grads[backend] = [p.grad for p in net.parameters() if p.requires_grad]
    assert calls, "the kernel was not asked for"
    for ours, theirs in zip(grads["fused"], grads["bmm"]):
        assert (ours - theirs).abs().max() <= 1e-4 * theirs.abs().max() + 1e-7


def test_not_used_with_several_threads(monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    used = []
    monkeypatch.setattr(inr_kernels, "simd_weight_grad", lambda: used.append(1))
    x, g = torch.rand(7, 2, 16), torch.rand(7, 2, 64)
    out = inr_kernels._OneDNNOps.weight_grad(x, g)
    assert not used
    torch.testing.assert_close(out, torch.einsum("pki,pko->kio", x, g))
