"""The vectorised Shrake-Rupley (esm_schnet.parse.sasa) against Biopython's own loops: identical
per-atom available-point counts (and so identical areas) on real structures and edge cases.

Real structures: the bundled example, a few esol and jclinic files (skipped without
../shared/data). The atoms are those the parse job hands it: the kept protein residues' atoms
without hydrogens (descriptors._element).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from jclinic_data import jclinic_dir

from esm_schnet.parse import descriptors, sasa
from esm_schnet.parse.chains import Collector
from esm_schnet.parse.mmcif import parse_mmcif
from esm_schnet.parse.pdb import parse_pdb
from esm_schnet.parse.text import read_structure_text, sniff_format

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "resources" / "example" / "structures"
ESOL = REPO.parent / "shared" / "data" / "esol" / "pdb"
JCLINIC = jclinic_dir()


def heavy_atoms(path: Path):
    """Coordinates and elements of the kept residues' heavy atoms, as `descriptors.compute`
    collects them."""
    text, _ = read_structure_text(path, "t")
    col = Collector("t")
    (parse_pdb if sniff_format(text, path) == "pdb" else parse_mmcif)(text, "t", col)
    coords, elements = [], []
    for res in col.residues:
        for a in res.get_atoms():
            e = descriptors._element(a)
            if e is not None:
                coords.append(a.get_coord())
                elements.append(e)
    return np.array(coords, np.float64), elements


def assert_identical(coords, elements, **kw):
    c_fast, a_fast = sasa.shrake_rupley(coords, elements, method="fast", **kw)
    c_bio, a_bio = sasa.shrake_rupley(coords, elements, method="biopython")
    np.testing.assert_array_equal(c_fast, c_bio)
    np.testing.assert_array_equal(a_fast, a_bio)  # bit for bit
    return c_fast


def some(folder: Path | None, pattern: str, k: int) -> list[Path]:
    if folder is None or not folder.is_dir():
        return []
    files = sorted(folder.glob(pattern))
    return files[:: max(len(files) // k, 1)][:k]


@pytest.mark.parametrize("path", sorted(EXAMPLE.iterdir()), ids=lambda p: p.name)
def test_example_structures_identical_counts(path):
    coords, elements = heavy_atoms(path)
    counts = assert_identical(coords, elements)
    assert 0 < (counts > 0).sum() < len(counts)  # some atoms exposed, some buried


@pytest.mark.skipif(not ESOL.is_dir(), reason="../shared/data/esol is not available")
@pytest.mark.parametrize("i", range(4))
def test_esol_identical_counts(i):
    path = some(ESOL, "*.pdb.gz", 4)[i]
    assert_identical(*heavy_atoms(path))


@pytest.mark.skipif(JCLINIC is None, reason="../shared/data/jclinic is not available")
@pytest.mark.parametrize("i", range(3))
def test_jclinic_identical_counts(i):
    files = some(JCLINIC / "pdb", "*", 3)
    if i >= len(files):
        pytest.skip("fewer jclinic files")
    assert_identical(*heavy_atoms(files[i]))


def test_small_chunks_and_all_elements_in_the_table():
    """Chunk boundaries inside one atom's neighbour run; every element with a radius (and one
    without: Biopython's default 2.0 A)."""
    coords, _ = heavy_atoms(EXAMPLE / "ex02.pdb")
    rng = np.random.default_rng(0)
    table = ["C", "N", "O", "S", "SE", "FE", "ZN", "CA", "XX"]
    elements = list(rng.choice(table, len(coords)))
    for chunk in (1, 7, 100):
        assert_identical(coords, elements, chunk=chunk)


def test_edge_cases():
    one = np.zeros((1, 3))
    counts, area = sasa.shrake_rupley(one, ["C"])
    assert counts.tolist() == [100]
    assert area[0] == pytest.approx(4 * np.pi * 3.1**2)
    assert_identical(one, ["C"])
    # two overlapping atoms, apart, touching, coincident, one inside the other
    for d in (0.0, 0.5, 1.5, 3.0, 6.2, 6.2 - 1e-12, 6.2 + 1e-12, 7.0):
        two = np.array([[0.0, 0.0, 0.0], [d, 0.0, 0.0]])
        assert_identical(two, ["C", "C"])
    assert_identical(np.array([[0.0, 0.0, 0.0], [0.3, 0.2, 0.1]]), ["C", "SE"])
    # no atoms
    counts, area = sasa.shrake_rupley(np.zeros((0, 3)), [])
    assert counts.shape == area.shape == (0,)
    # points exactly on a neighbour's sphere: atoms on a lattice, spacing = radius
    grid = np.stack(np.meshgrid(*[np.arange(3) * 3.1] * 3), -1).reshape(-1, 3)
    assert_identical(grid, ["C"] * len(grid))


def test_hydrogens_are_not_atoms_of_the_surface(tmp_path):
    """The parse job hands Shrake-Rupley heavy atoms only (descriptors._element drops H/D)."""
    pdb = EXAMPLE / "ex02.pdb"
    lines = [ln for ln in pdb.read_text().splitlines() if ln.startswith(("ATOM", "HETATM"))]
    ln = next(ln for ln in lines if ln[12:16].strip() == "CA")
    h = ln[:12] + " HA " + ln[16:76] + " H" + ln[78:]
    text = pdb.read_text().replace(ln + "\n", ln + "\n" + h + "\n", 1)
    with_h = tmp_path / "h.pdb"
    with_h.write_text(text)
    c0, e0 = heavy_atoms(pdb)
    c1, e1 = heavy_atoms(with_h)
    np.testing.assert_array_equal(c0, c1)
    assert e0 == e1


def test_reference_sphere_and_radii_are_biopython_s():
    from Bio.PDB.SASA import ShrakeRupley

    sr = ShrakeRupley()
    np.testing.assert_array_equal(sasa._biopython()._sphere, sr._sphere)
    assert sasa.radii(["C", "N", "O", "S", "SE", "??"]).tolist() == [
        sr.radii_dict[e] + 1.4 for e in ("C", "N", "O", "S", "SE", "??")
    ]


def test_bad_method():
    with pytest.raises(ValueError, match="method"):
        sasa.shrake_rupley(np.zeros((1, 3)), ["C"], method="nope")


@pytest.mark.parametrize("tol", [0.05, 100.0])
def test_exact_path_decides_like_biopython(monkeypatch, tol):
    """A wide boundary band sends many (or all) points through the exact re-check."""
    monkeypatch.setattr(sasa, "_TOL", tol)
    coords, elements = heavy_atoms(EXAMPLE / "ex03.pdb")
    assert_identical(coords, elements)
