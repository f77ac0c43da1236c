"""Parser tests on small PDB/mmCIF fixtures written in tmp_path (plain and gzipped)."""

from __future__ import annotations

import csv
import gzip
import json
import os

import h5py
import numpy as np
import pytest

from esm_schnet import cli as cli_mod
from esm_schnet.core.errors import CorruptFileError, EsmSchnetError, InputError
from esm_schnet.core.inspect import format_text, summarise
from esm_schnet.parse import (
    MODIFIED,
    QC_COLUMNS,
    STANDARD,
    Chain,
    Protein,
    collect_qc,
    parse_job,
    parse_structure,
    read_structure_h5,
    write_structure_h5,
)

# ------------------------------------------------------------------------------------------
# fixture builders

BACKBONE = (("N", "N"), ("CA", "C"), ("C", "C"), ("O", "O"))


def atom(
    name, resname, chain, resseq, xyz, *, rec="ATOM", icode=" ", alt=" ", occ=1.0, element=None,
    serial=1,
):  # fmt: skip
    element = element or name[0]
    # PDB convention: 1-letter elements with names < 4 chars start in column 14
    fname = f" {name:<3s}" if len(element) == 1 and len(name) < 4 else f"{name:<4s}"
    x, y, z = xyz
    return (
        f"{rec:<6s}{serial:5d} {fname}{alt}{resname:>3s} {chain}{resseq:4d}{icode}   "
        f"{x:8.3f}{y:8.3f}{z:8.3f}{occ:6.2f}{20.0:6.2f}          {element:>2s}  "
    )


def residue(resname, chain, resseq, x0=0.0, *, rec="ATOM", icode=" ", atoms=BACKBONE, **kw):
    return [
        atom(n, resname, chain, resseq, (x0 + i * 0.5, float(resseq), 0.0), rec=rec, icode=icode,
             element=e, **kw)
        for i, (n, e) in enumerate(atoms)
    ]  # fmt: skip


def chain_lines(chain, resnames, start=1, x0=0.0):
    out = []
    for i, rn in enumerate(resnames):
        out += residue(rn, chain, start + i, x0)
    return out


def write(tmp_path, name, lines, gz=False):
    text = "\n".join(lines) + "\n"
    p = tmp_path / name
    if gz:
        with gzip.open(p, "wt") as fh:
            fh.write(text)
    else:
        p.write_text(text)
    return p


def ca_of(protein, chain_i, res_i):
    return protein.chains[chain_i].ca[res_i]


# ------------------------------------------------------------------------------------------
# chains, segments, numbering


def test_multichain_pdb(tmp_path):
    lines = chain_lines("A", ["MET", "LYS", "GLY"]) + ["TER"] + chain_lines("B", ["ALA", "TRP"])
    p = parse_structure(write(tmp_path, "x.pdb", lines + ["TER", "END"]), "x")
    assert [(c.name, c.segment, c.sequence) for c in p.chains] == [
        ("A", 1, "MKG"),
        ("B", 1, "AW"),
    ]
    assert p.n_residues == 5
    assert p.ca.shape == (5, 3) and p.ca.dtype == np.float32
    assert p.chain_index.tolist() == [0, 0, 0, 1, 1]
    assert p.residue_number.tolist() == [1, 2, 3, 1, 2]
    np.testing.assert_allclose(p.ca[1], [0.5, 2.0, 0.0])
    assert p.qc["chains"] == 2 and p.qc["chain_ids"] == 2 and p.qc["residues"] == 5
    assert p.qc["ca_records"] == 5 and p.qc["format"] == "pdb"


def test_ter_segments_reusing_chain_letter_are_separate_chains(tmp_path):
    # two copies of chain A, numbering restarting after TER: a (chain, number) parser keeps 3
    lines = (
        chain_lines("A", ["MET", "LYS", "GLY"]) + ["TER"]
        + chain_lines("A", ["ALA", "TRP", "CYS"], x0=10.0) + ["TER", "END"]
    )  # fmt: skip
    p = parse_structure(write(tmp_path, "x.pdb", lines), "x")
    assert [(c.name, c.segment, c.sequence) for c in p.chains] == [
        ("A", 1, "MKG"),
        ("A", 2, "AWC"),
    ]
    assert p.n_residues == 6 == p.qc["ca_records"]
    assert p.qc["chains"] == 2 and p.qc["chain_ids"] == 1
    assert p.chains[1].label == "A.2"
    np.testing.assert_allclose(ca_of(p, 1, 0), [10.5, 1.0, 0.0])


def test_numbering_restart_without_ter_starts_new_segment(tmp_path):
    lines = chain_lines("A", ["MET", "LYS"]) + chain_lines("A", ["ALA", "TRP"], x0=5.0)
    p = parse_structure(write(tmp_path, "x.pdb", lines), "x")
    assert [c.sequence for c in p.chains] == ["MK", "AW"]
    assert [c.segment for c in p.chains] == [1, 2]


