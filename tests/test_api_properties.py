"""Property tests of the public API (Hypothesis): whatever arrays a user passes, no silent failure (issue 24).

For generated inputs (NaN, inf, negative, complex, empty, 0-d, 1-d, 3-d, float16, int, bool,
read-only and reversed arrays, huge or non-integer ranks and sizes) every call either
returns finite results of the documented shape, or raises one of the documented errors
(``ValueError``, ``TypeError``, and the package's subclasses of them) with a message.
Warnings are errors inside each call, so nothing from torch (or numpy) leaks to the user.

Derandomized and small (tiny shapes, one or two iterations): the same examples on every
run, in well under a minute on one core.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import innmf
from innmf import ImplicitWH, ImplicitWNMF, fit_activations, istft, magnitude, nmf, separate, stft
from innmf.tf.stft import n_frames_for

PROFILE = settings(max_examples=100, deadline=None, derandomize=True, database=None, print_blob=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
TINY = dict(hidden=2, n_freqs=2, n_layers=2, seed=0)
DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int8, np.uint16, np.bool_, np.complex128]


def _finish(array: np.ndarray, read_only: bool, reversed_: bool) -> np.ndarray:
    if reversed_ and array.ndim:
        array = array[::-1]
    if read_only:
        array = array.copy() if not array.flags.owndata else array
        array.flags.writeable = False
    return array


@st.composite
def arrays(draw, min_dims: int = 0, max_dims: int = 3, max_side: int = 5, dtypes=DTYPES, nonneg_bias: bool = True):
    """Any small array a user might pass: odd dtypes and shapes, special values, read-only, reversed."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=max_side))
    if dtype.kind == "f" and nonneg_bias and draw(st.booleans()):
        # mostly well-formed magnitudes, so the success path is exercised too
        elements = st.floats(0.0, 10.0, width=dtype.itemsize * 8)
    else:
        elements = None  # hypothesis' own: NaN, inf, negatives, huge and tiny values
    array = draw(hnp.arrays(dtype, shape, elements=elements))
    return _finish(array, draw(st.booleans()), draw(st.booleans()))


def _matrix(draw, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    """A well-formed non-negative F x T matrix (or with the given sides), sometimes odd-typed or read-only."""
    F = rows if rows is not None else draw(st.integers(1, 5))
    T = cols if cols is not None else draw(st.integers(1, 5))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.float16, np.int64]))
    values = draw(hnp.arrays(np.float64, (F, T), elements=st.floats(0.0, 10.0)))
    return _finish(values.astype(dtype), draw(st.booleans()), draw(st.booleans()))


@st.composite
def matrices(draw) -> np.ndarray:
    """Half well-formed magnitude matrices, half anything (:func:`arrays`)."""
    return _matrix(draw) if draw(st.booleans()) else draw(arrays())


@st.composite
def signals(draw) -> np.ndarray:
    """Half well-formed mono signals (some int16, read-only, reversed), half anything."""
    if not draw(st.booleans()):
        return draw(arrays(max_side=40, nonneg_bias=False))
    x = draw(hnp.arrays(np.float64, draw(st.integers(0, 60)), elements=st.floats(-1.0, 1.0)))
    if draw(st.booleans()):
        x = np.rint(x * 1000).astype(np.int16)
    return _finish(x, draw(st.booleans()), draw(st.booleans()))


HOSTILE_SIZES = st.sampled_from([0, -1, 2.5, 10**12, "3", None, float("nan"), True])
RANKS = st.one_of(st.integers(1, 3), st.sampled_from([2.0, 50]), HOSTILE_SIZES)
N_FFTS = st.one_of(st.integers(2, 20), st.sampled_from([16.0, 1]), HOSTILE_SIZES)


def _call(fn, *args, **kwargs):
    """Run ``fn`` with warnings as errors; return its result, or None when it raised a documented error.

    ``event`` tallies both outcomes per function (``pytest --hypothesis-show-statistics``), to
    see that the generated inputs reach the success path as well as the refusals.
    """
    name = getattr(fn, "__qualname__", "call")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            result = fn(*args, **kwargs)
        except (ValueError, TypeError) as err:
            assert str(err).strip(), f"{type(err).__name__} without a message"
            assert not isinstance(err, Warning), f"a warning leaked: {err}"
            event(f"{name}: refused ({type(err).__name__})")
            return None
    event(f"{name}: returned")
    return result


def _finite(*values) -> None:
    for value in values:
        assert np.all(np.isfinite(value)), f"non-finite result: {value}"


def _nonempty_nonnegative(*values) -> None:
    """Results a user reads: something there (an empty input was refused, not factorised), and nothing negative."""
    for value in values:
        assert np.size(value) > 0, f"an empty result came back instead of an error: shape {np.shape(value)}"
        assert np.min(value) >= 0, f"negative entries in {value}"


@PROFILE
@given(V=matrices(), rank=RANKS, n_iter=st.sampled_from([0, 1, 2, 2, 2.5, -1]),
       beta=st.sampled_from([1.0, 1.0, 2.0, 0.0, 0.5, "is", float("nan")]))
def test_nmf_returns_finite_factors_or_refuses(V, rank, n_iter, beta):
    res = _call(nmf, V, rank, n_iter, beta=beta)
    if res is not None:
        F, T = np.shape(V)
        assert res.W.shape == (F, rank) and res.H.shape == (rank, T)
        assert res.components_.shape == (rank, F) and len(res.losses) == int(n_iter)
        _finite(res.W, res.H, res.losses)
        _nonempty_nonnegative(res.W, res.H)


