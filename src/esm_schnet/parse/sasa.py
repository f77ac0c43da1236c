"""Shrake-Rupley solvent accessible surface area, vectorised, with exactly Biopython's result.

`Bio.PDB.SASA.ShrakeRupley` (probe 1.4 A, 100 points per atom, its radii table) places the
same golden-spiral points on every atom's sphere of radius r_i = vdW_i + probe and counts a point
of atom i as buried when it lies within r_j of another atom j that is a neighbour of i
(centre distance < r_i + r_j); the area is (available points) * r_i^2 * 4 pi / n_points. Its
loops run in Python over atoms and neighbours (about 0.25 s for a 300-residue protein).

`shrake_rupley` computes the same per-atom available-point counts with NumPy and SciPy:

1. atom pairs within 2 * max(r) from `scipy.spatial.cKDTree.query_pairs`, kept where
   Biopython keeps them (its arithmetic: sqrt of the squared distance < r_i + r_j);
2. for every pair, the squared distance of the 100 points of i to atom j, expanded as
   r_i^2 |s_k|^2 + 2 r_i s_k.(c_i - c_j) + d_ij^2 (one small matrix product per chunk of pairs,
   memory bounded by `chunk`), compared with r_j^2;
3. where that comparison is within `_TOL` (A^2) of its boundary, the point is decided again in
   Biopython's own arithmetic (p = s_k * r_i + c_i, then (dx^2 + dy^2) + dz^2 <= r_j * r_j, as
   in its KDTree's C code), so rounding never flips a point: the counts are identical, not
   approximately equal (tested on real structures against ``method="biopython"``).

The one thing not reproduced is Biopython's KD-tree box pre-test on a point lying exactly on a
coordinate face of the query box (a point within r_j is within the box except for rounding at
1e-16 relative), which no real structure reaches.
"""

from __future__ import annotations

import numpy as np

PROBE = 1.40
N_POINTS = 100
_TOL = 2e-5  # A; the float32 expansion's rounding error is below 4e-6 A (atoms closer than 7 A)
_SR = {}


def _biopython(probe: float = PROBE, n_points: int = N_POINTS):
    """A cached `ShrakeRupley` instance: its sphere points and radii table are the reference."""
    key = (probe, n_points)
    if key not in _SR:
        from Bio.PDB.SASA import ShrakeRupley

        _SR[key] = ShrakeRupley(probe_radius=probe, n_points=n_points)
    return _SR[key]


def radii(elements, probe: float = PROBE) -> np.ndarray:
    """vdW radius + probe per atom, from Biopython's table (2.0 A for an element it lacks)."""
    table = _biopython(probe).radii_dict
    r = np.array([table[e] for e in elements], dtype=np.float64)
    r += probe
    return r


class _Atom:
    """What ShrakeRupley.compute reads of an atom (coord, element) and writes (sasa)."""

    __slots__ = ("coord", "element", "sasa")

    def __init__(self, coord, element):
        self.coord, self.element, self.sasa = coord, element, 0.0


class _Atoms:
    """The smallest entity ShrakeRupley.compute accepts: a level and its atoms."""

    level = "M"

    def __init__(self, atoms):
        self._atoms = atoms

    def get_atoms(self):
        return iter(self._atoms)


def _counts_biopython(coords, elements, r, probe, n_points) -> np.ndarray:
    """Available points per atom from Biopython's own `ShrakeRupley.compute` (it stores
    count * r^2 * 4 pi / n_points as ``atom.sasa``; the count is read back exactly)."""
    atoms = [_Atom(c, e) for c, e in zip(coords, elements)]
    _biopython(probe, n_points).compute(_Atoms(atoms), level="A")
    sasa = np.array([a.sasa for a in atoms], np.float64)
    return np.rint(sasa / (r * r * (4 * np.pi / n_points))).astype(np.int64)


