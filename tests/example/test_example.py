"""The synthetic example dataset: geometry, file formats, label, and the committed files."""

from __future__ import annotations

import gzip
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from Bio.PDB import MMCIFParser, PDBParser

from esm_schnet import example as ex
from esm_schnet.core.samples import read_sample_table

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "resources" / "example"


def _ca_from_text(text: str):
    """C-alpha coordinates, one-letter sequence and segment index of PDB text (TER = new segment)."""
    three_to_one = {v: k for k, v in ex.THREE.items()} | {"MSE": "M"}
    ca, seq, seg, s = [], [], [], 0
    for line in text.splitlines():
        if line.startswith("TER"):
            s += 1
        elif line.startswith(("ATOM", "HETATM")) and line[12:16] == " CA ":
            ca.append([float(line[30:38]), float(line[38:46]), float(line[46:54])])
            seq.append(three_to_one[line[17:20]])
            seg.append(s)
    return np.array(ca), "".join(seq), np.array(seg)


def _read(path: Path):
    if path.suffix == ".cif":
        model = MMCIFParser(QUIET=True).get_structure("x", str(path))[0]
        residues = [(i, r) for i, c in enumerate(model) for r in c if "CA" in r]
        three_to_one = {v: k for k, v in ex.THREE.items()} | {"MSE": "M"}
        ca = np.array([r["CA"].coord for _, r in residues], dtype=float)
        seq = "".join(three_to_one[r.get_resname()] for _, r in residues)
        return ca, seq, np.array([i for i, _ in residues])
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        return _ca_from_text(fh.read())


def test_backbone_geometry_is_ideal_and_clash_free():
    p = ex.make_protein("g", (70, 50), seed=1)
    for chain in p.chains:
        n, ca, c, o = (chain.backbone[:, j] for j in range(4))
        dist = lambda a, b: np.linalg.norm(a - b, axis=-1)  # noqa: E731
        assert np.allclose(dist(n, ca), ex.B_N_CA, atol=2e-3)
        assert np.allclose(dist(ca, c), ex.B_CA_C, atol=2e-3)
        assert np.allclose(dist(c, o), ex.B_C_O, atol=2e-3)
        assert np.allclose(dist(c[:-1], n[1:]), ex.B_C_N, atol=2e-3)
        assert np.allclose(dist(ca[:-1], ca[1:]), 3.80, atol=0.02)
        omega = ex.dihedral(ca[:-1], c[:-1], n[1:], ca[1:])
        assert np.all(np.abs(np.abs(omega) - 180.0) < 0.5)
        # helices: phi/psi near (-57, -47), 1.5 A rise per residue
        phi = ex.dihedral(c[:-1], n[1:], ca[1:], c[1:])
        helix = np.array([k == "H" for k in chain.ss[1:]])
        assert helix.any()
        assert abs(np.median(phi[helix]) - ex.HELIX[0]) < 5
    stats = ex.packing_stats(*ex._ca_and_index(p))
    assert stats["min_ca_ca"] >= 3.5
    assert stats["rg_ratio"] < 1.7  # a compact globule, not an extended chain
    assert stats["neighbours_8A"] > 2.0


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    a = ex.write_structure_file(ex.make_protein("d", (40,), seed=5), tmp_path / "a.pdb")
    b = ex.write_structure_file(ex.make_protein("d", (40,), seed=5), tmp_path / "b.pdb")
    c = ex.write_structure_file(ex.make_protein("d", (40,), seed=6), tmp_path / "c.pdb")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


@pytest.mark.parametrize("name", ["x.pdb", "x.pdb.gz", "x.cif"])
def test_written_files_parse_with_biopython_and_keep_the_label(tmp_path, name):
    p = ex.make_protein("x", (45, 40), seed=2, mse=True)
    path = ex.write_structure_file(p, tmp_path / name)
    ca, seq, chain_index = _read(path)
    assert len(ca) == p.n_residues == 85
    assert seq == "".join(c.sequence for c in p.chains)
    assert ex.label_of(seq, ca, chain_index) == pytest.approx(p.label_clean, abs=1e-6)
    if name == "x.pdb":
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no PDBConstructionWarning: clean columns
            model = PDBParser(QUIET=False).get_structure("x", str(path))[0]
        assert [c.id for c in model] == ["A", "B"]
        assert sum(1 for r in model.get_residues() if r.id[0] == "H_MSE") >= 1


