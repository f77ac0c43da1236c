"""mmCIF: the ``atom_site`` table, normalised for any writer, built by Biopython's MMCIFParser.

Segments: a run of atom_site rows with one ``auth_asym_id`` (the chain name), ended by a change
of chain or model or by a residue number (+ insertion code) that the run already holds (a second
instance reusing the chain letter, numbering restarted). This is the PDB rule, and it is what
``label_asym_id`` means in archive files (one entity instance each) without depending on how a
writer assigns label ids: Biopython's MMCIFIO, for one, gives each HETATM group inside a chain
(an MSE) a label_asym_id of its own. Writers differ in what they fill in, so the ids are
normalised per row first:

- ``label_asym_id`` missing, ``.`` or ``?`` -> the row's ``auth_asym_id`` is the segment (and
  names it); ``auth_asym_id`` missing, ``.`` or ``?`` -> the ``label_asym_id`` names it.
- Residue numbers: ``auth_seq_id``, else ``label_seq_id``; where both are ``.``/``?`` (e.g.
  waters and ligands of some writers) each residue of the segment gets the next number after
  the segment's largest.
- Optional items a writer left out are filled with mmCIF's "unknown": ``id`` (row number),
  ``label_alt_id`` (``.``), ``pdbx_PDB_ins_code`` (``?``), ``occupancy`` (1),
  ``B_iso_or_equiv`` (0), ``pdbx_PDB_model_num`` (1), ``group_PDB`` (ATOM for amino-acid names, else HETATM).

First model only (``pdbx_PDB_model_num`` of the first atom).
"""

from __future__ import annotations

import io
import warnings

import numpy as np

from esm_schnet.core.errors import InputError
from esm_schnet.parse import residues as rules
from esm_schnet.parse.chains import Collector, check_lossless
from esm_schnet.parse.text import one_line

UNSET = (".", "?")
A = "_atom_site."


def normalise_atom_site(d: dict) -> None:
    """Fill and repair the atom_site columns in place (see module doc)."""
    n = len(d.get(A + "label_atom_id") or d.get(A + "auth_atom_id") or [])
    if not n:
        return
    if A + "label_atom_id" not in d:
        d[A + "label_atom_id"] = list(d[A + "auth_atom_id"])
    if A + "label_comp_id" not in d and A + "auth_comp_id" in d:
        d[A + "label_comp_id"] = list(d[A + "auth_comp_id"])
    label = list(d.get(A + "label_asym_id") or ["."] * n)
    auth = list(d.get(A + "auth_asym_id") or ["."] * n)
    for i in range(n):
        if label[i] in UNSET:
            label[i] = auth[i]
        if auth[i] in UNSET:
            auth[i] = label[i]
    d[A + "label_asym_id"], d[A + "auth_asym_id"] = label, auth
    seq = list(d.get(A + "auth_seq_id") or ["."] * n)
    lseq = d.get(A + "label_seq_id") or ["."] * n
    top: dict[str, int] = {}
    for i in range(n):
        if seq[i] in UNSET:
            seq[i] = lseq[i]
        try:
            top[label[i]] = max(top.get(label[i], 0), int(seq[i]))
        except ValueError:
            pass
    prev, seen = None, set()
    for i in range(n):
        if seq[i] not in UNSET:
            continue
        group = (label[i], d[A + "label_comp_id"][i] if A + "label_comp_id" in d else "")
        if group != prev or d[A + "label_atom_id"][i] in seen:
            top[label[i]] = top.get(label[i], 0) + 1
            prev, seen = group, set()
        seen.add(d[A + "label_atom_id"][i])
        seq[i] = str(top[label[i]])
    d[A + "auth_seq_id"] = seq
    defaults = {
        "id": [str(i + 1) for i in range(n)],
        "label_alt_id": ["."] * n,
        "pdbx_PDB_ins_code": ["?"] * n,
        "occupancy": ["1.0"] * n,
        "B_iso_or_equiv": ["0.0"] * n,
        "pdbx_PDB_model_num": ["1"] * n,  # Biopython needs it to build a single model
    }
    for key, value in defaults.items():
        d.setdefault(A + key, value)
    if A + "group_PDB" not in d and A + "label_comp_id" in d:
        d[A + "group_PDB"] = [
            "ATOM" if rules.is_known_amino_acid(c.upper()) else "HETATM"
            for c in d[A + "label_comp_id"]
        ]


