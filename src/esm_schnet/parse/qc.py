"""QC rows: one TSV row per parsed protein (`QC_COLUMNS`), gathered into results/qc/."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from esm_schnet.core.errors import CorruptFileError
from esm_schnet.core.files import write_text
from esm_schnet.parse.protein import Protein
from esm_schnet.parse.text import one_line

QC_COLUMNS = (
    "id", "status", "reason", "format", "models", "chains", "chain_ids", "residues",
    "ca_records", "skipped_no_ca", "skipped_water", "skipped_ligand", "altlocs_resolved",
    "modified_mapped", "unknown_x", "modified_names", "unknown_names", "ligand_names",
    "rsa_missing", "phi_missing", "psi_missing", "ss_missing", "hse_missing",
    "source",
)  # fmt: skip


def _clean(value) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def qc_row(protein: Protein) -> dict:
    row = {c: "" for c in QC_COLUMNS}
    row.update({k: v for k, v in protein.qc.items() if k in row})
    row.update(
        id=protein.id,
        status=protein.status,
        reason=protein.error or "",
        format=protein.format,
        source=protein.source,
    )
    if protein.error:
        for k in ("chains", "chain_ids", "residues"):
            row[k] = 0
    return {k: _clean(v) for k, v in row.items()}


def write_rows(path: str | Path, columns, rows) -> None:
    """A TSV (csv module quoting, so `read_rows` gets back what was written), atomically."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), delimiter="\t", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: _clean(r.get(c, "")) for c in columns})
    write_text(path, buf.getvalue())


def write_qc_row(protein: Protein, path: str | Path) -> None:
    """QC table of one protein: header + one row (columns QC_COLUMNS)."""
    write_rows(path, QC_COLUMNS, [qc_row(protein)])


def read_qc_row(path: str | Path) -> dict:
    """The one row of a per-protein QC file; another header or row count is CorruptFileError."""
    p = Path(path)
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            if tuple(reader.fieldnames or ()) != QC_COLUMNS:
                raise CorruptFileError(p, "unexpected QC columns")
            got = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CorruptFileError(p, one_line(exc)) from None
    if len(got) != 1:
        raise CorruptFileError(p, f"{len(got)} rows, expected 1")
    return got[0]


def collect_qc(
    paths, out_all: str | Path, out_skipped: str | Path, log: str | Path | None = None
) -> tuple[int, int]:
    """Gather per-protein QC rows into structures.tsv (all) and skipped.tsv (id, reason).

    Returns (n_ok, n_skipped). A QC file with another header raises CorruptFileError.
    """
    from esm_schnet.core.log import job_log

    with job_log(log) as logger:
        rows = [read_qc_row(p) for p in paths]
        skipped = [r for r in rows if r["status"] == "skipped"]
        write_rows(out_all, QC_COLUMNS, rows)
        write_rows(out_skipped, ("id", "reason"), skipped)
        n_res = sum(int(r["residues"] or 0) for r in rows)
        logger.info(
            "QC: %d structures, %d ok, %d skipped, %d residues",
            len(rows), len(rows) - len(skipped), len(skipped), n_res,
        )  # fmt: skip
        for r in skipped:
            logger.warning("skipped %s: %s", r["id"], r["reason"])
    return len(rows) - len(skipped), len(skipped)
