"""Fourier encoding and batched component networks (innmf.paper.encoding, innmf.models.inr).

The independent reference is innmf.tools.bench.published_structure: the published code's structure
(one nn.Module per component, Python loops), whose weights we copy over.
"""

import math

import numpy as np
import pytest
import torch

from innmf.paper.encoding import FourierEncoding
from innmf.accel.grouped_mlp import grouped_linear
from innmf.models.inr import ComponentNetworks
from innmf.tools.bench.published_structure import ReferenceImplicitW, batched_from_reference

BACKENDS = ["fused", "bmm"]


pytestmark = pytest.mark.usefixtures("one_thread")  # fixture in conftest.py


@pytest.fixture(scope="module")
def coords():
    return torch.tensor(np.arange(129) / 129 - 0.5, dtype=torch.float32)


def test_paper_encoding_shapes_and_values(coords):
    enc = FourierEncoding(10, "paper", seed=1)
    out = enc(coords)
    assert out.shape == (129, 20)
    np.testing.assert_array_equal(enc.frequencies.detach().numpy()[0], 2.0 ** np.arange(10))
    b = enc.phases.detach().numpy()[0]
    arg = np.pi * 2.0 ** np.arange(10)[None, :] * coords.numpy()[:, None] + b[None, :]
    # float32 arguments reach pi * 512 * 0.5 ~ 800 rad, where one ulp is 6e-5
    np.testing.assert_allclose(out.numpy(), np.hstack([np.cos(arg), np.sin(arg)]), atol=3e-4)
    assert enc(coords[:, None]).shape == (129, 20)
    per_component = FourierEncoding(10, "paper", seed=1, n_sets=5)
    out5 = per_component(coords)
    assert out5.shape == (129, 5, 20)
    assert not torch.allclose(out5[:, 0], out5[:, 1])  # each component draws its own phases
    assert not enc.frequencies.requires_grad and not enc.phases.requires_grad
    assert FourierEncoding(10, trainable=True).phases.requires_grad


def test_gaussian_encoding_and_seeds(coords):
    enc = FourierEncoding(2000, "gaussian", scale=3.0, seed=0)
    assert enc.frequencies.std().item() == pytest.approx(3.0, rel=0.05)
    assert torch.all(enc.phases == 0)
    assert torch.equal(FourierEncoding(10, seed=4)(coords), FourierEncoding(10, seed=4)(coords))
    assert not torch.equal(FourierEncoding(10, seed=4)(coords), FourierEncoding(10, seed=5)(coords))


def test_encoding_rejects_bad_input():
    enc = FourierEncoding(4)
    with pytest.raises(ValueError, match="shape"):
        enc(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="empty"):
        enc(torch.zeros(0))
    with pytest.raises(ValueError, match="NaN"):
        enc(torch.tensor([0.0, float("nan")]))
    with pytest.raises(ValueError, match="kind"):
        FourierEncoding(4, "learned")


@pytest.mark.parametrize("backend", BACKENDS)
def test_batched_networks_equal_the_published_structure(coords, backend):
    ref = ReferenceImplicitW(rank=6, n_frames=3, hidden=32, seed=0)
    batched = batched_from_reference(ref.W, backend=backend)
    assert batched.backend == backend
    W_ref = ref.get_W(coords)
    W_ours = batched(coords)
    assert W_ours.shape == (129, 6)
    torch.testing.assert_close(W_ours, W_ref, rtol=1e-5, atol=1e-6)
    # and the gradients of every layer agree
    g = torch.randn(129, 6, generator=torch.Generator().manual_seed(0))
    (W_ref * g).sum().backward()
    (W_ours * g).sum().backward()
    for i in range(5):
        ref_grad = torch.stack([net.layers[i].weight.grad.T for net in ref.W])
        ref_bias = torch.stack([net.layers[i].bias.grad for net in ref.W])
        for ours, theirs in ((batched.weights[i].grad, ref_grad), (batched.biases[i].grad, ref_bias)):
            # float32 sums in another order: compare against the gradient's scale
            assert (ours - theirs).abs().max() <= 1e-4 * theirs.abs().max()


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("activation", ["sin", "relu"])
def test_backends_agree(coords, shared, activation):
    nets = {
        b: ComponentNetworks(4, hidden=16, seed=3, backend=b, shared_encoding=shared, activation=activation)
        for b in BACKENDS
    }
    for net in nets.values():  # a trainable encoding: its gradient is checked too
        net.encoding.phases.requires_grad_(True)
    g = torch.randn(129, 4, generator=torch.Generator().manual_seed(1))
    outputs, grads = {}, {}
    for b, net in nets.items():
        out = net(coords)
        (out * g).sum().backward()
        outputs[b] = out.detach()
        grads[b] = [p.grad for p in net.parameters() if p.requires_grad]
        assert all(gr is not None for gr in grads[b])
    for b in BACKENDS[1:]:
        torch.testing.assert_close(outputs[b], outputs["fused"], rtol=1e-5, atol=1e-6)
        for ours, theirs in zip(grads["fused"], grads[b]):
            assert (ours - theirs).abs().max() <= 1e-4 * theirs.abs().max() + 1e-7


