"""`onehot`: the built-in featurizer, one-hot residues over the 20 standard amino acids + X.

Needs no weights (offline runs, and the ablation that shows what a language model adds), is
never windowed and never cached (computing it is cheaper than reading a file).
"""

from __future__ import annotations

import numpy as np

from esm_schnet.embed.featurizers.base import Featurizer

NAME = "onehot"
# The 20 standard residues, then X for anything else (B, Z, U, O, X, ...).
ALPHABET = "ACDEFGHIKLMNPQRSTVWY"


class OneHotFeaturizer(Featurizer):
    """One-hot over the 20 standard residues + X (21 dims)."""

    kind = NAME

    def __init__(self):
        self.id = NAME
        self.revision = "builtin"
        self.layer = 0
        self.n_layers = 0
        self.dtype = "float32"
        self.device = "cpu"
        self.dim = len(ALPHABET) + 1
        self.window = None
        self.cacheable = False
        self.n_sequences_run = 0
        table = np.full(256, len(ALPHABET), dtype=np.int64)
        for i, aa in enumerate(ALPHABET):
            table[ord(aa)] = i
            table[ord(aa.lower())] = i
        self._table = table
        self._eye = np.eye(self.dim, dtype=np.float32)

    def encode(self, seq: str) -> np.ndarray:
        raw = np.frombuffer(seq.encode("ascii", errors="replace"), dtype=np.uint8)
        return self._table[raw]

    def forward(self, sequences: list[str]) -> list[np.ndarray]:
        self.n_sequences_run += len(sequences)
        return [self._eye[self.encode(s)] for s in sequences]


def create(cfg=None) -> OneHotFeaturizer:
    return OneHotFeaturizer()


def setup(register) -> None:
    """Register one-hot with the featurizer registry (its `register`; registry.load_builtins)."""
    register(NAME, create, kind=NAME)