def test_chain_letter_returning_without_ter(tmp_path):
    lines = chain_lines("A", ["MET"]) + chain_lines("B", ["LYS"]) + chain_lines("A", ["GLY"], 5)
    p = parse_structure(write(tmp_path, "x.pdb", lines), "x")
    assert [(c.name, c.segment, c.sequence) for c in p.chains] == [
        ("A", 1, "M"), ("B", 1, "K"), ("A", 2, "G"),
    ]  # fmt: skip


def test_blank_chain_ids_use_segment_ids(tmp_path):
    # MD-style file (CHARMM/NAMD): blank chain column, segid in columns 73-76, no TER
    def seg(lines, segid):
        return [ln[:21] + " " + ln[22:72] + f"{segid:<4s}" + ln[76:] for ln in lines]

    lines = seg(chain_lines("A", ["MET", "LYS"]), "PROA") + seg(
        chain_lines("A", ["GLY", "SER"], start=3), "PROB"
    )
    p = parse_structure(write(tmp_path, "md.pdb", lines), "md")
    assert [(c.name, c.segment, c.sequence) for c in p.chains] == [
        ("PROA", 1, "MK"),
        ("PROB", 1, "GS"),
    ]


def test_insertion_codes(tmp_path):
    lines = (
        residue("ALA", "A", 52) + residue("GLY", "A", 52, icode="A")
        + residue("SER", "A", 52, icode="B") + residue("VAL", "A", 53)
    )  # fmt: skip
    p = parse_structure(write(tmp_path, "x.pdb", lines), "x")
    c = p.chains[0]
    assert c.sequence == "AGSV"
    assert c.residue_number.tolist() == [52, 52, 52, 53]
    assert c.insertion_code.tolist() == ["", "A", "B", ""]
    # inserted residues survive the HDF5 round trip
    write_structure_h5(p, tmp_path / "x.h5")
    q = read_structure_h5(tmp_path / "x.h5")
    assert q.chains[0].insertion_code.tolist() == ["", "A", "B", ""]


# ------------------------------------------------------------------------------------------
# alternate locations


def test_altloc_highest_occupancy_wins(tmp_path):
    lines = residue("MET", "A", 1) + [
        atom("N", "LYS", "A", 2, (0, 0, 0)),
        atom("CA", "LYS", "A", 2, (1.0, 0, 0), alt="A", occ=0.30, element="C"),
        atom("CA", "LYS", "A", 2, (2.0, 0, 0), alt="B", occ=0.70, element="C"),
        atom("C", "LYS", "A", 2, (3.0, 0, 0)),
        # a tie: the first altloc in the file wins
        atom("CA", "GLY", "A", 3, (5.0, 0, 0), alt="A", occ=0.50, element="C"),
        atom("CA", "GLY", "A", 3, (6.0, 0, 0), alt="B", occ=0.50, element="C"),
    ]
    p = parse_structure(write(tmp_path, "x.pdb", lines), "x")
    assert p.chains[0].sequence == "MKG"
    np.testing.assert_allclose(ca_of(p, 0, 1), [2.0, 0, 0])
    np.testing.assert_allclose(ca_of(p, 0, 2), [5.0, 0, 0])
    assert p.qc["altlocs_resolved"] == 2
    assert p.qc["residues"] == 3 == p.qc["ca_records"]


def test_altloc_b_listed_first_still_resolved_by_occupancy(tmp_path):
    lines = [
        atom("CA", "LYS", "A", 1, (2.0, 0, 0), alt="B", occ=0.20, element="C"),
        atom("CA", "LYS", "A", 1, (1.0, 0, 0), alt="A", occ=0.80, element="C"),
    ]
    p = parse_structure(write(tmp_path, "x.pdb", lines), "x")
    np.testing.assert_allclose(ca_of(p, 0, 0), [1.0, 0, 0])


def test_microheterogeneity_keeps_highest_occupancy_residue(tmp_path):
    # residue 2 is SER (altloc A, 0.4) or THR (altloc B, 0.6): one residue, THR
    lines = residue("MET", "A", 1) + [
        atom("N", "SER", "A", 2, (0, 0, 0), alt="A", occ=0.4),
        atom("CA", "SER", "A", 2, (1.0, 0, 0), alt="A", occ=0.4, element="C"),
        atom("N", "THR", "A", 2, (0, 0, 0), alt="B", occ=0.6),
        atom("CA", "THR", "A", 2, (2.0, 0, 0), alt="B", occ=0.6, element="C"),
    ] + residue("GLY", "A", 3)
    p = parse_structure(write(tmp_path, "x.pdb", lines), "x")
    assert p.chains[0].sequence == "MTG"
    np.testing.assert_allclose(ca_of(p, 0, 1), [2.0, 0, 0])
    assert p.qc["residues"] == 3 == p.qc["ca_records"]
    # the first name wins when it has the higher occupancy (Biopython alone keeps the last)
    lines = [ln.replace(" 0.40", " 0.90") for ln in lines]
    p = parse_structure(write(tmp_path, "y.pdb", lines), "y")
    assert p.chains[0].sequence == "MSG"
    np.testing.assert_allclose(ca_of(p, 0, 1), [1.0, 0, 0])


