"""Typed run settings and the named profiles shared by the notebooks, the CLI and the tests.

A :class:`Settings` is a frozen dataclass: every setting has a type and a range
(:data:`RULES`), checked when it is built, so a bad value is a clear error naming
the setting, the value and what is allowed before any work starts or any file is
written. ``smoke`` is for tests (seconds per notebook, still on real audio),
``quick`` is the default book build and ``paper`` is the published protocol
(book/paper_setup.md and arXiv:2404.04439). Any single setting can be overridden:
``get_profile("quick", n_trials=3)`` or, on the command line, ``--set n_trials=3``.

Settings read like a mapping too (``settings["rank"]``, ``settings.get(...)``,
``dict(settings)``, ``{**settings}``), with lists for the window sizes, so the
chapters' code reads them either way; attributes (``settings.rank``) are preferred.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Iterator

DEVICES = ("cpu", "cuda", "cuda:N")
BACKENDS = ("auto", "reference", "fast")
OPTIMIZERS = ("rprop", "adam")
REFIT_SOLVERS = ("optimizer", "fused", "mu")
"""How every fit of activations with a dictionary fixed (refits at each N, separation) is
solved for iN-NMF, NMF-interp and NMF-resample: by the settings' ``optimizer`` (the
paper's Rprop, ``refit_epochs``/``sep_epochs`` steps), by the same Rprop steps in the fused
kernel (``fused``, :mod:`innmf.accel.refit_fused`: equal within rounding, 2-3x faster per
epoch) or by KL multiplicative updates (``mu``, as many iterations;
:func:`innmf.models.refit.fit_H_mu`)."""
METHODS: tuple[str, ...] = ("NMF", "iN-NMF", "NMF-interp", "NMF-resample")
"""Method names in the results (classic NMF, the paper's iN-NMF, and NMF's training-size
dictionary carried to other window sizes without a network, interpolated or resampled
with anti-aliasing, by :mod:`innmf.experiments.baselines`)."""
INR_INITS = ("default", "siren")
INR_ENCODINGS = ("paper", "gaussian", "siren")
INR_COORDINATES = ("paper", "hz")
"""The networks' frequency coordinate of STFT bin k at window size N: ``paper``
k/(N/2+1) - 0.5 (the published code's), or ``hz`` k/(N/2) - 0.5 = 2f/sr - 0.5, the
same coordinate for the same frequency in Hz at every N (:func:`innmf.tf.stft.frequency_coordinate`)."""
GAUSSIAN_SCALE = 128.0
"""Default scale of Gaussian encoding frequencies: with it their mean |B| (0.80 scale)
equals the mean of the paper's ladder 2^j, j < 10 (102.3), so both encodings reach
the same detail; a rule from the paper's encoding, not a value tuned on any corpus."""
PAIRINGS = ("any", "mixed", "same")
MIN_N_FFT = 16
"""Smallest window size (samples): below it a spectrum has too few bins to factorise."""
MAX_N_FFT = 65536
MIN_SEGMENT_WINDOWS = 2
"""Training and test segments must each span at least this many of the largest windows."""


class SettingsError(ValueError):
    """A setting has the wrong type or range; the message names it, its value and what is allowed."""


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _int_rule(low: int, high: int) -> Callable[[str, Any], int]:
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"setting {name}={_describe(value)}: must be an integer from {low} to {high} "
                                "(no fractions, no true/false).")
        if not low <= value <= high:
            raise SettingsError(f"setting {name}={value!r}: must be an integer from {low} to {high}.")
        return int(value)
    return check


