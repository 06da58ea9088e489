"""The plain math is the definition: experiments on backend="reference" reach the fast path's
conclusions, and the reference runs with numba and llvmlite unimportable."""

import os
import subprocess
import sys
import textwrap

import numpy as np

from innmf.experiments import run_experiments
from innmf.experiments.settings import get_profile


def _verdicts(rows) -> dict[tuple[str, int], float]:
    """Mean paired difference iN-NMF minus NMF per (metric, N): the sign is the verdict."""
    wide = rows.pivot_table(index=["trial", "metric", "n_fft"], columns="method", values="value")
    diff = (wide["iN-NMF"] - wide["NMF"]).groupby(level=["metric", "n_fft"]).mean()
    return {key: float(v) for key, v in diff.items()}


# Differences of means smaller than this are no verdict: two float32 runs that round
# differently (another product order) move a smoke-sized mean by about this much
RESOLUTION = {"kl": 0.0, "sdr": 0.1, "sir": 0.1, "sar": 0.1, "stoi": 0.002}
# ... and the two backends' mean differences agree to within this
AGREE = {"kl": 5e-5, "sdr": 0.5, "sir": 0.5, "sar": 0.5, "stoi": 0.005}


def test_smoke_experiments_reach_the_same_verdicts_on_the_reference_backend():
    settings = {b: get_profile("smoke", n_trials=2, backend=b, threads=1) for b in ("auto", "reference")}
    rows = {b: run_experiments(s, ["all"], progress=False) for b, s in settings.items()}
    fast, ref = _verdicts(rows["auto"]), _verdicts(rows["reference"])
    assert fast.keys() == ref.keys() and len(fast) == 5 * 3  # kl, sdr, sir, sar, stoi at 3 window sizes
    disagree = {k: (fast[k], ref[k]) for k in fast
                if np.sign(fast[k]) != np.sign(ref[k]) and max(abs(fast[k]), abs(ref[k])) > RESOLUTION[k[0]]}
    assert not disagree, f"the backends disagree on the sign of iN-NMF - NMF: {disagree}"
    apart = {k: (fast[k], ref[k]) for k in fast if abs(fast[k] - ref[k]) > AGREE[k[0]]}
    assert not apart, f"the backends' iN-NMF - NMF differ by more than rounding explains: {apart}"
    # NMF itself: the reference MU steps give NMF's KL within float32 rounding
    nmf = {b: r.query("method == 'NMF' and metric == 'kl'")["value"].to_numpy() for b, r in rows.items()}
    np.testing.assert_allclose(nmf["reference"], nmf["auto"], rtol=1e-3)


_WITHOUT_NUMBA = """
    import sys
    for name in ("numba", "llvmlite"):
        try:
            __import__(name)
        except ImportError:
            pass
        else:
            raise SystemExit(name + " is importable: the test's stand-in did not take effect")
    import numpy as np
    import torch
    from innmf.models.implicit import ImplicitWH, ImplicitWNMF, fit_activations
    from innmf.models.nmf import nmf
    from innmf.tf.stft import frequency_coordinate

    rng = np.random.default_rng(0)
    V = rng.random((65, 30)) + 0.05
    f = frequency_coordinate(128)
    res = nmf(V, 3, 20, backend="reference")
    model = ImplicitWNMF(3, hidden=8, n_freqs=4, backend="reference").fit(V, f, epochs=5)
    H = model.transform(V, f, epochs=5)
    fit = fit_activations(V, [res.W[:, :2], res.W[:, 2:]], epochs=5, backend="reference")
    t, fc = rng.integers(0, 30, 300) / 30, rng.integers(0, 20, 300) / 20
    wh = ImplicitWH(2, hidden=8, n_freqs=4, backend="reference").fit(t, fc, rng.random(300) + 0.1, epochs=5)
    values = [res.losses[-1], model.history_[-1], H.sum(), fit.losses[-1], wh.history_[-1]]
    assert all(np.isfinite(values)), values
    auto = nmf(V, 3, 20)  # without the compiled kernels "auto" runs torch's products ...
    np.testing.assert_allclose(auto.W @ auto.H, res.W @ res.H, rtol=1e-3)
    try:  # ... and "fast" refuses, naming the extra to install
        nmf(V, 3, 2, backend="fast")
    except RuntimeError as error:
        assert "innmf[fast]" in str(error), error
    else:
        raise SystemExit("backend='fast' ran without its kernels")
    assert "numba" not in sys.modules and "llvmlite" not in sys.modules
    print("reference backend ran without numba and llvmlite")
"""


def test_reference_backend_runs_without_numba_and_llvmlite(tmp_path):
    for name in ("numba", "llvmlite"):  # stand-ins that refuse to import, first on the path
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('{name} is unavailable in this test')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(_WITHOUT_NUMBA)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ran without numba and llvmlite" in done.stdout
