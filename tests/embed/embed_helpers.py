"""Helpers shared by the embedding tests (proteins made of random sequences)."""

from __future__ import annotations

import numpy as np

AA = "ACDEFGHIKLMNPQRSTVWY"


def random_seq(rng, n: int) -> str:
    return "".join(rng.choice(list(AA), size=n))


def make_protein(pid: str, seqs: list[str], rng=None):
    from esm_schnet.structure import Chain, Protein

    rng = rng or np.random.default_rng(0)
    chains = []
    for i, s in enumerate(seqs):
        n = len(s)
        chains.append(
            Chain(
                name="ABCDEFGH"[i],
                segment=1,
                sequence=s,
                ca=rng.normal(size=(n, 3)).astype(np.float32) * 10,
                residue_number=np.arange(1, n + 1, dtype=np.int32),
                insertion_code=np.array([""] * n),
            )
        )
    return Protein(id=pid, chains=chains, source=f"{pid}.pdb", format="pdb")
