"""Residue rules: which residues are amino acids, which atom is their C-alpha, and their letter.

- Amino-acid residue: a residue named in `STANDARD`, `MODIFIED`, `FORCE_FIELD`, a terminal
  variant of one of those (4-letter ``NALA``/``CALA`` style names), or in Biopython's table of
  modified amino acids (`Bio.Data.PDBData.protein_letters_3to1_extended`); and any residue of an
  ATOM record (polymer) that is not water or an ion (`IONS`, e.g. ``CA``, ``SOD``). A HETATM
  residue with any other name is a ligand, even when it has an atom named CA (palmitate, caps
  such as ethanolamine or NH2, a glutathione conjugate), unless its backbone is bonded into the
  chain on both sides (`bonded_into_chain`: its N to the previous residue's C and its C to the
  next residue's N, each a covalent distance): a non-standard residue of the polymer, such as
  PH8 (5-phenyl-L-norvaline) of PDB 2N0N. An unknown name alone does not make a ligand. A
  residue named ``CA`` is the calcium ion, never an amino acid.
- C-alpha: the atom named ``CA`` (after stripping) of an amino-acid residue, whatever element
  the file gives or Biopython guesses. MD writers (CHARMM, NAMD, GROMACS, OpenMM, MDAnalysis)
  write atom names left-justified from column 13 (``CA  ``) and leave the element columns
  blank; Biopython then guesses calcium. The element is therefore not consulted.
- Letter: the 20 standard one-letter codes; known modified residues (`MODIFIED`) and force-field
  names (`FORCE_FIELD`, terminal variants) map to their parent; any other amino-acid residue is
  ``X``.
"""

from __future__ import annotations

STANDARD = {
    "ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "CYS": "C", "GLN": "Q", "GLU": "E",
    "GLY": "G", "HIS": "H", "ILE": "I", "LEU": "L", "LYS": "K", "MET": "M", "PHE": "F",
    "PRO": "P", "SER": "S", "THR": "T", "TRP": "W", "TYR": "Y", "VAL": "V",
}  # fmt: skip

#: Common modified / non-standard amino acids -> one-letter code of the parent residue.
#: Chosen from the residues seen most often in the PDB (CCD parent components); anything else
#: with a C-alpha is 'X'. D-amino acids map to their L parent (ESM2 has no D alphabet).
MODIFIED = {
    # selenium / rare genetically encoded
    "MSE": "M", "SEC": "C", "PYL": "K",
    # phosphorylation
    "SEP": "S", "TPO": "T", "PTR": "Y", "NEP": "H",
    # hydroxylation, methylation, acetylation, carboxylation of lysine / proline / arginine
    "HYP": "P", "MLY": "K", "M3L": "K", "MLZ": "K", "ALY": "K", "KCX": "K", "LLP": "K",
    "AGM": "R", "HIC": "H", "MHS": "H",
    # cysteine oxidation / adducts
    "CSO": "C", "CSD": "C", "CME": "C", "CSS": "C", "OCS": "C", "CSX": "C", "SMC": "C",
    "SCY": "C", "CAS": "C", "CAF": "C", "SCH": "C", "CSW": "C",
    # other frequent ones
    "PCA": "Q", "FME": "M", "TYS": "Y", "MEN": "N", "NLE": "L", "SAC": "S", "MVA": "V",
    "AIB": "A", "ABA": "A", "ORN": "A", "DDZ": "A", "CGU": "E", "TRQ": "W", "TRO": "W",
    # D-amino acids
    "DAL": "A", "DAR": "R", "DSG": "N", "DAS": "D", "DCY": "C", "DGN": "Q", "DGL": "E",
    "DHI": "H", "DIL": "I", "DLE": "L", "DLY": "K", "MED": "M", "DPN": "F", "DPR": "P",
    "DSN": "S", "DTH": "T", "DTR": "W", "DTY": "Y", "DVA": "V",
}  # fmt: skip

#: Protonation-state / force-field residue names written by MD engines -> parent letter.
FORCE_FIELD = {
    # CHARMM
    "HSD": "H", "HSE": "H", "HSP": "H", "ASPP": "D", "GLUP": "E", "LSN": "K",
    # AMBER
    "HID": "H", "HIE": "H", "HIP": "H", "CYX": "C", "CYM": "C", "ASH": "D", "GLH": "E",
    "LYN": "K",
    # GROMACS
    "HISD": "H", "HISE": "H", "HISH": "H", "HISA": "H", "HISB": "H", "HIS1": "H", "HIS2": "H",
    "LYSH": "K", "LYSN": "K", "ASPH": "D", "GLUH": "E", "CYS2": "C", "CYSH": "C", "ARGN": "R",
}  # fmt: skip