def _float_rule(low: float, high: float, low_open: bool = True) -> Callable[[str, Any], float]:
    def check(name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(f"setting {name}={_describe(value)}: must be a number "
                                f"{'>' if low_open else '>='} {low:g} and <= {high:g}.")
        value = float(value)
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            raise SettingsError(f"setting {name}={value!r}: must be a finite number "
                                f"{'>' if low_open else '>='} {low:g} and <= {high:g}.")
        return value
    return check


def _choice_rule(choices: tuple[str, ...]) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in choices:
            raise SettingsError(f"setting {name}={_describe(value)}: must be one of {', '.join(choices)}.")
        return value
    return check


def _device(name: str, value: Any) -> str:
    if isinstance(value, str) and (value in ("cpu", "cuda") or re.fullmatch(r"cuda:\d+", value)):
        return value
    raise SettingsError(f"setting {name}={_describe(value)}: must be one of {', '.join(DEVICES)} "
                        "(N a GPU index).")


def check_device(value: Any) -> str:
    """The ``device`` setting's rule (cpu, cuda or cuda:N), for commands that take a device too."""
    return _device("device", value)


def _window_list(allow_empty: bool) -> Callable[[str, Any], tuple[int, ...]]:
    def check(name: str, value: Any) -> tuple[int, ...]:
        if not isinstance(value, (list, tuple)):
            raise SettingsError(f"setting {name}={_describe(value)}: must be a list of window sizes, "
                                f"e.g. --set {name}=[1000,2000].")
        if not value and not allow_empty:
            raise SettingsError(f"setting {name}=[]: needs at least one window size, e.g. [1000,2000].")
        out = tuple(_window(f"{name}[{i}]", v) for i, v in enumerate(value))
        if len(set(out)) != len(out):
            raise SettingsError(f"setting {name}={list(value)!r}: each window size may appear once.")
        return out
    return check


_window = _int_rule(MIN_N_FFT, MAX_N_FFT)


def _corpus(name: str, value: Any) -> str:
    from innmf.data.sources import check_spec

    if not isinstance(value, str):
        raise SettingsError(f"setting {name}={_describe(value)}: must be a corpus spec such as "
                            "default, timit:PATH, folder:PATH or librispeech:PATH.")
    try:
        check_spec(value)
    except ValueError as err:
        raise SettingsError(f"setting {name}={value!r}: {err}") from None
    return value


def _methods(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise SettingsError(f"setting {name}={_describe(value)}: must be a non-empty list of methods "
                            f"from {', '.join(METHODS)}, e.g. --set {name}='[\"iN-NMF\"]'.")
    unknown = [m for m in value if m not in METHODS]
    if unknown:
        raise SettingsError(f"setting {name}: unknown method(s) {unknown}; choose from {', '.join(METHODS)}.")
    for derived in ("NMF-interp", "NMF-resample"):
        if derived in value and "NMF" not in value:
            raise SettingsError(f"setting {name}={list(value)!r}: {derived} carries NMF's dictionary to "
                                "other window sizes, so it needs NMF in the list too.")
    if len(set(value)) != len(value):
        raise SettingsError(f"setting {name}={list(value)!r}: each method may appear once.")
    return tuple(m for m in METHODS if m in value)  # one canonical order: equal lists hash equally


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise SettingsError(f"setting {name}={_describe(value)}: must be a non-empty name.")
    return value


_EPOCHS = _int_rule(1, 1_000_000)
RULES: dict[str, Callable[[str, Any], Any]] = {
    "corpus": _corpus,
    "seed": _int_rule(0, 2**32 - 1),
    "device": _device,
    "backend": _choice_rule(BACKENDS),
    "threads": _int_rule(1, 1024),
    "n_trials": _int_rule(1, 10_000_000),
    "train_seconds": _float_rule(0.0, 36_000.0),
    "test_seconds": _float_rule(0.0, 36_000.0),
    "sex_pairing": _choice_rule(PAIRINGS),
    "n_ffts": _window_list(allow_empty=False),
    "train_n_fft": _window,
    "extra_n_ffts": _window_list(allow_empty=True),
    "power": _float_rule(0.0, 4.0),
    "rank": _int_rule(1, 4096),
    "nmf_iter": _EPOCHS,
    "hidden": _int_rule(1, 65536),
    "n_freqs": _int_rule(1, 256),
    "lr": _float_rule(0.0, 1e3),
    "optimizer": _choice_rule(OPTIMIZERS),
    "inr_init": _choice_rule(INR_INITS),
    "inr_encoding": _choice_rule(INR_ENCODINGS),
    "inr_coordinate": _choice_rule(INR_COORDINATES),
    "encoding_scale": _float_rule(0.0, 1e4),
    "inr_seed": _int_rule(0, 2**31 - 1),
    "methods": _methods,
    "refit_solver": _choice_rule(REFIT_SOLVERS),
    "inr_epochs": _EPOCHS,
    "refit_epochs": _EPOCHS,
    "sep_epochs": _EPOCHS,
    "ablation_epochs": _EPOCHS,
    "hybrid_rank": _int_rule(1, 4096),
    "hybrid_hidden": _int_rule(1, 65536),
    "hybrid_epochs": _EPOCHS,
    "hybrid_fraction": _float_rule(0.0, 1.0),
    "profile": _text,
}
"""One check per setting: it returns the value in its canonical type or raises :class:`SettingsError`."""


@dataclass(frozen=True)
class Settings(Mapping):
    """All settings of a run, typed and checked (``RULES``); build them with :func:`get_profile`.

    Attributes mirror the paper's symbols where it has them: ``rank`` is K, ``n_ffts``
    the window sizes N, ``train_n_fft`` the N the implicit networks are trained at,
    ``power`` the exponent p of V = |STFT|^p, ``hidden`` and ``n_freqs`` the network
    width and the J of the Fourier encoding. ``backend`` chooses the plain math
    (``reference``), the fast path (``fast``) or the fastest available (``auto``).
    ``threads`` are torch/BLAS threads per trial: they change iN-NMF's float rounding,
    so they are part of a results store's identity. ``inr_init``, ``inr_encoding``
    (with ``encoding_scale``), ``inr_coordinate`` (:data:`INR_COORDINATES`) and
    ``inr_seed`` vary the implicit networks' design and
    draw away from the paper's (chapter "Separating two speakers", the study of
    iN-NMF at its best); ``methods`` chooses which of :data:`METHODS` a trial computes;
    ``refit_solver`` (:data:`REFIT_SOLVERS`) how activations are fitted with W fixed.
    """

    corpus: str
    seed: int
    device: str
    backend: str
    threads: int
    n_trials: int
    train_seconds: float
    test_seconds: float
    sex_pairing: str
    n_ffts: tuple[int, ...]
    train_n_fft: int
    extra_n_ffts: tuple[int, ...]
    power: float
    rank: int
    nmf_iter: int
    hidden: int
    n_freqs: int
    lr: float
    optimizer: str
    inr_init: str
    inr_encoding: str
    inr_coordinate: str
    encoding_scale: float
    inr_seed: int
    methods: tuple[str, ...]
    refit_solver: str
    inr_epochs: int
    refit_epochs: int
    sep_epochs: int
    ablation_epochs: int
    hybrid_rank: int
    hybrid_hidden: int
    hybrid_epochs: int
    hybrid_fraction: float
    profile: str = "custom"

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, RULES[f.name](f.name, getattr(self, f.name)))
        largest = max((*self.n_ffts, *self.extra_n_ffts, self.train_n_fft))
        for name in ("train_seconds", "test_seconds"):
            seconds = getattr(self, name)
            need = MIN_SEGMENT_WINDOWS * largest / 16000
            if seconds < need:
                raise SettingsError(
                    f"setting {name}={seconds!r}: must be at least {need:g} s, {MIN_SEGMENT_WINDOWS} "
                    f"windows of the largest N = {largest} at 16 kHz (shorten the window sizes or lengthen "
                    "the audio)."
                )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Build settings from a full mapping (e.g. ``{**settings, "n_trials": 3}``), checking every value.

        Raises:
            SettingsError: a setting unknown, missing, or of the wrong type or range.
        """
        if isinstance(values, Settings):
            return values
        if not isinstance(values, Mapping):
            raise SettingsError(f"settings must be a mapping of setting names to values, got {type(values).__name__}.")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise SettingsError(f"unknown setting(s) {unknown}; known settings are: {', '.join(sorted(names))}.")
        values = {**{k: getattr(PAPER, k) for k in LATER_KEYS if k not in values}, **values}
        missing = [n for n in names if n not in values and n != "profile"]
        if missing:
            raise SettingsError(f"settings lack {missing}; build them with "
                                "innmf.experiments.settings.get_profile(name, ...).")
        return cls(**{n: values[n] for n in names if n in values})

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (checked like any other settings)."""
        unknown = sorted(set(changes) - set(self.keys()))
        if unknown:
            raise SettingsError(f"unknown setting(s) {unknown}; known settings are: {', '.join(sorted(self.keys()))}.")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dictionary (window sizes as lists)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def __getitem__(self, key: str) -> Any:
        if key not in _FIELD_NAMES:
            raise KeyError(key)
        return _plain(getattr(self, key))

    def __iter__(self) -> Iterator[str]:
        return iter(_FIELD_NAMES)

    def __len__(self) -> int:
        return len(_FIELD_NAMES)


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Settings))
LATER_KEYS: tuple[str, ...] = ("inr_init", "inr_encoding", "inr_coordinate", "encoding_scale", "inr_seed", "methods", "refit_solver")
"""Settings added after results were first recorded: a stored manifest without them
read as the paper's values, which is what those runs computed."""


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


