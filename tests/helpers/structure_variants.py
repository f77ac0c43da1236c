"""Hand-made structure variants of real proteins, as MD engines and other tools write them.

Used by tests/parse/test_writer_corpus.py and tests/workflow/test_parse_workflow.py. Each builder
takes a source PDB file and writes a variant whose C-alpha residues are exactly the source's:

- `charmm_pdb`: CHARMM/NAMD style: atom names left-justified from column 13 (``CA  ``), blank
  chain id, segment id PROA, PROB, ... in columns 73-76, blank element columns, force-field
  residue names (HIS -> HSD, CYS -> CYX), no TER records.
- `mmcif_dot_label`: mmCIF with ``label_asym_id`` ``.`` (segments from ``auth_asym_id``),
  no ``type_symbol``; `mmcif_label_only`: mmCIF with only label ids (no auth_* items) and
  ``label_seq_id`` ``.`` on non-polymer rows.
- `ligand_only_pdb`: HETATM ligands (LIG) that have an atom named CA: no protein at all.
"""

from __future__ import annotations

from pathlib import Path

FORCE_FIELD_NAMES = {"HIS": "HSD", "CYS": "CYX"}


def _bio(path):
    import warnings

    from Bio.PDB import PDBParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PDBParser(QUIET=True).get_structure("s", str(path))


def _amino_atoms(path):
    """(chain index, chain id, residue, atom) of the first model's amino-acid residues with a
    C-alpha (known amino-acid names), altlocs resolved by Biopython."""
    from esm_schnet.parse.residues import is_known_amino_acid

    model = next(iter(_bio(path)))
    out = []
    for ci, chain in enumerate(model):
        for res in chain:
            if not is_known_amino_acid(res.get_resname()) or "CA" not in res:
                continue
            for atom in res:
                out.append((ci, chain.id, res, atom))
    return out


def charmm_pdb(src, dst) -> Path:
    lines = []
    for serial, (ci, _, res, atom) in enumerate(_amino_atoms(src), start=1):
        name = atom.get_name()
        resname = FORCE_FIELD_NAMES.get(res.get_resname(), res.get_resname())
        x, y, z = atom.get_coord()
        segid = f"PRO{chr(65 + ci)}"
        lines.append(
            f"ATOM  {serial % 100000:5d} {name:<4s} {resname:<4s} {res.id[1]:4d}{res.id[2]}   "
            f"{x:8.3f}{y:8.3f}{z:8.3f}{1.0:6.2f}{0.0:6.2f}      {segid:<4s}"
        )
    lines.append("END")
    Path(dst).write_text("\n".join(lines) + "\n")
    return Path(dst)


CIF_ITEMS_DOT = (
    "group_PDB", "id", "label_atom_id", "label_comp_id", "label_asym_id", "label_seq_id",
    "auth_seq_id", "pdbx_PDB_ins_code", "auth_asym_id", "Cartn_x", "Cartn_y", "Cartn_z", "occupancy",
    "B_iso_or_equiv", "pdbx_PDB_model_num",
)  # fmt: skip
CIF_ITEMS_LABEL = (
    "group_PDB", "id", "type_symbol", "label_atom_id", "label_comp_id", "label_asym_id",
    "label_seq_id", "Cartn_x", "Cartn_y", "Cartn_z",
)  # fmt: skip


def _cif(dst, items, rows) -> Path:
    head = ["data_variant", "loop_"] + [f"_atom_site.{i}" for i in items]
    Path(dst).write_text("\n".join(head + [" ".join(r) for r in rows] + ["#"]) + "\n")
    return Path(dst)


def mmcif_dot_label(src, dst) -> Path:
    rows = []
    for serial, (_, cid, res, atom) in enumerate(_amino_atoms(src), start=1):
        x, y, z = atom.get_coord()
        rows.append([
            "ATOM", str(serial), atom.get_name(), res.get_resname(), ".", str(res.id[1]),
            str(res.id[1]), res.id[2].strip() or "?", cid, f"{x:.3f}", f"{y:.3f}", f"{z:.3f}", "1.00", "0.00", "1",
        ])  # fmt: skip
    return _cif(dst, CIF_ITEMS_DOT, rows)


def mmcif_label_only(src, dst) -> Path:
    """label_seq_id numbers residues 1, 2, ... per chain (as mmCIF defines it)."""
    rows, serial, index = [], 0, {}
    atoms = _amino_atoms(src)
    for serial, (ci, _, res, atom) in enumerate(atoms, start=1):
        x, y, z = atom.get_coord()
        number = index.setdefault((ci, res.id), sum(1 for k in index if k[0] == ci) + 1)
        rows.append([
            "ATOM", str(serial), atom.element or "C", atom.get_name(), res.get_resname(),
            chr(65 + ci), str(number), f"{x:.3f}", f"{y:.3f}", f"{z:.3f}",
        ])  # fmt: skip
    for k in range(3):  # waters with label_seq_id '.', their own asym id
        rows.append(["HETATM", str(serial + k + 1), "O", "O", "HOH", "W", ".",
                     f"{k:.3f}", "0.000", "0.000"])  # fmt: skip
    return _cif(dst, CIF_ITEMS_LABEL, rows)


def ligand_only_pdb(dst, n: int = 4) -> Path:
    lines, serial = [], 0
    for r in range(n):
        for j, (name, el) in enumerate((("C1", "C"), ("CA", "C"), ("O1", "O"))):
            serial += 1
            lines.append(
                f"HETATM{serial:5d}  {name:<3s} LIG A{r + 1:4d}    "
                f"{r * 3.0 + j:8.3f}{0.0:8.3f}{0.0:8.3f}{1.0:6.2f}{0.0:6.2f}          {el:>2s}"
            )
    lines.append("END")
    Path(dst).write_text("\n".join(lines) + "\n")
    return Path(dst)
