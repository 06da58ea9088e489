"""Speech data for the book: the embedded open corpus, TIMIT, folders of recordings,
and the paper's two-speaker trial protocol.

``load_corpus(spec)`` gives a :class:`Corpus` (``default``, ``timit:PATH``,
``folder:PATH``, ``librispeech:PATH``); ``make_trials`` draws reproducible two-speaker trials and
``trial_audio`` cuts and mixes their audio.

Names are loaded on first use (PEP 562), so importing a light submodule such as
``innmf.data.paths`` (as ``innmf --help`` does) does not import numpy, soundfile and every corpus reader.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> the submodule defining it (imported on first access)
_EXPORTS = {
    "CorpusError": "innmf.data.audio",
    "read_audio": "innmf.data.audio",
    "CheckReport": "innmf.data.check",
    "check_corpus": "innmf.data.check",
    "Corpus": "innmf.data.corpus",
    "Speaker": "innmf.data.corpus",
    "data_dir": "innmf.data.corpus",
    "load_corpus": "innmf.data.sources",
    "parse_spec": "innmf.data.sources",
    "Trial": "innmf.data.trials",
    "TrialAudio": "innmf.data.trials",
    "make_trials": "innmf.data.trials",
    "trial_audio": "innmf.data.trials",
}

__all__ = [
    "CheckReport",
    "Corpus",
    "CorpusError",
    "Speaker",
    "Trial",
    "TrialAudio",
    "check_corpus",
    "data_dir",
    "load_corpus",
    "make_trials",
    "parse_spec",
    "read_audio",
    "trial_audio",
]

if TYPE_CHECKING:  # for type checkers and editors; not an import at run time
    from innmf.data.audio import CorpusError, read_audio
    from innmf.data.check import CheckReport, check_corpus
    from innmf.data.corpus import Corpus, Speaker, data_dir
    from innmf.data.sources import load_corpus, parse_spec
    from innmf.data.trials import Trial, TrialAudio, make_trials, trial_audio


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'innmf.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