@PROFILE
@given(data=st.data(), x=signals(), n_fft=N_FFTS, power=st.sampled_from([0.5, 1.0, 2, 0.0, -1.0, float("nan"), "half"]))
def test_magnitude_stft_istft_return_finite_arrays_or_refuse(data, x, n_fft, power):
    M = _call(magnitude, x, n_fft, power=power)
    X = _call(stft, x, n_fft)
    if M is not None:
        assert M.shape == (int(n_fft) // 2 + 1, n_frames_for(len(x), int(n_fft)))
        _finite(M)
        _nonempty_nonnegative(M)
    if X is not None:
        y = _call(istft, X, n_fft, length=len(x))
        assert y is not None and y.shape == (len(x),)
        _finite(y)
    X_any = data.draw(arrays(max_dims=3, dtypes=[np.complex128, np.float64, np.int64], nonneg_bias=False))
    y = _call(istft, X_any, n_fft)
    if y is not None:
        _finite(y)


@st.composite
def coordinates_for(draw, n: int, model_range: tuple[float, float]):
    """Coordinates for n rows: right, in Hz, NaN-laden, of another length, or 2-D."""
    low, high = model_range
    kind = draw(st.sampled_from(["right", "right", "right", "hz", "any", "short", "column"]))
    if kind == "right":
        return np.linspace(low, high, n)
    if kind == "hz":
        return np.arange(n) * 125.0
    if kind == "short":
        return np.linspace(low, high, max(n - 1, 0))
    if kind == "column":
        return np.linspace(low, high, n)[:, None]
    return draw(arrays(min_dims=1, max_dims=2, max_side=n + 1, nonneg_bias=False))


@PROFILE
@given(data=st.data(), rank=st.one_of(st.integers(-1, 3), st.sampled_from([2.5, 10**12, "2"])))
def test_implicit_W_fits_transforms_and_samples_finitely_or_refuses(data, rank):
    model = _call(ImplicitWNMF, rank, **TINY)
    if model is None:
        return
    V = data.draw(matrices())
    n = V.shape[0] if V.ndim >= 1 else 1
    coords = data.draw(coordinates_for(n, ImplicitWNMF.coordinate_range))
    fitted = _call(model.fit, V, coords, epochs=data.draw(st.sampled_from([1, 2, 0, 1.5])))
    if fitted is None:
        assert _call(lambda: model.components_) is None  # still unfitted: NotFittedError, a ValueError
        return
    F, T = V.shape
    assert fitted is model and model.H_.shape == (rank, T) and model.W_.shape == (F, rank)
    assert model.components_.shape == (rank, F)
    _finite(model.H_, model.W_, model.history_)
    _nonempty_nonnegative(model.H_, model.W_)
    other = data.draw(coordinates_for(3, ImplicitWNMF.coordinate_range))
    W = _call(model.sample_W, other)
    if W is not None:
        assert W.shape == (len(other), rank)
        _finite(W)
        _nonempty_nonnegative(W)
    H = _call(model.transform, V, coords, epochs=1)
    assert H is not None and H.shape == (rank, T)
    _finite(H)


@settings(PROFILE, max_examples=200)
@given(data=st.data())
def test_implicit_WH_fits_and_predicts_finitely_or_refuses(data):
    P = data.draw(st.integers(0, 6))
    pick = data.draw(st.sampled_from(["good", "any"]))
    if pick == "good":
        t, f = (data.draw(hnp.arrays(np.float64, P, elements=st.floats(0.0, 1.0))) for _ in range(2))
        m = _matrix(data.draw, rows=P, cols=1)[:, 0] if P else np.zeros(0)
    else:
        t, f, m = (data.draw(arrays(max_dims=2, max_side=6, nonneg_bias=False)) for _ in range(3))
    model = ImplicitWH(2, **TINY)
    if _call(model.fit, t, f, m, epochs=1, fraction=data.draw(st.sampled_from([1.0, 0.5, 1.0, 0.0, 2.0]))) is None:
        return
    m_hat = _call(model.predict, t, f)
    assert m_hat is not None and m_hat.shape == (np.size(m),)
    _finite(m_hat, model.history_, model.components_)
    _nonempty_nonnegative(m_hat, model.components_)
    H = _call(model.transform, t, f, m, epochs=1)
    assert H is not None and H.shape == (2, len(np.unique(t)))
    _finite(H)


@settings(PROFILE, max_examples=200)
@given(data=st.data())
def test_fit_activations_and_separate_are_finite_or_refuse(data):
    n_fft = 8
    x = data.draw(signals())
    V = _call(magnitude, x, n_fft)
    from_x = V is not None
    if not from_x:
        V = data.draw(matrices())
    rows = V.shape[0] if V.ndim == 2 else 5
    Ws = [data.draw(arrays(max_dims=2)) if data.draw(st.integers(0, 2)) == 0 else _matrix(data.draw, rows=rows, cols=2)
          for _ in range(2)]
    fit = _call(fit_activations, V, Ws, epochs=1)
    if fit is None:
        return
    assert [h.shape for h in fit.H] == [(np.shape(W)[1], V.shape[1]) for W in Ws]
    _finite(*fit.H, *fit.estimates, fit.history_)
    _nonempty_nonnegative(*fit.H, *fit.estimates)
    if not from_x:
        return
    separated = _call(separate, x, n_fft, fit.estimates)
    assert separated is not None and len(separated) == 2 and all(s.shape == (len(x),) for s in separated)
    _finite(*separated)


@pytest.mark.parametrize("name", ["nmf", "ImplicitWNMF", "ImplicitWH", "fit_activations", "separate", "stft", "magnitude"])
def test_every_function_under_test_is_public(name):
    assert name in innmf.__all__