def assign_segments(d: dict) -> dict[str, tuple[str, str]]:
    """Replace label_asym_id by a segment number per row (see module doc); returns
    segment -> (auth_asym_id, label_asym_id of its first row)."""
    label, auth = d[A + "label_asym_id"], d[A + "auth_asym_id"]
    seq, icode = d[A + "auth_seq_id"], d[A + "pdbx_PDB_ins_code"]
    model = d[A + "pdbx_PDB_model_num"]
    segments, info = [], {}
    current, seen, last, k = None, set(), None, 0
    for i in range(len(label)):
        key = (seq[i], icode[i])
        if (model[i], auth[i]) != current or (key != last and key in seen):
            k += 1
            current, seen, last = (model[i], auth[i]), set(), None
            info[str(k)] = (auth[i], label[i])
        if key != last:
            seen.add(key)
            last = key
        segments.append(str(k))
    d[A + "label_asym_id"] = segments
    return info


def _build(sample_id: str, text: str):
    """Biopython structure + the (normalised) mmCIF dict it was built from."""
    from Bio.PDB import MMCIFParser
    from Bio.PDB.MMCIF2Dict import MMCIF2Dict

    parser = MMCIFParser(QUIET=True, auth_chains=False, auth_residues=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = MMCIF2Dict(io.StringIO(text))
        normalise_atom_site(d)
        info = assign_segments(d) if A + "label_asym_id" in d else {}
        parser._mmcif_dict = d
        parser._build_structure(sample_id)
        return parser._structure_builder.get_structure(), d, info


def parse_mmcif(text: str, sample_id: str, col: Collector) -> tuple[int, int]:
    try:
        structure, d, info = _build(sample_id, text)
    except KeyError as exc:
        raise InputError(
            sample_id, f"mmCIF atom_site table lacks the item {exc.args[0]!r} (or has no atoms)"
        ) from None
    except ValueError as exc:
        msg = one_line(exc)
        if "float" in msg:
            raise InputError(sample_id, f"mmCIF coordinates are not numbers ({msg})") from None
        raise InputError(sample_id, f"mmCIF parse error: {msg}") from None
    except Exception as exc:
        raise InputError(sample_id, f"mmCIF parse error: {one_line(exc)}") from None
    asym_to_auth = {seg: au for seg, (au, _) in info.items()}
    model_nums = d.get(A + "pdbx_PDB_model_num")
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
    ca_records, raw_by_asym = _count_calpha(d)
    for asym, raw in raw_by_asym.items():
        au, la = info.get(asym, (asym, asym))
        where = f"of chain {au} (label_asym_id {la})"
        check_lossless(sample_id, raw, kept_by_asym.get(asym, set()), where)
    return models, ca_records


def _count_calpha(d: dict):
    """Independent count of the first model's C-alpha records (first altloc per residue); a
    HETATM residue of unknown name counts where its N and C bond it into its segment
    (`residues.bonded_into_chain`)."""
    ca_records = 0
    raw_by_asym: dict[str, dict] = {}
    model_nums = d.get(A + "pdbx_PDB_model_num")
    try:
        label = d[A + "label_asym_id"]
        n = len(d[A + "label_atom_id"])
        first_model = model_nums[0] if model_nums else None
        seq_ids = d[A + "auth_seq_id"]
        icodes = d.get(A + "pdbx_PDB_ins_code", ["?"] * n)
        groups = d.get(A + "group_PDB", ["ATOM"] * n)
        xyz = [d[A + "Cartn_" + c] for c in "xyz"]
        seen = set()
        backbone: dict[str, dict[tuple, list]] = {}  # segment -> residue key -> [N, C]
        pending = []  # (segment, residue key, row) of unknown HETATM C-alphas
        for i in range(n):
            if model_nums and model_nums[i] != first_model:
                continue
            atom = d[A + "label_atom_id"][i].strip().upper()
            key = (label[i], seq_ids[i], icodes[i])
            bb = backbone.setdefault(label[i], {}).setdefault(key, [None, None])
            if atom in ("N", "C") and bb[atom == "C"] is None:
                bb[atom == "C"] = tuple(float(v[i]) for v in xyz)
            if not rules.is_calpha_name(atom) or key in seen:
                continue
            seen.add(key)
            resname = d[A + "label_comp_id"][i].upper()
            if rules.is_amino_acid(resname, hetatm=groups[i] == "HETATM"):
                ca_records += 1
                _record(raw_by_asym, key, i)
            elif resname not in rules.IONS and not rules.is_water(resname):
                pending.append((label[i], key, i))
        for seg, key, i in pending:
            order = list(backbone[seg])
            if rules.bonded_into_chain([backbone[seg][k] for k in order], order.index(key)):
                ca_records += 1
                _record(raw_by_asym, key, i)
    except (KeyError, IndexError, TypeError, ValueError):
        ca_records = -1
    return ca_records, raw_by_asym


def _record(raw_by_asym: dict, key: tuple, row: int) -> None:
    seg, seq_id, icode = key
    ic = "" if icode in UNSET else icode
    try:
        raw_by_asym.setdefault(seg, {})[(int(seq_id), ic)] = f"atom_site row {row + 1}"
    except ValueError:
        pass
