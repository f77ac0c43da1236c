"""A writer corpus: the bundled example proteins and jclinic proteins written by real writers
(Biopython PDBIO / MMCIFIO, gemmi PDB / mmCIF, MDAnalysis with CHARMM-style names and segids)
and by hand-made MD-style variants (tests/helpers/structure_variants.py) parse with exactly the
C-alpha residues of the source. gemmi is also an independent reference for residue counts.

The corpus is generated in tmp_path (nothing generated is committed). jclinic parts skip when
../shared is absent; writer parts skip when the writer is not installed (test extra).
"""

from __future__ import annotations

import collections
import functools
import warnings
from pathlib import Path

import numpy as np
import pytest

import structure_variants as sv
from esm_schnet.core.errors import InputError
from esm_schnet.parse import parse_structure
from jclinic_data import jclinic_dir, parsed_structure

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = sorted((REPO / "resources" / "example" / "structures").glob("ex*.pdb"))
JCLINIC = jclinic_dir()
JCLINIC_FILES = sorted((JCLINIC / "pdb").glob("*.pdb")) if JCLINIC else []
# writers get what Biopython/gemmi/MDAnalysis read: files whose chain letters are reused after
# TER lose those segments in any of them (our parser keeps them), so the corpus uses sources
# with one segment per chain letter; a HETATM modified residue (CME) is among them
CORPUS_JCLINIC = ["1a05_1_protein", "1a0q_1_protein", "1a2c_1_protein", "1a4m_1_protein"]


def _one_segment_per_letter(path) -> bool:
    chains = parse_structure(path, "src", descriptors=False).chains
    return len(chains) == len({c.name for c in chains})


@functools.lru_cache(maxsize=None)
def _sources():
    out = [(p.stem, p) for p in EXAMPLE[:9] if _one_segment_per_letter(p)]
    out += [(n, JCLINIC / "pdb" / f"{n}.pdb") for n in CORPUS_JCLINIC if JCLINIC]
    return tuple(out)


def _bio(path):
    from Bio.PDB import PDBParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PDBParser(QUIET=True).get_structure("s", str(path))


def write_biopython_pdb(src, dst):
    from Bio.PDB import PDBIO

    io = PDBIO()
    io.set_structure(_bio(src))
    io.save(str(dst))


def write_biopython_cif(src, dst):
    from Bio.PDB import MMCIFIO

    io = MMCIFIO()
    io.set_structure(_bio(src))
    io.save(str(dst))


def write_gemmi_pdb(src, dst):
    gemmi = pytest.importorskip("gemmi")
    st = gemmi.read_structure(str(src))
    st.write_pdb(str(dst))


def write_gemmi_cif(src, dst):
    gemmi = pytest.importorskip("gemmi")
    st = gemmi.read_structure(str(src))
    st.setup_entities()
    st.make_mmcif_document().write_file(str(dst))


def write_mdanalysis_charmm(src, dst):
    """MDAnalysis PDBWriter with CHARMM conventions: blank chain ids, segids PROA, PROB, ...,
    HIS -> HSD, and no elements (MD topologies often have none)."""
    mda = pytest.importorskip("MDAnalysis")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(str(src))
        prot = u.select_atoms("protein and not altloc B C D")
        for res in prot.residues:
            if res.resname == "HIS":
                res.resname = "HSD"
        prot.atoms.chainIDs = [""] * len(prot)
        prot.segments.segids = ["PROA"] * len(prot.segments)
        if hasattr(prot, "elements"):
            prot.atoms.elements = [""] * len(prot)
        prot.write(str(dst))


WRITERS = {
    "biopython.pdb": write_biopython_pdb,
    "biopython.cif": write_biopython_cif,
    "gemmi.pdb": write_gemmi_pdb,
    "gemmi.cif": write_gemmi_cif,
    "charmm.pdb": lambda s, d: sv.charmm_pdb(s, d),
    "dotlabel.cif": lambda s, d: sv.mmcif_dot_label(s, d),
    "labelonly.cif": lambda s, d: sv.mmcif_label_only(s, d),
}


@functools.lru_cache(maxsize=None)
def _expected(src):
    """The C-alpha residues of the source: (letters, C-alpha coordinates) by our parser (the
    chains only: these tests check text-level parsing; cached, every writer reads them)."""
    p = parse_structure(src, "src", descriptors=False)
    return "".join(p.sequences), p.ca, [c.n_residues for c in p.chains]


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_writer_corpus_parses_with_the_source_residues(writer, tmp_path):
    done = 0
    for name, src in _sources():
        dst = tmp_path / f"{name}.{writer}"
        WRITERS[writer](src, dst)
        seq, ca, sizes = _expected(src)
        got = parse_structure(dst, name, descriptors=False)
        assert "".join(got.sequences) == seq, (writer, name)
        np.testing.assert_allclose(got.ca, ca, atol=2e-3, err_msg=f"{writer} {name}")
        assert [c.n_residues for c in got.chains] == sizes, (writer, name)
        assert got.qc["ca_records"] == got.n_residues, (writer, name)
        done += 1
    assert done >= 8


