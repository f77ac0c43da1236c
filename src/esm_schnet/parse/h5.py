"""The structure HDF5 file (results/structures/<id>.h5): one parsed protein.

Root attrs: ``kind`` = "structure", ``schema_version``, ``id``, ``source``, ``format``,
``status`` (ok/skipped), ``error``, ``esm_schnet_version``, ``n_chains``, ``n_residues``, ``qc``
(JSON). Datasets: ``ca`` [L,3] float32, ``residue_number`` int32, ``insertion_code`` S1,
``chain_index`` int32; group ``chains`` with ``name``, ``segment``, ``sequence``, ``length``;
``descriptors`` [L, C] float32 (schema 2; ok proteins), per-residue structural descriptors in the
order of ``ca``, attr ``columns`` naming its columns (`descriptors.COLUMNS`, documented there).
Written atomically (esm_schnet.core.files.write_h5); read through esm_schnet.core.files.open_h5. Schema 1
files (no descriptors) are still read; `read_descriptors` says they must be parsed again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from esm_schnet import __version__
from esm_schnet.core.errors import CorruptFileError, EsmSchnetError
from esm_schnet.core.files import attr_str, open_h5, write_h5
from esm_schnet.parse.descriptors import COLUMNS as DESCRIPTOR_COLUMNS
from esm_schnet.parse.protein import Chain, Protein
from esm_schnet.parse.text import one_line

SCHEMA_VERSION = 2
READS = (1, 2)  # schema 1: before descriptors
KIND = "structure"


def write_structure_h5(protein: Protein, path: str | Path) -> None:
    """Write a Protein to `path` atomically (temporary file in the same folder, then rename)."""
    import h5py

    str_dt = h5py.string_dtype("utf-8")
    with write_h5(path) as h5:
        a = h5.attrs
        a["kind"] = KIND
        a["schema_version"] = SCHEMA_VERSION
        a["id"] = protein.id
        a["source"] = protein.source
        a["format"] = protein.format
        a["status"] = protein.status
        a["error"] = protein.error or ""
        a["esm_schnet_version"] = __version__
        a["n_chains"] = len(protein.chains)
        a["n_residues"] = protein.n_residues
        a["qc"] = json.dumps(protein.qc, sort_keys=True)
        h5.create_dataset("ca", data=protein.ca.astype(np.float32).reshape(-1, 3))
        h5.create_dataset("residue_number", data=protein.residue_number.astype(np.int32))
        h5.create_dataset(
            "insertion_code", data=np.char.encode(protein.insertion_code, "ascii").astype("S1")
        )
        h5.create_dataset("chain_index", data=protein.chain_index.astype(np.int32))
        g = h5.create_group("chains")
        g.create_dataset("name", data=[c.name for c in protein.chains], dtype=str_dt)
        g.create_dataset("segment", data=np.asarray([c.segment for c in protein.chains], np.int32))
        g.create_dataset("sequence", data=[c.sequence for c in protein.chains], dtype=str_dt)
        g.create_dataset(
            "length", data=np.asarray([c.n_residues for c in protein.chains], np.int32)
        )
        if protein.descriptors is not None:
            d = h5.create_dataset("descriptors", data=protein.descriptors.astype(np.float32))
            d.attrs["columns"] = list(DESCRIPTOR_COLUMNS)


def read_structure_h5(path: str | Path) -> Protein:
    """Read a structure file written by `write_structure_h5`.

    A missing file or an HDF5 file of another kind raises EsmSchnetError saying so; a
    truncated, garbled or corrupt structure file raises CorruptFileError naming it. A skipped
    protein comes back with zero chains and `error` set; `descriptors` is None where the file
    has none (skipped protein, schema 1).
    """
    path = Path(path)
    # results/structures/<id>.h5 is the workflow's own file: garbled means damaged
    h5 = open_h5(path, KIND, what="structure file", own_output=True)
    try:
        with h5:
            a = h5.attrs
            version = int(a["schema_version"])
            if version not in READS:
                raise CorruptFileError(
                    path, f"schema_version {version}, this version reads {READS}"
                )
            ca = np.asarray(h5["ca"][()], np.float32).reshape(-1, 3)
            resnum = np.asarray(h5["residue_number"][()], np.int32)
            icode = np.char.decode(np.asarray(h5["insertion_code"][()], "S1"), "ascii")
            cidx = np.asarray(h5["chain_index"][()], np.int32)
            g = h5["chains"]
            names = [attr_str(x) for x in g["name"][()]]
            segments = [int(x) for x in g["segment"][()]]
            seqs = [attr_str(x) for x in g["sequence"][()]]
            lengths = [int(x) for x in g["length"][()]]
            error = attr_str(a.get("error", "")) or None
            protein_id = attr_str(a["id"])
            source = attr_str(a["source"])
            fmt = attr_str(a["format"])
            qc = json.loads(attr_str(a.get("qc", "{}")))
            desc = _descriptors(h5, path) if "descriptors" in h5 else None
    except CorruptFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise CorruptFileError(path, one_line(exc)) from None
    n = len(ca)
    if desc is not None and len(desc) != n:
        raise CorruptFileError(path, f"descriptors has {len(desc)} rows for {n} residues")
    if not (len(resnum) == len(icode) == len(cidx) == n == sum(lengths)) or not (
        len(names) == len(segments) == len(seqs) == len(lengths)
    ):
        raise CorruptFileError(path, "inconsistent dataset lengths")
    chains = []
    start = 0
    for i, (name, seg, seq, ln) in enumerate(zip(names, segments, seqs, lengths)):
        sl = slice(start, start + ln)
        if len(seq) != ln or np.any(cidx[sl] != i):
            raise CorruptFileError(path, f"chain {i} does not match its residues")
        chains.append(Chain(name, seg, seq, ca[sl], resnum[sl], icode[sl]))
        start += ln
    return Protein(
        id=protein_id, chains=chains, source=source, format=fmt, qc=qc, error=error,
        descriptors=desc,
    )  # fmt: skip


def _descriptors(h5, path) -> np.ndarray:
    d = h5["descriptors"]
    columns = tuple(attr_str(x) for x in d.attrs.get("columns", ()))
    if columns != DESCRIPTOR_COLUMNS:
        raise CorruptFileError(
            path, f"descriptors columns {list(columns)}, this version writes "
            f"{list(DESCRIPTOR_COLUMNS)}: parse the structure again"
        )  # fmt: skip
    return np.asarray(d[()], np.float32).reshape(-1, len(DESCRIPTOR_COLUMNS))


def read_descriptors(path: str | Path, columns=None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Per-residue structural descriptors of a structure file: (array [L, k] float32, column
    names), all columns (`descriptors.COLUMNS`) or those named in `columns`, in that order.

    A skipped protein gives a [0, k] array; a file written before descriptors (schema 1) or an
    unknown column name raises EsmSchnetError saying what to do.
    """
    protein = read_structure_h5(path)
    names = DESCRIPTOR_COLUMNS if columns is None else tuple(columns)
    unknown = [c for c in names if c not in DESCRIPTOR_COLUMNS]
    if unknown:
        raise EsmSchnetError(
            f"unknown structural descriptor(s) {unknown}; known: {list(DESCRIPTOR_COLUMNS)}"
        )
    if protein.descriptors is None:
        if protein.error:
            return np.zeros((0, len(names)), np.float32), names
        raise EsmSchnetError(
            f"{path}: written before structural descriptors (schema 1); run its parse job "
            "again (e.g. snakemake --forcerun parse)"
        )
    idx = [DESCRIPTOR_COLUMNS.index(c) for c in names]
    return protein.descriptors[:, idx], names
