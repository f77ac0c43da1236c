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


def test_element_frequencies_of_the_potentials():
    from esm_schnet.parse import parse_structure

    pm = _module()
    protein = parse_structure(REPO / "resources" / "example" / "structures" / "ex01.pdb.gz", "ex01")
    el = pm.protein_features(protein)["elements"]
    assert set(el) == set(pm.POTENTIALS)
    assert [len(el[f]) for f in pm.POTENTIALS] == [80, 60, 80, 210, 210, 210]
    for f in pm.POTENTIALS:
        assert abs(el[f].sum() - 1) < 1e-12  # every family a distribution over its elements
    # helix at phi -60, psi -45; strand at -120, 130; left-handed at 60, 40; -60, -170 extended
    phi = np.array([-60.0, -120.0, 60.0, -60.0])
    psi = np.array([-45.0, 130.0, 40.0, -170.0])
    np.testing.assert_array_equal(pm.torsion_region(phi, psi), [0, 1, 2, 1])


def test_potentials_learn_from_training_labels_only():
    pm = _module()
    rng = np.random.default_rng(0)
    n = 60
    freq = rng.dirichlet(np.ones(5), size=n)
    y = 50 + 40 * freq[:, 0] + rng.normal(0, 1, n)  # element 0 goes with a high label
    pot = pm.potential(freq, y)
    assert pot[0] > 0 and pot[0] == pot.max()
    train = np.arange(n) < 45
    families = {"a": freq, "b": rng.dirichlet(np.ones(3), size=n)}
    x = pm.potential_features(families, train, y)
    assert x.shape == (n, 2)
    assert np.corrcoef(x[~train, 0], y[~train])[0, 1] > 0.5  # it carries the signal to test rows
    # no row is made from its own label: change a training protein's label, and its own row
    # stays while the rows made with it move
    y2 = y.copy()
    y2[3] += 1000.0
    x2 = pm.potential_features(families, train, y2)
    np.testing.assert_array_equal(x2[3], x[3])
    assert not np.allclose(x2[~train], x[~train])
    # test proteins' labels are never read
    y3 = y.copy()
    y3[~train] = 0.0
    np.testing.assert_array_equal(pm.potential_features(families, train, y3), x)
