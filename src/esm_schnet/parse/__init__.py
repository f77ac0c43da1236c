"""Lossless structure parsing: PDB / mmCIF (plain or gzipped) -> C-alpha chains + QC counts.

Modules, one job each:

- `text`: reading (gzip by magic bytes, binary / other compression refused) and format sniffing
- `residues`: amino-acid tables, modified and force-field names, the C-alpha rule
- `altloc`: alternate locations (highest occupancy wins, once)
- `chains`: Biopython chains -> `Chain`s, skip counting; `protein`: `Protein` and `Chain`
- `pdb`: PDB segments (TER, chain/segid changes, numbering restarts) and parsing
- `mmcif`: the atom_site table normalised for any writer (``label_asym_id`` ``.``/``?``/missing
  -> ``auth_asym_id``, and the reverse) and parsing
- `descriptors`: per-residue structural descriptors (solvent accessibility, dihedrals, secondary
  structure, C-alpha-only fallbacks) computed at parse time
- `parser`: `parse_structure`; `h5`: the structure HDF5 file (`read_descriptors`); `qc`: QC
  rows; `job`: the parse job and `esm-schnet parse`
"""

from esm_schnet.parse.descriptors import COLUMNS as DESCRIPTOR_COLUMNS
from esm_schnet.parse.h5 import KIND, SCHEMA_VERSION, read_descriptors, read_structure_h5, write_structure_h5
from esm_schnet.parse.job import cli, parse_job
from esm_schnet.parse.parser import parse_structure
from esm_schnet.parse.protein import Chain, Protein
from esm_schnet.parse.qc import QC_COLUMNS, collect_qc, qc_row, write_qc_row
from esm_schnet.parse.residues import FORCE_FIELD, MODIFIED, STANDARD, WATERS
from esm_schnet.parse.text import MAX_BYTES, read_structure_text, sniff_format

__all__ = [
    "Chain", "Protein", "parse_structure", "write_structure_h5", "read_structure_h5",
    "parse_job", "collect_qc", "qc_row", "write_qc_row", "cli", "QC_COLUMNS", "MODIFIED",
    "STANDARD", "FORCE_FIELD", "WATERS", "KIND", "SCHEMA_VERSION", "MAX_BYTES",
    "read_structure_text", "sniff_format", "read_descriptors", "DESCRIPTOR_COLUMNS",
]  # fmt: skip
