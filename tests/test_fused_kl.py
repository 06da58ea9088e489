"""innmf.accel.mu_fused_kl: the fused KL updates against numpy, the unfused updates and scikit-learn."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from sklearn.decomposition import NMF

import innmf.models.nmf as nmf_module
from innmf.accel import mu_fused_kl as fused_kl
from innmf.models.nmf import EPSILON, init_factors, nmf

pytestmark = [
    pytest.mark.usefixtures("one_thread"),  # fixture in conftest.py
    pytest.mark.skipif(fused_kl.kernels() is None, reason="numba unavailable"),
]


def _problem(F, T, K, seed=0):
    rng = np.random.default_rng(seed)
    V = rng.gamma(0.5, 1.0, (F, T))
    V[:, 2:3] = 0.0  # a silent frame (when T > 2)
    W = rng.random((F, K)) + 0.1
    if K > 2:
        W[:, K - 1] = 0.0  # a dead component: its denominators are floored
    H = rng.random((K, T)) + 0.1
    return V, W, H


def _numpy_steps(V, W, H, n, update_W=True):
    """Independent reference: the MU updates written out in float64 numpy."""
    W, H = W.copy(), H.copy()
    for _ in range(n):
        if update_W:
            W *= ((V / np.maximum(W @ H, EPSILON)) @ H.T) / np.maximum(H.sum(1), EPSILON)
        H *= (W.T @ (V / np.maximum(W @ H, EPSILON))) / np.maximum(W.sum(0), EPSILON)[:, None]
        H[H <= np.finfo(np.float64).eps] = 0.0
    return W, H


# sizes below, at and above the row block and the two-vector column tile; odd and even K
@pytest.mark.parametrize("F,T,K", [(1, 1, 1), (7, 31, 3), (16, 32, 4), (37, 65, 5), (129, 100, 20)])
@pytest.mark.parametrize("update_W", [True, False])
def test_steps_match_numpy_float64(F, T, K, update_W):
    V, W, H = _problem(F, T, K)
    run = fused_kl.FusedKL(V, W, H, EPSILON, np.finfo(np.float64).eps, fused_kl.kernels())
    for _ in range(25):
        run.step(update_W)
    W_ref, H_ref = _numpy_steps(V, W, H, 25, update_W)
    np.testing.assert_allclose(run.W, W_ref, rtol=1e-11, atol=1e-300)
    np.testing.assert_allclose(run.H, H_ref, rtol=1e-11, atol=1e-300)
    assert (run.H[:, 2:3] == 0).all()  # the silent frame's activations vanish
    if not update_W:
        np.testing.assert_array_equal(run.W, W)


def test_float32_stays_close_to_float64():
    V, W, H = _problem(101, 77, 6)
    run = fused_kl.FusedKL(*(a.astype(np.float32) for a in (V, W, H)), EPSILON, np.finfo(np.float64).eps,
                           fused_kl.kernels())
    for _ in range(20):
        run.step()
    W_ref, H_ref = _numpy_steps(V, W, H, 20)
    assert run.W.dtype == np.float32
    np.testing.assert_allclose(run.W, W_ref, rtol=2e-4, atol=1e-6)
    np.testing.assert_allclose(run.H, H_ref, rtol=2e-4, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("fix_W", [False, True])
def test_nmf_fused_equals_unfused(monkeypatch, dtype, fix_W):
    V, W, H = _problem(90, 70, 5, seed=3)
    taken = []
    real = nmf_module._fused_run
    monkeypatch.setattr(nmf_module, "_fused_run", lambda *a: taken.append(1) or real(*a))
    fast = nmf(V, 5, 60, W=W, H=H, fix_W=fix_W, dtype=dtype, loss_every=7)
    assert taken and real(*(torch.as_tensor(a, dtype=dtype) for a in (V, W, H)), 1.0) is not None
    monkeypatch.setattr(nmf_module, "_fused_run", lambda *a: None)
    plain = nmf(V, 5, 60, W=W, H=H, fix_W=fix_W, dtype=dtype, loss_every=7)
    tol = 1e-4 if dtype == torch.float32 else 1e-11  # sums in another order
    np.testing.assert_allclose(fast.W, plain.W, rtol=tol, atol=tol * 1e-3)
    np.testing.assert_allclose(fast.H, plain.H, rtol=tol, atol=tol * 1e-3)
    np.testing.assert_allclose(fast.losses, plain.losses, rtol=tol)
    np.testing.assert_array_equal(fast.loss_iterations, plain.loss_iterations)
    assert fast.W.flags.c_contiguous and fast.H.flags.c_contiguous and fast.H.shape == (5, 70)


def test_not_used_where_it_does_not_apply():
    V = torch.rand(8, 9, dtype=torch.float64)
    W, H = torch.rand(8, 2, dtype=torch.float64), torch.rand(2, 9, dtype=torch.float64)
    assert nmf_module._fused_run(V, W, H, 2.0) is None  # Euclidean
    assert nmf_module._fused_run(V, W, H, 0.0) is None  # Itakura-Saito
    assert nmf_module._fused_run(V.half(), W.half(), H.half(), 1.0) is None


def test_paper_shape_matches_sklearn_kl():
    rng = np.random.default_rng(5)
    V = rng.gamma(0.3, 1.0, (257, 120)) * rng.random((257, 1))
    W0, H0 = init_factors(torch.tensor(V), 20, "paper", seed=0)
    ours = nmf(V, 20, 100, W=W0, H=H0, dtype=torch.float32)
    model = NMF(20, solver="mu", beta_loss="kullback-leibler", init="custom", max_iter=100, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W_sk = model.fit_transform(V, W=W0.numpy().copy(), H=H0.numpy().copy())
    np.testing.assert_allclose(ours.W, W_sk, rtol=1e-3, atol=1e-3 * W_sk.max())


# an empty feature list would let numba add the host's (AVX-512 included)
_HASWELL = "+64bit,+avx,+avx2,+fma,+sse,+sse2,+sse3,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16,+bmi,+bmi2,+f16c,+lzcnt,+movbe"
_OTHER_CPU = """
import json, sys
import numpy as np
import innmf.accel.mu_fused_kl as fk
import innmf.accel.simd.layout as layout
layout.row_block = lambda: 3  # another row block, before the kernels compile
from innmf.models.nmf import EPSILON
V, W, H = (np.asarray(a) for a in json.loads(sys.stdin.read()))
out = []
for dtype in (np.float32, np.float64):
    run = fk.FusedKL(V.astype(dtype), W.astype(dtype), H.astype(dtype), EPSILON, 2.0**-52, fk.kernels(), threads=2)
    for _ in range(5):
        run.step()
    out.append([run.W.tolist(), run.H.tolist()])
