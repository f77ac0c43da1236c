"""Per-residue structural descriptors computed at parse time (esm_schnet.parse.descriptors).

Fixtures are built here with ideal geometry (NeRF placement: standard bond lengths and angles),
parsed by the real parser (Biopython) from PDB text; the esol checks use ../shared/data/esol
and skip where it is absent.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from esm_schnet.core.errors import EsmSchnetError
from esm_schnet.parse import (
    DESCRIPTOR_COLUMNS,
    QC_COLUMNS,
    parse_job,
    parse_structure,
    read_descriptors,
    read_structure_h5,
)
from esm_schnet.parse.qc import read_qc_row

COL = {c: k for k, c in enumerate(DESCRIPTOR_COLUMNS)}
ESOL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "esol"


def place(a, b, c, bond, angle, torsion):
    """Point d with |cd| = bond, angle bcd = angle, dihedral abcd = torsion (degrees)."""
    angle, torsion = math.radians(angle), math.radians(torsion)
    bc = (c - b) / np.linalg.norm(c - b)
    n = np.cross(b - a, bc)
    n /= np.linalg.norm(n)
    m = np.array([bc, np.cross(n, bc), n]).T
    d2 = bond * np.array(
        [-math.cos(angle), math.sin(angle) * math.cos(torsion), math.sin(angle) * math.sin(torsion)]
    )
    return c + m @ d2


def backbone(phi_psi, start=(0.0, 0.0, 0.0)):
    """Residues (N, CA, C, O, CB) of a chain with the given (phi, psi) per residue."""
    n = np.array(start, float)
    ca = n + np.array([1.458, 0.0, 0.0])
    c = place(np.array([0.0, 1.0, 0.0]) + n, n, ca, 1.525, 111.2, -60.0)
    out = []
    for i, (phi, psi) in enumerate(phi_psi):
        if i:
            n_ = place(out[-1]["N"], out[-1]["CA"], out[-1]["C"], 1.329, 116.2, phi_psi[i - 1][1])
            ca_ = place(out[-1]["CA"], out[-1]["C"], n_, 1.458, 121.7, 180.0)
            c_ = place(out[-1]["C"], n_, ca_, 1.525, 111.2, phi)
            n, ca, c = n_, ca_, c_
        o = place(n, ca, c, 1.231, 120.5, psi + 180.0)
        cb = place(c, n, ca, 1.53, 110.5, -122.6)
        out.append({"N": n, "CA": ca, "C": c, "O": o, "CB": cb})
    return out


def pdb_lines(residues, chain="A", resname="ALA", drop=None):
    drop = drop or {}
    lines, serial = [], 1
    for i, atoms in enumerate(residues, start=1):
        for name, xyz in atoms.items():
            if name in drop.get(i, ()):
                continue
            x, y, z = xyz
            lines.append(
                f"ATOM  {serial:5d}  {name:<3s} {resname} {chain}{i:4d}    "
                f"{x:8.3f}{y:8.3f}{z:8.3f}  1.00 20.00           {name[0]}"
            )
            serial += 1
    return lines


def write(tmp_path, name, lines):
    p = tmp_path / name
    p.write_text("\n".join(lines + ["END"]) + "\n")
    return p


HELIX = [(-57.0, -47.0)] * 16


def test_ideal_helix_is_helix_with_its_dihedrals(tmp_path):
    p = parse_structure(write(tmp_path, "helix.pdb", pdb_lines(backbone(HELIX))), "helix")
    d = p.descriptors
    assert d.shape == (16, len(DESCRIPTOR_COLUMNS)) and d.dtype == np.float32
    ss = "".join("H" if r[COL["ss_H"]] else "E" if r[COL["ss_E"]] else "-" for r in d)
    assert ss[2:14] == "H" * 12 and "E" not in ss, ss
    # exactly one state per assigned residue
    assert np.all(d[:, [COL["ss_H"], COL["ss_E"], COL["ss_C"]]].sum(1) == d[:, COL["ss_ok"]])
    # dihedrals: the built angles back, zero with mask 0 at the chain ends
    assert d[0, COL["phi_ok"]] == 0 and d[-1, COL["psi_ok"]] == 0
    assert d[0, COL["phi_sin"]] == 0 and d[-1, COL["psi_cos"]] == 0
    ok = d[:, COL["phi_ok"]] == 1
    phi = np.degrees(np.arctan2(d[ok, COL["phi_sin"]], d[ok, COL["phi_cos"]]))
    np.testing.assert_allclose(phi, -57.0, atol=0.1)
    ok = d[:, COL["psi_ok"]] == 1
    psi = np.degrees(np.arctan2(d[ok, COL["psi_sin"]], d[ok, COL["psi_cos"]]))
    np.testing.assert_allclose(psi, -47.0, atol=0.1)
    for a in ("phi", "psi"):
        ok = d[:, COL[f"{a}_ok"]] == 1
        norm = d[ok, COL[f"{a}_sin"]] ** 2 + d[ok, COL[f"{a}_cos"]] ** 2
        np.testing.assert_allclose(norm, 1.0, atol=1e-5)
    # accessibility in range; an isolated helix: every residue partly exposed
    assert np.all(d[:, COL["rsa_ok"]] == 1)
    assert np.all((d[:, COL["rsa"]] > 0.05) & (d[:, COL["rsa"]] <= 1.5))
    assert p.qc["ss_missing"] == 0 and p.qc["rsa_missing"] == 0
    assert p.qc["phi_missing"] == 1 and p.qc["psi_missing"] == 1 and p.qc["hse_missing"] == 2


def test_helix_hbond_by_hand_agrees():
    """Kabsch-Sander energy of O(i) -> H-N(i+4) in the ideal helix, computed here by hand
    (H 1.0 A from N opposite the previous C=O, as in DSSP): below the -0.5 kcal/mol cut."""
    res = backbone(HELIX)
    i, j = 5, 9
    o, c, n = res[i]["O"], res[i]["C"], res[j]["N"]
    co = res[j - 1]["C"] - res[j - 1]["O"]
    h = n + co / np.linalg.norm(co)

    def r(a, b):
        return np.linalg.norm(a - b)

    e = 0.084 * 332 * (1 / r(o, n) + 1 / r(c, h) - 1 / r(o, h) - 1 / r(c, n))
    assert e < -0.5


def test_extended_chain_is_neither_helix_nor_strand(tmp_path):
    strand = [(-120.0, 130.0)] * 12  # one strand alone has no partner: no bridge, no helix
    p = parse_structure(write(tmp_path, "ext.pdb", pdb_lines(backbone(strand))), "ext")
    d = p.descriptors
    assert d[:, COL["ss_C"]].sum() == 12
    # extended and alone: more exposed than the helix's residues on average
    assert d[1:-1, COL["rsa"]].mean() > 0.4


def test_missing_atoms_are_masked_and_counted(tmp_path):
    res = backbone(HELIX)
    # residue 8 keeps only its C-alpha; residue 12 lost its O
    lines = pdb_lines(res, drop={8: ("N", "C", "O", "CB"), 12: ("O",)})
    p = parse_structure(write(tmp_path, "gap.pdb", lines), "gap")
    d = p.descriptors
    assert p.n_residues == 16
    i8, i12 = 7, 11
    assert d[i8, COL["rsa_ok"]] == 0 and d[i8, COL["ss_ok"]] == 0 and d[i12, COL["ss_ok"]] == 0
    assert d[i8, COL["rsa"]] == 0 and d[i8, COL["ss_H"]] == 0
    # no phi/psi for 8, nor psi of 7 / phi of 9 (their partner atoms are gone)
    assert d[i8, COL["phi_ok"]] == d[i8, COL["psi_ok"]] == 0
    assert d[i8 - 1, COL["psi_ok"]] == 0 and d[i8 + 1, COL["phi_ok"]] == 0
    assert d[i12, COL["phi_ok"]] == 1 and d[i12, COL["psi_ok"]] == 1  # O is not a dihedral atom
    # the C-alpha-only fallback is defined there
    assert d[i8, COL["hse_ok"]] == 1 and d[i8, COL["cn12"]] > 0
    assert p.qc["rsa_missing"] == 2  # residue 8, and 12 (incomplete backbone)
    assert p.qc["ss_missing"] == 2
    assert p.qc["phi_missing"] == 1 + 2 and p.qc["psi_missing"] == 1 + 2
    assert p.qc["hse_missing"] == 2


def test_ca_only_structure_gets_the_fallback(tmp_path):
    res = [{"CA": r["CA"]} for r in backbone(HELIX)]
    p = parse_structure(write(tmp_path, "ca.pdb", pdb_lines(res)), "ca")
    d = p.descriptors
    for name in ("rsa", "ss", "phi", "psi"):
        assert p.qc[f"{name}_missing"] == 16
    assert np.all(d[:, [COL["rsa"], COL["ss_H"], COL["phi_sin"]]] == 0)
    assert p.qc["hse_missing"] == 2 and d[:, COL["cn8"]].min() >= 2


def test_rsa_and_hse_match_biopython(tmp_path):
    """RSA = Biopython's ShrakeRupley SASA of the residue / Tien et al. 2013 maximum; HSE-alpha
    counts = Biopython's HSExposureCA at the same radius."""
    import warnings

    from Bio.Data.PDBData import residue_sasa_scales
    from Bio.PDB import HSExposureCA, PDBParser
    from Bio.PDB.SASA import ShrakeRupley

    from esm_schnet.parse.descriptors import HSE_RADIUS

    # two helices side by side, so that some residues are buried
    a = backbone(HELIX)
    b = [{k: v + np.array([0.0, 10.0, 0.0]) for k, v in r.items()} for r in a]
    path = write(tmp_path, "two.pdb", pdb_lines(a, "A") + pdb_lines(b, "B"))
    d = parse_structure(path, "two").descriptors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = PDBParser(QUIET=True).get_structure("two", str(path))[0]
    ShrakeRupley().compute(model, level="R")
    ref = np.array([r.sasa for r in model.get_residues()]) / residue_sasa_scales["Wilke"]["ALA"]
    np.testing.assert_allclose(d[:, COL["rsa"]], ref, rtol=1e-5)
    assert ref.min() < 0.6 * ref.max()  # the contact buries something
    HSExposureCA(model, radius=HSE_RADIUS)
    up = [r.xtra.get("EXP_HSE_A_U", 0) for r in model.get_residues()]
    down = [r.xtra.get("EXP_HSE_A_D", 0) for r in model.get_residues()]
    assert d[:, COL["hse_up"]].tolist() == up and d[:, COL["hse_down"]].tolist() == down
    assert sum(up) > 0


