"""Lossless structure parsing: PDB / mmCIF (plain or gzipped) -> C-alpha chains + QC counts.

Biopython is the parser of record (`PDBParser` for PDB, `MMCIFParser` for mmCIF); this module
decides what to hand it and checks what comes back.

Rules (see DESIGN.md, "parse"):

- Format by content: gzip is recognised by its magic bytes (whatever the extension), mmCIF by a
  leading ``data_`` block or ``_atom_site.`` items, PDB by ATOM/HETATM records. The extension
  only breaks ties and names the expected format in error messages.
- First model only (MODEL 1 of an NMR ensemble; ``pdbx_PDB_model_num`` of the first atom).
- Residues: every residue of the first model that has a C-alpha atom (an atom named ``CA`` whose
  element is carbon, in a residue not named ``CA``: the calcium ion is not a residue) is kept,
  ATOM and HETATM alike (so MSE and other modified residues stay). Whatever has no C-alpha is
  counted in the QC row under its reason: ``skipped_no_ca`` (polymer residues), ``skipped_water``,
  ``skipped_ligand`` (hetero groups, ions).
- Chains: a *segment* is a run of ATOM/HETATM records with one chain letter (and segment id,
  columns 73-76), ended by a TER record, by a change of chain letter or segment id, or by a
  residue number (+ insertion code) that the run already holds (numbering restarted without
  TER). Each segment becomes its own `Chain` (``name`` = author chain id, or the segment id
  where the chain id is blank as in some MD files; ``segment`` = 1, 2, ... among the kept chains
  of that name), so
  files that reuse a chain letter after TER with numbering restarting lose nothing. Biopython
  would key such residues by (chain, number) and merge or drop them: every PDB segment is
  therefore handed to Biopython on its own. For mmCIF each ``label_asym_id`` (one entity
  instance) is a segment, named by its ``auth_asym_id``.
- ANISOU/SIGATM/SIGUIJ records are ignored (not handed to Biopython).
- Alternate locations: resolved once, by Biopython's rule for disordered atoms: the altloc with
  the highest occupancy is the selected child (ties: the first one in the file). For residues with
  several residue names at one position (microheterogeneity) the name whose C-alpha has the
  highest occupancy is kept (ties: first in the file).
- Sequence: the 20 standard one-letter codes; common modified residues map to their parent
  (`MODIFIED`, e.g. MSE -> M); any other residue with a C-alpha is kept as ``X``.
- Lossless check: the C-alpha records of the first model (first alternate location of each
  residue) are counted independently of Biopython (``ca_records`` in the QC row, equal to
  ``residues`` for a consistent file). A C-alpha record that did not become a residue (a file
  whose records disagree, e.g. one residue number with two names and no altloc, which Biopython
  would drop) raises InputError naming it rather than losing it silently.

Bad input (empty, binary, compressed with something other than gzip, non-structure text, no
C-alpha atoms, NaN or overflowed ``****`` coordinates, unreadable gzip) raises `InputError`
with a one-line reason; files are sniffed from their first bytes before being read whole.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import logging
import math
import os
import time
import warnings
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .errors import CorruptFileError, InputError

log = logging.getLogger("esm_schnet.structure")

SCHEMA_VERSION = 1
KIND = "structure"
#: Largest (decompressed) structure file read, in bytes. Larger input is refused, not read.
MAX_BYTES = 1 << 30
SNIFF_BYTES = 1 << 16

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

WATERS = {"HOH", "WAT", "DOD", "H2O", "D2O", "TIP", "TIP3", "SOL"}

QC_COLUMNS = (
    "id", "status", "reason", "format", "models", "chains", "chain_ids", "residues",
    "ca_records", "skipped_no_ca", "skipped_water", "skipped_ligand", "altlocs_resolved",
    "modified_mapped", "unknown_x", "modified_names", "unknown_names", "ligand_names",
    "source",
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# data model


@dataclass
class Chain:
    """One chain segment: author chain id + segment number, residues with a C-alpha."""

    name: str
    segment: int
    sequence: str
    ca: np.ndarray  # float32 [n, 3]
    residue_number: np.ndarray  # int32 [n]
    insertion_code: np.ndarray  # '<U1' [n], '' for none

    def __post_init__(self):
        self.ca = np.asarray(self.ca, dtype=np.float32).reshape(-1, 3)
        self.residue_number = np.asarray(self.residue_number, dtype=np.int32).reshape(-1)
        self.insertion_code = np.asarray(self.insertion_code, dtype="<U1").reshape(-1)
        n = len(self.sequence)
        if not (len(self.ca) == len(self.residue_number) == len(self.insertion_code) == n):
            raise ValueError(
                f"chain {self.name}/{self.segment}: sequence {n}, ca {len(self.ca)}, "
                f"residue_number {len(self.residue_number)}, "
                f"insertion_code {len(self.insertion_code)} differ"
            )

    @property
    def n_residues(self) -> int:
        return len(self.sequence)

    @property
    def label(self) -> str:
        """`A` for the first segment of chain A, `A.2` for its second, ..."""
        return self.name if self.segment == 1 else f"{self.name}.{self.segment}"


@dataclass
class Protein:
    id: str
    chains: list[Chain]
    source: str
    format: str
    qc: dict = field(default_factory=dict)
    error: str | None = None

    @property
    def status(self) -> str:
        return "skipped" if self.error else "ok"

    @property
    def n_residues(self) -> int:
        return sum(c.n_residues for c in self.chains)

    @property
    def ca(self) -> np.ndarray:
        if not self.chains:
            return np.zeros((0, 3), np.float32)
        return np.concatenate([c.ca for c in self.chains]).astype(np.float32, copy=False)

    @property
    def chain_index(self) -> np.ndarray:
        return np.concatenate(
            [np.full(c.n_residues, i, np.int32) for i, c in enumerate(self.chains)]
            or [np.zeros(0, np.int32)]
        )

    @property
    def residue_number(self) -> np.ndarray:
        return np.concatenate(
            [c.residue_number for c in self.chains] or [np.zeros(0, np.int32)]
        ).astype(np.int32, copy=False)

    @property
    def insertion_code(self) -> np.ndarray:
        return np.concatenate([c.insertion_code for c in self.chains] or [np.zeros(0, "<U1")])

    @property
    def sequences(self) -> list[str]:
        return [c.sequence for c in self.chains]


# --------------------------------------------------------------------------------------------
# reading and sniffing


def _is_binary(head: bytes) -> bool:
    if not head:
        return False
    if b"\x00" in head:
        return True
    text_bytes = set(range(32, 127)) | {9, 10, 12, 13}
    nontext = sum(1 for b in head if b not in text_bytes)
    return nontext / len(head) > 0.10


_OTHER_COMPRESSION = {
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"PK\x03\x04": "zip",
    b"\x28\xb5\x2f\xfd": "zstd",
}


def read_structure_text(path: str | Path, sample_id: str) -> tuple[str, bool]:
    """Return (text, was_gzipped). Sniffs the first bytes; refuses binary and oversized input."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except FileNotFoundError:
        raise InputError(sample_id, f"structure file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(sample_id, f"structure path is a directory: {path}") from None
    except OSError as exc:
        raise InputError(sample_id, f"cannot read {path}: {exc.strerror or exc}") from None
    if not head:
        raise InputError(sample_id, f"empty file: {path.name}")
    gz = head[:2] == b"\x1f\x8b"
    if gz:
        data = _gunzip(path, sample_id)
        if not data.strip():
            raise InputError(sample_id, f"empty file after decompression: {path.name}")
        head = data[:SNIFF_BYTES]
    else:
        for magic, name in _OTHER_COMPRESSION.items():
            if head.startswith(magic):
                raise InputError(
                    sample_id, f"{path.name} is {name}-compressed; only gzip (.gz) is supported"
                )
        if path.stat().st_size > MAX_BYTES:
            raise InputError(sample_id, f"{path.name} is larger than {MAX_BYTES >> 20} MiB")
        data = None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            sample_id, f"{path.name} is UTF-16 text; save it as plain ASCII/UTF-8 text"
        )
    if _is_binary(head):
        raise InputError(sample_id, f"binary file, not PDB or mmCIF text: {path.name}")
    if data is None:
        with open(path, "rb") as fh:
            data = fh.read()
    if data.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark: not part of the first record
        data = data[3:]
    if not data.strip():
        raise InputError(sample_id, f"empty file (only whitespace): {path.name}")
    # latin-1 maps every byte to one character, so PDB columns never shift.
    return data.decode("latin-1"), gz


