"""The library API refuses what it cannot use, by name, and never fails silently (issue 24).

Each case here was first reproduced on the unchecked API (a silent wrong result, a
misleading message or a raw torch error) and is now a clear ``ValueError``/``TypeError``
or one of the package's named errors. Also: the scikit-learn face of the models
(``components_`` K x F, ``fit`` -> self, ``get_params``/``clone``, ``NotFittedError``), the
one device check shared with the command line, and model files read without unpickling code.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import innmf
from innmf import ImplicitWH, ImplicitWNMF, ModelFileError, NotFittedError, fit_activations, nmf
from innmf.data.validation import check_device, check_float, check_int
from innmf.paper.metrics import kl_divergence
from innmf.tf.stft import frequency_coordinate, magnitude, stft, time_coordinate

N_FFT = 64
SMALL = dict(hidden=4, n_freqs=3, seed=0)


def _planted(n_fft: int = N_FFT, T: int = 12) -> np.ndarray:
    x = frequency_coordinate(n_fft) + 0.5
    W = np.stack([np.exp(-((x - c) / 0.1) ** 2) for c in (0.2, 0.6)], axis=1) + 0.01
    return W @ (np.random.default_rng(0).random((2, T)) + 0.1)


@pytest.fixture(scope="module")
def V() -> np.ndarray:
    return _planted()


@pytest.fixture(scope="module")
def fitted(V) -> ImplicitWNMF:
    return ImplicitWNMF(2, **SMALL).fit(V, frequency_coordinate(N_FFT), epochs=3)


@pytest.fixture(scope="module")
def cloud() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    t, f = rng.integers(0, 20, 300) / 20, rng.integers(0, 16, 300) / 16
    return t, f, (np.exp(-((f - 0.3) / 0.2) ** 2) * (t + 0.1) + 0.01)


@pytest.fixture(scope="module")
def fitted_wh(cloud) -> ImplicitWH:
    return ImplicitWH(2, **SMALL).fit(*cloud, epochs=3)


def _raises(error, words, fn, *args, **kwargs) -> str:
    with pytest.raises(error) as caught:
        fn(*args, **kwargs)
    message = str(caught.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    return message


# --- silent wrong results found by a user, now refused ---------------------------------------------

HZ = np.arange(N_FFT // 2 + 1) * 16000 / N_FFT


def test_implicit_W_refuses_hz_everywhere(V, fitted):
    for call in (lambda: ImplicitWNMF(2, **SMALL).fit(V, HZ, epochs=1), lambda: fitted.transform(V, HZ, epochs=1),
                 lambda: fitted.refit_H(V, HZ, epochs=1), lambda: fitted.sample_W(HZ)):
        _raises(ValueError, ["0 to 8000", "Hz", "[-0.5, 0.5]", "innmf.frequency_coordinate(n_fft)"], call)
    # [0, 1] coordinates (ImplicitWH's convention) are outside model 1's range too
    _raises(ValueError, ["[-0.5, 0.5]"], fitted.sample_W, np.linspace(0, 1, 5))
    assert fitted.sample_W(np.array([-0.5, 0.0, 0.5])).shape == (3, 2)  # the range's ends are in it


def test_implicit_WH_refuses_seconds_and_hz(cloud, fitted_wh):
    t, f, m = cloud
    _raises(ValueError, ["t run from", "[0, 1]", "innmf.time_coordinate"], ImplicitWH(2, **SMALL).fit, t * 3.2, f, m, epochs=1)
    _raises(ValueError, ["f run from", "Hz", "innmf.frequency_coordinate(hz="], ImplicitWH(2, **SMALL).fit,
            t, f * 8000, m, epochs=1)
    _raises(ValueError, ["f_coords", "[0, 1]"], fitted_wh.sample_W, np.array([-0.1, 0.5]))
    _raises(ValueError, ["t_coords", "[0, 1]"], fitted_wh.sample_H, np.array([0.5, 1.5]))
    _raises(ValueError, ["t run from"], fitted_wh.predict, t + 1, f)


def test_the_coordinate_helpers_make_what_the_models_take():
    np.testing.assert_allclose(innmf.frequency_coordinate(4), [-0.5, -1 / 6, 1 / 6])  # k / (N/2+1) - 0.5
    np.testing.assert_allclose(innmf.frequency_coordinate(hz=[0, 4000, 8000], sr=16000), [0, 0.5, 1])
    np.testing.assert_allclose(time_coordinate([0, 1, 3]), [0, 1 / 3, 1])
    np.testing.assert_allclose(time_coordinate([0, 1], t_max=4), [0, 0.25])
    _raises(TypeError, ["n_fft", "hz="], frequency_coordinate)
    _raises(TypeError, ["sr="], frequency_coordinate, hz=[100.0])
    _raises(ValueError, ["outside [0, 8000]"], frequency_coordinate, hz=[9000.0], sr=16000)
    _raises(ValueError, ["beyond t_max"], time_coordinate, [0, 5], t_max=4)
    _raises(ValueError, ["negative"], time_coordinate, [-1, 5])


def test_unfitted_models_raise_not_fitted_everywhere(V, cloud, tmp_path):
    f = frequency_coordinate(N_FFT)
    model, wh = ImplicitWNMF(2, **SMALL), ImplicitWH(2, **SMALL)
    t, fc, m = cloud
    calls = {
        "transform": lambda: model.transform(V, f, epochs=1), "refit_H": lambda: model.refit_H(V, f, epochs=1),
        "sample_W": lambda: model.sample_W(f), "W_": lambda: model.W_, "H_": lambda: model.H_,
        "components_": lambda: model.components_, "history_": lambda: model.history_,
        "save": lambda: model.save(tmp_path / "m.pt"),
        "WH transform": lambda: wh.transform(t, fc, m, epochs=1), "WH sample_W": lambda: wh.sample_W(fc),
        "WH sample_H": lambda: wh.sample_H(t), "WH predict": lambda: wh.predict(t, fc), "WH W_": lambda: wh.W_,
        "WH H_": lambda: wh.H_, "WH components_": lambda: wh.components_, "WH history_": lambda: wh.history_,
        "WH save": lambda: wh.save(tmp_path / "wh.pt"),
    }
    for name, call in calls.items():
        message = _raises(NotFittedError, ["not fitted", "fit()"], call)
        assert name.split()[-1].rstrip("_") in message or name == "refit_H", message
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert not hasattr(model, "components_") and not hasattr(wh, "W_")  # scikit-learn's check_is_fitted idiom
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.parametrize("case, error, words", [
    ("empty V", ValueError, ["V is empty", "(0, 5)"]),
    ("beta nan", ValueError, ["beta", "finite", "nan"]),
    ("complex V", ValueError, ["complex", "np.abs(X)"]),
    ("complex STFT", ValueError, ["complex", "pass magnitudes"]),
    ("rank 2.5", ValueError, ["rank (K)", "whole number", "2.5"]),
    ("rank '3'", TypeError, ["rank (K)", "integer", "'3'"]),
    ("1-D V", ValueError, ["V must be 2-D", "(5,)"]),
    ("0-d V", ValueError, ["V must be 2-D", "scalar"]),
    ("string V", TypeError, ["numeric", "<U"]),
    ("float32 overflow", ValueError, ["too large for torch.float32", "float64"]),
    ("huge rank", ValueError, ["rank K=1000000000000", "GB", "smaller rank"]),
    ("n_iter 1.5", ValueError, ["n_iter", "whole number"]),
    ("dtype float16", ValueError, ["torch.float32 or torch.float64"]),
    ("W_list one matrix", TypeError, ["W_list is one matrix", "[W_1, W_2]"]),
    ("complex V_mix", ValueError, ["V_mix is complex", "np.abs"]),
    ("lr nan", ValueError, ["lr", "finite"]),
])
def test_nmf_and_activations_refuse_by_name(V, case, error, words):
    X = stft(np.random.default_rng(0).standard_normal(4000), N_FFT)
    calls = {
        "empty V": lambda: nmf(np.zeros((0, 5)), 2, 3),
        "beta nan": lambda: nmf(V, 2, 3, beta=float("nan")),
        "complex V": lambda: nmf(V + 1j * V, 2, 3),
        "complex STFT": lambda: nmf(X, 2, 3),  # was "negative entries"
        "rank 2.5": lambda: nmf(V, 2.5, 3),  # was a message about shapes
        "rank '3'": lambda: nmf(V, "3", 3),
        "1-D V": lambda: nmf(np.ones(5), 1, 3),
        "0-d V": lambda: nmf(np.float64(3.0), 1, 3),
        "string V": lambda: nmf(np.array([["a", "b"]]), 1, 3),
        "float32 overflow": lambda: nmf(np.full((3, 3), 1e300), 1, 3),
        "huge rank": lambda: nmf(V, 10**12, 1),
        "n_iter 1.5": lambda: nmf(V, 2, 1.5),
        "dtype float16": lambda: nmf(V, 2, 3, dtype=torch.float16),
        "W_list one matrix": lambda: fit_activations(V, np.ones((V.shape[0], 2)), epochs=1),
        "complex V_mix": lambda: fit_activations(V.astype(complex), [np.ones((V.shape[0], 2))], epochs=1),
        "lr nan": lambda: fit_activations(V, [np.ones((V.shape[0], 2))], epochs=1, lr=float("nan")),
    }
    _raises(error, words, calls[case])


def test_tf_refuses_by_name():
    x = np.random.default_rng(0).standard_normal(400)
    _raises(ValueError, ["power", "> 0"], magnitude, x, N_FFT, power=0)
    _raises(ValueError, ["power", "> 0"], magnitude, x, N_FFT, power=-1)
    _raises(ValueError, ["n_fft", "whole number", "2.5"], stft, x, 2.5)
    _raises(ValueError, ["n_fft", "whole number"], stft, x, 64.5)
    _raises(ValueError, ["hop", "whole number"], stft, x, 64, hop=16.5)
    _raises(ValueError, ["complex", "real signal"], stft, x + 1j, N_FFT)  # was: imaginary part dropped, one warning
    _raises(ValueError, ["NaN"], innmf.istft, np.full((33, 3), np.nan, dtype=complex), N_FFT)
    _raises(ValueError, ["power", "finite"], innmf.separate, x, N_FFT, [np.ones((33, 11))] * 2, power=float("nan"))
    _raises(ValueError, ["Mixture is complex"], innmf.separate, x + 1j, N_FFT, [np.ones((33, 11))] * 2)
    _raises(TypeError, ["one matrix"], innmf.separate, x, N_FFT, np.ones((33, 11)))


def test_model_constructors_refuse_by_name():
    _raises(ValueError, ["rank (K)", ">= 1"], ImplicitWNMF, 0)  # was a message about n_sets
    _raises(ValueError, ["rank (K)", "whole number"], ImplicitWNMF, 2.5)  # was accepted
    _raises(TypeError, ["hidden", "integer"], ImplicitWNMF, 2, hidden=None)
    _raises(ValueError, ["n_freqs (J)", "<= 126"], ImplicitWNMF, 2, n_freqs=200)  # 2^199 overflows float32: NaN features
    _raises(ValueError, ["encoding_scale", "> 0"], ImplicitWNMF, 2, encoding="gaussian", encoding_scale=0.0)
    _raises(ValueError, ["Unknown activation", "'sin'"], ImplicitWH, 2, activation="tanh")
    _raises(ValueError, ["seed", ">= 0"], ImplicitWH, 2, seed=-1)
    _raises(ValueError, ["GB", "smaller rank"], ImplicitWNMF, 10**9)
    _raises(ValueError, ["torch.float32 or torch.float64"], ImplicitWH, 2, dtype=torch.bfloat16)
    assert ImplicitWNMF(2, encoding="gaussian", n_freqs=300, hidden=4).rank == 2  # Gaussian frequencies have no cap


def test_training_settings_refuse_by_name(V, cloud):
    f = frequency_coordinate(N_FFT)
    _raises(ValueError, ["epochs", ">= 1"], ImplicitWNMF(2, **SMALL).fit, V, f, epochs=0)
    _raises(ValueError, ["epochs", "whole number"], ImplicitWNMF(2, **SMALL).fit, V, f, epochs=2.5)
    _raises(ValueError, ["lr", "> 0"], ImplicitWNMF(2, **SMALL).fit, V, f, epochs=1, lr=0.0)
    _raises(ValueError, ["fraction", "<= 1"], ImplicitWH(2, **SMALL).fit, *cloud, epochs=1, fraction=1.5)
    _raises(ValueError, ["m has", "negative"], ImplicitWH(2, **SMALL).fit, cloud[0], cloud[1], -cloud[2], epochs=1)
    _raises(ValueError, ["one per row"], ImplicitWNMF(2, **SMALL).fit, V, f[:-1], epochs=1)


def test_read_only_and_odd_arrays_are_taken_without_a_torch_warning(V, cloud):
    """Read-only, reversed, big-endian, int and float16 arrays: converted, no "not writable" warning."""
    ro = V.copy()
    ro.flags.writeable = False
    t, f, m = (a.copy() for a in cloud)
    for a in (t, f, m):
        a.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nmf(ro, 2, 2)
        nmf(V[::-1], 2, 2)
        nmf(V.astype(">f8"), 2, 2)
        nmf(np.rint(V * 10).astype(np.int64), 2, 2)
        nmf(V.astype(np.float16), 2, 2)
        ImplicitWH(2, **SMALL).fit(t, f, m, epochs=1)
        ImplicitWNMF(2, **SMALL).fit(ro, frequency_coordinate(N_FFT)[::-1].copy(), epochs=1)


def test_read_only_input_raises_no_warning_in_a_fresh_interpreter():
    """torch warns "not writable" once per process: only a fresh interpreter shows it would have leaked."""
    code = (
        "import warnings, numpy as np, innmf\n"
        "from innmf.tf.stft import frequency_coordinate\n"
        "warnings.simplefilter('error')\n"
        "V = np.random.default_rng(0).random((33, 6)) + 0.1; V.flags.writeable = False\n"
        "f = frequency_coordinate(64); f.flags.writeable = False\n"
        "innmf.nmf(V, 2, 2)\n"
        "m = innmf.ImplicitWNMF(2, hidden=4, n_freqs=2).fit(V, f, epochs=1)\n"
        "m.transform(V, f, epochs=1); m.sample_W(f)\n"
        "innmf.fit_activations(V, [m.W_], epochs=1)\n"
        "t = np.linspace(0, 1, 20); t.flags.writeable = False\n"
        "innmf.ImplicitWH(2, hidden=4, n_freqs=2).fit(t, t, t, epochs=1).predict(t, t)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


def test_nmf_of_odd_dtypes_equals_nmf_of_float64(V):
    """Conversion, not truncation: an int matrix gives the factors of the same matrix as floats."""
    Vi = np.rint(V * 10).astype(np.int64)
    a, b = nmf(Vi, 2, 5, dtype=torch.float64), nmf(Vi.astype(np.float64), 2, 5, dtype=torch.float64)
    np.testing.assert_array_equal(a.W, b.W)
    ro = Vi.astype(np.float64)
    ro.flags.writeable = False
    np.testing.assert_array_equal(nmf(ro, 2, 5, dtype=torch.float64).H, b.H)


# --- the device: checked once, the command line's message -------------------------------------------

def test_a_missing_gpu_is_the_command_lines_message(V, monkeypatch, tmp_path, fitted):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    expected = (f"device='cuda' asked for a GPU, but torch sees none (torch {torch.__version__}); "
                "use device='cpu' or a machine with CUDA.")
    fitted.save(tmp_path / "m.pt")
    for call in (lambda: nmf(V, 2, 3, device="cuda"), lambda: ImplicitWNMF(2, device="cuda"),
                 lambda: ImplicitWH(2, device="cuda"), lambda: ImplicitWNMF.load(tmp_path / "m.pt", device="cuda"),
                 lambda: fit_activations(V, [np.ones((V.shape[0], 2))], device="cuda")):
        with pytest.raises(ValueError) as caught:  # was torch's raw AssertionError
            call()
        assert str(caught.value) == expected
    cli = (f"--device cuda asked for a GPU, but torch sees none (torch {torch.__version__}); "
           "use --device cpu or a machine with CUDA.")
    _raises(ValueError, [cli], check_device, "cuda", option="--device")


def test_device_names_are_checked():
    assert check_device("cpu") == torch.device("cpu")
    _raises(ValueError, ["device='tpu'", "cpu, cuda, cuda:N"], check_device, "tpu")
    _raises(ValueError, ["--device gpu", "cuda:N"], check_device, "gpu", option="--device")
    _raises(ValueError, ["device='meta'"], check_device, "meta")
    _raises(TypeError, ["device=3"], check_device, 3)
    _raises(ValueError, ["GPU"], check_device, "cuda:99")  # no GPU here, or not 100 of them


def test_scalar_checks():
    assert check_int(np.int64(3), "k") == 3 and check_int(4.0, "k") == 4
    _raises(TypeError, ["k must be an integer", "True"], check_int, True, "k")
    _raises(ValueError, ["whole number", "nan"], check_int, float("nan"), "k")
    _raises(ValueError, ["k must be <= 5"], check_int, 6, "k", maximum=5)
    assert check_float(np.float32(0.5), "p", above=0.0) == 0.5
    _raises(ValueError, ["finite", "inf"], check_float, float("inf"), "p")
    _raises(TypeError, ["p must be a number"], check_float, "0.5", "p")


# --- model files -------------------------------------------------------------------------------------

class _Payload:
    """Unpickling this runs code (it touches a file): what weights_only=True must refuse."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_model_files_are_read_without_running_code(fitted, fitted_wh, tmp_path):
    good = tmp_path / "good.pt"
    fitted.save(good)
    raw = good.read_bytes()
    files = {"truncated": raw[: len(raw) // 2], "a few bytes": raw[:200], "empty": b"", "text": b"hello\n"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with open(tmp_path / "pickle", "wb") as fh:
        pickle.dump({"weights": [1, 2]}, fh)
    marker = tmp_path / "code-ran"
    torch.save({"format": 1, "class": "ImplicitWNMF", "x": _Payload(marker)}, tmp_path / "payload")
    torch.save({"something": 1}, tmp_path / "foreign-dict")
    for name in [*files, "pickle", "payload"]:
        message = _raises(ModelFileError, ["is not an innmf model file", "ImplicitWNMF.save(path)"],
                          ImplicitWNMF.load, tmp_path / name)
        assert "weights_only" not in message  # torch's advice to unpickle anyway is not passed on
    assert not marker.exists()
    _raises(ModelFileError, ["not a saved ImplicitWNMF"], ImplicitWNMF.load, tmp_path / "foreign-dict")
    fitted_wh.save(tmp_path / "wh.pt")
    _raises(ModelFileError, ["holds an innmf ImplicitWH", "ImplicitWH.load(path)"], ImplicitWNMF.load, tmp_path / "wh.pt")
    _raises(FileNotFoundError, ["No model file"], ImplicitWNMF.load, tmp_path / "missing.pt")
    _raises(FileNotFoundError, ["folder"], ImplicitWNMF.load, tmp_path)
    saved = torch.load(good, weights_only=True)
    torch.save({**saved, "format": 99}, tmp_path / "future.pt")
    _raises(ModelFileError, ["format 99"], ImplicitWNMF.load, tmp_path / "future.pt")
    torch.save({**saved, "config": {**saved["config"], "rank": "two"}}, tmp_path / "damaged.pt")
    _raises(ModelFileError, ["damaged", "rank"], ImplicitWNMF.load, tmp_path / "damaged.pt")
    assert issubclass(ModelFileError, ValueError)


def test_save_and_load_keep_a_fitted_model(fitted, fitted_wh, tmp_path):
    fitted.save(tmp_path / "m.pt")
    loaded = ImplicitWNMF.load(tmp_path / "m.pt")
    np.testing.assert_array_equal(loaded.components_, fitted.components_)
    np.testing.assert_array_equal(loaded.history_, fitted.history_)
    fitted_wh.save(tmp_path / "wh.pt")
    wh = ImplicitWH.load(tmp_path / "wh.pt")
    np.testing.assert_array_equal(wh.H_, fitted_wh.H_)
    np.testing.assert_array_equal(wh.components_, fitted_wh.components_)


# --- one face for the models (scikit-learn's conventions) --------------------------------------------

def test_components_are_K_by_F_and_W_is_the_papers_F_by_K(V, fitted, fitted_wh, cloud):
    assert fitted.components_.shape == (2, V.shape[0]) and fitted.W_.shape == (V.shape[0], 2)
    np.testing.assert_array_equal(fitted.components_, fitted.W_.T)
    np.testing.assert_array_equal(fitted.W_, fitted.sample_W(frequency_coordinate(N_FFT)))
    n_f, n_t = len(np.unique(cloud[1])), len(np.unique(cloud[0]))
    assert fitted_wh.components_.shape == (2, n_f) and fitted_wh.H_.shape == (2, n_t)
    np.testing.assert_allclose(fitted_wh.W_, fitted_wh.sample_W(np.unique(cloud[1])), rtol=1e-6)
    res = nmf(V, 2, 5)
    np.testing.assert_array_equal(res.components_, res.W.T)
    assert res.history_ is res.losses


def test_fit_returns_self_and_fit_transform_is_fit_then_H(V, cloud):
    f = frequency_coordinate(N_FFT)
    a, b = ImplicitWNMF(2, **SMALL), ImplicitWNMF(2, **SMALL)
    assert a.fit(V, f, epochs=3) is a
    np.testing.assert_array_equal(b.fit_transform(V, f, epochs=3), a.H_)
    wa, wb = ImplicitWH(2, **SMALL), ImplicitWH(2, **SMALL)
    assert wa.fit(*cloud, epochs=3) is wa
    np.testing.assert_array_equal(wb.fit_transform(*cloud, epochs=3), wa.H_)
    assert a.n_components == wa.n_components == 2
    fits = fit_activations(V, [a.W_], epochs=3)
    assert fits.history_ is fits.losses and isinstance(fits, innmf.ActivationFit)


def test_get_params_set_params_and_sklearn_clone(V):
    from sklearn.base import clone

    model = ImplicitWNMF(3, hidden=4, n_freqs=2, seed=7)
    params = model.get_params()
    assert params["rank"] == 3 and params["seed"] == 7 and params["hidden"] == 4
    model.fit(V, frequency_coordinate(N_FFT), epochs=2)
    copy = clone(model)
    assert copy.get_params() == params and not hasattr(copy, "components_")
    assert model.set_params(rank=2) is model and model.n_components == 2 and not hasattr(model, "W_")
    _raises(ValueError, ["Invalid parameter", "'ranks'"], model.set_params, ranks=2)
    _raises(ValueError, ["rank (K)"], model.set_params, rank=0)
    assert model.n_components == 2  # a refused set_params changes nothing
    wh = ImplicitWH(2, hidden=4, evaluation="pointwise")
    assert clone(wh).get_params() == wh.get_params()


def test_the_old_names_still_work_with_a_deprecation_warning(fitted_wh):
    grid = np.linspace(0, 1, 5)
    with pytest.warns(DeprecationWarning, match="sample_W"):
        np.testing.assert_array_equal(fitted_wh.W(grid), fitted_wh.sample_W(grid))
    with pytest.warns(DeprecationWarning, match="sample_H"):
        np.testing.assert_array_equal(fitted_wh.H(grid), fitted_wh.sample_H(grid))


def test_implicit_WH_transform_recovers_planted_activations():
    """A cloud made from a model's own W(f) and planted H(t): transform finds that H; the model is unchanged."""
    rng = np.random.default_rng(1)
    t, f = rng.integers(0, 20, 300) / 20, rng.integers(0, 16, 300) / 16
    m = np.exp(-((f - 0.3) / 0.2) ** 2) * (t + 0.1) + np.exp(-((f - 0.8) / 0.1) ** 2) * (1.1 - t) + 0.01
    model = ImplicitWH(2, hidden=8, n_freqs=4, seed=0).fit(t, f, m, epochs=40, lr=1e-2, fraction=1.0)
    t, f = rng.integers(0, 15, 400) / 15, rng.integers(0, 16, 400) / 16
    H_true = np.stack([t + 0.2, 1.2 - t])  # (K, points)
    W = model.sample_W(f)
    m = np.einsum("pk,kp->p", W, H_true)
    before = model.sample_H(np.unique(t))
    H = model.transform(t, f, m, epochs=80, fraction=1.0, lr=1e-2)
    assert H.shape == (2, len(np.unique(t)))
    at_points = H[:, np.searchsorted(np.unique(t), t)]
    np.testing.assert_allclose(at_points, H_true, atol=0.05)
    assert kl_divergence(m, np.einsum("pk,kp->p", W, at_points)) < 1e-3 * kl_divergence(m, np.full_like(m, m.mean()))
    np.testing.assert_array_equal(model.sample_H(np.unique(t)), before)


def test_implicit_WH_transform_agrees_with_the_reference_backend(cloud):
    fits = {b: ImplicitWH(2, hidden=4, n_freqs=3, seed=0, dtype=torch.float64, backend=b).fit(*cloud, epochs=3)
            for b in ("auto", "reference")}
    H = {b: m.transform(*cloud, epochs=6, fraction=0.5) for b, m in fits.items()}
    np.testing.assert_allclose(H["auto"], H["reference"], rtol=1e-6)
    np.testing.assert_allclose(fits["auto"].refit_history_, fits["reference"].refit_history_, rtol=1e-7)


def test_the_package_exports_what_a_user_needs():
    for name in ("cqt", "read_audio", "ActivationFit", "NMFResult", "frequency_coordinate", "time_coordinate",
                 "NotFittedError", "ModelFileError", "stft_frequencies"):
        assert name in innmf.__all__ and getattr(innmf, name) is not None
    assert innmf.NotFittedError is NotFittedError
    assert os.path.basename(innmf.cqt.__code__.co_filename) == "cqt.py"
