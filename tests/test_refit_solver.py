"""``refit_solver="mu"``: every fit of activations with W fixed by KL multiplicative updates, as an option."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from innmf.experiments.settings import SettingsError, get_profile
from innmf.experiments.store import result_settings
from innmf.experiments.trial import fixed_W_activations, run_trial
from innmf.models.refit import initial_activations

TINY = dict(
    n_trials=1, train_seconds=3.0, test_seconds=2.0, n_ffts=[1000, 2000], extra_n_ffts=[512],
    rank=4, nmf_iter=15, hidden=8, inr_epochs=8, refit_epochs=30, sep_epochs=30,
)
KEYS = ["experiment", "method", "n_fft", "metric"]


def _rows(**overrides) -> pd.DataFrame:
    from innmf.experiments.parallel import limited_threads
    from innmf.experiments.runner import draw_trials

    settings = get_profile("smoke", **{**TINY, **overrides})
    with limited_threads(1):
        rows = pd.DataFrame(run_trial(settings, draw_trials(settings)[0], ["all"]))
    return rows.sort_values(KEYS).reset_index(drop=True)


@pytest.fixture(scope="module")
def both() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _rows(), _rows(refit_solver="mu")


def test_the_paper_solver_keeps_every_stores_hash():
    paper = get_profile("smoke")
    assert "refit_solver" not in result_settings(paper)
    assert result_settings(paper.replace(refit_solver="mu"))["refit_solver"] == "mu"


def test_an_unknown_solver_is_refused_by_name():
    with pytest.raises(SettingsError, match="refit_solver"):
        get_profile("smoke", refit_solver="lbfgs")


def test_mu_moves_the_methods_that_fit_activations_with_W_fixed_and_leaves_NMF(both):
    rprop, mu = both
    nmf = rprop["method"] == "NMF"
    pd.testing.assert_frame_equal(rprop[nmf].drop(columns="seconds", errors="ignore"),
                                  mu[nmf].drop(columns="seconds", errors="ignore"), check_exact=True)
    for method in ("iN-NMF", "NMF-interp", "NMF-resample"):
        mine = rprop["method"] == method
        assert not np.allclose(rprop.loc[mine, "value"], mu.loc[mine, "value"]), method
    assert np.all(np.isfinite(mu["value"]))


def test_mu_refits_fit_at_least_as_well_as_thirty_rprop_steps(both):
    """Convex in H with W fixed: 30 MU iterations reach a lower KL than 30 sign steps of 1e-3 from the same start."""
    rprop, mu = both
    kl = (rprop["metric"] == "kl") & rprop["method"].isin(["iN-NMF", "NMF-interp", "NMF-resample"])
    assert (mu.loc[kl, "value"].to_numpy() < rprop.loc[kl, "value"].to_numpy()).all()


def test_fixed_W_activations_are_the_hand_written_updates_from_the_rprop_start():
    """Two dictionaries side by side: Lee & Seung's H update written out, from initial_activations(seed)."""
    rng = np.random.default_rng(0)
    Ws = [rng.random((30, 2)) + 0.1, rng.random((30, 3)) + 0.1]
    V = rng.random((30, 12)) + 0.1
    settings = dict(get_profile("smoke", refit_solver="mu"))
    Hs = fixed_W_activations(V, Ws, 20, settings, seed=7, backend="reference")
    W = np.hstack(Ws)
    H = initial_activations(5, 12, 7)
    for _ in range(20):
        H = H * (W.T @ (V / (W @ H))) / W.sum(axis=0)[:, None]
    assert [h.shape for h in Hs] == [(2, 12), (3, 12)]
    np.testing.assert_allclose(np.vstack(Hs), H, rtol=2e-4, atol=1e-6)


def test_the_fused_kernel_takes_the_same_rprop_steps_within_rounding(both):
    """``refit_solver="fused"``: the paper's Rprop in the fused kernel; NMF bit for bit, the others close."""
    pytest.importorskip("numba")
    rprop, _ = both
    fused = _rows(refit_solver="fused")
    nmf = rprop["method"] == "NMF"
    np.testing.assert_array_equal(rprop.loc[nmf, "value"], fused.loc[nmf, "value"])
    kl = (rprop["metric"] == "kl") & ~nmf
    np.testing.assert_allclose(fused.loc[kl, "value"], rprop.loc[kl, "value"], rtol=2e-2)
    sdr = (rprop["metric"] == "sdr") & ~nmf
    assert np.abs(fused.loc[sdr, "value"].to_numpy() - rprop.loc[sdr, "value"].to_numpy()).max() < 1.0