def test_h5_round_trip_reader_and_qc_row(tmp_path):
    src = write(tmp_path, "helix.pdb", pdb_lines(backbone(HELIX)))
    h5, qc = tmp_path / "helix.h5", tmp_path / "helix.tsv"
    p = parse_job(src, "helix", h5, qc)
    arr, cols = read_descriptors(h5)
    assert cols == DESCRIPTOR_COLUMNS
    np.testing.assert_array_equal(arr, p.descriptors)
    sub, cols = read_descriptors(h5, ["ss_H", "rsa"])
    assert cols == ("ss_H", "rsa")
    np.testing.assert_array_equal(sub, p.descriptors[:, [COL["ss_H"], COL["rsa"]]])
    with pytest.raises(EsmSchnetError, match="unknown structural descriptor"):
        read_descriptors(h5, ["sasa_abs"])
    assert read_structure_h5(h5).descriptors.shape == (16, len(DESCRIPTOR_COLUMNS))
    row = read_qc_row(qc)
    assert {"rsa_missing", "ss_missing", "hse_missing"} <= set(QC_COLUMNS)
    assert row["ss_missing"] == "0" and row["hse_missing"] == "2"


def test_schema_1_file_says_to_parse_again(tmp_path):
    import h5py

    src = write(tmp_path, "helix.pdb", pdb_lines(backbone(HELIX)))
    h5 = tmp_path / "old.h5"
    parse_job(src, "old", h5, tmp_path / "old.tsv")
    with h5py.File(h5, "r+") as f:  # what the previous version wrote
        del f["descriptors"]
        f.attrs["schema_version"] = 1
    assert read_structure_h5(h5).descriptors is None
    with pytest.raises(EsmSchnetError, match="parse job again"):
        read_descriptors(h5)