def test_letter_reuse_and_insertion_codes_are_written(tmp_path):
    p = ex.make_protein("r", (30, 25), seed=0, names="AA", reuse=True)
    text = ex.pdb_text(p, 0)
    lines = [ln for ln in text.splitlines() if ln.startswith("ATOM") and ln[12:16] == " CA "]
    numbers = [int(ln[22:26]) for ln in lines]
    assert numbers[:30] == list(range(1, 31)) and numbers[30:] == list(range(1, 26))
    assert {ln[21] for ln in lines} == {"A"}
    assert text.count("\nTER") == 2 and text.rstrip().endswith("END")
    q = ex.make_protein("i", (70,), seed=0, names="H", insertion=True)
    ids = [(n, i) for n, i in zip(q.chains[0].numbers, q.chains[0].icodes)]
    k = ids.index((52, ""))
    assert ids[k : k + 4] == [(52, ""), (52, "A"), (52, "B"), (53, "")]


# --- the committed dataset ----------------------------------------------------------------------


def test_committed_example_table_is_valid_and_small():
    table = read_sample_table(EXAMPLE / "samples.tsv")
    assert len(table) == 20
    assert table["group"].notna().all()
    size = sum(f.stat().st_size for f in EXAMPLE.rglob("*") if f.is_file())
    assert size < 2_000_000
    readme = (EXAMPLE / "README.md").read_text()
    assert "synthetic" in readme.lower() and "make-example" in readme
    assert ex.LABEL_FORMULA in readme


def test_committed_example_files_match_their_labels():
    table = read_sample_table(EXAMPLE / "samples.tsv")
    sizes, formats = [], set()
    for sid, row in table.iterrows():
        path = Path(row["structure"])
        formats.add("".join(path.suffixes))
        ca, seq, chain_index = _read(path)
        sizes.append(len(ca))
        clean = ex.label_of(seq, ca, chain_index)
        # the noise is Normal(0, NOISE_SD); 5 SD is a failure, not bad luck
        assert abs(row["label"] - clean) < 5 * ex.NOISE_SD, sid
        stats = ex.packing_stats(ca, chain_index)
        assert stats["min_ca_ca"] >= 3.5, sid
    assert {".pdb", ".pdb.gz", ".cif"} <= formats
    assert 3000 <= sum(sizes) <= 5000
    assert max(sizes) > 1024 and min(sizes) >= 40
    # the letter-reuse protein: two TER-separated segments, both named A
    reuse = (EXAMPLE / "structures" / "ex03.pdb").read_text()
    assert reuse.count("\nTER") == 2
    assert {ln[21] for ln in reuse.splitlines() if ln.startswith("ATOM")} == {"A"}


def test_project_parser_reads_the_edge_cases_as_documented():
    """The workflow's own parser sees what the README promises (chains, insertion codes, MSE)."""
    structure = pytest.importorskip("esm_schnet.parse")
    table = read_sample_table(EXAMPLE / "samples.tsv")
    parsed = {
        sid: structure.parse_structure(table.loc[sid, "structure"], sid)
        for sid in ("ex03", "ex04", "ex05", "ex06")
    }
    # ex03: two segments that share letter A, numbering restarting -> two chains named A
    assert [c.name for c in parsed["ex03"].chains] == ["A", "A"]
    assert [len(c.sequence) for c in parsed["ex03"].chains] == [96, 88]
    assert parsed["ex04"].n_residues == 152  # mmCIF
    codes = [str(c).strip() for c in parsed["ex05"].chains[0].insertion_code]
    assert codes.count("A") == 1 and codes.count("B") == 1
    assert "X" not in "".join(parsed["ex06"].sequences)  # MSE read as M, waters not residues
    for sid, protein in parsed.items():
        clean = ex.label_of("".join(protein.sequences), protein.ca, protein.chain_index)
        assert abs(table.loc[sid, "label"] - clean) < 5 * ex.NOISE_SD, sid


@pytest.mark.slow
def test_generator_reproduces_the_committed_files(tmp_path):
    """`esm-schnet make-example` with the README's arguments rewrites the committed files."""
    assert ex.cli(["--out", str(tmp_path), "--n", "20", "--seed", "0"]) == 0
    assert (tmp_path / "samples.tsv").read_text() == (EXAMPLE / "samples.tsv").read_text()
    assert (tmp_path / "README.md").read_text() == (EXAMPLE / "README.md").read_text()
    for f in sorted((EXAMPLE / "structures").iterdir()):
        new = tmp_path / "structures" / f.name
        if f.name.endswith(".gz"):
            a, b = gzip.decompress(f.read_bytes()), gzip.decompress(new.read_bytes())
        else:
            a, b = f.read_bytes(), new.read_bytes()
        if a != b:  # allow last-digit rounding differences of another CPU's libm, nothing more
            la, lb = a.decode().splitlines(), b.decode().splitlines()
            assert len(la) == len(lb), f.name
            for x, y in zip(la, lb):
                if x != y:
                    for u, v in zip(x.split(), y.split(), strict=True):
                        assert u == v or math.isclose(float(u), float(v), abs_tol=0.0011), f.name