def test_altloc_between_standard_and_modified_residue_is_one_position(tmp_path):
    # CYS 2 (altloc A, ATOM) / CSO 2 (altloc B, HETATM): Biopython keys them apart
    lines = residue("MET", "A", 1) + [
        atom("N", "CYS", "A", 2, (0, 0, 0), alt="A", occ=0.35),
        atom("CA", "CYS", "A", 2, (1.0, 0, 0), alt="A", occ=0.35, element="C"),
        atom("N", "CSO", "A", 2, (0, 0, 0), alt="B", occ=0.65, rec="HETATM"),
        atom("CA", "CSO", "A", 2, (2.0, 0, 0), alt="B", occ=0.65, element="C", rec="HETATM"),
    ] + residue("GLY", "A", 3)
    p = parse_structure(write(tmp_path, "x.pdb", lines), "x")
    assert p.chains[0].sequence == "MCG" and p.qc["modified_names"] == "CSO:1"
    np.testing.assert_allclose(ca_of(p, 0, 1), [2.0, 0, 0])
    assert p.n_residues == 3 == p.qc["ca_records"]


def test_inconsistent_residue_records_are_an_error_not_a_silent_loss(tmp_path):
    # residue 2's CA record carries another residue name (no altloc): Biopython drops it
    lines = residue("MET", "A", 1) + [
        atom("N", "LYS", "A", 2, (0, 0, 0)),
        atom("CA", "LYX", "A", 2, (1.0, 0, 0), element="C"),
    ] + residue("GLY", "A", 3)
    msg = _bad(tmp_path, "inc.pdb", ("\n".join(lines) + "\n").encode())
    assert "1 residue(s) with a C-alpha atom could not be read consistently" in msg
    assert "residue 2 of chain A, line 6" in msg


def test_plain_biopython_would_lose_the_reused_segment(tmp_path):
    """Why segments are handed to Biopython one by one: keyed by (chain, number), it merges."""
    import io

    from Bio.PDB import PDBParser

    lines = chain_lines("A", ["MET", "LYS", "GLY"]) + ["TER"] + chain_lines("A", ["ALA", "TRP"])
    s = PDBParser(QUIET=True).get_structure("x", io.StringIO("\n".join(lines)))
    assert len(list(s.get_residues())) == 3
    assert parse_structure(write(tmp_path, "x.pdb", lines), "x").n_residues == 5


# ------------------------------------------------------------------------------------------
# residue classes


def test_modified_residues_mapped_and_unknown_is_x(tmp_path):
    lines = (
        residue("MET", "A", 1)
        + residue("MSE", "A", 2, rec="HETATM")
        + residue("SEP", "A", 3, rec="HETATM")
        + residue("CME", "A", 4, rec="HETATM")
        + residue("HYP", "A", 5, rec="HETATM")
        + residue("XYZ", "A", 6)  # unknown name in an ATOM record, with a C-alpha: kept as X
        + residue("GLY", "A", 7)
        # a HETATM group that is no known amino acid is a ligand, even with an atom named CA
        + residue("LIG", "A", 8, rec="HETATM")
    )
    p = parse_structure(write(tmp_path, "x.pdb", lines), "x")
    assert p.qc["skipped_ligand"] == 1 and p.qc["ligand_names"] == "LIG:1"
    assert p.chains[0].sequence == "MMSCPXG"
    assert p.qc["modified_mapped"] == 4
    assert p.qc["modified_names"] == "CME:1,HYP:1,MSE:1,SEP:1"
    assert p.qc["unknown_x"] == 1 and p.qc["unknown_names"] == "XYZ:1"


def test_modified_table_agrees_with_biopython_where_it_has_an_answer():
    from Bio.Data.PDBData import protein_letters_3to1_extended as ext

    assert len(STANDARD) == 20 and set(STANDARD.values()) == set("ACDEFGHIKLMNPQRSTVWY")
    assert set(MODIFIED.values()) <= set(STANDARD.values())
    disagree = {
        k: (v, ext[k]) for k, v in MODIFIED.items() if ext.get(k) not in (None, v)
    }
    assert not disagree, disagree
    for k in ("MSE", "SEP", "TPO", "PTR", "HYP", "MLY", "CSO", "CME", "KCX"):
        assert MODIFIED[k] == ext[k]


