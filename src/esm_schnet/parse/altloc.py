"""Alternate locations, resolved once.

Biopython's rule for disordered atoms: the altloc with the highest occupancy is the selected
child (ties: the first one in the file). For residues with several residue names at one position
(microheterogeneity) the name whose C-alpha has the highest occupancy is kept (ties: first in
the file); so is one position written twice, as an ATOM and a HETATM residue with different
altlocs (e.g. CYS altloc A / CSO altloc B), which Biopython keys apart.
"""

from __future__ import annotations

import math


def select_altloc_residue(residue):
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


def occupancy(atom) -> float:
    occ = atom.get_occupancy()
    return -1.0 if occ is None else float(occ)


def alternatives(prev, residue, atom) -> bool:
    """True when `residue` is an alternate location of the previous kept residue: same number
    and insertion code, both C-alphas with (different) non-blank altlocs."""
    p_res, p_atom, _ = prev
    a, b = p_atom.get_altloc(), atom.get_altloc()
    return p_res.id[1:] == residue.id[1:] and a != " " and b != " " and a != b