PAPER = Settings(
    # data and trials
    corpus="default",
    seed=0,
    device="cpu",
    backend="auto",
    # torch and BLAS threads per process (per trial in parallel runs). One is fastest
    # for these small matrices on small machines: with more, threads spin-wait.
    threads=1,
    n_trials=500,
    train_seconds=20.0,
    test_seconds=5.0,
    sex_pairing="any",
    # representation
    n_ffts=(1000, 1500, 2000, 2500),
    train_n_fft=2000,
    extra_n_ffts=(512, 4096),
    power=0.5,
    # factorisation, rank K per speaker
    rank=20,
    nmf_iter=3000,
    # implicit factors
    hidden=64,
    n_freqs=10,
    lr=1e-3,
    optimizer="rprop",
    inr_init="default",  # the paper's network: PyTorch's nn.Linear initialisation
    inr_encoding="paper",  # B_j = 2^j with random phases
    inr_coordinate="paper",  # bin k at N -> k/(N/2+1) - 0.5, as the published code
    encoding_scale=GAUSSIAN_SCALE,  # used by inr_encoding="gaussian" only
    inr_seed=0,  # 0: the paper's draw of networks; n > 0: another draw, same trials
    methods=METHODS,
    refit_solver="optimizer",  # the paper's: the activations with W fixed by Rprop too
    inr_epochs=1000,
    refit_epochs=1000,
    sep_epochs=100,
    ablation_epochs=1000,  # per configuration of chapter 2's INR ablation
    # hybrid / irregular chapter (piano notes)
    hybrid_rank=2,
    hybrid_hidden=16,
    hybrid_epochs=1000,
    hybrid_fraction=0.5,
    profile="paper",
)

