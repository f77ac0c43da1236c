"""Per-residue structural descriptors, computed once at parse time from the full-atom structure.

One row per kept residue (the order of ``ca``), columns `COLUMNS` (float32; a descriptor that
could not be computed is 0 and its mask column says so):

- ``rsa``: relative solvent accessibility: Shrake-Rupley SASA (Biopython's
  `Bio.PDB.SASA.ShrakeRupley`, probe 1.4 A, 100 points per atom, computed by the vectorised
  `sasa.shrake_rupley`, which gives identical per-atom areas) of the residue's heavy atoms,
  computed on all kept protein residues together (waters, ligands and hydrogens left out),
  divided by the residue type's maximum accessibility, theoretical values of Tien et al. 2013
  (PLoS ONE 8:e80635; Biopython's `Bio.Data.PDBData.residue_sasa_scales["Wilke"]`). Modified
  residues use their parent's maximum. ``rsa_ok`` = 1 where the residue has N, CA, C and O and a
  standard parent (not ``X``). Values may exceed 1 slightly (exposed termini, loops).
- ``phi_sin``, ``phi_cos``, ``psi_sin``, ``psi_cos``: backbone dihedrals phi (C[i-1], N, CA, C)
  and psi (N, CA, C, N[i+1]); ``phi_ok`` / ``psi_ok`` = 0 at chain ends, chain breaks (C-N
  farther than `residues.PEPTIDE_BOND_MAX`) and where an atom is missing.
- ``ss_H``, ``ss_E``, ``ss_C``: 3-state secondary structure (helix G/H/I, strand E/B, coil)
  one-hot from DSSP's hydrogen-bond energy (Kabsch & Sander 1983) as implemented by **pydssp**
  (PyPI ``pydssp``, MIT, Minami; its NumPy path). Why pydssp: DSSP itself (``mkdssp``) is a C++
  binary with no wheel on PyPI, so it cannot enter the lock file; pydssp is the maintained,
  pip-installable re-implementation (C3 agreement with DSSP reported above 97%; MDAnalysis ships
  a copy of the same code). Its NumPy module is loaded on its own, because the package's
  ``__init__`` imports torch (3 s per parse job); see `_pydssp_numpy`. Its hydrogen-bond map is
  computed here only for donor-acceptor pairs closer than `HBOND_RADIUS` (`_sparse_hbond_map`,
  the same map as pydssp's dense one). The rest of its cost is still quadratic in length, so
  structures longer than `DSSP_WINDOW` residues are assigned in windows overlapping by half
  (each residue takes the window it is most central in; sheet partners farther apart
  than about half a window are then missed). Residues without N, CA, C and O are left out of
  the assignment (``ss_ok`` = 0); hydrogen donors are masked for prolines and after breaks.
- C-alpha-only descriptors, defined wherever the C-alpha is (the fallback where atoms are
  missing): ``cn8``, ``cn12``: other C-alphas within 8 and 12 A (whole protein);
  ``hse_up``, ``hse_down``: half-sphere exposure HSE-alpha (Hamelryck 2005, Proteins 59:38;
  the definition of Biopython's ``HSExposureCA``): C-alphas within `HSE_RADIUS` A in the half
  sphere of the pseudo side-chain direction (from the two flanking C-alphas, CA-CA <= 4.3 A,
  same chain) and in the other half; ``hse_ok`` = 0 at chain ends and breaks.

QC counts (residues where a descriptor could not be computed): ``rsa_missing``,
``phi_missing``, ``psi_missing`` (chain ends included: at least one of each per chain),
``ss_missing``, ``hse_missing``.
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np

from esm_schnet.parse import residues as rules
from esm_schnet.parse.sasa import shrake_rupley

COLUMNS = (
    "rsa", "phi_sin", "phi_cos", "psi_sin", "psi_cos", "ss_H", "ss_E", "ss_C",
    "cn8", "cn12", "hse_up", "hse_down",
    "rsa_ok", "phi_ok", "psi_ok", "ss_ok", "hse_ok",
)  # fmt: skip
QC_KEYS = ("rsa_missing", "phi_missing", "psi_missing", "ss_missing", "hse_missing")
HSE_RADIUS = 13.0
CA_CA_MAX = 4.3  # consecutive C-alphas (Biopython's CaPPBuilder)
DSSP_WINDOW = 1000
_BACKBONE = ("N", "CA", "C", "O")
_MAX_ASA = None
_PYDSSP = None


def _max_asa() -> dict[str, float]:
    """One-letter code -> maximum ASA (Tien et al. 2013, theoretical)."""
    global _MAX_ASA
    if _MAX_ASA is None:
        from Bio.Data.PDBData import residue_sasa_scales

        _MAX_ASA = {rules.STANDARD[k]: v for k, v in residue_sasa_scales["Wilke"].items()}
    return _MAX_ASA


def _pydssp_numpy():
    """pydssp's NumPy implementation, loaded from its file without running the package's
    ``__init__`` (which imports torch)."""
    global _PYDSSP
    if _PYDSSP is None:
        spec = importlib.util.find_spec("pydssp")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("pydssp is not installed (pip install pydssp)")
        path = f"{list(spec.submodule_search_locations)[0]}/pydssp_numpy.py"
        mod_spec = importlib.util.spec_from_file_location("_esm_schnet_pydssp_numpy", path)
        module = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(module)
        module.dense_get_hbond_map = module.get_hbond_map
        module.get_hbond_map = functools.partial(_sparse_hbond_map, module)
        _PYDSSP = module
    return _PYDSSP


HBOND_RADIUS = 12.0  # A; N(i)-O(j) and N(i)-C(j) both farther: DSSP energy > -0.43 kcal/mol


def _sparse_hbond_map(mod, coord, donor_mask=None, cutoff=None, margin=None, return_e=False):
    """pydssp's ``get_hbond_map``, the same map computed only where a hydrogen bond can be.

    Its energy e = 0.084 * 332 * (1/d_ON + 1/d_CH - 1/d_OH - 1/d_CN) is computed for all L^2
    pairs (a dozen [L, L, 3] arrays). With |N-H| = 1.01 A (pydssp places H so), a pair whose
    d_ON and d_CN are both >= R has -e <= 27.888 * 2 * 1.01 / (R (R - 1.01)) = 0.43 at R = 12,
    above its cutoff -0.5, so its map value is exactly 0 (clipped to -1: (sin(-pi/2) + 1) / 2).
    Here the candidate pairs come from a KD-tree (either distance < `HBOND_RADIUS`) and their
    values from pydssp's own expressions, element by element: the map is identical (a NaN of a
    degenerate H, pydssp's, is 0 here; both read as no bond). Other calls go to pydssp's."""
    cutoff = mod.DEFAULT_CUTOFF if cutoff is None else cutoff
    margin = mod.DEFAULT_MARGIN if margin is None else margin
    coord = np.asarray(coord)
    batch = coord if coord.ndim == 4 else coord[None]
    if (
        return_e
        or batch.ndim != 4
        or batch.shape[0] != 1
        or batch.shape[2] != 4
        or batch.shape[1] < 3
        or (cutoff, margin) != (mod.DEFAULT_CUTOFF, mod.DEFAULT_MARGIN)
        or not np.isfinite(batch).all()
    ):
        return mod.dense_get_hbond_map(coord, donor_mask, cutoff, margin, return_e)
    from scipy.spatial import cKDTree

    n_res = batch.shape[1]
    h = mod._get_hydrogen_atom_position(batch)[0]  # H of residues 1..L-1
    coord3 = batch[0]
    nit, car, oxy = coord3[1:, 0], coord3[:-1, 2], coord3[:-1, 3]  # donors m+1, acceptors n
    tree = cKDTree(nit)
    found = [
        tree.sparse_distance_matrix(cKDTree(x), HBOND_RADIUS, output_type="ndarray")
        for x in (oxy, car)
    ]
    key = np.unique(np.concatenate([f["i"] * (n_res - 1) + f["j"] for f in found]))
    m, k = key // (n_res - 1), key % (n_res - 1)
    hm, nm, cn, on = h[m], nit[m], car[k], oxy[k]
    d_on = np.linalg.norm(on - nm, axis=-1)
    d_ch = np.linalg.norm(cn - hm, axis=-1)
    d_oh = np.linalg.norm(on - hm, axis=-1)
    d_cn = np.linalg.norm(cn - nm, axis=-1)
    e = mod.CONST_Q1Q2 * (1.0 / d_on + 1.0 / d_ch - 1.0 / d_oh - 1.0 / d_cn) * mod.CONST_F
    i, j = m + 1, k  # rows: donor residue, columns: acceptor residue
    local = (j != i) & (j != i - 1) & (j != i - 2)
    donor = np.array(donor_mask).astype(float) if donor_mask is not None else np.ones(n_res, float)
    val = np.clip(cutoff - margin - e, a_min=-margin, a_max=margin)
    val = (np.sin(val / margin * np.pi / 2) + 1.0) / 2
    val = val * local
    val = val * donor[i]
    out = np.zeros((n_res, n_res), val.dtype)
    out[i, j] = val
    return out[None] if coord.ndim == 4 else out


def _element(atom) -> str | None:
    """Element of a protein atom from its name (MD files leave the element column blank and
    Biopython then guesses calcium for ``CA``); None for hydrogens."""
    name = atom.get_name().strip().upper().lstrip("0123456789")
    if not name or name[0] in "HD" or atom.element in ("H", "D"):
        return None
    if name.startswith("SE"):
        return "SE"
    return name[0] if name[0] in "CNOS" else atom.element


def dihedral(p0, p1, p2, p3) -> np.ndarray:
    """Dihedral angles (radians) of point quadruples, arrays [n, 3] each (NaN if degenerate)."""
    b0, b1, b2 = p0 - p1, p2 - p1, p3 - p2
    b1n = b1 / np.linalg.norm(b1, axis=-1, keepdims=True)
    v = b0 - np.sum(b0 * b1n, axis=-1, keepdims=True) * b1n
    w = b2 - np.sum(b2 * b1n, axis=-1, keepdims=True) * b1n
    x = np.sum(v * w, axis=-1)
    y = np.sum(np.cross(b1n, v) * w, axis=-1)
    return np.arctan2(y, x)


def _pairwise(ca: np.ndarray, chunk: int = 512):
    """Yield (rows, d [rows, L], diff [rows, L, 3]) in row chunks (memory O(chunk * L))."""
    for s in range(0, len(ca), chunk):
        diff = ca[None, :, :] - ca[s : s + chunk, None, :]
        yield slice(s, s + chunk), np.sqrt(np.sum(diff * diff, axis=-1)), diff


def ca_descriptors(ca: np.ndarray, chain_index: np.ndarray):
    """cn8, cn12, hse_up, hse_down, hse_ok from C-alphas alone."""
    ca = ca.astype(np.float64)
    n = len(ca)
    same_next = np.zeros(n, bool)
    if n > 1:
        step = np.linalg.norm(ca[1:] - ca[:-1], axis=-1)
        same_next[:-1] = (chain_index[1:] == chain_index[:-1]) & (step <= CA_CA_MAX)
    same_prev = np.r_[False, same_next[:-1]] if n else same_next
    hse_ok = same_prev & same_next
    pcb = np.zeros_like(ca)
    if hse_ok.any():
        i = np.flatnonzero(hse_ok)
        d1 = ca[i] - ca[i - 1]
        d3 = ca[i] - ca[i + 1]
        with np.errstate(all="ignore"):  # coincident C-alphas: no direction, hse_ok = 0
            b = d1 / np.linalg.norm(d1, axis=-1, keepdims=True)
            b = b + d3 / np.linalg.norm(d3, axis=-1, keepdims=True)
            b = b / np.linalg.norm(b, axis=-1, keepdims=True)
        good = np.isfinite(b).all(axis=1)
        hse_ok[i[~good]] = False
        pcb[i[good]] = b[good]
    out = np.zeros((n, 4), np.float64)
    for rows, d, diff in _pairwise(ca):
        idx = np.arange(n)[rows]
        other = d > 0
        other[np.arange(len(idx)), idx] = False
        out[rows, 0] = np.sum(other & (d < 8.0), axis=1)
        out[rows, 1] = np.sum(other & (d < 12.0), axis=1)
        near = other & (d < HSE_RADIUS)
        up = np.einsum("rlk,rk->rl", diff, pcb[rows]) > 0
        out[rows, 2] = np.sum(near & up, axis=1)
        out[rows, 3] = np.sum(near & ~up, axis=1)
    out[~hse_ok, 2:] = 0
    return out, hse_ok


def _assign_ss(coord: np.ndarray, donor: np.ndarray) -> np.ndarray:
    """[n, 3] one-hot (coil, helix, strand) from pydssp, in windows for long structures."""
    n = len(coord)
    assign = _pydssp_numpy().assign
    if n <= DSSP_WINDOW:
        with np.errstate(all="ignore"):
            return np.asarray(assign(coord, donor_mask=donor), bool)
    out = np.zeros((n, 3), bool)
    best = np.full(n, -1.0)
    step = DSSP_WINDOW // 2
    starts = list(range(0, n - DSSP_WINDOW, step)) + [n - DSSP_WINDOW]
    for s in starts:
        e = s + DSSP_WINDOW
        with np.errstate(all="ignore"):
            oh = np.asarray(assign(coord[s:e], donor_mask=donor[s:e]), bool)
        pos = np.arange(s, e)
        left = pos - s if s > 0 else np.full(len(pos), np.inf)  # the structure's own ends
        right = e - 1 - pos if e < n else np.full(len(pos), np.inf)
        margin = np.minimum(left, right).astype(float)
        take = margin > best[pos]
        out[pos[take]] = oh[take]
        best[pos[take]] = margin[take]
    return out


def compute(
    residues, sequence: str, ca: np.ndarray, chain_index: np.ndarray, sasa_method: str = "fast"
):
    """Descriptors of the kept residues: `residues` are their Biopython residues (order of
    `ca`), `sequence` their letters. Returns (array [L, len(COLUMNS)] float32, QC counts).

    sasa_method: ``"fast"`` (`sasa.shrake_rupley`, vectorised) or ``"biopython"`` (Biopython's
    own loops); both give identical per-atom areas."""
    n = len(residues)
    col = {c: k for k, c in enumerate(COLUMNS)}
    out = np.zeros((n, len(COLUMNS)), np.float64)
    bb = np.full((n, 4, 3), np.nan)
    atoms, elements, owner = [], [], []
    for i, res in enumerate(residues):
        for a in res.get_atoms():
            name = a.get_name().strip().upper()
            if name in _BACKBONE and np.isnan(bb[i, _BACKBONE.index(name), 0]):
                bb[i, _BACKBONE.index(name)] = a.get_coord()
            element = _element(a)
            if element is not None:
                atoms.append(a.get_coord())
                elements.append(element)
                owner.append(i)
    complete = ~np.isnan(bb).any(axis=(1, 2))
    # chain continuity: C[i] - N[i+1] bonded, same chain
    bonded = np.zeros(n, bool)  # bonded[i]: residue i is bonded to residue i+1
    if n > 1:
        gap = np.linalg.norm(bb[1:, 0] - bb[:-1, 2], axis=-1)
        bonded[:-1] = (chain_index[1:] == chain_index[:-1]) & (gap <= rules.PEPTIDE_BOND_MAX)

    # relative solvent accessibility
    if atoms:
        _, atom_sasa = shrake_rupley(np.array(atoms, np.float64), elements, method=sasa_method)
        sasa = np.bincount(owner, weights=atom_sasa, minlength=n)
        max_asa = _max_asa()
        denom = np.array([max_asa.get(s, np.nan) for s in sequence])
        rsa_ok = complete & ~np.isnan(denom)
        out[rsa_ok, col["rsa"]] = sasa[rsa_ok] / denom[rsa_ok]
        out[:, col["rsa_ok"]] = rsa_ok

    # backbone dihedrals
    with np.errstate(all="ignore"):
        if n > 1:
            phi = dihedral(bb[:-1, 2], bb[1:, 0], bb[1:, 1], bb[1:, 2])  # residues 1..n-1
            psi = dihedral(bb[:-1, 0], bb[:-1, 1], bb[:-1, 2], bb[1:, 0])  # residues 0..n-2
            phi_ok = np.r_[False, bonded[:-1] & np.isfinite(phi)]
            psi_ok = np.r_[bonded[:-1] & np.isfinite(psi), False]
            phi, psi = np.r_[0.0, phi], np.r_[psi, 0.0]
        else:
            phi = psi = np.zeros(n)
            phi_ok = psi_ok = np.zeros(n, bool)
    for name, ang, ok in (("phi", phi, phi_ok), ("psi", psi, psi_ok)):
        out[ok, col[f"{name}_sin"]] = np.sin(ang[ok])
        out[ok, col[f"{name}_cos"]] = np.cos(ang[ok])
        out[:, col[f"{name}_ok"]] = ok

    # secondary structure on the residues with a complete backbone
    idx = np.flatnonzero(complete)
    if len(idx) >= 6:
        # a hydrogen donor needs a bonded predecessor among the assigned residues (pydssp
        # places H from the previous residue's C) and is absent in proline
        prev_bonded = np.r_[False, bonded[:-1]]
        donor = prev_bonded[idx] & np.r_[False, idx[1:] - idx[:-1] == 1]
        donor &= np.array([sequence[i] != "P" for i in idx])
        oh = _assign_ss(bb[idx], donor.astype(float))
        out[idx, col["ss_C"]] = oh[:, 0]
        out[idx, col["ss_H"]] = oh[:, 1]
        out[idx, col["ss_E"]] = oh[:, 2]
        out[idx, col["ss_ok"]] = 1

    # C-alpha-only fallback
    cad, hse_ok = ca_descriptors(ca, chain_index)
    for k, name in enumerate(("cn8", "cn12", "hse_up", "hse_down")):
        out[:, col[name]] = cad[:, k]
    out[:, col["hse_ok"]] = hse_ok

    qc = {
        f"{name}_missing": int(n - out[:, col[f"{name}_ok"]].sum())
        for name in ("rsa", "phi", "psi", "ss", "hse")
    }
    return out.astype(np.float32), qc
