"""innmf: Non-negative matrix factorisation with implicit neural representations.

Companion package to Subramani, Smaragdis, Higuchi & Souden (2024),
"Rethinking Non-Negative Matrix Factorization with Implicit Neural Representations",
arXiv:2404.04439.
"""

__version__ = "0.1.0"

SAMPLE_RATE = 16_000
"""Sample rate (Hz) of all speech in the paper's experiments."""