def test_mdanalysis_charmm_names_and_segids(tmp_path):
    """MDAnalysis (CHARMM-style: blank chains, one segid, HSD, no elements): C-alphas named
    `CA` whatever the element, all in segment PROA."""
    for name, src in _sources():
        dst = tmp_path / f"{name}.mda.pdb"
        write_mdanalysis_charmm(src, dst)
        seq, ca, _ = _expected(src)
        got = parse_structure(dst, name)
        assert "".join(got.sequences) == seq, name
        np.testing.assert_allclose(got.ca, ca, atol=2e-3)
        assert {c.name for c in got.chains} <= {"PROA"} or len(got.chains) >= 1


def test_hand_made_md_variants(tmp_path):
    src = REPO / "resources" / "example" / "structures" / "ex07.pdb"  # three chains
    seq, ca, sizes = _expected(src)
    p = parse_structure(sv.charmm_pdb(src, tmp_path / "charmm.pdb"), "charmm")
    assert "".join(p.sequences) == seq and [c.name for c in p.chains][:2] == ["PROA", "PROB"]
    text = (tmp_path / "charmm.pdb").read_text()
    ca_lines = [ln for ln in text.splitlines() if ln[12:16].strip() == "CA"]
    # left-justified names from column 13, blank element columns (Biopython guesses calcium)
    assert ca_lines and all(ln[12:16] == "CA  " and not ln[76:78].strip() for ln in ca_lines)
    if "HIS" in open(src).read():
        assert "HSD" in text and "HSD" in p.qc["modified_names"]
    p = parse_structure(sv.mmcif_dot_label(src, tmp_path / "dot.cif"), "dot")
    assert "".join(p.sequences) == seq and [c.n_residues for c in p.chains] == sizes
    p = parse_structure(sv.mmcif_label_only(src, tmp_path / "label.cif"), "label")
    assert "".join(p.sequences) == seq and p.qc["skipped_water"] == 3
    with pytest.raises(InputError, match=r"no protein residue: 4 ligand residues \(LIG\)"):
        parse_structure(sv.ligand_only_pdb(tmp_path / "lig.pdb"), "lig")


def test_force_field_and_terminal_names(tmp_path):
    from test_structure import atom

    names = ["NMET", "HSD", "HIE", "CYX", "ASH", "GLH", "LYN", "CALA"]
    lines = []
    for i, rn in enumerate(names, start=1):
        for j, (an, el) in enumerate((("N", "N"), ("CA", "C"), ("C", "C"))):
            ln = atom(an, rn[:3], "A", i, (i * 3.8 + j * 0.5, 0.0, 0.0), element=el)
            lines.append(ln[:17] + f"{rn:<4s}" + ln[21:])  # 4-letter names in columns 18-21
    p = parse_structure(_write(tmp_path, lines), "ff")
    assert p.chains[0].sequence == "MHHCDEKA"
    assert p.qc["unknown_x"] == 0


def _write(tmp_path, lines):
    path = tmp_path / "ff.pdb"
    path.write_text("\n".join(lines) + "\nEND\n")
    return path


def gemmi_counts(path) -> collections.Counter:
    """Residues with a C-alpha per chain name, by gemmi: amino acids by gemmi's residue table
    (calcium ions, named CA, and waters are not); one residue per position (gemmi keeps both
    names of a microheterogeneous position as two residues; we keep the one of highest
    occupancy, see esm_schnet.parse.altloc)."""
    gemmi = pytest.importorskip("gemmi")
    st = gemmi.read_structure(str(path))
    counts = collections.Counter()
    for ch in st[0]:
        seen = set()
        for r in ch:
            t = gemmi.find_tabulated_residue(r.name)
            amino = (t is not None and t.is_amino_acid()) or r.het_flag == "A"
            if not amino or r.name == "CA" or r.find_atom("CA", "*") is None:
                continue
            key = (r.seqid.num, r.seqid.icode, r.segment)
            if key not in seen:
                seen.add(key)
                counts[ch.name] += 1
    return counts


def _ours(path, shared: bool = False) -> collections.Counter:
    """Residues per chain letter by our parser; shared: the session's parse of a jclinic file
    (test_jclinic_parse reads the same), else a text-level parse without descriptors."""
    protein = parsed_structure(path) if shared else parse_structure(path, "x", descriptors=False)
    counts = collections.Counter()
    for c in protein.chains:
        counts[c.name] += c.n_residues
    return counts


@pytest.mark.slow
@pytest.mark.skipif(JCLINIC is None, reason="../shared/data/jclinic is not available")
def test_gemmi_agrees_on_all_42_jclinic_files():
    assert len(JCLINIC_FILES) == 42
    disagree = {f.stem: (_ours(f, shared=True), gemmi_counts(f)) for f in JCLINIC_FILES}
    disagree = {k: v for k, v in disagree.items() if v[0] != v[1]}
    assert not disagree, disagree


def test_gemmi_agrees_on_the_corpus(tmp_path):
    for writer in ("biopython.pdb", "gemmi.cif", "charmm.pdb"):
        for name, src in _sources():
            dst = tmp_path / f"{name}.{writer}"
            WRITERS[writer](src, dst)
            ours = sum(_ours(dst).values())
            assert ours == sum(gemmi_counts(dst).values()), (writer, name)