PROFILES: dict[str, Settings] = {
    "paper": PAPER,
    "quick": PAPER.replace(
        profile="quick",
        n_trials=4,
        nmf_iter=500,
        # The paper's 1000: with 500 the sampled dictionaries separate ~1.8 dB worse
        # (one trial, N = 2000), with 1000 ~0.5 dB (chapter 4).
        inr_epochs=1000,
        refit_epochs=300,
        ablation_epochs=500,
        sep_epochs=100,
        hybrid_epochs=300,
    ),
    "smoke": PAPER.replace(
        profile="smoke",
        n_trials=1,
        train_seconds=6.0,
        test_seconds=2.0,
        n_ffts=(1000, 2000),
        extra_n_ffts=(512,),
        nmf_iter=60,
        inr_epochs=60,
        refit_epochs=40,
        sep_epochs=20,
        ablation_epochs=60,
        hybrid_epochs=300,  # fewer epochs do not separate the two notes (chapter 5)
    ),
}
"""The three named profiles, in one place."""


def get_profile(name: str = "quick", **overrides: Any) -> Settings:
    """The named profile with ``overrides`` applied, every value checked.

    Args:
        name: one of ``smoke``, ``quick``, ``paper``.
        **overrides: settings to replace, e.g. ``n_trials=3``.

    Returns:
        The :class:`Settings`; ``profile`` is the profile's name.

    Raises:
        SettingsError: unknown profile, unknown setting, or a value of the wrong type or range.
    """
    if name not in PROFILES:
        raise SettingsError(f"Unknown profile {name!r}; choose one of {sorted(PROFILES)}.")
    overrides.pop("profile", None)
    unknown = sorted(set(overrides) - set(_FIELD_NAMES))
    if unknown:
        raise SettingsError(
            f"Unknown setting(s) {unknown} for profile {name!r}; "
            f"known settings are: {', '.join(sorted(_FIELD_NAMES))}."
        )
    return PROFILES[name].replace(**overrides, profile=name)


def parse_overrides(pairs: list[str] | None, profile: str = "quick") -> dict[str, Any]:
    """Parse ``key=value`` strings from the command line (``--set``) into overrides.

    Values are read as JSON (``n_trials=3``, ``n_ffts=[512,1024]``), except that text
    settings (``corpus``, ``device``, ...) keep their text (``corpus=timit:/data/TIMIT``)
    and a number setting also reads ``nan`` or ``inf`` (then refused by its check).
    Every value is checked (:data:`RULES`), so a mistake is reported here, naming it.

    Raises:
        SettingsError: not ``key=value``, unknown setting, or a value of the wrong type or range.
    """
    base = PROFILES.get(profile, PAPER)
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SettingsError(f"Override {pair!r} is not of the form key=value (e.g. n_trials=3).")
        key, raw = pair.split("=", 1)
        key = key.strip()
        if key not in _FIELD_NAMES or key == "profile":
            known = ", ".join(sorted(n for n in _FIELD_NAMES if n != "profile"))
            raise SettingsError(f"Unknown setting {key!r}; known settings are: {known}.")
        default = getattr(base, key)
        if isinstance(default, str):
            value: Any = raw
            if len(raw) >= 2 and raw[0] == raw[-1] == '"':
                value = raw[1:-1]
        else:
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
                if isinstance(default, float):
                    try:
                        value = float(raw)
                    except ValueError:
                        pass
        out[key] = RULES[key](key, value)
        if isinstance(out[key], tuple):
            out[key] = list(out[key])
    return out


def settings_hash(settings: Mapping[str, Any], keys: list[str] | tuple[str, ...] | None = None) -> str:
    """A short stable hash of (a subset of) the settings, for results stores and caches."""
    chosen = {k: _plain(settings[k]) for k in (keys or sorted(settings))}
    blob = json.dumps(chosen, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