def _gunzip(path: Path, sample_id: str) -> bytes:
    out = bytearray()
    sniffed = False
    try:
        with gzip.open(path, "rb") as fh:
            while True:
                chunk = fh.read(1 << 20)
                if not chunk:
                    break
                out += chunk
                if len(out) > MAX_BYTES:
                    raise InputError(
                        sample_id,
                        f"{path.name} decompresses to more than {MAX_BYTES >> 20} MiB",
                    )
                if not sniffed:
                    sniffed = True
                    if _is_binary(bytes(out[:SNIFF_BYTES])):
                        raise InputError(
                            sample_id, f"binary content inside gzip, not PDB or mmCIF: {path.name}"
                        )
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(sample_id, f"unreadable gzip file {path.name}: {exc}") from None
    return bytes(out)


def sniff_format(text: str, path: str | Path) -> str | None:
    """'pdb', 'mmcif' or None (neither) from the content; the extension breaks ties."""
    name = str(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    hint = "mmcif" if name.endswith((".cif", ".mmcif")) else (
        "pdb" if name.endswith((".pdb", ".ent")) else None
    )
    first = ""
    for line in io.StringIO(text[:SNIFF_BYTES]):
        s = line.strip()
        if s and not s.startswith("#"):
            first = s
            break
    is_cif = first.startswith("data_") or "\n_atom_site." in text or text.startswith("_atom_site.")
    is_pdb = False
    for line in io.StringIO(text):
        if line.startswith(("ATOM  ", "HETATM")) or line.rstrip("\r\n") in ("ATOM", "HETATM"):
            is_pdb = True
            break
    if is_cif and is_pdb:
        return hint or "mmcif"
    if is_cif:
        return "mmcif"
    if is_pdb:
        return "pdb"
    return None


# --------------------------------------------------------------------------------------------
# residue classification


def _is_calpha(atom, resname: str) -> bool:
    """Carbon atom named CA; a residue named CA is the calcium ion, never a residue."""
    if resname.strip() == "CA":
        return False
    element = (getattr(atom, "element", "") or "").strip().upper()
    return element in ("C", "")  # Biopython guesses the element from the name when absent


def _select_altloc_residue(residue):
    """For a Biopython DisorderedResidue (several names at one position): the child whose CA has
    the highest occupancy (first in file on ties). Other residues are returned unchanged."""
    if residue.is_disordered() != 2:
        return residue
    best, best_occ = None, -math.inf
    for child in residue.disordered_get_list():  # insertion (file) order
        ca = child["CA"] if "CA" in child else None
        occ = ca.get_occupancy() if ca is not None else None
        occ = -1.0 if occ is None else float(occ)
        if ca is not None and occ > best_occ:
            best, best_occ = child, occ
    return best if best is not None else residue.selected_child


class _Collector:
    """Accumulates chains and QC counts while walking Biopython chains."""

    def __init__(self, sample_id: str):
        self.sample_id = sample_id
        self.chains: list[Chain] = []
        self.counts = Counter()
        self.modified = Counter()
        self.unknown = Counter()
        self.ligands = Counter()
        self.no_ca = Counter()
        self._segments = Counter()

    def add_chain(self, bio_chain, name: str) -> set[tuple[int, str]]:
        """Add the residues of one Biopython chain (one segment) that have a C-alpha; count the
        rest. Returns the kept (residue number, insertion code) keys."""
        cands = []  # (residue, CA atom, resname)
        for residue in bio_chain:
            residue = _select_altloc_residue(residue)
            resname = residue.get_resname().strip().upper()
            hetflag = residue.id[0]
            atom = residue["CA"] if "CA" in residue else None
            if atom is None or not _is_calpha(atom, resname):
                if hetflag == "W" or resname in WATERS:
                    self.counts["skipped_water"] += 1
                elif hetflag == " " or resname in STANDARD or resname in MODIFIED:
                    self.counts["skipped_no_ca"] += 1
                    self.no_ca[resname] += 1
                else:
                    self.counts["skipped_ligand"] += 1
                    self.ligands[resname] += 1
                continue
            if cands and _alternatives(cands[-1], residue, atom):
                # one position written twice with alternate locations as an ATOM and a HETATM
                # residue (e.g. CYS altloc A / CSO altloc B): Biopython keys them apart; keep
                # the one whose C-alpha has the higher occupancy (first on ties)
                if _occupancy(atom) > _occupancy(cands[-1][1]):
                    cands[-1] = (residue, atom, resname)
                continue
            cands.append((residue, atom, resname))
        seq, ca, num, icode = [], [], [], []
        for residue, atom, resname in cands:
            if residue.is_disordered() or atom.is_disordered():
                self.counts["altlocs_resolved"] += 1
            if resname in STANDARD:
                letter = STANDARD[resname]
            elif resname in MODIFIED:
                letter = MODIFIED[resname]
                self.counts["modified_mapped"] += 1
                self.modified[resname] += 1
            else:
                letter = "X"
                self.counts["unknown_x"] += 1
                self.unknown[resname] += 1
            coord = atom.get_coord()
            if not np.all(np.isfinite(coord)):
                raise InputError(
                    self.sample_id,
                    f"non-finite (NaN) C-alpha coordinates in residue {resname} "
                    f"{name}{residue.id[1]}{residue.id[2].strip()}",
                )
            ic = residue.id[2].strip()
            if ic and not (ic.isascii() and ic.isalnum()):
                raise InputError(
                    self.sample_id,
                    f"invalid insertion code {ic!r} in residue {resname} {name}{residue.id[1]}",
                )
            seq.append(letter)
            ca.append(coord)
            num.append(int(residue.id[1]))
            icode.append(ic)
        if not seq:
            return set()
        self._segments[name] += 1
        self.chains.append(
            Chain(
                name=name,
                segment=self._segments[name],
                sequence="".join(seq),
                ca=np.asarray(ca, np.float32),
                residue_number=np.asarray(num, np.int32),
                insertion_code=np.asarray(icode, "<U1"),
            )
        )
        return set(zip(num, icode))


def _occupancy(atom) -> float:
    occ = atom.get_occupancy()
    return -1.0 if occ is None else float(occ)


def _alternatives(prev, residue, atom) -> bool:
    """True when `residue` is an alternate location of the previous kept residue: same number
    and insertion code, both C-alphas with (different) non-blank altlocs."""
    p_res, p_atom, _ = prev
    a, b = p_atom.get_altloc(), atom.get_altloc()
    return p_res.id[1:] == residue.id[1:] and a != " " and b != " " and a != b


def _check_lossless(sample_id, raw: dict, kept: set, where: str) -> None:
    """Every C-alpha record counted in the text must be a kept residue."""
    lost = [k for k in raw if k not in kept]
    if lost:
        num, ic = lost[0]
        raise InputError(
            sample_id,
            f"{len(lost)} residue(s) with a C-alpha atom could not be read consistently "
            f"(first: residue {num}{ic} {where}, {raw[lost[0]]}); the file's residue records "
            "disagree (e.g. one residue number with two residue names and no altloc)",
        )


def _names(counter: Counter) -> str:
    return ",".join(f"{k}:{v}" for k, v in sorted(counter.items()))


# --------------------------------------------------------------------------------------------
# PDB


def _pdb_coord_check(line: str, lineno: int, sample_id: str) -> None:
    fields = (line[30:38], line[38:46], line[46:54])
    for f in fields:
        s = f.strip()
        try:
            v = float(s)
        except ValueError:
            if "*" in s:
                why = f"overflowed coordinate {s!r} (value too large for the PDB format)"
            elif not s:
                why = "missing coordinate"
            else:
                why = f"coordinate {s!r} is not a number"
            raise InputError(sample_id, f"line {lineno}: {why}") from None
        if not math.isfinite(v):
            raise InputError(sample_id, f"line {lineno}: NaN or infinite coordinate {s!r}")


def _pdb_segments(text: str, sample_id: str):
    """Split the first model's atom records into segments (see module doc).

    Returns (segments, models, ca_records): segments is a list of (chain id, atom record lines,
    {(residue number, insertion code): "line N"} of the segment's C-alpha records); ca_records
    counts the first model's C-alpha records (first alternate location of each residue).
    """
    segments: list[tuple[str, list[str], dict]] = []
    current: list[str] | None = None
    chain = None
    seen: set[tuple[str, str]] = set()
    last_key = None
    models = 0
    in_first = True
    raw: dict[tuple[int, str], str] = {}  # C-alpha records of the current segment
    ca_first_alt: dict[tuple, str] = {}
    ca_records = 0

    def close():
        nonlocal current, chain, last_key, raw
        if current:
            segments.append((chain, current, raw))
        current, chain, last_key, raw = None, None, None, {}
        seen.clear()

    for lineno, line in enumerate(text.splitlines(), start=1):
        rec = line[:6]
        if rec.startswith("MODEL"):
            models += 1
            if models > 1:
                in_first = False
            continue
        if rec.startswith("ENDMDL"):
            close()
            in_first = False
            continue
        if not in_first:
            continue
        if rec.startswith("TER"):
            close()
            continue
        if rec in ("ATOM  ", "HETATM"):
            if len(line) < 54:
                raise InputError(
                    sample_id, f"line {lineno}: truncated {rec.strip()} record (no coordinates)"
                )
            _pdb_coord_check(line, lineno, sample_id)
            if line[16] != " ":
                try:
                    float(line[54:60])
                except ValueError:
                    raise InputError(
                        sample_id,
                        f"line {lineno}: alternate location {line[16]!r} without a numeric "
                        "occupancy (cannot choose between alternate locations)",
                    ) from None
            cid = (line[21], line[72:76].strip())  # chain id + segment id
            key = (line[22:26], line[26])  # residue number + insertion code
            if cid != chain:
                close()
                chain, current = cid, []
            elif key != last_key and key in seen:
                close()  # numbering restarted without TER: a new segment
                chain, current = cid, []
            if key != last_key:
                seen.add(key)
                last_key = key
            current.append(line)
            # independent count of C-alpha records (first altloc of each residue)
            resname = line[17:20].strip()
            if line[12:16].strip() == "CA" and resname != "CA":
                element = line[76:78].strip().upper()
                if element == "C" or (not element and line[12:14] == " C"):
                    rkey = (len(segments), cid, key)
                    alt = line[16]
                    if rkey not in ca_first_alt:
                        ca_first_alt[rkey] = alt
                        ca_records += 1
                        try:
                            raw[(int(key[0]), key[1].strip())] = f"line {lineno}"
                        except ValueError:
                            pass  # Biopython refuses the residue number with a clear error
            continue
        # ANISOU/SIGATM/SIGUIJ are not handed to Biopython: nothing here uses them, and a
        # malformed one must not cost a protein.
    close()
    return segments, max(models, 1), ca_records


def _parse_pdb(text: str, sample_id: str, col: _Collector) -> tuple[int, int]:
    from Bio.PDB import PDBParser

    segments, models, ca_records = _pdb_segments(text, sample_id)
    if not segments:
        raise InputError(sample_id, "no ATOM/HETATM records in the first model")
    parser = PDBParser(QUIET=True, PERMISSIVE=True)
    for i, ((chain_id, segid), lines, raw) in enumerate(segments):
        # the author chain id names the chain; files with blank chain ids (MD tools) use segid
        name = chain_id.strip() or segid
        handle = io.StringIO("\n".join(lines) + "\nEND\n")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                structure = parser.get_structure(f"{sample_id}-{i}", handle)
        except InputError:
            raise
        except Exception as exc:  # Biopython's exceptions carry the line and reason
            raise InputError(sample_id, f"PDB parse error: {_one_line(exc)}") from None
        model_list = list(structure)
        if not model_list:
            continue
        kept: set = set()
        for bio_chain in model_list[0]:
            kept |= col.add_chain(bio_chain, name)
        _check_lossless(sample_id, raw, kept, f"of chain {name or '(blank)'}")
    return models, ca_records


# --------------------------------------------------------------------------------------------
# mmCIF


def _parse_mmcif(text: str, sample_id: str, col: _Collector) -> tuple[int, int]:
    from Bio.PDB import MMCIFParser

    parser = MMCIFParser(QUIET=True, auth_chains=False, auth_residues=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            structure = parser.get_structure(sample_id, io.StringIO(text))
    except KeyError as exc:
        raise InputError(
            sample_id, f"mmCIF atom_site table lacks the item {exc.args[0]!r} (or has no atoms)"
        ) from None
    except ValueError as exc:
        msg = _one_line(exc)
        if "float" in msg:
            raise InputError(sample_id, f"mmCIF coordinates are not numbers ({msg})") from None
        raise InputError(sample_id, f"mmCIF parse error: {msg}") from None
    except Exception as exc:
        raise InputError(sample_id, f"mmCIF parse error: {_one_line(exc)}") from None
    d = getattr(parser, "_mmcif_dict", {}) or {}
    label = d.get("_atom_site.label_asym_id", [])
    auth = d.get("_atom_site.auth_asym_id", label)
    asym_to_auth: dict[str, str] = {}
    for la, au in zip(label, auth):
        asym_to_auth.setdefault(la, au if au not in (".", "?") else la)
    model_nums = d.get("_atom_site.pdbx_PDB_model_num")
    models = len(dict.fromkeys(model_nums)) if model_nums else 1
    model_list = list(structure)
    if not model_list:
        raise InputError(sample_id, "mmCIF has no atoms (empty atom_site table)")
    model = model_list[0]
    for atom in model.get_atoms():
        if not np.all(np.isfinite(atom.get_coord())):
            raise InputError(
                sample_id,
                f"NaN or infinite coordinates (atom {atom.get_id()} of "
                f"{atom.get_parent().get_resname()} {atom.get_parent().id[1]})",
            )
    kept_by_asym = {}
    for bio_chain in model:
        kept_by_asym[bio_chain.id] = col.add_chain(
            bio_chain, asym_to_auth.get(bio_chain.id, bio_chain.id)
        )
    # independent count of C-alpha records of the first model (first altloc per residue)
    ca_records = 0
    raw_by_asym: dict[str, dict] = {}
    try:
        n = len(d["_atom_site.label_atom_id"])
        first_model = model_nums[0] if model_nums else None
        seq_ids = d.get("_atom_site.auth_seq_id", d.get("_atom_site.label_seq_id"))
        icodes = d.get("_atom_site.pdbx_PDB_ins_code", ["?"] * n)
        elems = d.get("_atom_site.type_symbol", [""] * n)
        seen = set()
        for i in range(n):
            if model_nums and model_nums[i] != first_model:
                continue
            if d["_atom_site.label_atom_id"][i] != "CA":
                continue
            if d["_atom_site.label_comp_id"][i] == "CA" or elems[i].upper() not in ("C", ""):
                continue
            key = (label[i], seq_ids[i], icodes[i])
            if key not in seen:
                seen.add(key)
                ca_records += 1
                ic = "" if icodes[i] in ("?", ".") else icodes[i]
                try:
                    raw_by_asym.setdefault(label[i], {})[(int(seq_ids[i]), ic)] = (
                        f"atom_site row {i + 1}"
                    )
                except ValueError:
                    pass
    except (KeyError, IndexError, TypeError):
        ca_records = -1
    for asym, raw in raw_by_asym.items():
        where = f"of chain {asym_to_auth.get(asym, asym)} (label_asym_id {asym})"
        _check_lossless(sample_id, raw, kept_by_asym.get(asym, set()), where)
    return models, ca_records


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


# --------------------------------------------------------------------------------------------
# public API


def parse_structure(path: str | Path, sample_id: str) -> Protein:
    """Parse the first model of a PDB/mmCIF file (plain or gzipped) into C-alpha chains.

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
    col = _Collector(sample_id)
    if fmt == "pdb":
        models, ca_records = _parse_pdb(text, sample_id, col)
    else:
        models, ca_records = _parse_mmcif(text, sample_id, col)
    if not col.chains:
        what = []
        for key, label in (
            ("skipped_no_ca", "residues without C-alpha"),
            ("skipped_ligand", "ligand/ion groups"),
            ("skipped_water", "waters"),
        ):
            if col.counts[key]:
                what.append(f"{col.counts[key]} {label}")
        detail = f" (only {', '.join(what)})" if what else ""
        raise InputError(sample_id, f"no residue with a C-alpha atom in the first model{detail}")
    n_res = sum(c.n_residues for c in col.chains)
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
        "modified_names": _names(col.modified),
        "unknown_names": _names(col.unknown),
        "ligand_names": _names(col.ligands),
    }
    if ca_records >= 0 and ca_records != n_res:
        log.warning(
            "%s: %d residues kept but %d C-alpha records counted in the file",
            sample_id, n_res, ca_records,
        )
    if col.no_ca:
        log.info("%s: residues without C-alpha: %s", sample_id, _names(col.no_ca))
    log.info(
        "%s: %s, %d chains (%s), %d residues in %.2fs",
        sample_id, qc["format"], len(col.chains),
        " ".join(f"{c.label}:{c.n_residues}" for c in col.chains), n_res,
        time.perf_counter() - t0,
    )  # fmt: skip
    return Protein(
        id=sample_id, chains=col.chains, source=str(path), format=qc["format"], qc=qc, error=None
    )


# --------------------------------------------------------------------------------------------
# HDF5


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_structure_h5(protein: Protein, path: str | Path) -> None:
    """Write a Protein to `path` atomically (temporary file in the same folder, then rename)."""
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(path)
    str_dt = h5py.string_dtype("utf-8")
    try:
        with h5py.File(tmp, "w") as h5:
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
            g.create_dataset(
                "segment", data=np.asarray([c.segment for c in protein.chains], np.int32)
            )
            g.create_dataset("sequence", data=[c.sequence for c in protein.chains], dtype=str_dt)
            g.create_dataset(
                "length", data=np.asarray([c.n_residues for c in protein.chains], np.int32)
            )
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _attr_str(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def read_structure_h5(path: str | Path) -> Protein:
    """Read a structure file written by `write_structure_h5`.

    A truncated, corrupt or foreign file raises CorruptFileError naming it. A skipped protein
    comes back with zero chains and `error` set.
    """
    import h5py

    path = Path(path)
    try:
        h5 = h5py.File(path, "r")
    except FileNotFoundError:
        raise CorruptFileError(path, "file not found") from None
    except OSError as exc:
        raise CorruptFileError(path, _one_line(exc)) from None
    try:
        with h5:
            a = h5.attrs
            kind = _attr_str(a.get("kind", ""))
            if kind != KIND:
                raise CorruptFileError(path, f"not a structure file (kind={kind!r})")
            version = int(a["schema_version"])
            if version != SCHEMA_VERSION:
                raise CorruptFileError(
                    path, f"schema_version {version}, this version reads {SCHEMA_VERSION}"
                )
            ca = np.asarray(h5["ca"][()], np.float32).reshape(-1, 3)
            resnum = np.asarray(h5["residue_number"][()], np.int32)
            icode = np.char.decode(np.asarray(h5["insertion_code"][()], "S1"), "ascii")
            cidx = np.asarray(h5["chain_index"][()], np.int32)
            g = h5["chains"]
            names = [_attr_str(x) for x in g["name"][()]]
            segments = [int(x) for x in g["segment"][()]]
            seqs = [_attr_str(x) for x in g["sequence"][()]]
            lengths = [int(x) for x in g["length"][()]]
            error = _attr_str(a.get("error", "")) or None
            protein_id = _attr_str(a["id"])
            source = _attr_str(a["source"])
            fmt = _attr_str(a["format"])
            qc = json.loads(_attr_str(a.get("qc", "{}")))
    except CorruptFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise CorruptFileError(path, _one_line(exc)) from None
    n = len(ca)
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
    return Protein(id=protein_id, chains=chains, source=source, format=fmt, qc=qc, error=error)


# --------------------------------------------------------------------------------------------
# QC rows and the parse job


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


def _write_tsv(path: Path, columns, rows) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(path)
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(columns), delimiter="\t", lineterminator="\n")
            w.writeheader()
            for r in rows:
                w.writerow({c: _clean(r.get(c, "")) for c in columns})
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_qc_row(protein: Protein, path: str | Path) -> None:
    """QC table of one protein: header + one row (columns QC_COLUMNS)."""
    _write_tsv(Path(path), QC_COLUMNS, [qc_row(protein)])


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

    on_error='fail' re-raises InputError (nothing written); 'skip' writes a skipped .h5
    (status='skipped', error=<reason>, zero chains) and a QC row with the reason.
    """
    if on_error not in ("fail", "skip"):
        raise ValueError(f"on_error must be 'fail' or 'skip', not {on_error!r}")
    from .log import job_log

    with job_log(log) as logger:
        t0 = time.perf_counter()
        try:
            protein = parse_structure(structure, sample_id)
        except InputError as exc:
            if on_error == "fail":
                logger.error("%s", exc)
                raise
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


def collect_qc(
    paths, out_all: str | Path, out_skipped: str | Path, log: str | Path | None = None
) -> tuple[int, int]:
    """Gather per-protein QC rows into structures.tsv (all) and skipped.tsv (id, reason).

    Returns (n_ok, n_skipped). A QC file with another header raises CorruptFileError.
    """
    from .log import job_log

    rows = []
    with job_log(log) as logger:
        for p in paths:
            p = Path(p)
            try:
                with open(p, newline="", encoding="utf-8") as fh:
                    reader = csv.DictReader(fh, delimiter="\t")
                    if tuple(reader.fieldnames or ()) != QC_COLUMNS:
                        raise CorruptFileError(p, "unexpected QC columns")
                    got = list(reader)
            except (OSError, UnicodeDecodeError, csv.Error) as exc:
                raise CorruptFileError(p, _one_line(exc)) from None
            if len(got) != 1:
                raise CorruptFileError(p, f"{len(got)} rows, expected 1")
            rows.append(got[0])
        skipped = [r for r in rows if r["status"] == "skipped"]
        _write_tsv(Path(out_all), QC_COLUMNS, rows)
        _write_tsv(Path(out_skipped), ("id", "reason"), skipped)
        n_res = sum(int(r["residues"] or 0) for r in rows)
        logger.info(
            "QC: %d structures, %d ok, %d skipped, %d residues",
            len(rows), len(rows) - len(skipped), len(skipped), n_res,
        )  # fmt: skip
        for r in skipped:
            logger.warning("skipped %s: %s", r["id"], r["reason"])
    return len(rows) - len(skipped), len(skipped)


# --------------------------------------------------------------------------------------------
# CLI


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


__all__ = [
    "Chain", "Protein", "parse_structure", "write_structure_h5", "read_structure_h5",
    "parse_job", "collect_qc", "qc_row", "write_qc_row", "QC_COLUMNS", "MODIFIED", "STANDARD",
]  # fmt: skip

