"""No typed results in the chapters: a sentence about a result is computed, or a stated exception.

A *typed result* is a sentence that holds a result word (a metric, a method, ratio, gap,
fit, trial, ...) and either a comparative word (better, worse, higher, lower, beats,
outperforms, easier, ruins, ...; markdown only) or a figure: a number with % or dB, a
decimal number, or "the paper's <number>". The test scans

- every markdown cell of every chapter, and
- the literal text of every string in the chapters' code cells: an f-string is scanned
  without its computed fields, so a figure there can only have been typed.

**The marker of computed text** is that it comes from a code cell: a result sentence is
written as ``display(Markdown(f"... {value:.2f} dB ..."))``, its numbers in computed fields.
Confidence and power levels ("95 % interval") are not results, and neither are questions:
a sentence that ends in "?", holds "whether" or opens with "If" says what is asked, not what
was found, and is not scanned. A sentence that states a
setting, a rule or the paper's published protocol, not a result, goes in :data:`ALLOWED`
with the reason; everything else flagged fails the test, so a new typed result cannot
enter a chapter unnoticed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jupytext
import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.py"))

RESULT = re.compile(r"\b(SDR|STOI|SIR|SAR|KL|SNR|ratios?|gaps?|deficit|separat\w*|reconstruct\w*|scores?|"
                    r"iN-NMF|NMF(?:-\w+)?|fits?|trials?|pairs?)\b", re.I)
COMPARATIVE = re.compile(r"\b(better|worse|higher|lower|beats?|outperform\w*|easier|harder|ruins?|"
                         r"improv(?:es|ed)|exceeds?|superior|(?<!non-)inferior)\b", re.I)
FIGURE = re.compile(r"(?<![\w.])[+−-]?\d+(?:\.\d+)?(?:\s*(?:–|-|to)\s*[+−-]?\d+(?:\.\d+)?)?\s*(?:%|dB\b)"
                    r"|(?<![\w.])[+−-]?\d+\.\d+(?![\w.])|paper's \d+")
# Not results: math, inline code and MyST roles; confidence and power levels; interval ends.
MARKUP = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$|\{[\w:-]+\}`[^`]*`|`[^`]*`|\]\([^)]*\)", re.S)
# (a table header names an interval's level in brackets: "KL ratio [speaker 95 %]")
LEVEL = re.compile(r"\b\d{2}\s?%(?:\s+(?=(?:speaker-level\s+|trial-level\s+|confidence\s+|t-)?"
                   r"(?:intervals?|CI|confidence|power|level|low|high|probability))|(?=\]))", re.I)
NOT_COMPARATIVE = re.compile(r"\b(lower|upper)\s+(bound|end)s?\b|\b(higher|lower)\s+is\s+better\b", re.I)
QUESTION = re.compile(r"\?$|\bwhether\b|^If\b", re.I)

ALLOWED: dict[tuple[str, str], str] = {
    ("04_separation", "Each trial takes two different speakers, 20 s of training audio"):
        "the protocol's settings (book/paper_setup.md §3): durations and a 0 dB mixture, not a result",
    ("05_irregular_hybrid", "the KL is measured on the held-out 10 %"):
        "a setting: the share of points held out for the KL, not a result",
}
"""(chapter, start of a flagged fragment) -> why it is not a typed result."""


def sentences(text: str) -> list[str]:
    """The text's sentences (and list items), markup and confidence levels removed."""
    text = NOT_COMPARATIVE.sub(" ", LEVEL.sub(" ", MARKUP.sub(" ", text)))
    text = re.sub(r"(?m)^(#{1,6} .*)$", r"\1\n", text)  # a heading is a sentence of its own
    parts = re.split(r"(?<=[.!?:;])\s+(?=[A-Z(*])|\n\s*[-*]\s+|\n\s*\n", text)
    return [" ".join(part.replace("#", " ").split()) for part in parts if part.strip()]


def _code_texts(source: str) -> list[str]:
    """The literal text of a code cell's strings: f-strings without their computed fields."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # cell magics
        return []
    fields = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    texts = [" ".join(v.value for v in node.values if isinstance(v, ast.Constant))
             for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)]
    texts += [node.value for node in ast.walk(tree)
              if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in fields]
    return texts


def typed_results(source: str) -> list[tuple[str, str]]:
    """``(cell kind, sentence)`` for every sentence of a py:percent chapter that reads as a typed result."""
    found = []
    for cell in jupytext.reads(source, fmt="py:percent").cells:
        markdown = cell.cell_type == "markdown"
        for text in [cell.source] if markdown else _code_texts(cell.source):
            for sentence in sentences(text):
                if QUESTION.search(sentence):
                    continue
                if RESULT.search(sentence) and (FIGURE.search(sentence) or (markdown and COMPARATIVE.search(sentence))):
                    found.append((cell.cell_type, sentence))
    return found


def _unexplained(stem: str, source: str) -> list[tuple[str, str]]:
    allowed = [fragment for chapter, fragment in ALLOWED if chapter == stem]
    return [(kind, s) for kind, s in typed_results(source) if not any(fragment in s for fragment in allowed)]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapters_type_no_results(chapter: Path) -> None:
    found = _unexplained(chapter.stem, chapter.read_text())
    assert not found, (f"{chapter.name}: typed result(s); compute them in a code cell "
                       f"(display(Markdown(f\"...\"))) or, for a setting, add them to ALLOWED with the reason: {found}")


PLANTED = '''# %% [markdown]
# # A chapter
# The network's settings: width 64, 1000 epochs at $N = 2000$.

# %%
print(f"SDR {0.3:+.2f} dB")  # computed: passes
'''


def test_the_scan_catches_planted_typed_results_and_spares_computed_ones() -> None:
    assert typed_results(PLANTED) == []
    typed = [
        "# iN-NMF beats NMF at every window size.",
        "# The SDR gap is 0.3 dB at N = 1000.",
        "# Mixed-sex pairs are usually easier to separate.",
        "# a late blow-up ruins the fit.",
        "# KL ratio 1.053 at the training size.",
    ]
    for line in typed:
        planted = PLANTED.replace("# The network's settings", f"{line}\n# The network's settings")
        assert typed_results(planted), line
    in_code = PLANTED.replace('f"SDR {0.3:+.2f} dB"', 'f"iN-NMF trains for {1000} epochs instead of the paper\'s 1000"')
    assert typed_results(in_code) == [("code", "iN-NMF trains for epochs instead of the paper's 1000")]
    levels = PLANTED.replace("# The network's", "# Its speaker-level 95 % interval and the lower end of the KL ratio.\n# The")
    assert typed_results(levels) == []
    question = PLANTED.replace("# The network's", "# Does iN-NMF beat NMF by 0.3 dB?\n# The")
    assert typed_results(question) == []
