"""Compute kernels behind :class:`innmf.models.inr.ComponentNetworks`: K MLPs as grouped products.

Layouts: ``(P, K, d)`` (points, components, features) at the module boundary;
weights stacked as ``(K, d_in, d_out)``. Three backends:

* ``"fused"`` (the default): the whole stack of layers is one autograd function
  with a hand-written backward pass that writes into buffers persisting between
  calls (a workspace per network), so a training epoch allocates no large tensor.
  On CPUs this matters: fresh multi-megabyte allocations cost a page fault per
  4 KiB (the allocator hands freed memory back to the OS), thousands per epoch of
  the paper's network. On a CPU in float32 the grouped products run as oneDNN 1x1
  convolutions that add into the buffers in place (AVX-512 kernels, twice the
  throughput of MKL's batched matmul on the AMD EPYC we measured); elsewhere
  (CUDA, float64, or a PyTorch without that op) as batched matmuls with ``out=``.
  The in-place convolution is a private PyTorch op (the one ``torch.compile``
  uses on CPUs, see :func:`inplace_conv_op`); it is checked at first use and
  replaced by batched matmuls if missing or wrong. Weight gradients are batched
  matmuls, or on a single-threaded CPU with AVX-512 the kernel of
  :mod:`innmf.accel.simd.weight_grad`. First-order gradients only.
* ``"onednn"`` (CPU, float32): each layer a grouped 1x1 convolution through
  ``torch.nn.functional.conv2d`` with autograd (allocates per call).
* ``"bmm"``: ``torch.baddbmm`` per layer with autograd: the simplest, and the
  reference the others are tested against.

Used by :mod:`innmf.models.inr` (chapter "Implicit neural factors").
"""

from __future__ import annotations

import weakref

import torch
import torch.nn.functional as nnf

from innmf.accel.simd.sincos import sincos_

BACKENDS = ("auto", "fused", "onednn", "bmm")


def onednn_available() -> bool:
    """Whether PyTorch was built with oneDNN (mkldnn) for CPU convolutions."""
    return bool(torch.backends.mkldnn.is_available())


def resolve_backend(backend: str, device: torch.device, dtype: torch.dtype) -> str:
    """The backend to use: ``"auto"`` means ``"fused"``; ``"onednn"`` is checked for support."""
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}; use one of {BACKENDS}.")
    if backend == "auto":
        return "fused"
    if backend == "onednn" and (device.type != "cpu" or dtype != torch.float32 or not onednn_available()):
        raise ValueError("backend='onednn' needs a CPU float32 model and a PyTorch built with oneDNN; use 'fused'.")
    return backend


