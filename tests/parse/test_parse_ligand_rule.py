"""The ligand rule and segment splitting on patterns from Biopython's test data (issue 25, point 7).

- `2n0n_M1.pdb` (Biopython ``Tests/PDB``; PDB 2N0N model 1, a lactam-bridged 11-mer): PH8 A 11
  (5-phenyl-L-norvaline) is a HETATM residue listed in SEQRES and peptide-bonded on both sides
  (LINK records, 1.33 A: C of PHE 9A -> N of PH8, C of PH8 -> N of the NH2 cap), so it is a
  residue of the chain although its name is in no amino-acid table. The records below are the
  file's own heavy-atom records of residues 8 to 12, unchanged.
- `a_structure.pdb` (Biopython ``Tests/PDB``): its first model is one residue, PCA A 1, whose
  segid column (73-76) reads ``A`` on the first two records and is blank after; the records
  below are the file's first model, unchanged. One residue, one chain.

The ligands refused before the fix stay refused: palmitate (PLM of 7CFN: no backbone atoms), the
ethanolamine cap (ETA of 1GRM: N, CA, C, O, bonded to the chain on its N side only), a
glutathione conjugate (a HETATM group written after the chain with amino-acid-like atom names,
bonded to nothing). Those three are constructed here from the residues' atom names.
"""

from __future__ import annotations

import numpy as np
import pytest

from esm_schnet.parse import parse_structure
from esm_schnet.parse.residues import PEPTIDE_BOND_MAX, bonded_into_chain

# 2n0n_M1.pdb, model 1: SEQRES and LINK records, then residues 8-12 (heavy atoms), as in the file
PDB_2N0N = """\
SEQRES   1 A   12  HIS AIB GLU GLY LYS PHE THR SER GLU PHE PH8 NH2
LINK         C   PHE A  10                 N   PH8 A  11     1555   1555  1.33
LINK         C   PH8 A  11                 N   NH2 A  12     1555   1555  1.33
MODEL        1
ATOM    110  N   SER A   8       3.342  -2.451   7.879  1.00  0.00           N
ATOM    111  CA  SER A   8       2.240  -1.881   7.113  1.00  0.00           C
ATOM    112  C   SER A   8       0.905  -2.125   7.810  1.00  0.00           C
ATOM    113  O   SER A   8       0.082  -1.216   7.930  1.00  0.00           O
ATOM    114  CB  SER A   8       2.210  -2.475   5.704  1.00  0.00           C
ATOM    115  OG  SER A   8       3.429  -2.233   5.022  1.00  0.00           O
ATOM    121  N   GLU A   9       0.695  -3.358   8.265  1.00  0.00           N
ATOM    122  CA  GLU A   9      -0.543  -3.719   8.948  1.00  0.00           C
ATOM    123  C   GLU A   9      -0.479  -3.353  10.427  1.00  0.00           C
ATOM    124  O   GLU A   9      -1.486  -2.976  11.027  1.00  0.00           O
ATOM    125  CB  GLU A   9      -0.827  -5.216   8.787  1.00  0.00           C
ATOM    126  CG  GLU A   9       0.128  -6.110   9.562  1.00  0.00           C
ATOM    127  CD  GLU A   9       0.550  -7.335   8.775  1.00  0.00           C
ATOM    128  OE1 GLU A   9      -0.251  -8.236   8.530  1.00  0.00           O
ATOM    135  N   PHE A   9A      0.710  -3.464  11.011  1.00  0.00           N
ATOM    136  CA  PHE A   9A      0.899  -3.142  12.421  1.00  0.00           C
ATOM    137  C   PHE A   9A      0.603  -1.668  12.680  1.00  0.00           C
ATOM    138  O   PHE A   9A     -0.214  -1.330  13.537  1.00  0.00           O
ATOM    139  CB  PHE A   9A      2.326  -3.477  12.856  1.00  0.00           C
ATOM    140  CG  PHE A   9A      2.454  -4.834  13.489  1.00  0.00           C
ATOM    141  CD1 PHE A   9A      2.130  -5.978  12.777  1.00  0.00           C
ATOM    142  CD2 PHE A   9A      2.897  -4.965  14.795  1.00  0.00           C
ATOM    143  CE1 PHE A   9A      2.246  -7.227  13.356  1.00  0.00           C
ATOM    144  CE2 PHE A   9A      3.015  -6.211  15.380  1.00  0.00           C
ATOM    145  CZ  PHE A   9A      2.688  -7.344  14.660  1.00  0.00           C
HETATM  155  C   PH8 A  11       0.736   1.271  10.720  1.00  0.00           C
HETATM  156  N   PH8 A  11       1.267  -0.797  11.929  1.00  0.00           N
HETATM  157  O   PH8 A  11       1.048   2.435  10.472  1.00  0.00           O
HETATM  158  CA  PH8 A  11       1.072   0.641  12.068  1.00  0.00           C
HETATM  159  CB  PH8 A  11       2.325   1.295  12.655  1.00  0.00           C
HETATM  160  CG  PH8 A  11       4.908  -0.020  13.500  1.00  0.00           C
HETATM  161  CI  PH8 A  11       3.543   1.203  11.750  1.00  0.00           C
HETATM  162  CJ  PH8 A  11       4.398  -0.008  12.086  1.00  0.00           C
HETATM  163  CZ  PH8 A  11       5.850  -0.045  16.115  1.00  0.00           C
HETATM  164  CD1 PH8 A  11       4.907  -1.192  14.240  1.00  0.00           C
HETATM  165  CD2 PH8 A  11       5.388   1.139  14.088  1.00  0.00           C
HETATM  166  CE1 PH8 A  11       5.374  -1.207  15.540  1.00  0.00           C
HETATM  167  CE2 PH8 A  11       5.857   1.130  15.388  1.00  0.00           C
HETATM  181  N   NH2 A  12       0.107   0.493   9.845  1.00  0.00           N
TER     184      NH2 A  12
ENDMDL
END
"""

