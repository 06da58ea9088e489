"""A small ablation of the implicit dictionary's design, measured by KL.

The paper fixes one network (book/paper_setup.md §2: J = 10 encoding frequencies, sine
activations, width h = 64) and never varies it. :func:`inr_ablation` trains
:class:`innmf.models.implicit.ImplicitWNMF` once per configuration on the same spectrogram,
with the same seed (so the comparison is paired: same H initialisation, same
encoding phases where J agrees, same optimiser), and reports the KL at the training
window size and, after sampling W at other window sizes and refitting H alone, the
KL there (the paper's window-size generalisation). Used by the chapter "Implicit
neural factors" (``notebooks/02_implicit_factors.py``).

Cost: each configuration is a full iN-NMF fit (hundreds of epochs over all K
networks), so by default the factors are varied *one at a time* around a base
setting (the paper's) instead of over the Cartesian product: a grid of three
factors with 3, 2 and 2 values costs 1 + 2 + 1 + 1 = 5 fits instead of 12. Pass
``full=True`` for the product when interactions matter and the budget allows.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from innmf.paper.metrics import kl_divergence
from innmf.tf.stft import frequency_coordinate

PAPER_INR: dict[str, Any] = {
    "n_freqs": 10,
    "activation": "sin",
    "hidden": 64,
    "n_layers": 4,
    "init": "default",
    "encoding": "paper",
    "shared_encoding": False,
}
"""The paper's network (book/paper_setup.md §2); every key is an argument of
:class:`innmf.models.implicit.ImplicitWNMF` that :func:`inr_ablation` may vary."""

SHOWN = ("n_freqs", "activation", "hidden")
"""Settings always given a column of the table (the chapter's three factors)."""


def _check_factors(mapping: Mapping[str, Any], what: str) -> None:
    unknown = sorted(set(mapping) - set(PAPER_INR))
    if unknown:
        raise ValueError(
            f"Unknown {what} key(s) {unknown}; an ablation can vary {sorted(PAPER_INR)} "
            "(arguments of innmf.models.implicit.ImplicitWNMF)."
        )


def ablation_configs(
    grid: Mapping[str, Sequence[Any]],
    base: Mapping[str, Any] | None = None,
    full: bool = False,
) -> list[tuple[str, dict[str, Any]]]:
    """The configurations an ablation trains, each with a short label.

    Args:
        grid: factor name -> values to try, e.g.
            ``{"n_freqs": [2, 6, 10], "activation": ["sin", "relu"], "hidden": [16, 64]}``.
        base: the setting varied around (default: the paper's, :data:`PAPER_INR`);
            keys given here replace the paper's.
        full: the Cartesian product of the grid (every factor at every value)
            instead of one factor at a time.

    Returns:
        ``[(label, settings), ...]``. One factor at a time: the base first
        (label ``"base"``), then one entry per grid value that differs from the base
        (label ``"factor=value"``), in grid order. Full: every combination, labelled
        by its grid values. ``settings`` always holds every key of :data:`PAPER_INR`.

    Raises:
        ValueError: unknown factor, empty or duplicated values.
    """
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError("grid must be a non-empty dict of factor -> list of values, e.g. {'hidden': [16, 64]}.")
    _check_factors(grid, "grid")
    _check_factors(base or {}, "base")
    for key, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"grid[{key!r}] must be a non-empty list of values, got {values!r}.")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"grid[{key!r}] repeats a value: {list(values)}.")
    start = {**PAPER_INR, **(base or {})}
    if full:
        keys = list(grid)
        return [
            (", ".join(f"{k}={v}" for k, v in zip(keys, combo)), {**start, **dict(zip(keys, combo))})
            for combo in itertools.product(*(grid[k] for k in keys))
        ]
    configs = [("base", dict(start))]
    for key, values in grid.items():
        for value in values:
            if value != start[key]:
                configs.append((f"{key}={value}", {**start, key: value}))
    return configs


def _check_spectrogram(V: Any, n_fft: int, name: str) -> np.ndarray:
    V = np.asarray(V, dtype=np.float64)
    if V.ndim != 2:
        raise ValueError(f"{name} must be a 2-D magnitude spectrogram (F x T), got shape {V.shape}.")
    if V.shape[0] != int(n_fft) // 2 + 1:
        raise ValueError(
            f"{name} has {V.shape[0]} rows but an STFT with N = {n_fft} has {int(n_fft) // 2 + 1} bins; "
            "pass the window size the spectrogram was computed with."
        )
    return V


