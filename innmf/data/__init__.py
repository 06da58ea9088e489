"""Speech data for the book: the embedded open corpus, TIMIT, folders of recordings,
and the paper's two-speaker trial protocol.

``load_corpus(spec)`` gives a :class:`Corpus` (``default``, ``timit:PATH``,
``folder:PATH``, ``librispeech:PATH``); ``make_trials`` draws reproducible two-speaker trials and
``trial_audio`` cuts and mixes their audio.
"""

from innmf.data.audio import CorpusError, read_audio
from innmf.data.check import CheckReport, check_corpus
from innmf.data.corpus import Corpus, Speaker, data_dir
from innmf.data.sources import load_corpus, parse_spec
from innmf.data.trials import Trial, TrialAudio, make_trials, trial_audio

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
