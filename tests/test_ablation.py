"""The INR ablation runner (chapter "Implicit neural factors")."""

import numpy as np
import pandas as pd
import pytest

from innmf.experiments.ablation import PAPER_INR, ablation_configs, inr_ablation

GRID = {"hidden": [4, 8], "activation": ["relu"]}
BASE = {"hidden": 8, "n_freqs": 3}
K = 2


def _spectrograms():
    rng = np.random.default_rng(0)
    # rank-2 non-negative data plus noise: something an INR dictionary can fit
    W = rng.gamma(2.0, 1.0, (33, K))
    H = rng.gamma(2.0, 1.0, (K, 12))
    V = W @ H + 0.05 * rng.random((33, 12))
    V16 = rng.gamma(2.0, 1.0, (17, 25))
    return V, {32: V16}


def _run(grid=GRID, seed=0, **kw):
    V, others = _spectrograms()
    return inr_ablation(V, 64, grid, rank=K, epochs=8, seed=seed, others=others, refit_epochs=5,
                        base=BASE, progress=False, **kw)


@pytest.fixture(scope="module")
def table():
    return _run()


def test_rows_and_columns(table: pd.DataFrame):
    assert list(table["label"]) == ["base", "hidden=4", "activation=relu"]
    assert list(table.columns) == ["label", "varied", "is_base", "n_freqs", "activation", "hidden",
                                   "kl", "kl_N32", "n_params", "seconds"]
    assert list(table["varied"]) == ["base", "hidden", "activation"]
    assert list(table["is_base"]) == [True, False, False]
    assert list(table["hidden"]) == [8, 4, 8]
    assert list(table["activation"]) == ["sin", "sin", "relu"]
    assert (table["n_freqs"] == 3).all()
    assert np.isfinite(table[["kl", "kl_N32", "seconds"]].to_numpy(float)).all()
    assert (table[["kl", "kl_N32"]] > 0).all().all()
    assert set(table.attrs["histories"]) == set(table["label"])


def _n_params(J: int, h: int, n_layers: int = 4) -> int:
    """Parameters of the paper's network by hand: Linear(2J->h), (L-1) x Linear(h->h), Linear(h->1)."""
    return (2 * J * h + h) + (n_layers - 1) * (h * h + h) + (h + 1)


def test_parameter_count_matches_the_layout(table: pd.DataFrame):
    assert _n_params(10, 64) == 13_889  # the paper's network (book/paper_setup.md §2)
    expected = [K * _n_params(3, h) for h in table["hidden"]]
    assert list(table["n_params"]) == expected


def test_training_lowers_the_kl(table: pd.DataFrame):
    for label, kl in zip(table["label"], table["kl"]):
        hist = table.attrs["histories"][label]
        assert len(hist) == 8
        assert kl < hist[0]


def test_deterministic_with_a_seed(table: pd.DataFrame):
    again = _run()
    cols = ["kl", "kl_N32", "n_params"]
    pd.testing.assert_frame_equal(table[cols], again[cols], check_exact=True)


def test_a_changed_setting_changes_the_result(table: pd.DataFrame):
    kl = table["kl"].to_numpy()
    assert len(np.unique(kl)) == 3
    other_seed = _run(grid={"hidden": [8]}, seed=1)
    assert other_seed["kl"].iloc[0] != kl[0]


def test_one_factor_at_a_time_versus_full_product():
    grid = {"n_freqs": [2, 6, 10], "activation": ["sin", "relu"], "hidden": [16, 64]}
    one = ablation_configs(grid)
    assert [label for label, _ in one] == ["base", "n_freqs=2", "n_freqs=6", "activation=relu", "hidden=16"]
    assert one[0][1] == PAPER_INR
    assert one[3][1] == {**PAPER_INR, "activation": "relu"}
    full = ablation_configs(grid, full=True)
    assert len(full) == 12
    assert len({tuple(sorted(s.items())) for _, s in full}) == 12


def test_full_product_table():
    df = _run(grid={"hidden": [4, 8], "activation": ["sin", "relu"]}, full=True)
    assert len(df) == 4
    assert (df["varied"] == "grid").all()
    assert list(df["is_base"]) == [False, False, True, False]


@pytest.mark.parametrize(
    "grid, message",
    [
        ({"width": [16, 64]}, "width"),
        ({}, "non-empty"),
        ({"hidden": []}, "non-empty list"),
        ({"activation": "relu"}, "non-empty list"),
        ({"hidden": [8, 8]}, "repeats"),
    ],
)
def test_bad_grid_is_a_clear_error(grid, message):
    with pytest.raises(ValueError, match=message):
        ablation_configs(grid)


def test_unknown_key_error_lists_known_factors():
    with pytest.raises(ValueError, match="n_freqs"):
        ablation_configs({"depth": [2]})
    with pytest.raises(ValueError, match="lr"):
        ablation_configs({"hidden": [8]}, base={"lr": 1e-2})


def test_spectrogram_must_match_its_window_size():
    V, others = _spectrograms()
    with pytest.raises(ValueError, match="N = 128"):
        inr_ablation(V, 128, GRID, rank=K, epochs=2, progress=False)
    with pytest.raises(ValueError, match=r"others\[64\]"):
        inr_ablation(V, 64, GRID, rank=K, epochs=2, others={64: others[32]}, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        inr_ablation(V, 64, GRID, rank=K, epochs=0, progress=False)


def test_workers_give_the_same_numbers_bit_for_bit(table: pd.DataFrame):
    # issue 25: the chapter fits its configurations in two processes; only the wall time may differ
    parallel = _run(workers=2)
    numbers = [c for c in table.columns if c != "seconds"]
    pd.testing.assert_frame_equal(parallel[numbers], table[numbers], check_exact=True)
    assert list(parallel.attrs["histories"]) == list(table.attrs["histories"])
    for label, history in table.attrs["histories"].items():
        assert np.array_equal(parallel.attrs["histories"][label], history)
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        _run(workers=0)
