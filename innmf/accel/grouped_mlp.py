"""Compute kernels behind :class:`innmf.models.inr.ComponentNetworks`: K MLPs as grouped products.

Layouts: ``(P, K, d)`` (points, components, features) at the module boundary;
``(K, P, d)`` inside, weights stacked as ``(K, d_in, d_out)``. Three backends:

* ``"fused"`` (the default): on a CPU in float32 at hidden widths that are multiples
  of 64 (the paper's), the compiled kernels of :mod:`innmf.accel.grouped_compiled`,
  which take each component's points a chunk at a time through every layer; elsewhere
  ``"batched"``.
* ``"batched"``: the whole stack of layers is one autograd function
  with a hand-written backward pass that writes into buffers persisting between
  calls (a workspace per network), so a training epoch allocates no large tensor.
  On CPUs this matters: fresh multi-megabyte allocations cost a page fault per
  4 KiB (the allocator hands freed memory back to the OS), thousands per epoch of
  the paper's network. The grouped products are public batched matmuls with
  ``out=`` (any device, any dtype); on a CPU in float32 the sine layers take sin
  and cos in one compiled pass (:func:`innmf.accel.simd.sincos.sincos_`), so the
  backward pass needs no second transcendental. First-order gradients only.
* ``"bmm"``: ``torch.baddbmm`` and ``torch.sin`` per layer with autograd: the simplest,
  which the fused backend is tested against (and both against :mod:`innmf.paper.inr`).

Where each measured alternative stands (the private oneDNN in-place convolution and
an AVX-512 weight-gradient kernel, both removed) is in ``results/bench/README.md``.
Used by :mod:`innmf.models.inr` (chapter "Implicit neural factors").
"""

from __future__ import annotations

import weakref

import torch

from innmf.accel import grouped_compiled
from innmf.accel.simd.sincos import sincos_

BACKENDS = ("auto", "fused", "batched", "bmm")


def resolve_backend(backend: str, device: torch.device, dtype: torch.dtype) -> str:
    """The backend to use (``"auto"`` means ``"fused"``); an unknown name is an error."""
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}; use one of {BACKENDS}.")
    return "fused" if backend == "auto" else backend


