"""The networks' chunked compiled kernels (innmf.accel.grouped_compiled) against autograd in float64."""

import numpy as np
import pytest
import torch

from innmf.accel import grouped_compiled as gc
from innmf.accel.grouped_mlp import Workspaces, fused_mlp
from innmf.models.inr import ComponentNetworks
from innmf.models.training import make_step
from innmf.paper.encoding import FourierEncoding

kernels = gc.compiled_kernels()
pytestmark = pytest.mark.skipif(kernels is None, reason=f"compiled grouped kernels refused: {gc.compiled_kernels.reason}")


def _problem(K, P, d0, h, n_hidden, shared, seed=0):
    gen = torch.Generator().manual_seed(seed)
    features = torch.rand(P, d0, generator=gen) * 4 - 2 if shared else torch.rand(P, K, d0, generator=gen) * 4 - 2
    dims = [d0] + [h] * n_hidden + [1]
    weights = [(torch.rand(K, a, b, generator=gen) - 0.5) * 2 / a ** 0.5 for a, b in zip(dims[:-1], dims[1:])]
    biases = [torch.rand(K, b, generator=gen) - 0.5 for b in dims[1:]]
    return features, weights, biases, torch.rand(P, K, generator=gen) - 0.5


@pytest.mark.parametrize("activation", ["sin", "relu"])
@pytest.mark.parametrize(
    "K, P, d0, h, n_hidden, shared",
    [
        (3, 1001, 20, 64, 3, False),  # the paper's layers, a ragged last chunk
        (2, 5, 6, 64, 2, True),  # fewer points than one register tile, shared encoding
        (4, 2 * gc.compiled_kernels().CHUNK if kernels else 1, 7, 128, 2, False),  # two slabs of outputs, ragged input tile
        (1, 37, 2, 64, 1, True),  # a single hidden layer
    ],
)
def test_output_and_gradients_match_float64_autograd(activation, K, P, d0, h, n_hidden, shared):
    features, weights, biases, g_out = _problem(K, P, d0, h, n_hidden, shared)
    out, grads = gc.run(kernels, activation, features, weights, biases, g_out, gc.Workspace(), 1)
    ref_out, ref_grads = gc.reference(activation, features, weights, biases, g_out)
    torch.testing.assert_close(out.double(), ref_out, rtol=1e-5, atol=1e-5)
    assert len(grads) == len(ref_grads) == 2 * len(weights)
    for ours, exact in zip(grads, ref_grads):
        assert ours.shape == exact.shape and ours.dtype == torch.float32
        scale = float(exact.abs().max())
        torch.testing.assert_close(ours.double(), exact, rtol=1e-4, atol=2e-5 * scale)


def test_results_do_not_depend_on_the_thread_count():
    features, weights, biases, g_out = _problem(7, 300, 20, 64, 3, False, seed=3)
    runs = [gc.run(kernels, "sin", features, weights, biases, g_out, gc.Workspace(), t) for t in (1, 2, 3, 7)]
    for out, grads in runs[1:]:
        assert torch.equal(out, runs[0][0])
        assert all(torch.equal(a, b) for a, b in zip(grads, runs[0][1]))


def test_the_same_command_gives_the_same_bits_twice():
    features, weights, biases, g_out = _problem(3, 200, 20, 64, 3, True, seed=4)
    ws = gc.Workspace()
    a = gc.run(kernels, "sin", features, weights, biases, g_out, ws, 2)
    b = gc.run(kernels, "sin", features, weights, biases, g_out, ws, 2)
    assert torch.equal(a[0], b[0]) and all(torch.equal(x, y) for x, y in zip(a[1], b[1]))