# a_structure.pdb: its first model, as in the file (segid "A" on records 1-2, blank after)
PDB_A_STRUCTURE = """\
MODEL
HETATM    1  N   PCA A   1       0.525   2.690  13.317  1.00 20.26      A
HETATM    2  CA  PCA A   1      -0.993   2.924  13.160  1.00 21.23      A
HETATM    3  CB  PCA A   1      -1.783   1.879  14.043  1.00 24.73           C
HETATM    4  CG  PCA A   1      -0.609   1.208  14.621  1.00 22.31           C
HETATM    5  DA  PCA A   1       0.869   1.560  14.229  1.00 23.27           D
HETATM    6  OE  PCA A   1       2.053   1.323  14.293  1.00 26.24           O
HETATM    7  C   PCA A   1      -1.375   4.270  13.719  1.00 19.21           C
HETATM    8  O   PCA A   1      -0.389   5.021  14.230  1.00 18.05           O
HETATM    8 CA   PCA A   1      -0.189   5.321  14.250  1.00 18.06
ENDMDL
ATOM     22  C   CYS A   0      -3.637   9.026  17.672  1.00 16.22           C
"""


def rec(kind, serial, name, resname, chain, num, xyz, segid="", element=None):
    element = element or name[0]
    fname = f" {name:<3s}" if len(name) < 4 else name
    x, y, z = xyz
    return (
        f"{kind:<6s}{serial:5d} {fname} {resname:>3s} {chain}{num:4d}    "
        f"{x:8.3f}{y:8.3f}{z:8.3f}  1.00 20.00      {segid:<4s}{element:>2s}"
    )


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def as_mmcif(pdb_path, out):
    import warnings

    from Bio.PDB import MMCIFIO, PDBParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = PDBParser(QUIET=True).get_structure("x", str(pdb_path))
    io = MMCIFIO()
    io.set_structure(s[0])
    io.save(str(out))
    return out


# ------------------------------------------------------------------------------------------
# 2n0n: a non-standard residue bonded into the chain is a residue


