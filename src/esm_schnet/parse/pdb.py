"""PDB: splitting the first model into segments and handing each to Biopython's PDBParser.

A *segment* is a run of ATOM/HETATM records with one chain letter (and segment id, columns
73-76), ended by a TER record, by a change of chain letter or segment id, or by a residue number
(+ insertion code) that the run already holds (numbering restarted without TER). A segment id
that changes inside one residue (same chain letter, number, insertion code and name as the
record before, as in Biopython's test file ``a_structure.pdb``) does not split the residue.
Each segment becomes its own `Chain` (``name`` = author chain id, or the segment id where the
chain id is blank as in MD files; ``segment`` = 1, 2, ... among the kept chains of that name), so
files that reuse a chain letter after TER with numbering restarting lose nothing. Biopython would key such
residues by (chain, number) and merge or drop them: every segment is therefore parsed on its own.

First model only (MODEL 1 of an NMR ensemble). ANISOU/SIGATM/SIGUIJ records are ignored (not
handed to Biopython). Residue names of four characters (columns 18-21, as GROMACS, AMBER and
MDAnalysis write ``NALA`` or ``HISE``) are read whole; Biopython reads three.

Lossless check: the C-alpha records of the first model (first alternate location of each
residue; the C-alpha rule of `residues`, with HETATM residues of unknown name counted where
their N and C atoms, read from the text, bond them into the segment) are counted from the text
independently of Biopython.
"""

from __future__ import annotations

import io
import math
import warnings

from esm_schnet.core.errors import InputError
from esm_schnet.parse import residues as rules
from esm_schnet.parse.chains import Collector, check_lossless
from esm_schnet.parse.text import one_line

def coord_check(line: str, lineno: int, sample_id: str) -> None:
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


def segments_of(text: str, sample_id: str):
    """Split the first model's atom records into segments (see module doc).

    Returns (segments, models, ca_records): segments is a list of (chain id, atom record lines,
    {(residue number, insertion code): "line N"} of the segment's C-alpha records,
    {(residue number, insertion code): 4-letter residue name}); ca_records counts the first
    model's C-alpha records (first alternate location of each residue).
    """
    segments: list[tuple[str, list[str], dict, dict]] = []
    current: list[str] | None = None
    chain = None  # (chain id, segid) that names the segment
    compare = None  # (chain id, segid) of the last record
    seen: set[tuple[str, str]] = set()
    last_key = last_name = None
    models = 0
    in_first = True
    raw: dict[tuple[int, str], str] = {}  # C-alpha records of the current segment
    full: dict[tuple[int, str], str] = {}  # 4-letter residue names of the current segment
    backbone: dict[tuple, list] = {}  # residue key -> [N xyz, C xyz] (file order)
    pending: dict[tuple, str] = {}  # HETATM C-alphas of unknown names -> "line N"
    ca_first_alt: dict[tuple, str] = {}
    ca_records = 0

    def close():
        nonlocal current, chain, compare, last_key, last_name, raw, full, backbone, pending
        nonlocal ca_records
        order = list(backbone)
        for key, where in pending.items():
            if rules.bonded_into_chain([backbone[k] for k in order], order.index(key)):
                ca_records += 1
                try:
                    raw[(int(key[0]), key[1].strip())] = where
                except ValueError:
                    pass
        if current:
            segments.append((chain, current, raw, full))
        current, chain, compare, last_key, last_name = None, None, None, None, None
        raw, full, backbone, pending = {}, {}, {}, {}
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
            coord_check(line, lineno, sample_id)
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
            resname = line[17:21].strip().upper() if line[20] != " " else line[17:20].strip()
            if cid != compare:
                if current and key == last_key and resname == last_name and cid[0] == chain[0]:
                    compare = cid  # segid changed inside one residue: the residue goes on
                else:
                    close()
                    chain, compare, current = cid, cid, []
            elif key != last_key and key in seen:
                close()  # numbering restarted without TER: a new segment
                chain, compare, current = cid, cid, []
            if key != last_key:
                seen.add(key)
                last_key = key
            last_name = resname
            current.append(line)
            # independent count of C-alpha records (first altloc of each residue)
            if line[20] != " ":
                try:
                    full[(int(key[0]), key[1].strip())] = resname
                except ValueError:
                    pass
            bb = backbone.setdefault(key, [None, None])
            atom_name = line[12:16].strip().upper()
            if atom_name in ("N", "C") and bb[atom_name == "C"] is None:
                bb[atom_name == "C"] = (float(line[30:38]), float(line[38:46]), float(line[46:54]))
            if rules.is_calpha_name(line[12:16]):
                rkey = (len(segments), key)
                if rkey not in ca_first_alt:
                    ca_first_alt[rkey] = line[16]
                    if rules.is_amino_acid(resname, hetatm=rec == "HETATM"):
                        ca_records += 1
                        try:
                            raw[(int(key[0]), key[1].strip())] = f"line {lineno}"
                        except ValueError:
                            pass  # Biopython refuses the residue number with a clear error
                    elif resname not in rules.IONS and not rules.is_water(resname):
                        pending[key] = f"line {lineno}"  # counted if bonded into the chain
            continue
        # ANISOU/SIGATM/SIGUIJ are not handed to Biopython: nothing here uses them, and a
        # malformed one must not cost a protein.
    close()
    return segments, max(models, 1), ca_records


def parse_pdb(text: str, sample_id: str, col: Collector) -> tuple[int, int]:
    from Bio.PDB import PDBParser

    segments, models, ca_records = segments_of(text, sample_id)
    if not segments:
        raise InputError(sample_id, "no ATOM/HETATM records in the first model")
    parser = PDBParser(QUIET=True, PERMISSIVE=True)
    for i, ((chain_id, segid), lines, raw, full) in enumerate(segments):
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
            raise InputError(sample_id, f"PDB parse error: {one_line(exc)}") from None
        model_list = list(structure)
        if not model_list:
            continue
        kept: set = set()
        for bio_chain in model_list[0]:
            kept |= col.add_chain(bio_chain, name, full)
        check_lossless(sample_id, raw, kept, f"of chain {name or '(blank)'}")
    return models, ca_records