@pytest.mark.parametrize("shared", [False, True])
def test_fused_batched_matmul_kernels_in_float64(coords, shared):
    """float64 takes the fused kernel's portable (bmm) branch: compare it with autograd."""
    nets = [ComponentNetworks(3, hidden=8, seed=2, backend=b, shared_encoding=shared, dtype=torch.float64) for b in ("fused", "bmm")]
    x = coords.double()
    for net in nets:
        net.encoding.phases.requires_grad_(True)
        (net(x) ** 2).sum().backward()
    torch.testing.assert_close(nets[0](x), nets[1](x), rtol=1e-12, atol=1e-12)
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        if q.requires_grad:
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-12)


def test_grouped_linear_matches_einsum():
    x = torch.randn(50, 4, 8)
    w, bias = torch.randn(4, 8, 3), torch.randn(4, 3)
    expected = torch.einsum("pki,kio->pko", x, w) + bias
    torch.testing.assert_close(grouped_linear(x, w, bias), expected, rtol=1e-5, atol=1e-5)


def test_paper_network_size_layout_and_init(coords):
    net = ComponentNetworks(20, hidden=64, n_freqs=10, seed=0)
    n_params = sum(p.numel() for name, p in net.named_parameters() if not name.startswith("encoding"))
    assert n_params == 20 * 13_889  # book/paper_setup.md: 13,889 parameters per component network
    assert [tuple(w.shape) for w in net.weights] == [(20, 20, 64), (20, 64, 64), (20, 64, 64), (20, 64, 64), (20, 64, 1)]
    for w, b in zip(net.weights, net.biases):
        bound = 1 / math.sqrt(w.shape[1])  # nn.Linear's default, U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        assert w.abs().max() <= bound and b.abs().max() <= bound
        if w.numel() > 1000:
            assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    out = net(coords)
    assert out.shape == (129, 20) and bool((out >= 0).all())
    assert bool((net(coords, raw=True) < 0).any())  # the softplus is what makes it non-negative
    flops = net.flops_per_point(backward=False, composed=False)
    assert flops == 20 * 2 * (20 * 64 + 3 * 64 * 64 + 64)


def test_siren_and_relu_variants(coords):
    siren = ComponentNetworks(3, hidden=32, init="siren", seed=0)
    assert siren.weights[2].abs().max() <= math.sqrt(6 / 32)
    assert siren.weights[2].abs().max() > 1 / math.sqrt(32)
    relu = ComponentNetworks(3, hidden=32, activation="relu", seed=0)
    for net in (siren, relu):
        out = net(coords)
        assert out.shape == (129, 3) and bool((out >= 0).all())
    shared = ComponentNetworks(3, hidden=8, shared_encoding=True, seed=0)
    assert shared.encoding.n_sets == 1 and shared(coords).shape == (129, 3)


def test_fused_buffers_are_never_shared_between_live_graphs(coords):
    net = ComponentNetworks(3, hidden=8, seed=0)
    ref = ComponentNetworks(3, hidden=8, seed=0, backend="bmm")
    # two forward passes before one backward: the second must not overwrite the first's buffers
    loss = net(coords).sum() + (net(coords[::2]) ** 2).sum()
    loss.backward()
    (ref(coords).sum() + (ref(coords[::2]) ** 2).sum()).backward()
    for ours, theirs in zip(net.parameters(), ref.parameters()):
        if theirs.grad is not None:
            assert (ours.grad - theirs.grad).abs().max() <= 1e-4 * theirs.grad.abs().max() + 1e-7
    out = net(coords).sum()
    out.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="only once"):
        out.backward()
    with torch.no_grad():  # sampling while nothing is pending
        torch.testing.assert_close(net(coords), ref(coords), rtol=1e-5, atol=1e-6)
    fresh = ComponentNetworks(3, hidden=8, seed=0)
    with torch.inference_mode():  # sampling first must not spoil later training
        fresh(coords)
    fresh(coords).sum().backward()
    assert fresh.weights[2].grad is not None


def test_networks_pickle_and_copy_after_use(coords):
    import copy
    import pickle

    net = ComponentNetworks(3, hidden=8, seed=0)
    net(coords).sum().backward()
    with torch.no_grad():
        expected = net(coords)
    for clone in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        with torch.no_grad():
            torch.testing.assert_close(clone(coords), expected)


def _graph_size(t: torch.Tensor) -> int:
    seen, todo = set(), [t.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        todo.extend(n for n, _ in node.next_functions)
    return len(seen)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_batched_call_for_all_components(coords, backend):
    """The autograd graph has the same size for 2 and 16 components: no per-component loop."""
    sizes = [_graph_size(ComponentNetworks(K, hidden=8, backend=backend)(coords).sum()) for K in (2, 16)]
    assert sizes[0] == sizes[1]


def test_bad_configuration_raises(coords):
    with pytest.raises(ValueError, match="n_layers"):
        ComponentNetworks(2, n_layers=1)
    with pytest.raises(ValueError, match="activation"):
        ComponentNetworks(2, activation="tanh")
    with pytest.raises(ValueError, match="sets of phases"):
        ComponentNetworks(3, encoding=FourierEncoding(4, n_sets=2))
    with pytest.raises(ValueError, match="Unknown backend 'onednn'"):
        ComponentNetworks(2, backend="onednn")  # removed: the private op gained nothing
    with pytest.raises(ValueError, match="Features"):
        ComponentNetworks(2, hidden=4).forward_features(torch.zeros(5, 3, 20))