WATERS = {"HOH", "WAT", "DOD", "H2O", "D2O", "TIP", "TIP3", "TIP4", "TIP5", "SOL", "SPC", "T3P"}

#: Calcium: as a residue name it is an ion (the C-alpha rule's one ambiguity).
CALCIUM = "CA"
#: Ions that MD writers put in ATOM records (CHARMM, AMBER, GROMACS names): never amino acids.
IONS = {
    CALCIUM, "CAL", "SOD", "NA", "NA+", "POT", "K", "K+", "CLA", "CL", "CL-", "MG", "ZN",
    "CES", "LIT", "CS", "LI", "RB", "BA", "CD", "FE", "MN", "CU", "NI", "CO",
}  # fmt: skip


def _extended() -> dict[str, str]:
    try:
        from Bio.Data.PDBData import protein_letters_3to1_extended
    except ImportError:  # pragma: no cover - very old Biopython
        return {}
    return dict(protein_letters_3to1_extended)


EXTENDED = _extended()


def parent_name(resname: str) -> str | None:
    """The standard/modified/force-field name a terminal variant stands for (``NALA`` -> ALA,
    ``CHIE`` -> HIE), else None."""
    if len(resname) == 4 and resname[0] in "NC":
        core = resname[1:]
        if core in STANDARD or core in FORCE_FIELD:
            return core
    return None


def letter(resname: str) -> tuple[str, str]:
    """(one-letter code, kind) of an amino-acid residue name; kind is 'standard', 'modified'
    (mapped to its parent) or 'unknown' (``X``)."""
    if resname in STANDARD:
        return STANDARD[resname], "standard"
    if resname in MODIFIED:
        return MODIFIED[resname], "modified"
    if resname in FORCE_FIELD:
        return FORCE_FIELD[resname], "modified"
    core = parent_name(resname)
    if core is not None:
        return STANDARD.get(core) or FORCE_FIELD[core], "modified"
    return "X", "unknown"


def is_known_amino_acid(resname: str) -> bool:
    """A residue name known to be an amino acid (tables here or Biopython's extended table)."""
    return (
        resname in STANDARD
        or resname in MODIFIED
        or resname in FORCE_FIELD
        or parent_name(resname) is not None
        or (resname in EXTENDED and resname != CALCIUM)
    )


def is_water(resname: str, hetflag: str = "") -> bool:
    return hetflag == "W" or resname in WATERS


def is_amino_acid(resname: str, hetatm: bool) -> bool:
    """ATOM records of any name (but water and calcium) and known amino acids are residues."""
    resname = resname.strip().upper()
    if resname in IONS or resname in WATERS:
        return False
    return not hetatm or is_known_amino_acid(resname)


def is_calpha_name(atom_name: str) -> bool:
    return atom_name.strip().upper() == "CA"


#: Longest C-N distance read as a peptide bond (Å). The bond is 1.33 Å; stretched ones in
#: low-resolution models stay well below 2 Å, and non-bonded C...N contacts are >= 2.7 Å.
PEPTIDE_BOND_MAX = 2.0


def _bonded(c_xyz, n_xyz) -> bool:
    if c_xyz is None or n_xyz is None:
        return False
    d2 = sum((float(a) - float(b)) ** 2 for a, b in zip(c_xyz, n_xyz))
    return d2 <= PEPTIDE_BOND_MAX**2


def bonded_into_chain(backbone, i: int) -> bool:
    """Is residue `i` peptide-bonded on both sides? `backbone` lists (N xyz, C xyz) of the
    segment's residues in file order (None where the atom is absent): residue i's N must be
    bonded to residue i-1's C and its C to residue i+1's N (whatever those residues are: a
    C-terminal cap such as NH2 counts as the next residue). Decides whether a HETATM residue of
    unknown name is part of the polymer; caps bonded on one side only stay ligands."""
    if i <= 0 or i + 1 >= len(backbone):
        return False
    n, c = backbone[i]
    return _bonded(backbone[i - 1][1], n) and _bonded(c, backbone[i + 1][0])
