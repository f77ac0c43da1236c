"""Lossless parsing of the 42 jclinic structures (../shared/data/jclinic; skipped when absent).

The data folder is `$ESM_SCHNET_JCLINIC` when set, else `<repo>/../shared/data/jclinic`.
Expected values are counted here from the raw text, independently of the parser: every C-alpha
ATOM/HETATM record (first alternate location of each residue) must come back as one residue,
in file order, with its number, insertion code, residue type and coordinates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from esm_schnet.parse import DESCRIPTOR_COLUMNS, MODIFIED, STANDARD
from jclinic_data import jclinic_dir, parsed_structure

JCLINIC = jclinic_dir()
pytestmark = pytest.mark.skipif(JCLINIC is None, reason="../shared/data/jclinic is not available")


def raw_calpha_records(path: Path):
    """C-alpha records of the first model from the raw text: (block, chain, number, icode,
    resname, xyz) in file order, first alternate location only; block = TER-delimited block."""
    out = []
    first_alt: dict[tuple, str] = {}
    block = 0
    for line in path.read_text().splitlines():
        if line.startswith("ENDMDL"):
            break
        if line.startswith("TER"):
            block += 1
            continue
        if not line.startswith(("ATOM  ", "HETATM")):
            continue
        if line[12:16].strip() != "CA" or line[17:20].strip() == "CA":
            continue
        if line[76:78].strip() not in ("C", ""):
            continue
        key = (block, line[21], line[22:27])
        alt = line[16]
        if key in first_alt and alt != first_alt[key]:
            continue
        first_alt.setdefault(key, alt)
        xyz = (float(line[30:38]), float(line[38:46]), float(line[46:54]))
        out.append((block, line[21], int(line[22:26]), line[26].strip(), line[17:20].strip(), xyz))
    return out


def _files():
    if JCLINIC is None:
        return []
    return sorted((JCLINIC / "pdb").glob("*.pdb"))


@pytest.fixture(scope="module")
def parsed():
    # with descriptors: parsed once per session (test_writer_corpus reads the same files)
    return {f.stem: (parsed_structure(f), raw_calpha_records(f)) for f in _files()}


def test_descriptors_of_all_42_files(parsed):
    for pid, (protein, _) in parsed.items():
        d = protein.descriptors
        assert d.shape == (protein.n_residues, len(DESCRIPTOR_COLUMNS)), pid
        assert np.isfinite(d).all(), pid


@pytest.mark.slow
def test_all_42_files_parse_losslessly(parsed):
    assert len(parsed) == 42
    lossless = 0
    for pid, (protein, raw) in parsed.items():
        assert protein.n_residues == len(raw), pid
        assert protein.qc["ca_records"] == len(raw), pid
        # same residues, same order, same numbers, codes, types and coordinates
        assert protein.residue_number.tolist() == [r[2] for r in raw], pid
        assert protein.insertion_code.tolist() == [r[3] for r in raw], pid
        letters = "".join(STANDARD.get(r[4]) or MODIFIED.get(r[4]) or "X" for r in raw)
        assert "".join(protein.sequences) == letters, pid
        np.testing.assert_allclose(protein.ca, np.array([r[5] for r in raw]), atol=1e-3)
        # each chain holds records of a single TER block and chain letter
        blocks = {}
        for ci, r in zip(protein.chain_index.tolist(), raw):
            blocks.setdefault(ci, set()).add((r[0], r[1]))
        assert all(len(v) == 1 for v in blocks.values()), pid
        lossless += 1
    assert lossless == 42


@pytest.mark.slow
def test_ter_segments_reusing_a_letter_become_chains(parsed):
    reusing = []
    for pid, (protein, raw) in parsed.items():
        blocks_of_letter: dict[str, set[int]] = {}
        for r in raw:
            blocks_of_letter.setdefault(r[1], set()).add(r[0])
        letters = len(blocks_of_letter)
        segments = sum(len(b) for b in blocks_of_letter.values())
        assert protein.qc["chains"] == len(protein.chains) == segments, pid
        assert protein.qc["chain_ids"] == letters, pid
        if segments > letters:
            reusing.append(pid)
            assert len(protein.chains) > len({c.name for c in protein.chains})
            # the reused segments are whole copies, not fragments: e.g. 1a5z has 4 x 312
            for c in protein.chains:
                assert c.n_residues > 50, (pid, c.label)
    # the README says 10; the raw text has 9 files with a letter in several TER blocks
    assert len(reusing) >= 9, reusing
    assert {"1a4g_1_protein", "1a4h_1_protein", "1a5z_1_protein"} <= set(reusing)


def test_labels_table_matches_files():
    ids = {f.stem for f in _files()}
    lines = (JCLINIC / "labels.tsv").read_text().splitlines()
    assert lines[0].split("\t")[:2] == ["id", "label"]
    assert {ln.split("\t")[0] for ln in lines[1:] if ln.strip()} == ids