def grouped_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Apply K affine maps to K feature blocks at once.

    Args:
        x: (P, K, d_in) inputs, component k's features in x[:, k].
        weight: (K, d_in, d_out) stacked weights.
        bias: (K, d_out) stacked biases.

    Returns:
        (P, K, d_out) with y[p, k] = x[p, k] @ weight[k] + bias[k].
    """
    return torch.baddbmm(bias[:, None, :], x.transpose(0, 1), weight).transpose(0, 1)


class _BatchedOps:
    """The fused pass's grouped products on buffers laid out (K, P, d), as batched matmuls."""

    @staticmethod
    def new(K: int, P: int, d: int, like: torch.Tensor) -> torch.Tensor:
        return like.new_empty(K, P, d)

    @staticmethod
    def features(features: torch.Tensor, K: int) -> torch.Tensor:
        if features.ndim == 2:
            return features.unsqueeze(0).expand(K, *features.shape)
        return features.transpose(0, 1)

    @staticmethod
    def linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> None:
        torch.baddbmm(b[:, None, :], x, w, out=out)

    @staticmethod
    def linear_t(g: torch.Tensor, w: torch.Tensor, out: torch.Tensor) -> None:
        torch.bmm(g, w.transpose(1, 2), out=out)

    @staticmethod
    def weight_grad(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return torch.bmm(x.transpose(1, 2), g)

    @staticmethod
    def bias_grad(g: torch.Tensor) -> torch.Tensor:
        return g.sum(dim=1)

    @staticmethod
    def last(a: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(b[:, None, :], a, w)[:, :, 0].t()  # (P, K)

    @staticmethod
    def last_grad_input(g_out: torch.Tensor, w: torch.Tensor, out: torch.Tensor) -> None:
        torch.mul(g_out.t().unsqueeze(-1), w[:, :, 0].unsqueeze(1), out=out)

    @staticmethod
    def last_weight_grad(a: torch.Tensor, g_out: torch.Tensor) -> torch.Tensor:
        # (g^T a)^T, not a^T g: a row vector times a stored matrix takes a fast gemv where the
        # transposed matrix times a column did not (9-17x at the paper's shape), with the same bits
        return torch.bmm(g_out.t().contiguous().unsqueeze(1), a).transpose(1, 2)

    @staticmethod
    def features_grad(g: torch.Tensor, w: torch.Tensor, shared: bool) -> torch.Tensor:
        gx = torch.bmm(g, w.transpose(1, 2))
        return gx.sum(dim=0) if shared else gx.transpose(0, 1)


class Workspace:
    """Buffers of one network's fused forward/backward pass, reused between calls.

    ``owner`` is a weak reference to the autograd context whose backward pass still
    needs the buffers; while it is alive the buffers are not reused (a second
    forward pass then gets buffers of its own).
    """

    def __init__(self):
        self.key: tuple | None = None
        self.z: list[torch.Tensor] = []
        self.a: list[torch.Tensor] = []
        self.g: torch.Tensor | None = None
        self.owner: weakref.ref | None = None

    def busy(self) -> bool:
        return self.owner is not None and self.owner() is not None

    def __getstate__(self) -> dict:
        return {}  # buffers are scratch space: a copied or pickled network starts afresh

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    def ensure(self, K: int, P: int, width: int, n_layers: int, like: torch.Tensor) -> None:
        key = (K, P, width, n_layers, like.dtype, like.device)
        if key != self.key:
            self.z = [_BatchedOps.new(K, P, width, like) for _ in range(n_layers)]
            self.a = [_BatchedOps.new(K, P, width, like) for _ in range(n_layers)]
            self.g = _BatchedOps.new(K, P, width, like)
            self.key = key


class _FusedMLP(torch.autograd.Function):
    """All layers after the encoding: x -> act(x W_0 + b_0) -> ... -> h W_out + b_out."""

    @staticmethod
    def forward(ctx, ws: Workspace, activation: str, features: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        weights, biases = params[0::2], params[1::2]
        ops = _BatchedOps
        K, _, width = weights[0].shape
        if any(w.shape[2] != width for w in weights[:-1]):
            raise ValueError("The fused kernel needs every hidden layer to have the same width.")
        ws.ensure(K, features.shape[0], width, len(weights) - 1, weights[0])
        inp = ops.features(features, K)
        holds_cos = []  # per layer: the one-pass kernel left cos(z) in ws.z[i] for the backward pass
        for i, (w, b) in enumerate(zip(weights[:-1], biases[:-1])):
            ops.linear(inp, w, b, ws.z[i])
            if activation == "sin":
                holds_cos.append(sincos_(ws.z[i], ws.a[i]))
            else:
                torch.clamp_min(ws.z[i], 0.0, out=ws.a[i])
                holds_cos.append(False)
            inp = ws.a[i]
        out = ops.last(inp, weights[-1], biases[-1])  # (P, K): a fresh tensor
        ctx.ws, ctx.activation, ctx.holds_cos = ws, activation, holds_cos
        ctx.save_for_backward(features, *params)
        ws.owner = weakref.ref(ctx)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        ws: Workspace = ctx.ws
        ops = _BatchedOps
        if ws.owner is None or ws.owner() is not ctx:
            raise RuntimeError("This network's buffers were released; backward through it runs only once.")
        features, *params = ctx.saved_tensors
        weights = params[0::2]
        n = len(weights) - 1
        grads: list[torch.Tensor | None] = [None] * len(params)
        g_out = grad.contiguous()  # (P, K)
        grads[-2] = ops.last_weight_grad(ws.a[n - 1], g_out)
        grads[-1] = g_out.sum(dim=0).unsqueeze(-1)
        g = ws.g
        ops.last_grad_input(g_out, weights[-1], g)
        grad_features = None
        for i in range(n - 1, -1, -1):
            z = ws.z[i]
            if not ctx.holds_cos[i]:  # else the forward pass already left cos(z) here
                if ctx.activation == "sin":
                    torch.cos(z, out=z)
                else:
                    z.gt_(0.0)
            g_z = z.mul_(g)  # the buffer now holds d loss / d pre-activation
            inp = ws.a[i - 1] if i > 0 else ops.features(features, g_z.shape[0])
            grads[2 * i] = ops.weight_grad(inp, g_z)
            grads[2 * i + 1] = ops.bias_grad(g_z)
            if i > 0:
                ops.linear_t(g_z, weights[i], g)
            elif ctx.needs_input_grad[2]:
                grad_features = ops.features_grad(g_z, weights[0], features.ndim == 2)
        ws.owner = None  # the pre-activations were overwritten: release the buffers
        return (None, None, grad_features, *grads)


class _CompiledMLP(torch.autograd.Function):
    """The same function as :class:`_FusedMLP`, by the chunked kernels of :mod:`innmf.accel.grouped_compiled`."""

    @staticmethod
    def forward(ctx, ws: grouped_compiled.Workspace, activation: str, features: torch.Tensor, *params: torch.Tensor):
        kernels = grouped_compiled.compiled_kernels()
        weights, biases = params[0::2], params[1::2]
        threads = grouped_compiled.kernel_threads()
        out = grouped_compiled.forward(kernels, ws, activation, features, weights, biases, threads)
        ctx.ws, ctx.kernels, ctx.threads = ws, kernels, threads
        ctx.save_for_backward(features, *params)
        ws.owner = weakref.ref(ctx)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        ws = ctx.ws
        if ws.owner is None or ws.owner() is not ctx:
            raise RuntimeError("This network's buffers were released; backward through it runs only once.")
        features, *params = ctx.saved_tensors
        grads = grouped_compiled.backward(ctx.kernels, ws, features, params[0::2], grad, ctx.threads)
        ws.owner = None
        return (None, None, None, *grads)


class Workspaces:
    """A network's buffers for either fused pass (:class:`Workspace`, :class:`grouped_compiled.Workspace`)."""

    def __init__(self):
        self.batched, self.compiled = Workspace(), grouped_compiled.Workspace()

    def busy(self) -> bool:
        return self.batched.busy() or self.compiled.busy()

    def __getstate__(self) -> dict:
        return {}  # buffers are scratch space: a copied or pickled network starts afresh

    def __setstate__(self, state: dict) -> None:
        self.__init__()


def fused_mlp(
    ws: Workspaces, activation: str, features: torch.Tensor, weights: list[torch.Tensor], biases: list[torch.Tensor],
    compiled: bool = True,
) -> torch.Tensor:
    """Evaluate a stack of grouped layers with a hand-written backward pass.

    Args:
        ws: the network's buffers (fresh ones are used when they are busy).
        activation: ``"sin"`` or ``"relu"``, applied after every layer but the last.
        features: (P, d0) shared or (P, K, d0) per-component inputs.
        weights: per layer (K, d_in, d_out); the last has d_out = 1.
        biases: per layer (K, d_out).
        compiled: take the chunked compiled kernels where they apply
            (:func:`innmf.accel.grouped_compiled.applies`); False: the batched matmuls.

    Returns:
        (P, K), the last layer's outputs.
    """
    if ws.busy() or torch.is_inference_mode_enabled():
        # another graph still needs those buffers, or they would become inference
        # tensors that later training steps may not write to
        ws = Workspaces()
    params = [t for pair in zip(weights, biases) for t in pair]
    if compiled and grouped_compiled.applies(features, weights, activation):
        return _CompiledMLP.apply(ws.compiled, activation, features, *params)
    return _FusedMLP.apply(ws.batched, activation, features, *params)