def test_skipped_protein_reads_empty(tmp_path):
    bad = tmp_path / "bad.pdb"
    bad.write_text("HELLO\n")
    h5 = tmp_path / "bad.h5"
    parse_job(bad, "bad", h5, tmp_path / "bad.tsv", on_error="skip")
    arr, cols = read_descriptors(h5, ["rsa"])
    assert arr.shape == (0, 1)


# ------------------------------------------------------------------------------------------
# real structures


def _records(path):
    import gzip

    helix, sheet = set(), set()
    for line in gzip.open(path, "rt"):
        if line.startswith("HELIX "):
            helix |= set(range(int(line[21:25]), int(line[33:37]) + 1))
        elif line.startswith("SHEET "):
            sheet |= set(range(int(line[22:26]), int(line[33:37]) + 1))
    return helix, sheet


@pytest.mark.skipif(not ESOL.is_dir(), reason="../shared/data/esol is not available")
def test_esol_secondary_structure_agrees_with_the_files_helix_and_sheet_records():
    files = sorted((ESOL / "pdb").glob("*.pdb.gz"))[:12]
    hits = {"H": [0, 0], "E": [0, 0]}
    for f in files:
        p = parse_structure(f, f.name.split(".")[0])
        d = p.descriptors
        assert np.all((d[:, COL["rsa"]] >= 0) & (d[:, COL["rsa"]] <= 1.5))
        helix, sheet = _records(f)
        for num, row in zip(p.residue_number.tolist(), d):
            for key, recs, col in (("H", helix, "ss_H"), ("E", sheet, "ss_E")):
                if num in recs and row[COL["ss_ok"]]:
                    hits[key][0] += int(row[COL[col]] == 1)
                    hits[key][1] += 1
    assert hits["H"][1] > 500 and hits["E"][1] > 200, hits
    # HELIX records also hold 3-10 helices and author-chosen ends: agreement is not 1
    assert hits["H"][0] / hits["H"][1] > 0.8, hits
    assert hits["E"][0] / hits["E"][1] > 0.85, hits