@pytest.mark.parametrize("fmt", ["pdb", "mmcif"])
def test_2n0n_ph8_bonded_on_both_sides_is_kept(tmp_path, fmt):
    path = write(tmp_path, "2n0n.pdb", PDB_2N0N)
    if fmt == "mmcif":  # Biopython's MMCIFIO writes PH8 as a HETATM group of its own asym id
        path = as_mmcif(path, tmp_path / "2n0n.cif")
    p = parse_structure(path, "2n0n")
    assert [c.sequence for c in p.chains] == ["SEFX"]
    assert p.residue_number.tolist() == [8, 9, 9, 11]
    assert p.insertion_code.tolist() == ["", "", "A", ""]
    np.testing.assert_allclose(p.ca[-1], [1.072, 0.641, 12.068], atol=1e-3)
    assert p.qc["unknown_x"] == 1 and p.qc["unknown_names"] == "PH8:1"
    # the NH2 cap (an N and nothing else) stays a ligand
    assert p.qc["skipped_ligand"] == 1 and p.qc["ligand_names"] == "NH2:1"
    # the independent count of C-alpha records agrees (no 'kept but counted' mismatch)
    assert p.qc["ca_records"] == p.n_residues == 4


def test_2n0n_ph8_not_bonded_is_a_ligand(tmp_path):
    # the same records with PH8's N moved 3 A away from PHE 9A's C: bonded on one side only
    lines = PDB_2N0N.splitlines()
    i = next(k for k, ln in enumerate(lines) if ln[12:16] == " N  " and ln[17:20] == "PH8")
    x = float(lines[i][30:38]) + 3.0
    lines[i] = lines[i][:30] + f"{x:8.3f}" + lines[i][38:]
    p = parse_structure(write(tmp_path, "moved.pdb", "\n".join(lines) + "\n"), "moved")
    assert [c.sequence for c in p.chains] == ["SEF"]
    assert p.qc["ligand_names"] == "NH2:1,PH8:1"
    assert p.qc["ca_records"] == p.n_residues == 3


def test_bonded_into_chain_needs_both_bonds():
    c_prev, n, c, n_next = (0, 0, 0), (1.33, 0, 0), (3.0, 1.0, 0), (4.33, 1.0, 0)
    assert bonded_into_chain([(None, c_prev), (n, c), (n_next, None)], 1)
    far = (PEPTIDE_BOND_MAX + 0.1, 0, 0)
    assert not bonded_into_chain([(None, c_prev), (far, c), (n_next, None)], 1)
    assert not bonded_into_chain([(None, c_prev), (n, c)], 1)  # last residue
    assert not bonded_into_chain([(n, c), (n_next, None)], 0)  # first residue
    assert not bonded_into_chain([(None, c_prev), (n, None), (n_next, None)], 1)  # no C atom


# ------------------------------------------------------------------------------------------
# ligands that stay refused


def _ala_chain(chain="A", n=3):
    """n alanine-like residues along x, peptide bonds 1.33 A; returns lines and the last C."""
    lines, serial = [], 1
    for r in range(1, n + 1):
        x0 = (r - 1) * 3.8
        for name, xyz in (
            ("N", (x0, 0.0, 0.0)), ("CA", (x0 + 1.46, 0.0, 0.0)),
            ("C", (x0 + 2.47, 0.8, 0.0)), ("O", (x0 + 2.47, 2.0, 0.0)),
        ):  # fmt: skip
            lines.append(rec("ATOM", serial, name, "ALA", chain, r, xyz))
            serial += 1
    return lines, ((n - 1) * 3.8 + 2.47, 0.8, 0.0)


def test_ethanolamine_cap_bonded_on_one_side_stays_a_ligand(tmp_path):
    # 1GRM pattern: gramicidin's C-terminal ETA (atoms N, CA, C, O) is bonded to the last
    # residue's C by its N; its C carries the hydroxyl O and nothing follows
    lines, (cx, cy, cz) = _ala_chain()
    eta = (("N", (cx + 1.33, cy, cz)), ("CA", (cx + 2.0, cy + 1.2, cz)),
           ("C", (cx + 3.5, cy + 1.2, cz)), ("O", (cx + 4.1, cy + 2.5, cz)))  # fmt: skip
    lines += [rec("HETATM", 20 + k, nm, "ETA", "A", 4, xyz) for k, (nm, xyz) in enumerate(eta)]
    p = parse_structure(write(tmp_path, "eta.pdb", "\n".join(lines + ["TER", "END"]) + "\n"), "e")
    assert [c.sequence for c in p.chains] == ["AAA"]
    assert p.qc["ligand_names"] == "ETA:1"
    assert p.qc["ca_records"] == 3


