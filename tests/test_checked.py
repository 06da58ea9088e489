"""innmf.accel.checked: compile once, check, cache; refusals warn once and are reported."""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from innmf.accel import checked


@pytest.fixture
def registry(monkeypatch):
    """A private registry, so test paths do not show up in the real report."""
    monkeypatch.setattr(checked, "_PATHS", {})
    monkeypatch.setattr(checked, "_WARNED_MODULES", set())
    return checked._PATHS


def test_a_checked_kernel_is_built_once_and_cached(registry):
    calls = []

    @checked.fast_path("double", "x * 2; x + x runs instead")
    def double():
        calls.append(1)
        kernel = lambda x: x * 2  # noqa: E731
        checked.require_close(kernel(np.arange(3.0)), np.arange(3.0) + np.arange(3.0), 0, 0, "double")
        return kernel

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a working path warns nothing
        assert double()(4) == 8 and double()(1) == 2
    assert len(calls) == 1
    assert double.status() == checked.PathStatus("double", "x * 2; x + x runs instead", True, "")


def test_a_wrong_kernel_is_refused_loudly_once(registry):
    @checked.fast_path("wrong", "x * 2; x + x runs instead")
    def wrong():
        checked.require_close(np.arange(3.0) * 3, np.arange(3.0) * 2, 1e-6, 0, "tripled doubling")
        return object()

    with pytest.warns(checked.FastPathWarning, match="'wrong' refused .*tripled doubling disagrees.*x \\+ x runs instead"):
        assert wrong() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert wrong() is None  # cached: no second warning
    status = wrong.status()
    assert not status.fast and "max abs error 2" in status.reason


def test_a_missing_compiler_is_one_notice_for_all_paths(registry):
    def needs_numba():
        raise ModuleNotFoundError("No module named 'numba'", name="numba")

    a = checked.fast_path("a", "A; plain A")(needs_numba)
    b = checked.fast_path("b", "B; plain B")(needs_numba)
    with pytest.warns(checked.FastPathWarning) as record:
        assert a() is None and b() is None
    assert len(record) == 1
    assert "numba is not installed" in str(record[0].message) and "innmf[fast]" in str(record[0].message)
    assert b.status().reason == "numba is not installed (pip install 'innmf[fast]')"


def test_not_applicable_is_reported_without_a_warning(registry):
    @checked.fast_path("wide", "AVX-512 only; AVX2 code runs instead")
    def wide():
        raise checked.NotApplicable("this CPU has no AVX-512")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert wide() is None
    assert wide.status().reason == "this CPU has no AVX-512"


def test_require_close_fails_on_nan_and_shape():
    with pytest.raises(ArithmeticError, match="disagrees"):
        checked.require_close([np.nan], [1.0], 1.0, 1.0, "nan")
    with pytest.raises(ArithmeticError, match="shape"):
        checked.require_close([1.0, 2.0], [1.0], 1.0, 1.0, "shape")


def test_report_names_every_compiled_path():
    names = [s.name for s in checked.report()]
    assert {"sincos", "kl_ratio", "fused_kl"} <= set(names)


def test_no_blind_fallbacks_left_in_accel():
    """Every `except Exception` in innmf.accel is the helper's one (recorded and warned)."""
    from pathlib import Path

    root = Path(checked.__file__).parent
    hits = [f"{p.relative_to(root)}:{i}" for p in root.rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if "except Exception" in line]
    assert [h for h in hits if not h.startswith("checked.py:")] == []
    assert len(hits) == 1


BLOCKED = textwrap.dedent(
    """
    import sys, warnings
    warnings.simplefilter("always")
    with warnings.catch_warnings(record=True) as caught:
        import numpy as np, torch
        import innmf
        from innmf.accel.checked import FastPathWarning, report
        from innmf.models.inr import ComponentNetworks
        from innmf.models.implicit import ImplicitWNMF
        from innmf.models.nmf import nmf

        torch.set_num_threads(1)
        x = torch.linspace(0, 1, 65)
        fused, plain = ComponentNetworks(3, 8, seed=0), ComponentNetworks(3, 8, seed=0, backend="bmm")
        (fused(x) ** 2).sum().backward()
        (plain(x) ** 2).sum().backward()
        torch.testing.assert_close(fused(x), plain(x), rtol=1e-5, atol=1e-6)
        for p, q in zip(fused.parameters(), plain.parameters()):
            if q.grad is not None:
                torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6)
        V = np.random.default_rng(0).random((33, 20))
        fit = ImplicitWNMF(2, hidden=8, seed=0).fit(V, np.linspace(-0.5, 0.5, 33), epochs=3)
        res = nmf(V, 2, 5)
        assert np.isfinite(res.W).all()
        statuses = report()
    assert "numba" not in sys.modules and "llvmlite" not in sys.modules
    notices = [str(w.message) for w in caught if issubclass(w.category, FastPathWarning)]
    assert len(notices) == 1 and "numba is not installed" in notices[0], notices
    assert statuses and not any(s.fast for s in statuses), statuses
    print("ok")
    """
)


def test_everything_runs_without_numba(tmp_path):
    """numba and llvmlite made unimportable: the models run on the plain code, with one notice."""
    for name in ("numba", "llvmlite"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{name}'\", name='{name}')\n")
    out = subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=600)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]
