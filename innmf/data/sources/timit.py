"""TIMIT, the corpus of the paper's speech experiments (licensed; bring your own copy).

Layout: ``ROOT/{TRAIN,TEST}/DR1..DR8/<SPEAKER>/<SENTENCE>.WAV`` (NIST SPHERE,
16 kHz, 16-bit; upper or lower case both work). Each speaker's sentences are
concatenated in a fixed order (SA, then SI, then SX, by sentence number); the sex
is the first letter of the speaker id. Used through ``load_corpus("timit:PATH")``
by the speech chapters when a reader has TIMIT.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from innmf.data.audio import CorpusError, audio_info
from innmf.data.corpus import Corpus, Speaker, concat_loader

SPLITS = ("TRAIN", "TEST")
SENTENCE = re.compile(r"^(S[AIX])(\d+)\.WAV$", re.IGNORECASE)
_KIND_ORDER = {"SA": 0, "SI": 1, "SX": 2}


def _truthy(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "on"):
        return True
    if text in ("0", "false", "no", "n", "off"):
        return False
    raise CorpusError(f"TIMIT option {name}={value!r}: use yes or no.")


def _children(path: Path) -> dict[str, Path]:
    return {p.name.upper(): p for p in sorted(path.iterdir()) if p.is_dir()}


def _is_split_dir(path: Path) -> bool:
    return any(name.startswith("DR") for name in _children(path))


def find_timit_root(path: Path) -> Path:
    """The folder holding ``TRAIN/`` and/or ``TEST/``: ``path`` itself or one level below it.

    Args:
        path: what the user gave (``timit:PATH``).

    Returns:
        The TIMIT root.

    Raises:
        CorpusError: no TIMIT layout there (the message says what was expected).
    """
    candidates = [path, *[p for p in sorted(path.iterdir()) if p.is_dir()]]
    for cand in candidates:
        kids = _children(cand)
        if any(s in kids and _is_split_dir(kids[s]) for s in SPLITS):
            return cand
    hint = ""
    kids = _children(path)
    if path.name.upper() in SPLITS and _is_split_dir(path):
        hint = f" This is one part of TIMIT: use 'timit:{path.parent}?split={path.name.lower()}'."
    elif kids and all(any(f.is_file() for f in k.iterdir()) for k in kids.values()):
        hint = f" It looks like speaker folders: use 'folder:{path}'."
    raise CorpusError(
        f"{path} is not a TIMIT tree: expected {path}/TRAIN/DR1/<SPEAKER>/SA1.WAV "
        f"(and/or TEST/...).{hint}"
    )


def _sentence_key(p: Path) -> tuple[int, int]:
    m = SENTENCE.match(p.name)
    assert m is not None
    return _KIND_ORDER[m.group(1).upper()], int(m.group(2))


def load_timit(path: Path, split: str = "all", sa: Any = True) -> Corpus:
    """Load a TIMIT tree as a :class:`Corpus`.

    Args:
        path: TIMIT root (the folder with ``TRAIN`` / ``TEST``, or its parent).
        split: ``all``, ``train`` or ``test``.
        sa: keep the SA1/SA2 sentences that every speaker reads. They are the only
            text shared between speakers; without them a speaker has ~24 s, less
            than the paper's 20 s + 5 s, so the default keeps them.

    Returns:
        One speaker per speaker folder, sex from the id's first letter.
    """
    split_name = str(split).strip().upper()
    if split_name not in ("ALL", *SPLITS):
        raise CorpusError(f"TIMIT option split={split!r}: use all, train or test.")
    keep_sa = _truthy(sa, "sa")
    root = find_timit_root(path)
    kids = _children(root)
    if split_name == "ALL":  # a partial copy (TRAIN only, say) is still usable
        splits = tuple(s for s in SPLITS if s in kids)
    elif split_name in kids:
        splits = (split_name,)
    else:
        raise CorpusError(f"{root}: no {split_name} folder for split={split}; it has {', '.join(sorted(kids))}.")

    found: list[tuple[str, str, Path, list[Path]]] = []
    for s in splits:
        for region_name, region in _children(kids[s]).items():
            if not region_name.startswith("DR"):
                continue
            for spk_name, spk_dir in _children(region).items():
                files = [
                    f
                    for f in spk_dir.iterdir()
                    if f.is_file() and SENTENCE.match(f.name) and (keep_sa or not f.name.upper().startswith("SA"))
                ]
                if not files:
                    warnings.warn(f"TIMIT speaker folder {spk_dir} has no sentence .WAV files; skipped.")
                    continue
                found.append((s, region_name, spk_dir, sorted(files, key=_sentence_key)))

    names = [d.name.upper() for _, _, d, _ in found]
    speakers = []
    for s, region_name, spk_dir, files in found:
        sid = spk_dir.name.upper()
        if names.count(sid) > 1:  # never in TIMIT itself, but copies get merged
            sid = f"{s}-{region_name}-{sid}"
        sex = sid.split("-")[-1][0] if sid.split("-")[-1][:1] in ("F", "M") else None
        n = sum(audio_info(f).frames_16k for f in files)
        speakers.append(
            Speaker(
                id=sid,
                sex=sex,
                n_samples=n,
                files=tuple(files),
                loader=concat_loader(files),
                meta={"split": s, "dialect_region": region_name, "sentences": len(files)},
            )
        )
    if not speakers:
        raise CorpusError(f"{root}: no TIMIT speakers with sentence files under {'/'.join(splits)}.")
    spec = f"timit:{root}?split={split_name.lower()}&sa={'yes' if keep_sa else 'no'}"
    return Corpus(spec=spec, speakers=speakers, kind="timit", root=root)
