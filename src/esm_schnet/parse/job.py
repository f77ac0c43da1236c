"""The parse job (one protein: structure -> results/structures/<id>.h5 + QC row) and its CLI,
`esm-schnet parse`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from esm_schnet.core.errors import InputError
from esm_schnet.parse.h5 import write_structure_h5
from esm_schnet.parse.parser import parse_structure
from esm_schnet.parse.protein import Protein
from esm_schnet.parse.qc import write_qc_row


def _guess_format(path: Path) -> str:
    name = path.name.lower()
    gz = name.endswith(".gz")
    name = name[:-3] if gz else name
    fmt = "mmcif" if name.endswith((".cif", ".mmcif")) else "pdb" if name.endswith(
        (".pdb", ".ent")
    ) else "unknown"
    return fmt + (".gz" if gz else "")


def parse_job(
    structure: str | Path,
    sample_id: str,
    out_h5: str | Path,
    out_qc: str | Path,
    on_error: str = "fail",
    log: str | Path | None = None,
) -> Protein:
    """One parse job (the `parse` rule): structure -> results/structures/<id>.h5 + QC row.

    on_error='fail' re-raises InputError (nothing written; the job log holds its one line);
    'skip' writes a skipped .h5 (status='skipped', error=<reason>, zero chains) and a QC row
    with the reason.
    """
    if on_error not in ("fail", "skip"):
        raise ValueError(f"on_error must be 'fail' or 'skip', not {on_error!r}")
    from esm_schnet.core.log import job_log

    with job_log(log) as logger:
        t0 = time.perf_counter()
        try:
            protein = parse_structure(structure, sample_id, descriptors=True)
        except InputError as exc:
            if on_error == "fail":
                if str(structure) in exc.reason or Path(structure).name in exc.reason:
                    raise  # job_log writes the one line
                raise InputError(sample_id, f"{exc.reason} (file {structure})") from None
            logger.warning("skipped (parse.on_error=skip): %s", exc)
            path = Path(structure)
            protein = Protein(
                id=sample_id, chains=[], source=str(path), format=_guess_format(path),
                qc={}, error=exc.reason,
            )  # fmt: skip
        write_structure_h5(protein, out_h5)
        write_qc_row(protein, out_qc)
        logger.info(
            "%s: wrote %s (%s, %d residues) in %.2fs",
            sample_id, out_h5, protein.status, protein.n_residues, time.perf_counter() - t0,
        )  # fmt: skip
    return protein


def cli(argv: list[str]) -> int:
    """esm-schnet parse STRUCTURE --id ID --out H5 --qc TSV [--on-error fail|skip] [--log F]"""
    ap = argparse.ArgumentParser(
        prog="esm-schnet parse",
        description="Parse one PDB/mmCIF file (plain or .gz) into a structure HDF5 + QC row.",
    )
    ap.add_argument("structure", help="PDB or mmCIF file, plain or gzipped")
    ap.add_argument("--id", required=True, help="sample id (file-name safe)")
    ap.add_argument("--out", required=True, help="output .h5")
    ap.add_argument("--qc", required=True, help="output QC row (.tsv)")
    ap.add_argument(
        "--on-error",
        choices=("fail", "skip"),
        default="fail",
        help="fail: exit 1 with a one-line reason (default); skip: write a skipped .h5 and a QC "
        "row with the reason, exit 0",
    )
    ap.add_argument("--log", default=None, help="log file (default: stderr)")
    args = ap.parse_args(argv)
    parse_job(args.structure, args.id, args.out, args.qc, args.on_error, args.log)
    return 0
