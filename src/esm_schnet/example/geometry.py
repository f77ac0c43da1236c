"""Ideal backbone geometry (Engh & Huber), residue tables and NeRF building blocks."""

from __future__ import annotations

import math

import numpy as np


B_N_CA, B_CA_C, B_C_N, B_C_O = 1.458, 1.525, 1.329, 1.231
A_N_CA_C, A_CA_C_N, A_C_N_CA, A_CA_C_O = (math.radians(a) for a in (111.2, 116.2, 121.7, 120.5))

HELIX = (-57.0, -47.0)
STRAND = (-120.0, 130.0)
# Loop dihedrals: (phi, psi, weight) of populated Ramachandran regions.
LOOP_REGIONS = np.array(
    [
        (-65.0, 145.0, 0.35),  # polyproline II
        (-90.0, 0.0, 0.25),  # bridge / alpha-R edge
        (-120.0, 130.0, 0.20),  # beta
        (-65.0, -40.0, 0.10),  # alpha-R
        (75.0, 20.0, 0.10),  # alpha-L (glycine, asparagine)
    ]
)

CA_MIN = 4.0  # non-neighbouring C-alpha atoms (|i-j| >= 3 or other chain)
ATOM_MIN = 2.7  # any backbone/CB atoms of residues |i-j| >= 2
SC_MIN = 2.5  # side-chain pseudo-atoms (CA + 2.4 A along CA->CB) of residues |i-j| >= 2
SC_DIST = 2.4
W_CENTRE, PACK_DIST = 0.05, 10.0  # growth score (see _Folder._try_unit)

THREE = {
    "A": "ALA", "R": "ARG", "N": "ASN", "D": "ASP", "C": "CYS", "Q": "GLN", "E": "GLU",
    "G": "GLY", "H": "HIS", "I": "ILE", "L": "LEU", "K": "LYS", "M": "MET", "F": "PHE",
    "P": "PRO", "S": "SER", "T": "THR", "W": "TRP", "Y": "TYR", "V": "VAL",
}  # fmt: skip
HYDROPHOBIC = frozenset("AVILMFWY")

# Residue preferences by secondary structure (relative weights).
_PREF = {
    "H": "AAAALLLLEEEKKKQQRRMMIIVFYWSTDNH",
    "E": "VVVVIIIIYYYFFFTTTLLWCAKRESQ",
    "L": "GGGGPPPNNNDDDSSSTTKKEQRAH",
}
_BURIED = "LLLLIIIVVVFFFAAAMMWYC"
_CHARGED = "DEKR"
_POLAR = "NQSTGPHA"


# ----------------------------------------------------------------------------------------------
# Geometry


def _place(a: np.ndarray, b: np.ndarray, c: np.ndarray, bond: float, angle: float, torsion):
    """NeRF: the atom d with |cd| = bond, angle(b, c, d) = angle, dihedral(a, b, c, d) = torsion.

    a, b, c: [..., 3]; torsion: radians, broadcastable to a[..., 0].
    """
    bc = c - b
    bc /= np.linalg.norm(bc, axis=-1, keepdims=True)
    n = np.cross(b - a, bc)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    m = np.cross(n, bc)
    torsion = np.asarray(torsion)
    d0 = -bond * math.cos(angle)
    d1 = bond * math.sin(angle) * np.cos(torsion)
    d2 = bond * math.sin(angle) * np.sin(torsion)
    return c + d0 * bc + d1[..., None] * m + d2[..., None] * n


def dihedral(a, b, c, d) -> np.ndarray:
    """Dihedral angle(s) in degrees."""
    b0, b1, b2 = a - b, c - b, d - c
    b1n = b1 / np.linalg.norm(b1, axis=-1, keepdims=True)
    v = b0 - (b0 * b1n).sum(-1, keepdims=True) * b1n
    w = b2 - (b2 * b1n).sum(-1, keepdims=True) * b1n
    x = (v * w).sum(-1)
    y = (np.cross(b1n, v) * w).sum(-1)
    return np.degrees(np.arctan2(y, x))


def ideal_cb(n: np.ndarray, ca: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Ideal C-beta of an L-amino acid from N, CA, C (1.52 A from CA)."""
    b = ca - n
    cc = c - ca
    a = np.cross(b, cc)
    return -0.58273431 * a + 0.56802827 * b - 0.54067466 * cc + ca


def build_segment(prev: np.ndarray, phi: np.ndarray, psi: np.ndarray, prev_psi):
    """Grow residues after `prev` (N, CA, C of the residue before: [K, 3, 3]).

    phi, psi: [K, m] radians; prev_psi: [K] psi of the residue before (fixes the next N).
    Returns backbone [K, m, 4, 3] (N, CA, C, O) and the O of the residue before [K, 3].
    """
    k, m = phi.shape
    out = np.empty((k, m, 4, 3))
    n_prev, ca_prev, c_prev = prev[:, 0], prev[:, 1], prev[:, 2]
    omega = np.full(k, math.pi)
    psi_before = np.asarray(prev_psi, dtype=float)
    o_prev = _place(n_prev, ca_prev, c_prev, B_C_O, A_CA_C_O, psi_before + math.pi)
    for i in range(m):
        n_i = _place(n_prev, ca_prev, c_prev, B_C_N, A_CA_C_N, psi_before)
        ca_i = _place(ca_prev, c_prev, n_i, B_N_CA, A_C_N_CA, omega)
        c_i = _place(c_prev, n_i, ca_i, B_CA_C, A_N_CA_C, phi[:, i])
        o_i = _place(n_i, ca_i, c_i, B_C_O, A_CA_C_O, psi[:, i] + math.pi)
        out[:, i] = np.stack([n_i, ca_i, c_i, o_i], axis=1)
        n_prev, ca_prev, c_prev, psi_before = n_i, ca_i, c_i, psi[:, i]
    return out, o_prev


def _cdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of a [n, 3] and b [p, 3]."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(d2, 0.0))


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


