"""innmf.accel.refit_fused: the fused Rprop refit against the plain math of innmf.paper and the BLAS path."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from innmf.accel import refit_fused
from innmf.accel.activations import fit_activations_fixed_W
from innmf.models.training import fit_H

pytestmark = [
    pytest.mark.usefixtures("one_thread"),  # fixture in conftest.py
    pytest.mark.skipif(refit_fused.kernels() is None, reason="numba unavailable"),
]


def _problem(F, T, K, seed=0, dtype=torch.float64):
    rng = np.random.default_rng(seed)
    W = rng.gamma(1.0, 1.0, (F, K))
    V = W @ rng.gamma(1.0, 1.0, (K, T)) * rng.uniform(0.5, 1.5, (F, T))
    V[0, : T // 2] = 0.0  # zeros in the target (0 log 0 = 0)
    if T > 3:
        V[:, 3] = 0.0  # a silent frame: its activations are driven towards 0
    return torch.as_tensor(V, dtype=dtype), torch.as_tensor(W, dtype=dtype)


# sizes below, at and above the row block (8 or 2) and the two-vector column tile; odd K
@pytest.mark.parametrize("F,T,K", [(1, 1, 1), (7, 31, 3), (16, 32, 4), (37, 65, 5), (129, 100, 20)])
def test_float64_matches_the_papers_math(F, T, K):
    """Autograd through innmf.paper.inmf.loss_fixed_W and torch.optim.Rprop, float64."""
    V, W = _problem(F, T, K)
    H_ref, loss_ref = fit_H(V, W, 60, seed=3, reference=True)
    H, losses = fit_activations_fixed_W(V, W, 60, seed=3, kernel="fused")
    np.testing.assert_allclose(H.numpy(), H_ref.numpy(), rtol=1e-10, atol=1e-12)
    # atol: near a perfect fit the terms cancel, in both sums alike
    np.testing.assert_allclose(losses, loss_ref, rtol=1e-10, atol=1e-14 * loss_ref[0])
    assert losses.dtype == np.float64 and losses.shape == (60,)


def test_float32_follows_the_blas_path():
    """The same optimisation in float32: sums in another order and softplus rounded
    differently, so float rounding apart (Rprop's steps do not depend on the gradient's size)."""
    V, W = _problem(200, 90, 8, seed=1, dtype=torch.float32)
    H_blas, loss_blas = fit_activations_fixed_W(V, W, 150, seed=0)
    H, losses = fit_activations_fixed_W(V, W, 150, seed=0, kernel="fused")
    np.testing.assert_allclose(losses, loss_blas, rtol=2e-5)
    assert float((H - H_blas).abs().max()) <= 1e-3 * float(H_blas.abs().max())
    assert H.dtype == torch.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threads_and_slices_change_no_bit(dtype):
    """Every column sums in a fixed order and the loss per column in float64: the same
    bits at any thread count, and in slices of epochs (the progress bar's) as in one call."""
    V, W = (x.numpy().astype(dtype) for x in _problem(45, 170, 5, seed=2))
    L0 = np.random.default_rng(0).random((5, 170)).astype(dtype)
    runs = [refit_fused.FusedRefit(V, W, L0, 1e-3, refit_fused.kernels(), threads=n) for n in (1, 2, 3)]
    losses = [run.run(40, 3) for run in runs]
    sliced = refit_fused.FusedRefit(V, W, L0, 1e-3, refit_fused.kernels(), threads=2)
    losses.append(np.concatenate([sliced.run(n, 3) for n in (10, 7, 23)]))
    for run, loss in zip([*runs[1:], sliced], losses[1:]):
        np.testing.assert_array_equal(run.L, runs[0].L)
        np.testing.assert_array_equal(loss, losses[0])
    assert losses[0].shape == (14,)  # epochs 0, 3, ..., 39


def test_loss_every_records_a_subset_and_changes_nothing_else():
    V, W = _problem(30, 40, 4, dtype=torch.float32)
    H_all, all_losses = fit_activations_fixed_W(V, W, 10, seed=0, kernel="fused")
    H_some, some = fit_activations_fixed_W(V, W, 10, seed=0, loss_every=4, kernel="fused")
    np.testing.assert_array_equal(H_some.numpy(), H_all.numpy())
    np.testing.assert_array_equal(some, all_losses[[0, 4, 8]])


def test_silent_frame_goes_to_zero_and_progress_runs():
    V, W = _problem(20, 12, 3)
    H, losses = fit_activations_fixed_W(V, W, 300, seed=0, kernel="fused", progress=True)
    H_ref, _ = fit_activations_fixed_W(V, W, 300, seed=0)
    assert float(H[:, 3].max()) < 1e-300
    assert losses[-1] < 0.2 * losses[0]
    np.testing.assert_allclose(H.numpy(), H_ref.numpy(), rtol=1e-9, atol=1e-12)


def test_the_default_is_the_blas_path(monkeypatch):
    """The recorded runs' refit must not move: the fused kernels run only when asked for."""
    monkeypatch.setattr(refit_fused, "fit_fused", lambda *a, **k: pytest.fail("fused refit used by default"))
    V, W = _problem(10, 8, 2)
    fit_activations_fixed_W(V, W, 3)
    fit_H(V, W, 3)


def test_bad_options():
    V, W = _problem(10, 8, 2)
    with pytest.raises(ValueError, match="Unknown kernel"):
        fit_activations_fixed_W(V, W, 3, kernel="numba")
    with pytest.raises(ValueError, match="Rprop on the CPU only"):
        fit_activations_fixed_W(V, W, 3, optimizer="adam", kernel="fused")
    with pytest.raises(ValueError, match="fast path"):
        fit_H(V, W, 3, reference=True, kernel="fused")
    with pytest.raises(ValueError, match="threads"):
        refit_fused.FusedRefit(V.numpy(), W.numpy(), np.zeros((2, 8)), 1e-3, refit_fused.kernels(), threads=0)


def test_models_take_the_option():
    from innmf.models.activations import fit_activations
    from innmf.models.implicit import ImplicitWNMF

    V, W = _problem(33, 20, 3, dtype=torch.float32)
    V = V.numpy()
    fits = [fit_activations(V, [W.numpy()[:, :2], W.numpy()[:, 2:]], epochs=20, kernel=k) for k in ("blas", "fused")]
    for a, b in zip(fits[0].H, fits[1].H):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    f = np.linspace(-0.5, 0.5, 33)
    model = ImplicitWNMF(2, hidden=8, seed=0).fit(V, f, epochs=3)
    H = [model.refit_H(V, f, epochs=20, kernel=k) for k in ("blas", "fused")]
    np.testing.assert_allclose(H[1], H[0], rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="optimizer='mu'"):
        model.refit_H(V, f, epochs=2, optimizer="mu", kernel="fused")
    with pytest.raises(ValueError, match="Unknown kernel"):
        fit_activations(V, [W.numpy()], epochs=2, kernel="gpu")


def test_vector_math_against_numpy():
    import numba

    from innmf.accel.simd import vmath

    @numba.njit(error_model="numpy")
    def apply(x, out, which):  # pragma: no cover - compiled
        for i in range(x.shape[0]):
            out[i] = vmath.exp(x[i]) if which == 0 else (vmath.log1p_unit(x[i]) if which == 1 else vmath.log(x[i]))

    rng = np.random.default_rng(0)
    x = -np.concatenate([np.linspace(0.0, 707.0, 20001), rng.exponential(3.0, 20000)])
    e = np.concatenate([np.linspace(0.0, 1.0, 20001), rng.random(20000) ** 8, [1e-300, 1e-20]])
    y = np.concatenate([np.exp(rng.uniform(-700.0, 700.0, 20000)), 1.0 + np.linspace(-1e-6, 1e-6, 101), [np.sqrt(2.0)]])
    for which, arg, ref in ((0, x, np.exp(x)), (1, e, np.log1p(e)), (2, y, np.log(y))):
        out = np.empty_like(arg)
        apply(arg, out, which)
        nonzero = ref != 0
        assert np.max(np.abs(out - ref)[nonzero] / np.abs(ref[nonzero])) < 4 * np.finfo(np.float64).eps, which
        assert np.all(out[~nonzero] == 0)
    out = np.empty(2)
    apply(np.array([-708.0, -1e4]), out, 0)
    assert np.all(out == 0.0)  # below EXP_MIN: 0, not a wrong power of two


_WITHOUT_NUMBA = """
import warnings
import numpy as np, torch
from innmf.accel.activations import fit_activations_fixed_W
from innmf.accel.checked import FastPathWarning
rng = np.random.default_rng(0)
W = torch.as_tensor(rng.random((20, 3)))
V = W @ torch.as_tensor(rng.random((3, 9)))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    H, losses = fit_activations_fixed_W(V, W, 5, kernel="fused")
assert any(issubclass(w.category, FastPathWarning) and "numba" in str(w.message) for w in caught), caught
H_blas, losses_blas = fit_activations_fixed_W(V, W, 5)
assert torch.equal(H, H_blas) and np.array_equal(losses, losses_blas)
print("blas ran")
"""


def test_without_numba_the_blas_path_runs_with_a_warning(tmp_path):
    for name in ("numba", "llvmlite"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('{name} is unavailable in this test')\n")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root)])}
    done = subprocess.run([sys.executable, "-c", _WITHOUT_NUMBA], env=env, cwd=root, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and "blas ran" in done.stdout, done.stderr[-3000:]


def test_bench_record_names_both_paths(capsys):
    import json

    from innmf.tools.bench import refit_paths

    assert refit_paths.main(["--quick", "--epochs", "3", "--rounds", "1", "--threads", "1"]) == 0
    record = json.loads(capsys.readouterr().out)
    rows = record["per_threads"]["1"]
    assert set(rows) == {"refit_N256", "mixture_N256"}
    for row in rows.values():
        assert set(row["epoch_ms"]) == {"blas", "fused"} and row["speedup"] > 0 and set(row["of_fma_peak"]) == {"blas", "fused"}
    assert {"command", "cpu_model", "commit", "load_average_before", "load_average_after"} <= set(record)


# an empty feature list would let numba add the host's (AVX-512 included)
_HASWELL = "+64bit,+avx,+avx2,+fma,+sse,+sse2,+sse3,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16,+bmi,+bmi2,+f16c,+lzcnt,+movbe"
_OTHER_CPU = """
import json, sys
import numpy as np
import innmf.accel.simd.layout as layout
layout.row_block = lambda: 3  # another row block, before the kernels compile
from innmf.accel import refit_fused
V, W, L = (np.asarray(a) for a in json.loads(sys.stdin.read()))
out = []
for dtype in (np.float32, np.float64):
    run = refit_fused.FusedRefit(V.astype(dtype), W.astype(dtype), L.astype(dtype), 1e-3, refit_fused.kernels(), threads=2)
    losses = run.run(30, 7)
    out.append([run.L.tolist(), losses.tolist()])
print(json.dumps({"runs": out, "rows": refit_fused.kernels().ROWS}))
"""


def test_same_bits_with_avx2_code_another_row_block_and_column_block(tmp_path):
    """Compile for Haswell (AVX2, no AVX-512) with 3-row blocks in a fresh process and
    compare every bit with this host's kernels, here also with one-tile column blocks."""
    import json

    V, W = (x.numpy() for x in _problem(45, 70, 5, seed=8))
    L0 = np.random.default_rng(1).random((5, 70))
    env = dict(os.environ, NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES=_HASWELL, NUMBA_CACHE_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", _OTHER_CPU], input=json.dumps([V.tolist(), W.tolist(), L0.tolist()]),
                          capture_output=True, text=True, env=env, timeout=600, check=True)
    other = json.loads(proc.stdout)
    assert other["rows"] == 3
    for dtype, (L_other, losses_other) in zip((np.float32, np.float64), other["runs"]):
        run = refit_fused.FusedRefit(V.astype(dtype), W.astype(dtype), L0.astype(dtype), 1e-3, refit_fused.kernels())
        run._chunk = 2 * 64 // np.dtype(dtype).itemsize  # one two-vector tile per column block
        losses = run.run(30, 7)
        np.testing.assert_array_equal(run.L, np.asarray(L_other, dtype=dtype))
        np.testing.assert_array_equal(losses, np.asarray(losses_other))