def _backbones(paths, monkeypatch):
    """The (backbone [n, 4, 3], donor mask) windows the parse job hands pydssp."""
    from esm_schnet.parse import descriptors

    seen, assign = [], descriptors._assign_ss
    monkeypatch.setattr(
        descriptors, "_assign_ss", lambda c, d: seen.append((c, d)) or assign(c, d)
    )
    for p in paths:
        parse_structure(p, "t")
    return [
        (c[s : s + descriptors.DSSP_WINDOW], d[s : s + descriptors.DSSP_WINDOW])
        for c, d in seen
        for s in range(0, len(c), descriptors.DSSP_WINDOW // 2)
        if len(c[s : s + descriptors.DSSP_WINDOW]) >= 6
    ]


def test_sparse_hbond_map_is_pydssp_s(monkeypatch):
    """The hydrogen-bond map computed on KD-tree candidates equals pydssp's dense L x L map
    value for value (its NaN, a degenerate H, reads 0), so the assignment is the same."""
    from esm_schnet.parse import descriptors

    mod = descriptors._pydssp_numpy()
    example = Path(__file__).resolve().parents[2] / "resources" / "example" / "structures"
    paths = sorted(example.iterdir())
    if ESOL.is_dir():
        paths += sorted((ESOL / "pdb").glob("*.pdb.gz"))[::100]
    windows = _backbones(paths, monkeypatch)
    assert len(windows) >= 20
    for coord, donor in windows:
        with np.errstate(all="ignore"):
            dense = mod.dense_get_hbond_map(coord[None], donor_mask=donor)
            sparse = mod.get_hbond_map(coord[None], donor_mask=donor)
            assert sparse.shape == dense.shape
            np.testing.assert_array_equal(
                np.nan_to_num(dense, nan=0.0).view(np.uint64), sparse.view(np.uint64)
            )
            np.testing.assert_array_equal(
                mod.assign(coord, donor_mask=donor),
                np.asarray(_dense_assign(mod, coord, donor)),
            )
    # anything but the parse job's call goes to pydssp's own
    coord, donor = windows[0]
    with np.errstate(all="ignore"):
        e = mod.get_hbond_map(coord, donor_mask=donor, return_e=True)
        np.testing.assert_array_equal(e, mod.dense_get_hbond_map(coord, donor, return_e=True))


def _dense_assign(mod, coord, donor):
    sparse = mod.get_hbond_map
    mod.get_hbond_map = mod.dense_get_hbond_map
    try:
        return mod.assign(coord, donor_mask=donor)
    finally:
        mod.get_hbond_map = sparse


def test_descriptors_false_leaves_them_out_and_the_job_computes_them(tmp_path):
    """parse_structure(..., descriptors=False) (text-level tests) parses the same chains and
    text QC without descriptors; the parse job always writes them."""
    path = Path(__file__).resolve().parents[2] / "resources" / "example" / "structures" / "ex02.pdb"
    bare = parse_structure(path, "x", descriptors=False)
    full = parse_structure(path, "x")
    assert bare.descriptors is None
    assert full.descriptors.shape == (full.n_residues, len(DESCRIPTOR_COLUMNS))
    assert bare.sequences == full.sequences
    np.testing.assert_array_equal(bare.ca, full.ca)
    from esm_schnet.parse.descriptors import QC_KEYS

    assert bare.qc == {k: v for k, v in full.qc.items() if k not in QC_KEYS}
    parse_job(path, "x", tmp_path / "x.h5", tmp_path / "x.tsv")
    got, columns = read_descriptors(tmp_path / "x.h5")
    assert columns == tuple(DESCRIPTOR_COLUMNS)
    np.testing.assert_array_equal(got, full.descriptors)
