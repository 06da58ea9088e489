"""sin and cos of a float32 CPU buffer in one pass: the sine activations of the INR.

The paper's networks apply sin after three of their layers; training needs sin(z)
in the forward pass and cos(z) in the backward pass, and PyTorch's CPU sin and cos
are a large part of an epoch of the paper's speech network (K=20 x h=64 x 1001
points per layer). :func:`sincos_` computes both in one compiled pass (numba,
vectorised by LLVM), faster than torch.sin alone (``results/bench/README.md``,
the one part of the networks' fast path that clearly pays): the argument is reduced
by pi/2 in float64 with a two-part constant, and sin and cos of the remainder
(|r| <= pi/4) come from their Taylor polynomials to degree 13 and 12 (:func:`innmf.accel.simd.vmath.sin_cos`), whose
truncation error (< 1e-11) is far below float32's rounding. Results agree with
float64 sin/cos to half a float32 ulp over the tested range (|z| up to 3e8).

Used by :mod:`innmf.accel.grouped_mlp` (chapter "Implicit neural factors"); where numba
is missing, or the compiled kernel fails its check at first use, PyTorch's sin
and cos are used instead (with a warning, :mod:`innmf.accel.checked`) and only
speed is lost. Reference: ``torch.sin``/``torch.cos`` in float64 (``tests/test_fastmath.py``).
"""

from __future__ import annotations

import numpy as np
import torch

from innmf.accel.checked import fast_path, require_close


def _compile():
    import numba

    from innmf.accel.simd.vmath import SIN_FLAGS, sin_cos

    @numba.njit(fastmath=SIN_FLAGS, boundscheck=False, cache=True, nogil=True)
    def kernel(z, s):  # pragma: no cover - compiled
        for i in range(z.shape[0]):
            sv, cv = sin_cos(np.float64(z[i]))
            s[i] = np.float32(sv)
            z[i] = np.float32(cv)

    return kernel


@fast_path("sincos", "sin and cos of the sine layers in one compiled pass; torch.sin and torch.cos run instead")
def compiled_kernel():
    """The compiled kernel ``kernel(z, s)`` (flat float32 arrays), or None if refused.

    Compiled (or loaded from numba's cache) and checked against float64 sin/cos
    once per process (:mod:`innmf.accel.checked`).
    """
    kernel = _compile()
    x = np.concatenate([np.linspace(-40.0, 40.0, 4001), [0.0, 1e-30, 1e4, -3e5]]).astype(np.float32)
    z, s = x.copy(), np.empty_like(x)
    kernel(z, s)
    exact = x.astype(np.float64)
    require_close(s, np.sin(exact), 0.0, 1e-6, "compiled sin")
    require_close(z, np.cos(exact), 0.0, 1e-6, "compiled cos")
    return kernel


def fast_sincos_available(t: torch.Tensor) -> bool:
    """Whether :func:`sincos_` takes the one-pass path for this tensor."""
    return t.device.type == "cpu" and t.dtype == torch.float32 and t.is_contiguous() and compiled_kernel() is not None


def sincos_(z: torch.Tensor, sin_out: torch.Tensor) -> bool:
    """Write sin(z) into ``sin_out`` and, where the one-pass kernel applies, cos(z) into ``z``.

    Args:
        z: pre-activations (any shape); overwritten with cos(z) when this returns True.
        sin_out: a tensor of z's shape receiving sin(z).

    Returns:
        True if ``z`` now holds cos(z) (CPU float32 with numba); False if only the
        sine was computed (torch.sin) and ``z`` is unchanged.
    """
    if fast_sincos_available(z) and sin_out.is_contiguous() and sin_out.dtype == z.dtype:
        compiled_kernel()(z.detach().view(-1).numpy(), sin_out.detach().view(-1).numpy())
        return True
    torch.sin(z, out=sin_out)
    return False


# --- KL multiplicative updates (innmf.models.nmf): the pass between W H and the loss -------------

_MU_FLAGS = {"nsz", "arcp", "contract", "afn", "reassoc"}


def _compile_kl_ratio():
    import numba

    @numba.njit(fastmath=_MU_FLAGS, error_model="numpy", boundscheck=False, cache=True, nogil=True)
    def kl_ratio(V, WH, R, eps):  # pragma: no cover - compiled
        # WH <- max(WH, eps); R <- V / WH (flat, row-major arrays)
        for i in range(V.shape[0]):
            w = max(WH[i], eps)
            WH[i] = w
            R[i] = V[i] / w

    return kl_ratio


@fast_path("kl_ratio", "floor W H and form V / (W H) in one compiled pass (NMF); two torch passes run instead")
def kl_ratio_kernel():
    """The compiled pass ``kl_ratio(V, WH, R, eps)`` that floors W H and forms V / (W H)
    at once (flat arrays), or None if refused. Checked once per process against numpy.

    Used by :mod:`innmf.models.nmf` where its fused updates (:mod:`innmf.accel.mu_fused_kl`) do not run,
    and for the loss on the iterations that record it.
    """
    kernel = _compile_kl_ratio()
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        V, W, H = (rng.random(s).astype(dtype) for s in ((7, 5), (7, 3), (3, 5)))
        WH = W @ H
        R = np.empty_like(WH)
        kernel(V.ravel(), WH.ravel(), R.ravel(), dtype(1e-7))
        require_close(R, V / (W @ H), 1e-5, 0.0, f"compiled kl_ratio ({dtype.__name__})")
    return kernel