def test_residue_without_ca_water_ligand_and_calcium_are_counted_not_kept(tmp_path):
    lines = (
        residue("MET", "A", 1)
        + residue("LYS", "A", 2, atoms=(("N", "N"), ("C", "C")))  # no CA: skipped, counted
        + residue("GLY", "A", 3)
        + ["TER"]
        + [atom("CA", "CA", "A", 401, (9.0, 9.0, 9.0), rec="HETATM", element="CA")]  # calcium
        + [atom("C1", "GOL", "A", 402, (8.0, 0, 0), rec="HETATM", element="C")]
        + [atom("O", "HOH", "A", 501 + i, (i, 0, 0), rec="HETATM", element="O") for i in range(3)]
    )
    p = parse_structure(write(tmp_path, "x.pdb", lines + ["END"]), "x")
    assert [c.sequence for c in p.chains] == ["MG"]
    assert p.qc["skipped_no_ca"] == 1
    assert p.qc["skipped_water"] == 3
    assert p.qc["skipped_ligand"] == 2
    assert p.qc["ligand_names"] == "CA:1,GOL:1"
    assert p.qc["ca_records"] == 2 == p.n_residues


def test_hetatm_amino_acid_after_ter_is_kept_as_own_segment(tmp_path):
    # lossless: a free amino acid ligand has a C-alpha, so it is a (one-residue) chain
    lines = chain_lines("A", ["MET", "LYS"]) + ["TER"] + residue("GLU", "A", 900, rec="HETATM")
    p = parse_structure(write(tmp_path, "x.pdb", lines), "x")
    assert [(c.label, c.sequence) for c in p.chains] == [("A", "MK"), ("A.2", "E")]


def test_nmr_first_model_only(tmp_path):
    model1 = chain_lines("A", ["MET", "LYS", "GLY"])
    model2 = chain_lines("A", ["MET", "LYS", "GLY"], x0=50.0)
    lines = ["MODEL        1"] + model1 + ["TER", "ENDMDL", "MODEL        2"] + model2
    lines += ["TER", "ENDMDL", "END"]
    p = parse_structure(write(tmp_path, "x.pdb", lines), "x")
    assert p.n_residues == 3 and p.qc["models"] == 2
    assert p.ca[:, 0].max() < 10


# ------------------------------------------------------------------------------------------
# mmCIF and gzip

CIF_HEADER = """data_TEST
#
loop_
_atom_site.group_PDB
_atom_site.id
_atom_site.type_symbol
_atom_site.label_atom_id
_atom_site.label_alt_id
_atom_site.label_comp_id
_atom_site.label_asym_id
_atom_site.label_entity_id
_atom_site.label_seq_id
_atom_site.pdbx_PDB_ins_code
_atom_site.Cartn_x
_atom_site.Cartn_y
_atom_site.Cartn_z
_atom_site.occupancy
_atom_site.B_iso_or_equiv
_atom_site.auth_seq_id
_atom_site.auth_asym_id
_atom_site.pdbx_PDB_model_num"""


def cif_rows(spec, model=1, x0=0.0):
    """spec: (group, resname, label_asym, auth_asym, seq, icode, atoms[(name, element)])"""
    rows, serial = [], 1
    for group, rn, la, au, seq, icode, atoms in spec:
        for i, (name, el) in enumerate(atoms):
            lseq = str(seq) if group == "ATOM" else "."
            rows.append(
                f"{group} {serial} {el} {name} . {rn} {la} 1 {lseq} {icode} "
                f"{x0 + i * 0.5:.3f} {float(seq):.3f} 0.000 1.00 20.00 {seq} {au} {model}"
            )
            serial += 1
    return rows


def test_mmcif_segments_by_label_asym_and_skips(tmp_path):
    bb = [("N", "N"), ("CA", "C"), ("C", "C"), ("O", "O")]
    spec = [
        ("ATOM", "MET", "A", "A", 1, "?", bb),
        ("ATOM", "LYS", "A", "A", 2, "?", bb),
        ("HETATM", "MSE", "A", "A", 3, "?", bb),
        ("ATOM", "GLY", "A", "A", 3, "A", bb),  # insertion code
        # second instance reusing author chain A with numbering restarting
        ("ATOM", "ALA", "B", "A", 1, "?", bb),
        ("ATOM", "TRP", "B", "A", 2, "?", bb),
        ("HETATM", "CA", "C", "A", 401, "?", [("CA", "CA")]),
        ("HETATM", "HOH", "D", "A", 501, "?", [("O", "O")]),
    ]
    text = CIF_HEADER + "\n" + "\n".join(cif_rows(spec)) + "\n#\n"
    for gz in (False, True):
        name = "x.cif.gz" if gz else "x.cif"
        p = parse_structure(write(tmp_path, name, text.splitlines(), gz=gz), "x")
        assert [(c.name, c.segment, c.sequence) for c in p.chains] == [
            ("A", 1, "MKMG"),
            ("A", 2, "AW"),
        ]
        assert p.chains[0].insertion_code.tolist() == ["", "", "", "A"]
        assert p.qc["format"] == ("mmcif.gz" if gz else "mmcif")
        assert p.qc["skipped_ligand"] == 1 and p.qc["skipped_water"] == 1
        assert p.qc["residues"] == 6 == p.qc["ca_records"]
        assert p.qc["modified_mapped"] == 1