def inr_ablation(
    V: Any,
    n_fft: int,
    grid: Mapping[str, Sequence[Any]],
    rank: int,
    epochs: int,
    seed: int = 0,
    device: str = "cpu",
    lr: float = 1e-3,
    optimizer: str = "rprop",
    others: Mapping[int, Any] | None = None,
    refit_epochs: int | None = None,
    base: Mapping[str, Any] | None = None,
    full: bool = False,
    progress: bool = True,
    workers: int = 1,
) -> pd.DataFrame:
    """Train iN-NMF once per network design and measure each by KL.

    Chapter: "Implicit neural factors" (the ablation the paper lacks).

    Args:
        V: compressed magnitudes at the training window size (F x T, F = N/2 + 1).
        n_fft: that window size, N (the paper trains at 2000).
        grid: factor -> values, factors among the keys of :data:`PAPER_INR`, e.g.
            ``{"n_freqs": [2, 6, 10], "activation": ["sin", "relu"], "hidden": [16, 64]}``.
        rank: K in the paper.
        epochs: training epochs per configuration.
        seed: one seed for every configuration (paired comparison).
        device: where to train.
        lr: learning rate.
        optimizer: ``"rprop"`` (the paper's) or ``"adam"``.
        others: window size N' -> compressed magnitudes at N' of the same audio; for
            each, W is sampled at N''s bins and H alone is refit (no retraining of W).
        refit_epochs: epochs of each refit (default: ``epochs``).
        base: setting varied around (default: the paper's).
        full: train the Cartesian product of the grid instead of one factor at a time
            (cost: the product of the grid's lengths, see the module docstring).
        progress: tqdm bar over the configurations.
        workers: local processes fitting configurations at once (1: in this process).
            Each worker runs this process's torch thread count, so the numbers are
            the same, bit for bit, whatever ``workers`` (only ``seconds`` differs).

    Returns:
        One row per configuration, in :func:`ablation_configs` order, with columns
        ``label``; ``varied`` (the factor changed from the base, ``"base"`` for the
        base itself, ``"grid"`` with ``full``); ``is_base``; one column per setting in
        ``n_freqs``, ``activation``, ``hidden`` and any other grid factor; ``kl`` (KL at
        the training N after training, of the final W and H); ``kl_N<n>`` per entry
        of ``others`` (KL after sampling W at N = n and refitting H); ``n_params``
        (trainable parameters of the K networks, H excluded: it is the same for all);
        ``seconds`` (wall time of the fit and refits). The loss histories are in
        ``df.attrs["histories"]`` (label -> array of the training KL per epoch).

    Raises:
        ValueError: bad grid (unknown factor: the message lists the known ones), a
            spectrogram whose rows do not match its window size, or bad epochs.
    """
    import torch

    from innmf.experiments.parallel import map_unordered

    configs = ablation_configs(grid, base, full)
    V = _check_spectrogram(V, n_fft, "V")
    tests = {int(n): _check_spectrogram(Vn, int(n), f"others[{n}]") for n, Vn in (others or {}).items()}
    if int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}.")
    refit = int(epochs if refit_epochs is None else refit_epochs)
    if refit < 1:
        raise ValueError(f"refit_epochs must be >= 1, got {refit_epochs}.")
    columns = list(SHOWN) + [k for k in grid if k not in SHOWN]
    fit = _Fit(V, int(n_fft), tests, int(rank), int(seed), device, int(epochs), refit, optimizer, lr)
    tasks = [(i, fit, settings) for i, (_, settings) in enumerate(configs)]
    if workers == 1:
        done = ((task, _fit_config(task)) for task in tasks)
    else:
        done = map_unordered(_fit_config, tasks, workers=workers, progress=False, threads=torch.get_num_threads())
    measured: dict[int, tuple[np.ndarray, dict[str, Any]]] = {}
    with tqdm(total=len(tasks), desc="INR ablation", unit="fit", disable=not progress) as bar:
        for task, result in done:
            measured[task[0]] = result
            bar.update()
    rows, histories = [], {}
    for i, (label, settings) in enumerate(configs):
        history, numbers = measured[i]
        histories[label] = history
        row: dict[str, Any] = {
            "label": label,
            "varied": "grid" if full else (label.split("=")[0] if label != "base" else "base"),
            "is_base": all(settings[k] == v for k, v in {**PAPER_INR, **(base or {})}.items()),
        }
        row.update({k: settings[k] for k in columns})
        row.update(numbers)
        rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["histories"] = histories
    return df


@dataclass(frozen=True)
class _Fit:
    """What every configuration of one ablation is fitted to and with (picklable, for workers)."""

    V: np.ndarray
    n_fft: int
    tests: dict[int, np.ndarray]
    rank: int
    seed: int
    device: str
    epochs: int
    refit: int
    optimizer: str
    lr: float


def _fit_config(task: tuple[int, _Fit, dict[str, Any]]) -> tuple[np.ndarray, dict[str, Any]]:
    """Fit one configuration (in any process): its loss history and its row's numbers (KLs, parameters, seconds)."""
    from innmf.models.implicit import ImplicitWNMF

    _, fit, settings = task
    start = time.perf_counter()
    coords = frequency_coordinate(fit.n_fft)
    model = ImplicitWNMF(fit.rank, seed=fit.seed, device=fit.device, **settings)
    history = model.fit(fit.V, coords, epochs=fit.epochs, optimizer=fit.optimizer, lr=fit.lr).history_
    numbers: dict[str, Any] = {"kl": kl_divergence(fit.V, model.sample_W(coords) @ model.H_)}
    for n, Vn in fit.tests.items():
        c = frequency_coordinate(n)
        H = model.refit_H(Vn, c, epochs=fit.refit, optimizer=fit.optimizer, lr=fit.lr)
        numbers[f"kl_N{n}"] = kl_divergence(Vn, model.sample_W(c) @ H)
    numbers["n_params"] = int(sum(p.numel() for p in model.net.parameters() if p.requires_grad))
    numbers["seconds"] = time.perf_counter() - start
    return history, numbers