def test_palmitate_and_glutathione_conjugate_stay_ligands(tmp_path):
    lines, (cx, cy, cz) = _ala_chain()
    # palmitate (PLM, 7CFN): C1, O1, O2, C2..C16, in the chain's letter, right after it
    plm = [("C1", (cx + 6.0, 0, 0)), ("O1", (cx + 6.5, 1.0, 0)), ("O2", (cx + 6.5, -1.0, 0))]
    plm += [(f"C{k}", (cx + 6.0 + 1.3 * k, 0, 1.0)) for k in range(2, 17)]
    lines += [rec("HETATM", 30 + k, nm, "PLM", "A", 401, xyz) for k, (nm, xyz) in enumerate(plm)]
    # a glutathione conjugate written with amino-acid-like names N, CA, C (bonded to nothing)
    gsx = (("N", (cx, 8.0, 0)), ("CA", (cx + 1.46, 8.0, 0)), ("C", (cx + 2.47, 8.8, 0)),
           ("O", (cx + 2.47, 10.0, 0)), ("SG2", (cx + 1.0, 6.6, 1.2)))  # fmt: skip
    lines += [rec("HETATM", 60 + k, nm, "GTX", "A", 402, xyz) for k, (nm, xyz) in enumerate(gsx)]
    p = parse_structure(write(tmp_path, "lig.pdb", "\n".join(lines + ["END"]) + "\n"), "lig")
    assert [c.sequence for c in p.chains] == ["AAA"]
    assert p.qc["ligand_names"] == "GTX:1,PLM:1"
    assert p.qc["ca_records"] == 3


def test_unknown_hetatm_between_residues_but_not_bonded_is_a_ligand(tmp_path):
    # file order alone does not make a residue: the group's N and C are 5 A from the chain
    lines, (cx, cy, cz) = _ala_chain(n=2)
    grp = (("N", (cx, 5.0, 0)), ("CA", (cx + 1.46, 5.0, 0)), ("C", (cx + 2.47, 5.8, 0)))
    lines += [rec("HETATM", 40 + k, nm, "UNL", "A", 3, xyz) for k, (nm, xyz) in enumerate(grp)]
    nxt = (("N", (cx + 1.33, cy, cz)), ("CA", (cx + 2.8, cy, cz)), ("C", (cx + 3.8, cy + 0.8, cz)))
    lines += [rec("ATOM", 50 + k, nm, "GLY", "A", 4, xyz) for k, (nm, xyz) in enumerate(nxt)]
    p = parse_structure(write(tmp_path, "unl.pdb", "\n".join(lines + ["END"]) + "\n"), "u")
    assert "".join(p.sequences) == "AAG"
    assert p.qc["ligand_names"] == "UNL:1"


# ------------------------------------------------------------------------------------------
# a_structure: a segid change inside one residue does not split it


def test_a_structure_segid_change_inside_a_residue_is_one_chain(tmp_path):
    p = parse_structure(write(tmp_path, "a_structure.pdb", PDB_A_STRUCTURE), "a_structure")
    assert [(c.label, c.sequence) for c in p.chains] == [("A", "Q")]
    assert p.qc["chains"] == 1 and p.qc["ca_records"] == 1
    np.testing.assert_allclose(p.ca[0], [-0.993, 2.924, 13.160], atol=1e-3)


def test_segid_change_between_residues_still_splits(tmp_path):
    # MD files (blank chain id): PROA then PROB at a residue boundary are two chains
    lines = []
    for r, seg in ((1, "PROA"), (2, "PROA"), (3, "PROB"), (4, "PROB")):
        for k, nm in enumerate(("N", "CA", "C")):
            lines.append(rec("ATOM", 10 * r + k, nm, "GLY", " ", r, (r * 3.8 + k, 0, 0), seg))
    p = parse_structure(write(tmp_path, "md.pdb", "\n".join(lines + ["END"]) + "\n"), "md")
    assert [(c.name, c.n_residues) for c in p.chains] == [("PROA", 2), ("PROB", 2)]