from innmf.accel.simd import fused_kl as compiled
asm = compiled.update_H_cols.inspect_asm(compiled.update_H_cols.signatures[0])
print(json.dumps({"factors": out, "avx512": "zmm" in asm, "ymm": "ymm" in asm}))
"""


def test_same_bits_with_avx2_code_and_another_row_block(tmp_path):
    """The module promises CPU-independent numbers: compile for Haswell (AVX2, no
    AVX-512) with 4-row blocks in a fresh process and compare every bit."""
    V, W, H = _problem(45, 70, 5, seed=8)
    env = dict(os.environ, NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES=_HASWELL, NUMBA_CACHE_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", _OTHER_CPU], input=json.dumps([V.tolist(), W.tolist(), H.tolist()]),
                          capture_output=True, text=True, env=env, timeout=300, check=True)
    other = json.loads(proc.stdout)
    assert other["ymm"] and not other["avx512"]  # it really ran AVX2 code
    for dtype, (W_other, H_other) in zip((np.float32, np.float64), other["factors"]):
        run = fused_kl.FusedKL(V.astype(dtype), W.astype(dtype), H.astype(dtype), EPSILON, 2.0**-52,
                               fused_kl.kernels())
        for _ in range(5):
            run.step()
        np.testing.assert_array_equal(run.W, np.asarray(W_other, dtype=dtype))
        np.testing.assert_array_equal(run.H, np.asarray(H_other, dtype=dtype))


def test_kernels_refuse_strided_arrays():
    """They index rows as base + row * width: a view with other strides must not compile."""
    from numba.core.errors import TypingError

    from innmf.accel.simd import fused_kl as compiled

    V, W = np.ones((8, 32), np.float32), np.ones((8, 2), np.float32)
    H_strided = np.ones((2, 64), np.float32)[:, ::2]
    with pytest.raises(TypingError, match="C-contiguous"):
        compiled.update_W(V, W, H_strided, np.empty((8, 32), np.float32), np.empty((8, 2), np.float32),
                          np.float32(1e-7))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("F,T,K", [(45, 70, 5), (1001, 319, 20), (130, 33, 3)])
def test_same_bits_at_every_thread_count(dtype, F, T, K):
    """Threads split rows of W and column tiles of H without reordering a sum: 1, 2, 3
    and 5 threads give the same bits, with W updated and with W fixed."""
    V, W, H = (a.astype(dtype) for a in _problem(F, T, K, seed=11))
    results = {}
    for threads in (1, 2, 3, 5):
        run = fused_kl.FusedKL(V, W, H, EPSILON, 2.0**-52, fused_kl.kernels(), threads=threads)
        for i in range(12):
            run.step(update_W=i % 4 != 3)
        results[threads] = (run.W.copy(), run.H.copy())
    assert len(fused_kl.FusedKL(V, W, H, EPSILON, 2.0**-52, fused_kl.kernels(), threads=3)._cols) > 1  # really split
    for threads in (2, 3, 5):
        np.testing.assert_array_equal(results[threads][0], results[1][0])
        np.testing.assert_array_equal(results[threads][1], results[1][1])


def test_threads_default_to_torchs_and_must_be_positive():
    V, W, H = _problem(160, 200, 4)
    assert len(fused_kl.FusedKL(V, W, H, EPSILON, 2.0**-52, fused_kl.kernels())._cols) == 1  # one_thread fixture
    with pytest.raises(ValueError, match="threads must be >= 1"):
        fused_kl.FusedKL(V, W, H, EPSILON, 2.0**-52, fused_kl.kernels(), threads=0)