def _counts_fast(coords: np.ndarray, r: np.ndarray, sphere: np.ndarray, chunk: int) -> np.ndarray:
    n, m = len(coords), len(sphere)
    covered = np.zeros((n, m), bool)
    if n < 2:
        return m - covered.sum(axis=1)
    from scipy.spatial import cKDTree

    twice = float(np.max(r)) * 2
    pairs = cKDTree(coords).query_pairs(twice * (1 + 1e-9) + 1e-9, output_type="ndarray")
    if len(pairs) == 0:
        return m - covered.sum(axis=1)
    # Biopython's neighbour test: its KDTree's (dx^2 + dy^2) + dz^2 <= twice^2, then the
    # square root of it < r_i + r_j (symmetric in i and j: tested once per unordered pair)
    p0, p1 = pairs[:, 0], pairs[:, 1]
    dif = coords[p0] - coords[p1]
    d2 = dif[:, 0] * dif[:, 0] + dif[:, 1] * dif[:, 1] + dif[:, 2] * dif[:, 2]
    keep = (d2 <= twice * twice) & (np.sqrt(d2) < r[p0] + r[p1])
    p0, p1 = p0[keep], p1[keep]
    i, j = np.concatenate([p0, p1]), np.concatenate([p1, p0])
    # grouped by i for reduceat (a radix sort when the indices fit in int16)
    order = np.argsort(i.astype(np.int16 if n < 2**15 else np.int64), kind="stable")
    i, j = i[order], j[order]
    dif = coords[i] - coords[j]
    d2 = dif[:, 0] * dif[:, 0] + dif[:, 1] * dif[:, 1] + dif[:, 2] * dif[:, 2]
    # point k of i is buried by j when |s_k r_i + (c_i - c_j)|^2 <= r_j^2, i.e. (|s_k| = 1 up
    # to float32 rounding) when (c_i - c_j).s_k - (r_j^2 - d^2 - r_i^2) / (2 r_i) <= 0: one
    # float32 product [pairs, 4] @ [4, points] per chunk
    ri, rj = r[i], r[j]
    lhs = np.empty((len(i), 4), np.float32)
    lhs[:, :3] = dif
    lhs[:, 3] = -(rj * rj - d2 - ri * ri) / (2 * ri)
    rhs = np.ones((4, m), np.float32)
    rhs[:3] = sphere.T
    # group starts (rows where i changes), once for all chunks
    new_i = np.flatnonzero(np.r_[True, i[1:] != i[:-1]])
    buf_u = np.empty((chunk, m), np.float32)  # reused: no allocation (and page faults) per chunk
    buf_hit, buf_maybe = np.empty((chunk, m), bool), np.empty((chunk, m), bool)
    for a in range(0, len(i), chunk):
        b = min(a + chunk, len(i))
        ci = i[a:b]
        u, hit, maybe = buf_u[: b - a], buf_hit[: b - a], buf_maybe[: b - a]
        np.matmul(lhs[a:b], rhs, out=u)
        np.less_equal(u, -_TOL, out=hit)
        np.less_equal(u, _TOL, out=maybe)
        if np.count_nonzero(maybe) != np.count_nonzero(hit):
            rows, cols = np.nonzero(maybe & ~hit)  # near the boundary: Biopython's arithmetic
            pi, pj = ci[rows], j[a:b][rows]
            p = sphere[cols].astype(np.float64) * r[pi][:, None] + coords[pi]
            e = coords[pj] - p
            dd = e[:, 0] * e[:, 0] + e[:, 1] * e[:, 1] + e[:, 2] * e[:, 2]
            hit[rows, cols] = dd <= r[pj] * r[pj]
        lo, hi = np.searchsorted(new_i, [a, b])
        starts = np.r_[0, new_i[lo:hi] - a] if (hi == lo or new_i[lo] != a) else new_i[lo:hi] - a
        covered[ci[starts]] |= np.logical_or.reduceat(hit, starts, axis=0)
    return m - covered.sum(axis=1)


def shrake_rupley(
    coords,
    elements,
    method: str = "fast",
    probe: float = PROBE,
    n_points: int = N_POINTS,
    chunk: int = 512,
):
    """Shrake-Rupley on atoms (coords [n, 3], element symbols as Biopython's radii table names
    them). Returns (available points per atom [n] int64, SASA per atom [n] float64 in A^2, equal
    to what ``ShrakeRupley(probe, n_points).compute(..., level="A")`` sets as ``atom.sasa``).

    method: ``"fast"`` (vectorised, identical counts) or ``"biopython"`` (its own loops)."""
    coords = np.ascontiguousarray(coords, dtype=np.float64).reshape(-1, 3)
    elements = list(elements)
    if len(elements) != len(coords):
        raise ValueError(f"{len(coords)} coordinates but {len(elements)} elements")
    sr = _biopython(probe, n_points)
    r = radii(elements, probe)
    if method == "fast":
        counts = _counts_fast(coords, r, sr._sphere, chunk)
    elif method == "biopython":
        counts = (
            _counts_biopython(coords, elements, r, probe, n_points)
            if len(coords)
            else np.zeros(0, np.int64)
        )
    else:
        raise ValueError(f"method must be 'fast' or 'biopython', not {method!r}")
    counts = np.asarray(counts, np.int64)
    # Biopython: asa_array (int64 [n, 1]) * (radii * radii * (4 pi / n_points))[:, None]
    area = r * r * (4 * np.pi / n_points)
    sasa = (counts[:, None] * area[:, np.newaxis])[:, 0]
    return counts, sasa
