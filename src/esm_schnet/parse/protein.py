"""The parsed-structure data model: `Protein` (one sample) made of `Chain` segments."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Chain:
    """One chain segment: author chain id + segment number, residues with a C-alpha."""

    name: str
    segment: int
    sequence: str
    ca: np.ndarray  # float32 [n, 3]
    residue_number: np.ndarray  # int32 [n]
    insertion_code: np.ndarray  # '<U1' [n], '' for none

    def __post_init__(self):
        self.ca = np.asarray(self.ca, dtype=np.float32).reshape(-1, 3)
        self.residue_number = np.asarray(self.residue_number, dtype=np.int32).reshape(-1)
        self.insertion_code = np.asarray(self.insertion_code, dtype="<U1").reshape(-1)
        n = len(self.sequence)
        if not (len(self.ca) == len(self.residue_number) == len(self.insertion_code) == n):
            raise ValueError(
                f"chain {self.name}/{self.segment}: sequence {n}, ca {len(self.ca)}, "
                f"residue_number {len(self.residue_number)}, "
                f"insertion_code {len(self.insertion_code)} differ"
            )

    @property
    def n_residues(self) -> int:
        return len(self.sequence)

    @property
    def label(self) -> str:
        """`A` for the first segment of chain A, `A.2` for its second, ..."""
        return self.name if self.segment == 1 else f"{self.name}.{self.segment}"


@dataclass
class Protein:
    id: str
    chains: list[Chain]
    source: str
    format: str
    qc: dict = field(default_factory=dict)
    error: str | None = None
    #: per-residue structural descriptors [n_residues, len(descriptors.COLUMNS)] float32, in
    #: the order of `ca`; None where not computed (a skipped protein, an older file)
    descriptors: np.ndarray | None = None

    @property
    def status(self) -> str:
        return "skipped" if self.error else "ok"

    @property
    def n_residues(self) -> int:
        return sum(c.n_residues for c in self.chains)

    @property
    def ca(self) -> np.ndarray:
        if not self.chains:
            return np.zeros((0, 3), np.float32)
        return np.concatenate([c.ca for c in self.chains]).astype(np.float32, copy=False)

    @property
    def chain_index(self) -> np.ndarray:
        return np.concatenate(
            [np.full(c.n_residues, i, np.int32) for i, c in enumerate(self.chains)]
            or [np.zeros(0, np.int32)]
        )

    @property
    def residue_number(self) -> np.ndarray:
        return np.concatenate(
            [c.residue_number for c in self.chains] or [np.zeros(0, np.int32)]
        ).astype(np.int32, copy=False)

    @property
    def insertion_code(self) -> np.ndarray:
        return np.concatenate([c.insertion_code for c in self.chains] or [np.zeros(0, "<U1")])

    @property
    def sequences(self) -> list[str]:
        return [c.sequence for c in self.chains]