def test_component_networks_at_the_paper_width_take_the_kernels_and_agree_with_bmm():
    coords = torch.linspace(-0.5, 0.5, 333)
    nets = {b: ComponentNetworks(5, hidden=64, seed=1, backend=b) for b in ("fused", "batched", "bmm")}
    outputs, grads = {}, {}
    for name, net in nets.items():
        before = gc.runs()
        out = net(coords)
        assert (gc.runs() > before) == (name == "fused")
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        outputs[name], grads[name] = out.detach(), [p.grad for p in net.parameters() if p.requires_grad]
    for name in ("batched", "bmm"):
        torch.testing.assert_close(outputs["fused"], outputs[name], rtol=1e-5, atol=1e-6)
        for ours, theirs in zip(grads["fused"], grads[name]):
            torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=5e-5 * float(theirs.abs().max()))  # float32 sums


@pytest.mark.parametrize("case", ["narrow", "float64", "trainable encoding"])
def test_other_networks_take_the_batched_pass(case):
    hidden = 32 if case == "narrow" else 64
    dtype = torch.float64 if case == "float64" else torch.float32
    encoding = FourierEncoding(10, trainable=True, n_sets=3) if case == "trainable encoding" else None
    net = ComponentNetworks(3, hidden=hidden, seed=0, dtype=dtype, encoding=encoding)
    before = gc.runs()
    out = net(torch.linspace(-0.5, 0.5, 50, dtype=dtype))
    out.sum().backward()
    assert gc.runs() == before
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_buffers_in_use_are_not_overwritten_and_backward_runs_once():
    features, weights, biases, _ = _problem(2, 100, 20, 64, 3, True)
    params = [t.clone().requires_grad_() for pair in zip(weights, biases) for t in pair]
    ws = Workspaces()
    first = fused_mlp(ws, "sin", features, params[0::2], params[1::2])
    second = fused_mlp(ws, "sin", features * 0.5, params[0::2], params[1::2])  # ws busy: fresh buffers
    g1 = torch.autograd.grad(first.sum(), params, retain_graph=True)
    expected = torch.autograd.grad(fused_mlp(Workspaces(), "sin", features, params[0::2], params[1::2]).sum(), params)
    assert all(torch.equal(a, b) for a, b in zip(g1, expected))
    torch.autograd.grad(second.sum(), params)
    with pytest.raises(RuntimeError, match="runs only once"):
        torch.autograd.grad(first.sum(), params)


def test_own_threads_runs_torch_single_threaded_and_restores_it():
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with gc.own_threads():
            assert torch.get_num_threads() == 1 and gc.kernel_threads() == 2
        assert torch.get_num_threads() == 2 and gc.kernel_threads() == 2
        with pytest.raises(KeyError), gc.own_threads():
            raise KeyError("boom")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


def test_training_steps_give_the_same_losses_at_one_and_two_threads():
    coords = torch.linspace(-0.5, 0.5, 257)
    target = torch.rand(257, 3, generator=torch.Generator().manual_seed(0))
    previous, losses = torch.get_num_threads(), {}
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            net = ComponentNetworks(3, hidden=64, seed=2)
            step = make_step(lambda: ((net(coords) - target) ** 2).mean(), list(net.parameters()))
            losses[threads] = [float(step()) for _ in range(4)]
            assert torch.get_num_threads() == threads  # make_step's own_threads restored it
    finally:
        torch.set_num_threads(previous)
    np.testing.assert_allclose(losses[1], losses[2], rtol=1e-5)
    assert losses[1][-1] < losses[1][0]


def test_results_stores_record_which_network_kernels_made_their_numbers(monkeypatch):
    from innmf.experiments import store
    from innmf.experiments.settings import get_profile

    chunked = store.result_settings(get_profile("smoke"))
    assert chunked["backend"] == "auto/compiled-chunked"
    monkeypatch.setattr(gc, "compiled_kernels", lambda: None)  # e.g. a CPU without AVX-512
    batched = store.result_settings(get_profile("smoke"))
    assert batched["backend"] == "auto/compiled"
    assert store.settings_hash(chunked) != store.settings_hash(batched)  # a store never mixes the two
