"""bench/pooled_models.py: the per-protein features it fits scikit-learn models on (the whole
script runs on a real workflow run in tests/workflow/test_inner_bench.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location("pooled_models", REPO / "bench" / "pooled_models.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_contact_counts_and_composition_of_a_parsed_protein():
    from esm_schnet.parse import parse_structure

    pm = _module()
    protein = parse_structure(REPO / "resources" / "example" / "structures" / "ex01.pdb.gz", "ex01")
    f = pm.protein_features(protein)
    seq = "".join(c.sequence for c in protein.chains)
    n = len(seq)
    assert abs(f["composition"][:20].sum() - 1) < 1e-12  # ex01: standard residues only
    assert f["composition"][20] == np.log(n)
    # every residue-type pair counted once per C-alpha pair within 8 A, 3 or more apart
    ca = protein.ca.astype(np.float64)
    chain = protein.chain_index
    want = np.zeros((20, 20))
    for i in range(n):
        for j in range(i + 1, n):
            if np.linalg.norm(ca[i] - ca[j]) < 8.0 and (j - i >= 3 or chain[i] != chain[j]):
                a, b = sorted((pm.AMINO_ACIDS.index(seq[i]), pm.AMINO_ACIDS.index(seq[j])))
                want[a, b] += 1
    got = f["contacts"] * n
    np.testing.assert_allclose(got, want[np.triu_indices(20)], atol=1e-9)
    assert got.sum() > n  # a folded protein: more long-range contacts than residues
    assert len(f["structure"]) == 9 and len(f["surface"]) == 40