class _GroupedLinearOneDNN(torch.autograd.Function):
    """y[p, k] = x[p, k] @ W[k] + b[k] via a grouped channels-last 1x1 convolution."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        P, K, d_in = x.shape
        d_out = weight.shape[2]
        x = x.contiguous()
        # (P, K*d_in) row-major memory is exactly NHWC for an image of 1 x P pixels
        image = x.view(1, 1, P, K * d_in).permute(0, 3, 1, 2)
        kernel = weight.transpose(1, 2).reshape(K * d_out, d_in, 1, 1)
        y = nnf.conv2d(image, kernel, bias.reshape(K * d_out), groups=K)
        ctx.save_for_backward(x, weight)
        return y.permute(0, 2, 3, 1).reshape(P, K, d_out)

    @staticmethod
    def backward(ctx, grad_y: torch.Tensor):
        x, weight = ctx.saved_tensors
        P, K, d_in = x.shape
        d_out = weight.shape[2]
        grad_y = grad_y.contiguous()
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            image = x.view(1, 1, P, K * d_in).permute(0, 3, 1, 2)
            kernel = weight.transpose(1, 2).reshape(K * d_out, d_in, 1, 1)
            grad_image = grad_y.view(1, 1, P, K * d_out).permute(0, 3, 1, 2)
            grad_x = torch.ops.aten.convolution_backward(
                grad_image, image, kernel, None, [1, 1], [0, 0], [1, 1], False, [0, 0], K, [True, False, False]
            )[0]
            grad_x = grad_x.permute(0, 2, 3, 1).reshape(P, K, d_in)
        if ctx.needs_input_grad[1]:
            # oneDNN's weight gradient for this shape is slower than MKL's strided bmm
            grad_w = torch.bmm(x.permute(1, 2, 0), grad_y.permute(1, 0, 2))
        if ctx.needs_input_grad[2]:
            grad_b = grad_y.sum(dim=0)
        return grad_x, grad_w, grad_b


def grouped_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, backend: str = "bmm") -> torch.Tensor:
    """Apply K affine maps to K feature blocks at once.

    Args:
        x: (P, K, d_in) inputs, component k's features in x[:, k].
        weight: (K, d_in, d_out) stacked weights.
        bias: (K, d_out) stacked biases.
        backend: ``"onednn"`` or ``"bmm"`` (``"fused"`` works on whole stacks, see
            :func:`fused_mlp`; here it means ``"bmm"``).

    Returns:
        (P, K, d_out) with y[p, k] = x[p, k] @ weight[k] + bias[k].
    """
    if backend == "onednn":
        return _GroupedLinearOneDNN.apply(x, weight, bias)
    return torch.baddbmm(bias[:, None, :], x.transpose(0, 1), weight).transpose(0, 1)


_INPLACE_CONV = None  # (checked?, op)


def inplace_conv_op():
    """oneDNN's in-place convolution (``out += conv(x)``), if this PyTorch build has a working one.

    It is PyTorch's own op for compiled CPU graphs (``torch.ops.mkldnn.
    _convolution_pointwise_.binary``). It is checked once against a plain product
    and not used if missing or wrong, so a PyTorch without it only loses speed.
    """
    global _INPLACE_CONV
    if _INPLACE_CONV is None:
        op = None
        try:
            candidate = torch.ops.mkldnn._convolution_pointwise_.binary
            gen = torch.Generator().manual_seed(0)
            x = torch.randn(5, 2, 3, generator=gen)
            w = torch.randn(2, 3, 4, generator=gen)
            b = torch.randn(2, 4, generator=gen)
            out = torch.zeros(5, 2, 4)
            kernel = w.transpose(1, 2).reshape(8, 3, 1, 1)
            candidate(_image(out), _image(x), kernel, b.reshape(-1), [0, 0], [1, 1], [1, 1], 2, "add", None, None, [], None)
            if torch.allclose(out, torch.einsum("pki,kio->pko", x, w) + b, atol=1e-5):
                op = candidate
        except Exception:  # noqa: BLE001 - missing or unsupported: fall back to bmm
            op = None
        _INPLACE_CONV = (True, op)
    return _INPLACE_CONV[1]


def _image(t: torch.Tensor) -> torch.Tensor:
    """A contiguous (P, ...) tensor viewed as a channels-last image of 1 x P pixels."""
    return t.reshape(1, 1, t.shape[0], -1).permute(0, 3, 1, 2)


class _BmmOps:
    """Grouped products on buffers laid out (K, P, d), with batched matmuls (any device)."""

    layout = "kpd"

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
    def last_weight_grad(a: torch.Tensor, g_out: torch.Tensor, scratch: torch.Tensor) -> torch.Tensor:
        return torch.bmm(a.transpose(1, 2), g_out.t().unsqueeze(-1))

    @staticmethod
    def features_grad(g: torch.Tensor, w: torch.Tensor, shared: bool) -> torch.Tensor:
        gx = torch.bmm(g, w.transpose(1, 2))
        return gx.sum(dim=0) if shared else gx.transpose(0, 1)


_SIMD_WEIGHT_GRAD: list = []  # [the weight_grad_kernels module or None] once checked


def simd_weight_grad():
    """The AVX-512 weight-gradient kernel's module (:mod:`innmf.accel.simd.weight_grad`:
    ``weight_grad`` and ``applies``), or None.

    Used on CPUs with AVX-512 only (on AVX2 its 24-vector tile would spill registers)
    and by single-threaded torch (the profiles' setting), after a check against einsum
    at first use; otherwise the strided bmm runs. The paper's epoch: 15.7 against
    17.5 ms on one core of the Zen 5 CPU we measured.
    """
    if not _SIMD_WEIGHT_GRAD:
        kernel = None
        try:
            from innmf.accel.simd.layout import host_has_avx512

            if host_has_avx512():
                from innmf.accel.simd import weight_grad as candidate

                gen = torch.Generator().manual_seed(0)
                x, g = torch.rand(37, 3, 16, generator=gen), torch.rand(37, 3, 64, generator=gen)
                out = torch.empty(3, 16, 64)
                candidate.weight_grad(x.numpy(), g.numpy(), out.numpy())
                if torch.allclose(out, torch.einsum("pki,pko->kio", x, g), rtol=1e-5, atol=1e-5):
                    kernel = candidate
        except Exception:  # noqa: BLE001 - no numba or a broken build: bmm is used
            kernel = None
        _SIMD_WEIGHT_GRAD.append(kernel)
    return _SIMD_WEIGHT_GRAD[0]


class _OneDNNOps:
    """Grouped products on buffers laid out (P, K, d), as oneDNN 1x1 convolutions that
    write into the buffers in place (CPU, float32); weight gradients by the AVX-512
    kernel of :func:`simd_weight_grad` where it applies, else by strided bmm."""

    layout = "pkd"

    @staticmethod
    def new(K: int, P: int, d: int, like: torch.Tensor) -> torch.Tensor:
        return like.new_empty(P, K, d)

    @staticmethod
    def features(features: torch.Tensor, K: int) -> torch.Tensor:
        return features.contiguous()

    @staticmethod
    def _conv(out: torch.Tensor, x: torch.Tensor, kernel: torch.Tensor, bias, groups: int) -> None:
        out.zero_()  # the op adds its result to the buffer
        inplace_conv_op()(_image(out), _image(x), kernel, bias, [0, 0], [1, 1], [1, 1], groups, "add", None, None, [], None)

    @staticmethod
    def linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> None:
        K, d_in, d_out = w.shape
        kernel = w.transpose(1, 2).reshape(K * d_out, d_in, 1, 1)
        groups = 1 if x.ndim == 2 else K  # a shared encoding feeds every group
        _OneDNNOps._conv(out, x, kernel, b.reshape(-1), groups)

    @staticmethod
    def linear_t(g: torch.Tensor, w: torch.Tensor, out: torch.Tensor) -> None:
        K, d_in, d_out = w.shape
        _OneDNNOps._conv(out, g, w.reshape(K * d_in, d_out, 1, 1), None, K)

    @staticmethod
    def weight_grad(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:  # shared encoding: one (d0, P) x (P, K*d) product
            P, d0 = x.shape
            return (x.t() @ g.reshape(P, -1)).reshape(d0, g.shape[1], -1).transpose(0, 1)
        # the kernel is serial: at 2 threads torch's bmm wins (epoch 12.0 against 14.3 ms)
        kernels = simd_weight_grad() if torch.get_num_threads() == 1 else None
        if kernels is not None and kernels.applies(x.shape[2], g.shape[2]) and x.is_contiguous() \
                and g.is_contiguous():
            out = x.new_empty(x.shape[1], x.shape[2], g.shape[2])
            kernels.weight_grad(x.detach().numpy(), g.detach().numpy(), out.numpy())
            return out
        return torch.bmm(x.permute(1, 2, 0), g.transpose(0, 1))

    @staticmethod
    def bias_grad(g: torch.Tensor) -> torch.Tensor:
        return g.sum(dim=0)

    @staticmethod
    def last(a: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        K, h, _ = w.shape
        out = a.new_empty(a.shape[0], K)  # small and fresh: it is the function's output
        _OneDNNOps._conv(out, a, w.transpose(1, 2).reshape(K, h, 1, 1), b.reshape(-1), K)
        return out

    @staticmethod
    def last_grad_input(g_out: torch.Tensor, w: torch.Tensor, out: torch.Tensor) -> None:
        torch.mul(g_out.unsqueeze(-1), w[:, :, 0], out=out)

    @staticmethod
    def last_weight_grad(a: torch.Tensor, g_out: torch.Tensor, scratch: torch.Tensor) -> torch.Tensor:
        # sum_p a[p, k, :] g[p, k]: a product into scratch and a sum beat a strided
        # matrix-vector bmm (0.15 against 0.9 ms for the paper's network)
        return torch.mul(a, g_out.unsqueeze(-1), out=scratch).sum(dim=0).unsqueeze(-1)

    @staticmethod
    def features_grad(g: torch.Tensor, w: torch.Tensor, shared: bool) -> torch.Tensor:
        K, d0, h = w.shape
        if shared:
            return g.reshape(g.shape[0], -1) @ w.permute(1, 0, 2).reshape(d0, K * h).t()
        out = g.new_empty(g.shape[0], K, d0)
        _OneDNNOps._conv(out, g, w.reshape(K * d0, h, 1, 1), None, K)
        return out


def fused_ops(device: torch.device, dtype: torch.dtype):
    """The kernels the fused backend uses for this device and dtype."""
    if device.type == "cpu" and dtype == torch.float32 and inplace_conv_op() is not None:
        return _OneDNNOps
    return _BmmOps


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

    def ensure(self, ops, K: int, P: int, width: int, n_layers: int, like: torch.Tensor) -> None:
        key = (ops.layout, K, P, width, n_layers, like.dtype, like.device)
        if key != self.key:
            self.z = [ops.new(K, P, width, like) for _ in range(n_layers)]
            self.a = [ops.new(K, P, width, like) for _ in range(n_layers)]
            self.g = ops.new(K, P, width, like)
            self.key = key


class _FusedMLP(torch.autograd.Function):
    """All layers after the encoding: x -> act(x W_0 + b_0) -> ... -> h W_out + b_out."""

    @staticmethod
    def forward(ctx, ws: Workspace, activation: str, features: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        weights, biases = params[0::2], params[1::2]
        ops = fused_ops(features.device, weights[0].dtype)
        K, _, width = weights[0].shape
        if any(w.shape[2] != width for w in weights[:-1]):
            raise ValueError("The fused kernel needs every hidden layer to have the same width.")
        ws.ensure(ops, K, features.shape[0], width, len(weights) - 1, weights[0])
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
        ctx.ws, ctx.ops, ctx.activation, ctx.holds_cos = ws, ops, activation, holds_cos
        ctx.save_for_backward(features, *params)
        ws.owner = weakref.ref(ctx)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        ws: Workspace = ctx.ws
        ops = ctx.ops
        if ws.owner is None or ws.owner() is not ctx:
            raise RuntimeError("This network's buffers were released; backward through it runs only once.")
        features, *params = ctx.saved_tensors
        weights = params[0::2]
        n = len(weights) - 1
        grads: list[torch.Tensor | None] = [None] * len(params)
        g_out = grad.contiguous()  # (P, K)
        grads[-2] = ops.last_weight_grad(ws.a[n - 1], g_out, ws.g)  # ws.g is free until the next line
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
            inp = ws.a[i - 1] if i > 0 else ops.features(features, g_z.shape[0 if ops.layout == "kpd" else 1])
            grads[2 * i] = ops.weight_grad(inp, g_z)
            grads[2 * i + 1] = ops.bias_grad(g_z)
            if i > 0:
                ops.linear_t(g_z, weights[i], g)
            elif ctx.needs_input_grad[2]:
                grad_features = ops.features_grad(g_z, weights[0], features.ndim == 2)
        ws.owner = None  # the pre-activations were overwritten: release the buffers
        return (None, None, grad_features, *grads)


def fused_mlp(
    ws: Workspace, activation: str, features: torch.Tensor, weights: list[torch.Tensor], biases: list[torch.Tensor]
) -> torch.Tensor:
    """Evaluate a stack of grouped layers with the fused kernel.

    Args:
        ws: the network's workspace (a fresh one is used when it is busy).
        activation: ``"sin"`` or ``"relu"``, applied after every layer but the last.
        features: (P, d0) shared or (P, K, d0) per-component inputs.
        weights: per layer (K, d_in, d_out); the last has d_out = 1.
        biases: per layer (K, d_out).

    Returns:
        (P, K), the last layer's outputs.
    """
    if ws.busy() or torch.is_inference_mode_enabled():
        # another graph still needs those buffers, or they would become inference
        # tensors that later training steps may not write to
        ws = Workspace()
    params = [t for pair in zip(weights, biases) for t in pair]
    return _FusedMLP.apply(ws, activation, features, *params)
