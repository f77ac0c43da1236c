"""Turning Biopython chains (one segment each) into `Chain`s, counting whatever is skipped.

Every amino-acid residue of a segment that has a C-alpha (`residues`) is kept. The rest is
counted in the QC row under its reason: ``skipped_no_ca`` (amino-acid residues without a
C-alpha), ``skipped_water``, ``skipped_ligand`` (hetero groups, ions, HETATM residues that are
not known amino acids even when they have an atom named CA, unless peptide-bonded into the chain
on both sides: `residues.bonded_into_chain`).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from esm_schnet.core.errors import InputError
from esm_schnet.parse import residues as rules
from esm_schnet.parse.altloc import alternatives, occupancy, select_altloc_residue
from esm_schnet.parse.protein import Chain


def _xyz(residue, name: str):
    return residue[name].get_coord() if name in residue else None


def names(counter: Counter) -> str:
    return ",".join(f"{k}:{v}" for k, v in sorted(counter.items()))


class Collector:
    """Accumulates chains and QC counts while walking Biopython chains."""

    def __init__(self, sample_id: str):
        self.sample_id = sample_id
        self.chains: list[Chain] = []
        self.counts = Counter()
        self.modified = Counter()
        self.unknown = Counter()
        self.ligands = Counter()
        self.no_ca = Counter()
        self.residues: list = []  # Biopython residues of the kept residues (order of `chains`)
        self._segments = Counter()

    def add_chain(self, bio_chain, name: str, full_names: dict | None = None) -> set:
        """Add the amino-acid residues of one Biopython chain (one segment) that have a
        C-alpha; count the rest. `full_names` maps (number, insertion code) to the residue name
        where the file's name is longer than Biopython reads (4-letter PDB names such as
        ``NALA`` or ``HISE``). Returns the kept (residue number, insertion code) keys."""
        items = []  # (residue, resname) in file order
        for residue in bio_chain:
            residue = select_altloc_residue(residue)
            resname = residue.get_resname().strip().upper()
            if full_names:
                full = full_names.get((residue.id[1], residue.id[2].strip()))
                if full and full[:3] == resname:
                    resname = full
            items.append((residue, resname))
        backbone = [(_xyz(r, "N"), _xyz(r, "C")) for r, _ in items]
        cands = []  # (residue, CA atom, resname)
        for i, (residue, resname) in enumerate(items):
            hetflag = residue.id[0]
            if rules.is_water(resname, hetflag):
                self.counts["skipped_water"] += 1
                continue
            if not rules.is_amino_acid(resname, hetatm=hetflag != " ") and not (
                "CA" in residue and rules.bonded_into_chain(backbone, i)
            ):
                self.counts["skipped_ligand"] += 1
                self.ligands[resname] += 1
                continue
            if "CA" not in residue:
                self.counts["skipped_no_ca"] += 1
                self.no_ca[resname] += 1
                continue
            atom = residue["CA"]
            if cands and alternatives(cands[-1], residue, atom):
                # one position written twice with alternate locations as an ATOM and a HETATM
                # residue (e.g. CYS altloc A / CSO altloc B): Biopython keys them apart; keep
                # the one whose C-alpha has the higher occupancy (first on ties)
                if occupancy(atom) > occupancy(cands[-1][1]):
                    cands[-1] = (residue, atom, resname)
                continue
            cands.append((residue, atom, resname))
        seq, ca, num, icode = [], [], [], []
        for residue, atom, resname in cands:
            if residue.is_disordered() or atom.is_disordered():
                self.counts["altlocs_resolved"] += 1
            code, kind = rules.letter(resname)
            if kind == "modified":
                self.counts["modified_mapped"] += 1
                self.modified[resname] += 1
            elif kind == "unknown":
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
            seq.append(code)
            ca.append(coord)
            num.append(int(residue.id[1]))
            icode.append(ic)
        if not seq:
            return set()
        self._segments[name] += 1
        self.residues.extend(residue for residue, _, _ in cands)
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

    def empty_reason(self) -> str:
        """Why no chain was kept: no amino-acid residue at all, or none with a C-alpha."""
        if not self.counts["skipped_no_ca"]:
            parts = []
            if self.counts["skipped_ligand"]:
                ligs = ", ".join(sorted(self.ligands))
                parts.append(f"{self.counts['skipped_ligand']} ligand residues ({ligs})")
            if self.counts["skipped_water"]:
                parts.append(f"{self.counts['skipped_water']} waters")
            return "no protein residue: " + (", ".join(parts) or "no residues")
        what = []
        for key, label in (
            ("skipped_no_ca", "residues without C-alpha"),
            ("skipped_ligand", "ligand/ion groups"),
            ("skipped_water", "waters"),
        ):
            if self.counts[key]:
                what.append(f"{self.counts[key]} {label}")
        return f"no residue with a C-alpha atom in the first model (only {', '.join(what)})"


def check_lossless(sample_id, raw: dict, kept: set, where: str) -> None:
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