def test_mmcif_first_model_only(tmp_path):
    bb = [("N", "N"), ("CA", "C"), ("C", "C")]
    spec = [("ATOM", "MET", "A", "A", 1, "?", bb), ("ATOM", "LYS", "A", "A", 2, "?", bb)]
    rows = cif_rows(spec, model=1) + cif_rows(spec, model=2, x0=80.0)
    p = parse_structure(write(tmp_path, "x.cif", [CIF_HEADER, *rows, "#"]), "x")
    assert p.n_residues == 2 and p.qc["models"] == 2
    assert p.ca[:, 0].max() < 10


def test_gzipped_pdb_and_content_beats_extension(tmp_path):
    lines = chain_lines("A", ["MET", "LYS"])
    p = parse_structure(write(tmp_path, "x.pdb.gz", lines, gz=True), "x")
    assert p.chains[0].sequence == "MK" and p.format == "pdb.gz"
    # a PDB file named .cif (and a gzip named .pdb) are read by their content
    p = parse_structure(write(tmp_path, "wrong.cif", lines), "x")
    assert p.format == "pdb"
    p = parse_structure(write(tmp_path, "wrong.pdb", lines, gz=True), "x")
    assert p.format == "pdb.gz"


# ------------------------------------------------------------------------------------------
# bad input: each class gives a one-line InputError naming the sample


def _bad(tmp_path, name, content: bytes, sample="bad1"):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InputError) as ei:
        parse_structure(p, sample)
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith(f"sample {sample!r}: ")
    assert ei.value.sample == sample
    return msg


def test_bad_empty_file(tmp_path):
    assert "empty file" in _bad(tmp_path, "e.pdb", b"")
    assert "empty file" in _bad(tmp_path, "w.pdb", b"  \n\n \t\n")
    assert "empty file" in _bad(tmp_path, "e.pdb.gz", gzip.compress(b""))


def test_bad_binary_file(tmp_path):
    rng = np.random.default_rng(0)
    assert "binary file" in _bad(tmp_path, "b.pdb", rng.bytes(4096))
    assert "binary" in _bad(tmp_path, "b.pdb.gz", gzip.compress(b"\x00\x01\x02" * 5000))
    assert "bzip2-compressed" in _bad(tmp_path, "b.pdb.bz2", b"BZh91AY&SY" + rng.bytes(100))


def test_bad_huge_binary_file_is_refused_fast(tmp_path):
    import time

    p = tmp_path / "huge.pdb"
    with open(p, "wb") as fh:  # 64 MiB sparse-ish file of NUL bytes
        fh.truncate(64 << 20)
    t = time.perf_counter()
    with pytest.raises(InputError, match="binary file"):
        parse_structure(p, "huge")
    assert time.perf_counter() - t < 2.0


def test_bad_non_structure_text(tmp_path):
    msg = _bad(tmp_path, "seq.pdb", b">sp|P1|X\nMKVLAAGIVGLLLA\n")
    assert "not a PDB or mmCIF file" in msg
    msg = _bad(tmp_path, "readme.cif", b"This is a README.\nNothing to see.\n")
    assert "not a PDB or mmCIF file" in msg


def test_bad_no_ca_atoms(tmp_path):
    lines = residue("MET", "A", 1, atoms=(("N", "N"), ("C", "C"))) + residue(
        "LYS", "A", 2, atoms=(("N", "N"),)
    )
    msg = _bad(tmp_path, "noca.pdb", ("\n".join(lines) + "\n").encode())
    assert "no residue with a C-alpha atom" in msg and "2 residues without C-alpha" in msg


def test_bad_only_ligands_and_waters(tmp_path):
    lines = [
        atom("CA", "CA", "A", 1, (0, 0, 0), rec="HETATM", element="CA"),
        atom("C1", "NAG", "A", 2, (1, 0, 0), rec="HETATM", element="C"),
        atom("O", "HOH", "A", 3, (2, 0, 0), rec="HETATM", element="O"),
    ]
    msg = _bad(tmp_path, "lig.pdb", ("\n".join(lines) + "\n").encode())
    assert "no protein residue: 2 ligand residues (CA, NAG), 1 waters" in msg


def test_bad_nan_coordinates(tmp_path):
    line = atom("CA", "MET", "A", 1, (1.0, 2.0, 3.0), element="C")
    nan_line = line[:30] + f"{'nan':>8s}" + line[38:]
    msg = _bad(tmp_path, "nan.pdb", (nan_line + "\n").encode())
    assert "line 1" in msg and "NaN" in msg


def test_bad_overflowed_coordinates(tmp_path):
    lines = residue("MET", "A", 1)
    lines[1] = lines[1][:38] + "********" + lines[1][46:]
    msg = _bad(tmp_path, "ovf.pdb", ("\n".join(lines) + "\n").encode())
    assert "line 2" in msg and "overflowed coordinate '********'" in msg


