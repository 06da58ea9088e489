"""The chapters' memo (issue 25): a fit read back from the build's memo is the fit, bit for bit.

Chapters "Implicit neural factors" and "Irregular and hybrid representations" call
their ablation and hybrid fits through it, so a re-execution (the text changed, not the
code) reads them. The key is the function, its bound arguments, the package's code and
what changes the rounding (threads, compiled kernels); an unreadable entry is computed
again.
"""

from __future__ import annotations

import numpy as np
import pytest

from innmf import memo
from innmf.chapters import fit_hybrid as kept_fit_hybrid, inr_ablation as kept_ablation
from innmf.experiments.ablation import inr_ablation
from innmf.experiments.hybrid import fit_hybrid
from innmf.experiments.parallel import limited_threads
from innmf.tf.hybrid import stft_points
from innmf.tf.pointcloud import concat_in_time
from innmf.tf.signals import harmonic_tone

CALLS: list[tuple[int, int]] = []


def add(a: int, b: int = 2) -> int:
    CALLS.append((a, b))
    return a + b


@pytest.fixture(autouse=True)
def _memo_here(tmp_path, monkeypatch):
    monkeypatch.setenv("INNMF_MEMO", str(tmp_path / "memo"))
    CALLS.clear()


@pytest.fixture(scope="module")
def cloud():
    sr = 2000
    x = np.concatenate([harmonic_tone(sr, 0.4, 200.0, 3, decay=4.0), harmonic_tone(sr, 0.4, 300.0, 3, decay=4.0)])
    return concat_in_time([stft_points(x, sr, 32, 16, name="short"), stft_points(x, sr, 128, 32, name="long")]
                          ).power(0.5)


def assert_same_fit(a, b):
    assert np.array_equal(a.losses, b.losses) and np.array_equal(a.W, b.W) and np.array_equal(a.scale, b.scale)
    assert a.segment_names == b.segment_names
    assert all(np.array_equal(a.H[n], b.H[n]) and np.array_equal(a.times[n], b.times[n]) for n in a.segment_names)


def test_a_call_is_computed_once_whatever_its_spelling():
    assert memo.memoised(add, 1) == 3 and memo.memoised(add, a=1, b=2) == 3 and memo.memoised(add, 1, 2) == 3
    assert CALLS == [(1, 2)]
    assert memo.memoised(add, 1, 3) == 4 and CALLS == [(1, 2), (1, 3)]


def test_other_code_is_another_key(monkeypatch):
    before = memo.memo_key(add, (1,))
    monkeypatch.setattr(memo, "_code", lambda: "other code")
    assert memo.memo_key(add, (1,)) != before
    memo.memoised(add, 1)
    assert CALLS == [(1, 2)]  # computed again under the new code


@pytest.mark.parametrize("damage", [b"", b"\x80\x05 half a pickle"])
def test_an_unreadable_entry_is_computed_again(damage):
    memo.memoised(add, 5)
    path = memo.memo_dir() / f"{memo.memo_key(add, (5,))}.pkl"
    path.write_bytes(damage)
    assert memo.memoised(add, 5) == 7 and CALLS == [(5, 2), (5, 2)]
    assert memo.memoised(add, 5) == 7 and len(CALLS) == 2  # replaced by a whole entry
    assert not list(memo.memo_dir().glob(".*.tmp"))


def test_a_kept_hybrid_fit_is_the_fit_bit_for_bit(cloud):
    options = dict(hidden=8, epochs=6, seed=5, n_grid=16, progress=False)
    with limited_threads(1):  # the chapters' one thread (use_threads)
        first = kept_fit_hybrid(cloud, rank=2, **options)
        assert len(list(memo.memo_dir().glob("*.pkl"))) == 1
        again = kept_fit_hybrid(cloud=cloud, rank=2, **options)  # read back, another spelling
        assert len(list(memo.memo_dir().glob("*.pkl"))) == 1
        fresh = fit_hybrid(cloud, rank=2, **options)
    for kept in (first, again):
        assert_same_fit(kept, fresh)
    t = np.linspace(0.0, 0.8, 7)
    assert np.array_equal(again.sample_H(t), fresh.sample_H(t))  # the networks came back too


def test_a_kept_ablation_is_the_table_bit_for_bit():
    import pandas as pd

    rng = np.random.default_rng(0)
    V, V32 = rng.gamma(2.0, 1.0, (33, 12)), rng.gamma(2.0, 1.0, (17, 25))
    args = dict(grid={"hidden": [4, 8]}, rank=2, epochs=5, seed=0, others={32: V32}, refit_epochs=3,
                base={"hidden": 8, "n_freqs": 3}, progress=False)
    with limited_threads(1):
        kept_ablation(V, 64, **args)
        again = kept_ablation(V, 64, **args)
        fresh = inr_ablation(V, 64, **args)
    numbers = [c for c in fresh.columns if c != "seconds"]
    pd.testing.assert_frame_equal(again[numbers], fresh[numbers], check_exact=True)
    assert all(np.array_equal(again.attrs["histories"][k], h) for k, h in fresh.attrs["histories"].items())
    assert len(list(memo.memo_dir().glob("*.pkl"))) == 1


def test_what_changes_the_rounding_is_another_key(monkeypatch):
    from innmf.experiments import store

    before = memo.memo_key(add, (1,))
    with limited_threads(2 if memo_threads() == 1 else 1):
        assert memo.memo_key(add, (1,)) != before
    other = "plain" if store.auto_backend() == "compiled" else "compiled"
    monkeypatch.setattr(store, "auto_backend", lambda: other)  # e.g. the same chapter without innmf[fast]
    assert memo.memo_key(add, (1,)) != before


def memo_threads() -> int:
    import torch

    return torch.get_num_threads()
