"""`parse_structure`: one PDB/mmCIF file (plain or gzipped) -> `Protein` (C-alpha chains + QC).

Biopython is the parser of record (`PDBParser` for PDB, `MMCIFParser` for mmCIF); this package
decides what to hand it and checks what comes back. The rules live with their modules: reading
and format sniffing in `text`, what is an amino acid / a C-alpha / which letter in `residues`,
alternate locations in `altloc`, segments in `pdb` and `mmcif`, skip counting in `chains`,
per-residue structural descriptors (and their QC counts) in `descriptors`.

Bad input (empty, binary, compressed with something other than gzip, non-structure text, no
protein residue, no C-alpha atoms, NaN or overflowed ``****`` coordinates, unreadable gzip)
raises `InputError` with a one-line reason.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from esm_schnet.core.errors import InputError
from esm_schnet.parse.chains import Collector, names
from esm_schnet.parse.descriptors import compute as compute_descriptors
from esm_schnet.parse.mmcif import parse_mmcif
from esm_schnet.parse.pdb import parse_pdb
from esm_schnet.parse.protein import Protein
from esm_schnet.parse.text import one_line, read_structure_text, sniff_format

log = logging.getLogger("esm_schnet.parse")


def parse_structure(path: str | Path, sample_id: str, *, descriptors: bool = True) -> Protein:
    """Parse the first model of a PDB/mmCIF file (plain or gzipped) into C-alpha chains.

    descriptors=False leaves the per-residue structural descriptors out (``protein.descriptors``
    None, no descriptor QC counts), for callers that read only the chains and the text-level QC
    (tests of the parsing rules); the parse job always computes them.

    Raises InputError (one line naming the sample) for anything that is not a usable structure.
    """
    path = Path(path)
    t0 = time.perf_counter()
    text, gz = read_structure_text(path, sample_id)
    fmt = sniff_format(text, path)
    if fmt is None:
        raise InputError(
            sample_id,
            f"not a PDB or mmCIF file (no ATOM/HETATM records, no mmCIF atom_site): {path.name}",
        )
    col = Collector(sample_id)
    if fmt == "pdb":
        models, ca_records = parse_pdb(text, sample_id, col)
    else:
        models, ca_records = parse_mmcif(text, sample_id, col)
    if not col.chains:
        raise InputError(sample_id, col.empty_reason())
    n_res = sum(c.n_residues for c in col.chains)
    protein = Protein(
        id=sample_id, chains=col.chains, source=str(path), format=fmt + (".gz" if gz else "")
    )
    t1 = time.perf_counter()
    desc, desc_qc = None, {}
    if descriptors:
        try:
            desc, desc_qc = compute_descriptors(
                col.residues, "".join(protein.sequences), protein.ca, protein.chain_index
            )
        except ImportError as exc:
            raise InputError(sample_id, f"structural descriptors need {one_line(exc)}") from None
    t_desc = time.perf_counter() - t1
    qc = {
        "format": fmt + (".gz" if gz else ""),
        "models": models,
        "chains": len(col.chains),
        "chain_ids": len({c.name for c in col.chains}),
        "residues": n_res,
        "ca_records": ca_records,
        "skipped_no_ca": col.counts["skipped_no_ca"],
        "skipped_water": col.counts["skipped_water"],
        "skipped_ligand": col.counts["skipped_ligand"],
        "altlocs_resolved": col.counts["altlocs_resolved"],
        "modified_mapped": col.counts["modified_mapped"],
        "unknown_x": col.counts["unknown_x"],
        "modified_names": names(col.modified),
        "unknown_names": names(col.unknown),
        "ligand_names": names(col.ligands),
        **desc_qc,
    }
    if ca_records >= 0 and ca_records != n_res:
        log.warning(
            "%s: %d residues kept but %d C-alpha records counted in the file",
            sample_id, n_res, ca_records,
        )  # fmt: skip
    if col.no_ca:
        log.info("%s: residues without C-alpha: %s", sample_id, names(col.no_ca))
    log.info(
        "%s: %s, %d chains (%s), %d residues in %.2fs (descriptors %.2fs; missing: %s)",
        sample_id, qc["format"], len(col.chains),
        " ".join(f"{c.label}:{c.n_residues}" for c in col.chains), n_res,
        time.perf_counter() - t0, t_desc, " ".join(f"{k}={v}" for k, v in desc_qc.items()),
    )  # fmt: skip
    protein.qc, protein.descriptors = qc, desc
    return protein