def test_bad_mmcif_coordinates(tmp_path):
    rows = cif_rows([("ATOM", "MET", "A", "A", 1, "?", [("N", "N"), ("CA", "C")])])
    rows[1] = rows[1].replace(" 0.500 ", " nan ", 1)
    msg = _bad(tmp_path, "nan.cif", ("\n".join([CIF_HEADER, *rows, "#"]) + "\n").encode())
    assert "NaN" in msg
    rows[1] = rows[1].replace(" nan ", " ? ", 1)
    msg = _bad(tmp_path, "q.cif", ("\n".join([CIF_HEADER, *rows, "#"]) + "\n").encode())
    assert "not numbers" in msg


def test_bad_mmcif_without_atom_site(tmp_path):
    msg = _bad(tmp_path, "h.cif", b"data_X\n_entry.id X\n_cell.length_a 10.0\n")
    assert "not a PDB or mmCIF file" in msg or "atom_site" in msg


def test_bad_unreadable_gzip(tmp_path):
    good = gzip.compress(("\n".join(chain_lines("A", ["MET"] * 200)) + "\n").encode())
    assert "unreadable gzip" in _bad(tmp_path, "trunc.pdb.gz", good[: len(good) // 2])
    assert "unreadable gzip" in _bad(tmp_path, "junk.pdb.gz", b"\x1f\x8b" + b"junk" * 50)


def test_bad_truncated_atom_record(tmp_path):
    msg = _bad(tmp_path, "t.pdb", b"ATOM      1  CA  MET A   1       1.000\n")
    assert "truncated ATOM record" in msg


def test_bad_altloc_without_occupancy(tmp_path):
    lines = [
        atom("CA", "LYS", "A", 1, (1, 0, 0), alt="A", element="C")[:54],
        atom("CA", "LYS", "A", 1, (2, 0, 0), alt="B", element="C")[:54],
    ]
    msg = _bad(tmp_path, "alt.pdb", ("\n".join(lines) + "\n").encode())
    assert "line 1: alternate location 'A' without a numeric occupancy" in msg


def test_records_without_occupancy_and_element_columns(tmp_path):
    lines = [ln[:54] for ln in chain_lines("A", ["MET", "LYS"])]  # some tools stop at col 54
    p = parse_structure(write(tmp_path, "short.pdb", lines), "short")
    assert p.chains[0].sequence == "MK" and p.qc["ca_records"] == 2


def test_byte_order_marks(tmp_path):
    ca_only = (("CA", "C"),)  # the first record is a C-alpha
    lines = residue("MET", "A", 1, atoms=ca_only) + residue("LYS", "A", 2, atoms=ca_only)
    text = "\n".join(lines) + "\n"
    p = tmp_path / "bom.pdb"
    p.write_bytes(b"\xef\xbb\xbf" + text.encode())  # the first record must not be lost
    assert parse_structure(p, "bom").n_residues == 2
    assert "UTF-16 text" in _bad(tmp_path, "u16.pdb", text.encode("utf-16"))


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="structure file not found"):
        parse_structure(tmp_path / "nope.pdb", "x")


# ------------------------------------------------------------------------------------------
# HDF5


def _protein(tmp_path):
    lines = chain_lines("A", ["MET", "LYS", "GLY"]) + ["TER"] + chain_lines("A", ["ALA"], x0=3)
    return parse_structure(write(tmp_path, "x.pdb", lines), "x")


def test_h5_roundtrip(tmp_path):
    p = _protein(tmp_path)
    out = tmp_path / "sub" / "x.h5"
    write_structure_h5(p, out)
    assert not [f for f in os.listdir(out.parent) if f.startswith(".")]  # no temp left
    q = read_structure_h5(out)
    assert q.id == "x" and q.error is None and q.status == "ok"
    assert [(c.name, c.segment, c.sequence) for c in q.chains] == [
        ("A", 1, "MKG"),
        ("A", 2, "A"),
    ]
    np.testing.assert_array_equal(q.ca, p.ca)
    np.testing.assert_array_equal(q.residue_number, p.residue_number)
    np.testing.assert_array_equal(q.chain_index, [0, 0, 0, 1])
    assert q.qc == p.qc
    with h5py.File(out, "r") as h5:
        assert h5.attrs["kind"] == "structure"
        assert h5.attrs["status"] == "ok"
        assert h5.attrs["schema_version"] == 2  # 2: with the descriptors dataset
        assert h5["ca"].dtype == np.float32 and h5["chain_index"].dtype == np.int32
        assert h5["descriptors"].shape[0] == 4 and "columns" in h5["descriptors"].attrs


def test_h5_and_qc_are_byte_identical_on_rerun(tmp_path):
    src = write(tmp_path, "x.pdb", chain_lines("A", ["MET", "LYS", "GLY"]))
    for i in (1, 2):
        parse_job(src, "x", tmp_path / f"{i}.h5", tmp_path / f"{i}.tsv", "fail", None)
    assert (tmp_path / "1.h5").read_bytes() == (tmp_path / "2.h5").read_bytes()
    assert (tmp_path / "1.tsv").read_bytes() == (tmp_path / "2.tsv").read_bytes()


def test_h5_skipped_roundtrip(tmp_path):
    p = Protein(id="s", chains=[], source="/x/s.pdb", format="pdb", qc={}, error="empty file")
    write_structure_h5(p, tmp_path / "s.h5")
    q = read_structure_h5(tmp_path / "s.h5")
    assert q.status == "skipped" and q.error == "empty file"
    assert q.chains == [] and q.n_residues == 0 and q.ca.shape == (0, 3)


def test_h5_corrupt_and_truncated(tmp_path):
    p = _protein(tmp_path)
    good = tmp_path / "good.h5"
    write_structure_h5(p, good)
    data = good.read_bytes()
    trunc = tmp_path / "trunc.h5"
    trunc.write_bytes(data[: len(data) // 3])
    with pytest.raises(CorruptFileError) as ei:
        read_structure_h5(trunc)
    assert trunc.name in str(ei.value) and "\n" not in str(ei.value)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(CorruptFileError) as ei:
        read_structure_h5(junk)
    assert junk.name in str(ei.value) and "\n" not in str(ei.value)
    # HDF5 of another kind is named for what it is
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as h5:
        h5.attrs["kind"] = "embeddings"
    with pytest.raises(EsmSchnetError, match="not a structure file"):
        read_structure_h5(foreign)


def test_chain_validates_lengths():
    with pytest.raises(ValueError):
        Chain("A", 1, "MK", np.zeros((3, 3)), [1, 2], ["", ""])


# ------------------------------------------------------------------------------------------
# parse job, QC rows, collect_qc, CLI, inspect


def _read_tsv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def test_parse_job_ok_and_skip_and_fail(tmp_path):
    good = write(tmp_path, "good.pdb", chain_lines("A", ["MET", "LYS"]))
    bad = tmp_path / "bad.pdb"
    bad.write_text("hello\n")
    parse_job(good, "good", tmp_path / "good.h5", tmp_path / "good.tsv", "fail", tmp_path / "g.log")
    rows = _read_tsv(tmp_path / "good.tsv")
    assert len(rows) == 1 and tuple(rows[0]) == QC_COLUMNS
    assert rows[0]["status"] == "ok" and rows[0]["residues"] == "2"
    assert "2 residues" in (tmp_path / "g.log").read_text()

    prot = parse_job(bad, "bad", tmp_path / "bad.h5", tmp_path / "bad.tsv", "skip", None)
    assert prot.status == "skipped"
    row = _read_tsv(tmp_path / "bad.tsv")[0]
    assert row["status"] == "skipped" and "not a PDB or mmCIF file" in row["reason"]
    assert read_structure_h5(tmp_path / "bad.h5").error == row["reason"]

    with pytest.raises(InputError, match="sample 'bad2'"):
        parse_job(bad, "bad2", tmp_path / "bad2.h5", tmp_path / "bad2.tsv", "fail", None)
    assert not (tmp_path / "bad2.h5").exists() and not (tmp_path / "bad2.tsv").exists()

    # collect: all rows, skipped ones with their reason; an all-ok set gives a header-only file
    collect_qc([tmp_path / "good.tsv", tmp_path / "bad.tsv"], tmp_path / "all.tsv",
               tmp_path / "skipped.tsv")  # fmt: skip
    assert [r["id"] for r in _read_tsv(tmp_path / "all.tsv")] == ["good", "bad"]
    skipped = _read_tsv(tmp_path / "skipped.tsv")
    assert [(r["id"], r["reason"]) for r in skipped] == [("bad", row["reason"])]
    collect_qc([tmp_path / "good.tsv"], tmp_path / "all2.tsv", tmp_path / "skipped2.tsv")
    assert (tmp_path / "skipped2.tsv").read_text() == "id\treason\n"
    (tmp_path / "weird.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(CorruptFileError):
        collect_qc([tmp_path / "weird.tsv"], tmp_path / "a3.tsv", tmp_path / "s3.tsv")


def test_cli_parse_error_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.pdb"
    bad.write_bytes(b"")
    rc = cli_mod.main(
        ["parse", str(bad), "--id", "b", "--out", str(tmp_path / "b.h5"), "--qc",
         str(tmp_path / "b.tsv")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1
    assert "esm-schnet parse: error: sample 'b': empty file: bad.pdb" in err
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0  # one line: the log (stderr here) does not repeat it
    # with --log the job log keeps the error; the console still gets the one line
    rc = cli_mod.main(
        ["parse", str(bad), "--id", "b", "--out", str(tmp_path / "b.h5"), "--qc",
         str(tmp_path / "b.tsv"), "--log", str(tmp_path / "b.log")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1 and err.strip().count("\n") == 0 and "empty file" in err
    assert "ERROR esm_schnet: sample 'b': empty file: bad.pdb" in (tmp_path / "b.log").read_text()


def test_inspect_structure(tmp_path, capsys):
    p = _protein(tmp_path)
    write_structure_h5(p, tmp_path / "x.h5")
    assert cli_mod.main(["inspect", str(tmp_path / "x.h5"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "structure" and out["id"] == "x" and out["status"] == "ok"
    assert out["n_residues"] == 4 and out["n_chains"] == 2
    assert [(c["name"], c["segment"], c["n_residues"], c["sequence"]) for c in out["chains"]] == [
        ("A", 1, 3, "MKG"),
        ("A", 2, 1, "A"),
    ]
    text = format_text(summarise(tmp_path / "x.h5"))
    assert "chains (2):" in text and "MKG" in text
    (tmp_path / "junk.h5").write_bytes(b"junk")
    assert cli_mod.main(["inspect", str(tmp_path / "junk.h5")]) == 1
    assert "junk.h5 is not an HDF5 file (a text file)" in capsys.readouterr().err
    # a damaged HDF5 file is still "truncated or corrupted"
    data = (tmp_path / "x.h5").read_bytes()
    (tmp_path / "trunc.h5").write_bytes(data[: len(data) // 3])
    assert cli_mod.main(["inspect", str(tmp_path / "trunc.h5")]) == 1
    assert "truncated or corrupted" in capsys.readouterr().err


def test_inspect_names_files_it_does_not_read(tmp_path, capsys):
    import zipfile

    model = tmp_path / "model.pt"
    with zipfile.ZipFile(model, "w") as zf:  # torch.save writes a zip archive
        zf.writestr("archive/data.pkl", b"x")
    tsv = tmp_path / "predictions.tsv"
    tsv.write_text("id\tprediction\na\t1.0\n")
    for path, what in ((model, "a zip archive, e.g. a torch model.pt"),
                       (tsv, "a tab-separated text table")):  # fmt: skip
        assert cli_mod.main(["inspect", str(path)]) == 1
        err = capsys.readouterr().err
        assert f"{path.name} is not an HDF5 file ({what})" in err, err
        assert "corrupted" not in err and "delete" not in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1


def test_inspect_dispatches_embedding_shards(tmp_path, capsys):
    from esm_schnet.core import store

    rec = store.ProteinRecord(
        id="p1", ca=np.zeros((3, 3), np.float32), embedding=np.ones((3, 4), np.float32),
        residue_index=np.arange(1, 4, dtype=np.int32), chain_index=np.zeros(3, np.int32),
        sequence="MKG", n_residues=3, chain_names=["A"],
    )  # fmt: skip
    path = tmp_path / "shard-000.h5"
    store.write_shard(path, [rec], {"model_id": "onehot", "model_revision": "", "layer": 0,
                                    "dtype": "float32", "embedding_dim": 4})  # fmt: skip
    assert cli_mod.main(["inspect", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "embeddings" and out["proteins"][0]["id"] == "p1"
    assert out["proteins"][0]["embedding_shape"] == [3, 4]
    assert cli_mod.main(["inspect", str(path)]) == 0
    assert "p1: 3 residues" in capsys.readouterr().out
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5.attrs["kind"] = "mystery"
    assert cli_mod.main(["inspect", str(other)]) == 1
    assert "unknown kind of HDF5 file" in capsys.readouterr().err


def test_realistic_pdb_layout_with_header_anisou_hetatm_and_conect(tmp_path):
    body = []
    for ln in chain_lines("A", ["MET", "LYS", "GLY"]):
        body.append(ln)
        u = "".join(f"{v:7d}" for v in (100, 200, 300, 10, 20, 30))
        body.append("ANISOU" + ln[6:28] + u + ln[70:])
    body.append("ANISOU" + body[-2][6:28] + " garbage")  # malformed, ignored
    lines = (
        ["HEADER    HYDROLASE                               01-JAN-00   1ABC              ",
         "SEQRES   1 A    3  MET LYS GLY                                                  ",
         "CRYST1   50.000   50.000   50.000  90.00  90.00  90.00 P 1           1          "]
        + body
        + ["TER      13      GLY A   3                                                      "]
        + chain_lines("B", ["SER", "ALA"])
        + ["TER      22      ALA B   2                                                      "]
        + [atom("ZN", "ZN", "A", 101, (1.0, 1.0, 1.0), rec="HETATM", element="ZN")]
        + [atom("O", "HOH", "B", 201, (2.0, 2.0, 2.0), rec="HETATM", element="O")]
        + ["CONECT    1    2", "MASTER        0    0    0    0    0    0    0    6   22    2    1    1",
           "END"]
    )  # fmt: skip
    p = parse_structure(write(tmp_path, "1abc.pdb", lines), "1abc")
    assert [(c.label, c.sequence) for c in p.chains] == [("A", "MKG"), ("B", "SA")]
    assert p.qc["skipped_ligand"] == 1 and p.qc["skipped_water"] == 1
    assert p.qc["ligand_names"] == "ZN:1"
